package cache

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DefaultChunkSize is the largest secret [KeyringStore] writes to one
// keyring item: below Windows' 2,560-byte and macOS's ~3,000-byte limits
// (specs.md §6).
const DefaultChunkSize = 2000

// maxOrphanProbe bounds the search for chunks of an interrupted write.
const maxOrphanProbe = 1024

// minChunkSize keeps room for an index item; below it a write fails.
const minChunkSize = 256

// KeyringStore keeps values in an OS keyring, split into items no larger
// than ChunkSize.
//
// Every key has an index item (user = key) holding a small JSON frame
// {"v":1,"gen":g,"chunks":n,"sha256":"…","len":N}. A value whose frame fits
// in one item travels inline in the index ("data", base64) with chunks 0;
// a larger one is cut into n chunk items "<key>#<i>.g<g>" (base64 of the
// value's bytes). A write puts the new chunks under generation g+1 first,
// then the index, then deletes generation g, so a crash at any point leaves
// a reader with the old value or the new one, never a mix. Reads check the
// length and sha256 of the joined chunks and report ErrCorrupt on mismatch.
type KeyringStore struct {
	// Backend is the keyring, normally oskeyring.Keyring{}.
	Backend Keyring
	// Service is the keyring service name; "" means DefaultService.
	Service string
	// ChunkSize is the largest secret written to one item; 0 means
	// DefaultChunkSize. When the backend still answers ErrTooBig the store
	// halves it and writes again.
	ChunkSize int
	// Timeout bounds every backend call; 0 means no bound.
	Timeout time.Duration
}

// Name returns "keyring".
func (*KeyringStore) Name() string { return "keyring" }

func (s *KeyringStore) service() string {
	if s.Service == "" {
		return DefaultService
	}
	return s.Service
}

func chunkUser(key string, gen uint64, i int) string {
	return fmt.Sprintf("%s#%d.g%d", key, i, gen)
}

// Get reads the index of key and, when the value is chunked, its chunks.
func (s *KeyringStore) Get(key string) ([]byte, error) {
	// A concurrent writer may retire the generation we are reading between
	// our index read and our chunk reads; the index then names a newer one.
	const attempts = 3
	var err error
	for range attempts {
		var f frame
		f, err = s.readIndex(key)
		if err != nil {
			return nil, err
		}
		var value []byte
		value, err = s.readValue(key, f)
		if err == nil {
			return value, nil
		}
		var missing *missingChunkError
		if !errors.As(err, &missing) {
			return nil, err
		}
		now, ierr := s.readIndex(key)
		if ierr != nil {
			return nil, ierr
		}
		if now.Gen == f.Gen {
			return nil, err
		}
	}
	return nil, err
}

// missingChunkError is the ErrCorrupt a reader gets when an index names a
// chunk that is not there.
type missingChunkError struct{ i, n int }

func (e *missingChunkError) Error() string {
	return fmt.Sprintf("%v: chunk %d of %d is missing", ErrCorrupt, e.i, e.n)
}

func (e *missingChunkError) Unwrap() error { return ErrCorrupt }

func (s *KeyringStore) readIndex(key string) (frame, error) {
	raw, err := s.get(key)
	if errors.Is(err, ErrNotFound) {
		return frame{}, fmt.Errorf("keyring store: %w", ErrNotFound)
	}
	if err != nil {
		return frame{}, fmt.Errorf("could not read keyring item: %w", err)
	}
	f, err := parseFrame([]byte(raw))
	if err != nil {
		return frame{}, fmt.Errorf("keyring index: %w", err)
	}
	return f, nil
}

func (s *KeyringStore) readValue(key string, f frame) ([]byte, error) {
	if f.Chunks == 0 {
		if err := f.verify(f.Data); err != nil {
			return nil, fmt.Errorf("keyring item: %w", err)
		}
		return f.Data, nil
	}
	value := make([]byte, 0, f.Len)
	for i := range f.Chunks {
		raw, err := s.get(chunkUser(key, f.Gen, i))
		if errors.Is(err, ErrNotFound) {
			return nil, &missingChunkError{i: i, n: f.Chunks}
		}
		if err != nil {
			return nil, fmt.Errorf("could not read keyring chunk: %w", err)
		}
		part, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, fmt.Errorf("keyring chunk %d of %d: %w", i, f.Chunks, corruptf("not base64"))
		}
		value = append(value, part...)
	}
	if err := f.verify(value); err != nil {
		return nil, fmt.Errorf("keyring chunks: %w", err)
	}
	return value, nil
}

