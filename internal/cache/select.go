package cache

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// The `cache:` modes of a profile.
const (
	ModeAuto    = "auto"
	ModeKeyring = "keyring"
	ModeFile    = "file"
	ModeMemory  = "memory"
	ModeNone    = "none"
)

// probeValue is what Probe writes and expects to read back.
const probeValue = "dagster-oidc keyring probe"

// Probe reports whether kr answers: it writes, reads back and deletes a
// uniquely named item under DefaultService, all within timeout (0 means no
// bound). The error says why the keyring is unusable.
func Probe(kr Keyring, timeout time.Duration) error {
	if kr == nil {
		return errors.New("no keyring backend")
	}
	user := "probe-" + rand.Text()
	_, err := callWithTimeout("probe", timeout, func() (struct{}, error) {
		if err := kr.Set(DefaultService, user, probeValue); err != nil {
			return struct{}{}, err
		}
		got, err := kr.Get(DefaultService, user)
		if err != nil {
			return struct{}{}, err
		}
		if err := kr.Delete(DefaultService, user); err != nil {
			return struct{}{}, err
		}
		if got != probeValue {
			return struct{}{}, errors.New("probe item read back with different content")
		}
		return struct{}{}, nil
	})
	return err
}

// Select returns the store for a `cache:` mode, with a one-line reason for
// `status` and verbose logs.
//
//   - auto (or ""): the keyring when [Probe] succeeds within timeout, else a
//     [FileStore] in fileDir (a [MemoryStore] when fileDir is ""); the reason
//     then says why, e.g. "keyring unavailable: dial unix ...: no such file
//     or directory; using file store /home/u/.cache/dagster-oidc".
//   - keyring: the keyring or an error; no silent fallback.
//   - file, memory, none: that store; file needs fileDir.
func Select(mode string, kr Keyring, fileDir string, timeout time.Duration) (Store, string, error) {
	switch mode {
	case ModeAuto, "":
		err := Probe(kr, timeout)
		if err == nil {
			return newKeyringStore(kr, timeout), "keyring available", nil
		}
		if fileDir == "" {
			return &MemoryStore{}, fmt.Sprintf("keyring unavailable: %v; no cache directory, using memory store", err), nil
		}
		return FileStore{Dir: fileDir}, fmt.Sprintf("keyring unavailable: %v; using file store %s", err, fileDir), nil
	case ModeKeyring:
		if err := Probe(kr, timeout); err != nil {
			return nil, "", fmt.Errorf("keyring unavailable (cache: keyring): %w", err)
		}
		return newKeyringStore(kr, timeout), "cache: keyring", nil
	case ModeFile:
		if fileDir == "" {
			return nil, "", errors.New("cache: file needs a cache directory")
		}
		return FileStore{Dir: fileDir}, "cache: file (" + fileDir + ")", nil
	case ModeMemory:
		return &MemoryStore{}, "cache: memory", nil
	case ModeNone:
		return NoneStore{}, "cache: none", nil
	}
	return nil, "", fmt.Errorf("unknown cache mode %q (want auto, keyring, file, memory or none)", mode)
}

func newKeyringStore(kr Keyring, timeout time.Duration) *KeyringStore {
	return &KeyringStore{Backend: kr, Service: DefaultService, ChunkSize: DefaultChunkSize, Timeout: timeout}
}
