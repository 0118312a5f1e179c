package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// fileExt ends every entry file, so entry names never clash with the
// "locks" directory that [Lock] keeps in the same cache directory.
const fileExt = ".entry"

// FileStore keeps one file per key in Dir. Dir is created 0700 (and made
// 0700 again if it is group- or world-accessible); files are written 0600
// through a temporary file, fsync and rename, so a reader sees the old or
// the new value and a full disk leaves the old entry intact.
type FileStore struct {
	// Dir is the cache directory, e.g. ~/.cache/dagster-oidc.
	Dir string

	// createTemp opens the temporary file; nil means os.CreateTemp. Tests
	// replace it to simulate a full disk.
	createTemp func(dir, pattern string) (tempFile, error)
}

// tempFile is the part of *os.File that Set uses.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// Name returns "file".
func (FileStore) Name() string { return "file" }

func (s FileStore) path(key string) string {
	return filepath.Join(s.Dir, safeName(key)+fileExt)
}

// Get reads the value of key, after the trust checks of [ReadTrusted]: an
// entry in a directory another user could write, or an entry not owned by
// the user, is refused with an error wrapping [ErrUntrusted].
func (s FileStore) Get(key string) ([]byte, error) {
	p := s.path(key)
	raw, err := ReadTrusted(p)
	if errors.Is(err, ErrUntrusted) {
		return nil, err
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("file store: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("could not read cache file: %w", err)
	}
	f, err := parseFrame(raw)
	if err == nil && f.Chunks != 0 {
		err = corruptf("file frame refers to %d chunks", f.Chunks)
	}
	if err == nil {
		err = f.verify(f.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("cache file %s: %w", p, err)
	}
	return f.Data, nil
}

// Set writes value atomically.
func (s FileStore) Set(key string, value []byte) error {
	if err := EnsurePrivateDir(s.Dir); err != nil {
		return err
	}
	f := newFrame(value)
	f.Data = value
	raw, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("could not encode cache file: %w", err)
	}
	p := s.path(key)
	if err := s.writeAtomic(p, raw); err != nil {
		return fmt.Errorf("could not write cache file %s: %w", p, describeWriteError(err))
	}
	return nil
}

func (s FileStore) writeAtomic(path string, raw []byte) error {
	create := s.createTemp
	if create == nil {
		create = func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
	}
	// os.CreateTemp creates the file 0600 before any byte is written.
	tmp, err := create(filepath.Dir(path), tempPattern)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(raw); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	syncDir(filepath.Dir(path))
	return nil
}

// describeWriteError names the two failures a user can act on.
func describeWriteError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("disk full: %w", err)
	case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("directory not writable: %w", err)
	}
	return err
}

// Delete removes the file of key.
func (s FileStore) Delete(key string) error {
	err := os.Remove(s.path(key))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("could not delete cache file: %w", err)
	}
	syncDir(s.Dir)
	return nil
}

// Clear removes every entry file and any temporary file a crash left behind.
func (s FileStore) Clear() error {
	for _, pattern := range []string{"*" + fileExt, tempPattern} {
		matches, err := filepath.Glob(filepath.Join(s.Dir, pattern))
		if err != nil {
			return fmt.Errorf("could not list cache files: %w", err)
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("could not delete cache file: %w", err)
			}
		}
	}
	return nil
}

// EnsurePrivateDir creates dir 0700, or tightens an existing dir of the user
// that other users could read or enter, and then applies [CheckDir]: a
// directory owned by someone else is refused, never taken over.
func EnsurePrivateDir(dir string) error {
	if dir == "" {
		return errors.New("no cache directory configured")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("could not create cache directory: %w", describeWriteError(err))
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("could not inspect cache directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("cache directory %s is not a directory", dir)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 && ownedByMe(info) {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("cache directory %s is accessible to other users and could not be made private: %w", dir, err)
		}
	}
	return CheckDir(dir)
}

// syncDir makes a rename or removal durable. It is best effort: atomicity
// already holds without it, and some file systems refuse to fsync a
// directory.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
