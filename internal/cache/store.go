package cache

// Store keeps values by key. Implementations are safe for use by one
// process; cross-process coordination is the job of [Lock].
type Store interface {
	// Name is "keyring", "file", "memory" or "none".
	Name() string
	// Get returns the value of key, or an error wrapping ErrNotFound when
	// there is none and ErrCorrupt when it cannot be read back intact.
	Get(key string) ([]byte, error)
	// Set replaces the value of key. It is atomic for the store: a reader
	// sees the old or the new value, never half of one.
	Set(key string, value []byte) error
	// Delete removes every item or file of key. Deleting an absent key
	// returns nil.
	Delete(key string) error
}

// Clearer is implemented by stores that can remove every entry they hold
// (for `logout --all`).
type Clearer interface {
	Clear() error
}
