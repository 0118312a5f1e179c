package audit

import (
	"crypto/rand"
	"fmt"
)

// KeySize is the size of a new subject-hash key.
const KeySize = 32

// minKeySize is the shortest stored key accepted.
const minKeySize = 16

// LoadOrCreateKey returns the installation's subject-hash key, creating and
// storing 32 random bytes on first use. get returns an empty slice and a nil
// error when no key is stored; set stores a key. Both are the cache store's
// (keyring or 0600 file), so the key never sits next to the audit log.
func LoadOrCreateKey(get func() ([]byte, error), set func([]byte) error) ([]byte, error) {
	key, err := get()
	if err != nil {
		return nil, fmt.Errorf("could not read the audit key: %w", err)
	}
	if len(key) >= minKeySize {
		return key, nil
	}
	if len(key) != 0 {
		return nil, fmt.Errorf("could not use the stored audit key: %d bytes is too short", len(key))
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("could not create the audit key: %w", err)
	}
	if err := set(key); err != nil {
		return nil, fmt.Errorf("could not store the audit key: %w", err)
	}
	return key, nil
}