// Set writes value under a new generation and then retires the old one.
func (s *KeyringStore) Set(key string, value []byte) error {
	old, err := s.readIndex(key)
	hadOld := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
		return err
	}
	gen := old.Gen + 1
	size := s.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	for {
		err = s.write(key, gen, value, size)
		if errors.Is(err, ErrTooBig) && size/2 >= minChunkSize {
			size /= 2
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if hadOld {
		// Best effort: the new value is committed; a chunk left here is
		// unreachable and removed by the next Delete of an index naming it.
		_ = s.deleteChunks(key, old.Gen, old.Chunks)
	}
	return nil
}

func (s *KeyringStore) write(key string, gen uint64, value []byte, size int) error {
	if size < minChunkSize {
		return fmt.Errorf("keyring chunk size %d is below the minimum %d", size, minChunkSize)
	}
	f := newFrame(value)
	f.Gen = gen
	f.Data = value
	raw, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("could not encode keyring index: %w", err)
	}
	if len(raw) > size {
		per := size / 4 * 3 // base64 turns 3 bytes into 4
		f.Data = nil
		f.Chunks = (len(value) + per - 1) / per
		for i := range f.Chunks {
			part := value[i*per : min((i+1)*per, len(value))]
			if err := s.set(chunkUser(key, gen, i), base64.StdEncoding.EncodeToString(part)); err != nil {
				return fmt.Errorf("could not write keyring chunk %d of %d: %w", i, f.Chunks, err)
			}
		}
		if raw, err = json.Marshal(f); err != nil {
			return fmt.Errorf("could not encode keyring index: %w", err)
		}
	}
	if err := s.set(key, string(raw)); err != nil {
		return fmt.Errorf("could not write keyring index: %w", err)
	}
	return nil
}

// Delete removes the chunks of key, then its index: a Delete cut short
// leaves an index that the next Delete still finds.
func (s *KeyringStore) Delete(key string) error {
	f, err := s.readIndex(key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err == nil:
		if err := s.deleteChunks(key, f.Gen, f.Chunks); err != nil {
			return err
		}
		// Chunks of a write that crashed before its index: generation g+1.
		// The first absent item ends them (capped against a backend that
		// never reports one).
		for i := range maxOrphanProbe {
			if err := s.del(chunkUser(key, f.Gen+1, i)); err != nil {
				break
			}
		}
	case !errors.Is(err, ErrCorrupt):
		return err
	}
	if err := s.del(key); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("could not delete keyring index: %w", err)
	}
	return nil
}

func (s *KeyringStore) deleteChunks(key string, gen uint64, n int) error {
	for i := range n {
		if err := s.del(chunkUser(key, gen, i)); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("could not delete keyring chunk %d of %d: %w", i, n, err)
		}
	}
	return nil
}

// Clear removes every item of the service, when the backend can.
func (s *KeyringStore) Clear() error {
	all, ok := s.Backend.(interface{ DeleteAll(service string) error })
	if !ok {
		return errors.New("this keyring cannot delete all items of a service")
	}
	_, err := callWithTimeout("delete", s.Timeout, func() (struct{}, error) {
		return struct{}{}, all.DeleteAll(s.service())
	})
	if err != nil {
		return fmt.Errorf("could not clear the keyring: %w", err)
	}
	return nil
}

func (s *KeyringStore) get(user string) (string, error) {
	return callWithTimeout("get", s.Timeout, func() (string, error) {
		return s.Backend.Get(s.service(), user)
	})
}

func (s *KeyringStore) set(user, secret string) error {
	_, err := callWithTimeout("set", s.Timeout, func() (struct{}, error) {
		return struct{}{}, s.Backend.Set(s.service(), user, secret)
	})
	return err
}

func (s *KeyringStore) del(user string) error {
	_, err := callWithTimeout("delete", s.Timeout, func() (struct{}, error) {
		return struct{}{}, s.Backend.Delete(s.service(), user)
	})
	return err
}
