package cache

import (
	"fmt"
	"sync"
)

// MemoryStore keeps values in process memory; it is safe for concurrent use
// and its zero value is ready. Entries die with the process.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// Name returns "memory".
func (*MemoryStore) Name() string { return "memory" }

// Get returns a copy of the value of key.
func (s *MemoryStore) Get(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, fmt.Errorf("memory store: %w", ErrNotFound)
	}
	return append([]byte{}, v...), nil
}

// Set stores a copy of value.
func (s *MemoryStore) Set(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string][]byte)
	}
	s.m[key] = append([]byte{}, value...)
	return nil
}

// Delete removes key.
func (s *MemoryStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// Clear removes every entry.
func (s *MemoryStore) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = nil
	return nil
}

// NoneStore stores nothing: Get always reports ErrNotFound and Set is a
// no-op. It backs `cache: none`, where every run logs in afresh.
type NoneStore struct{}

// Name returns "none".
func (NoneStore) Name() string { return "none" }

// Get always returns ErrNotFound.
func (NoneStore) Get(string) ([]byte, error) {
	return nil, fmt.Errorf("cache disabled: %w", ErrNotFound)
}

// Set discards the value.
func (NoneStore) Set(string, []byte) error { return nil }

// Delete does nothing.
func (NoneStore) Delete(string) error { return nil }

// Clear does nothing.
func (NoneStore) Clear() error { return nil }
