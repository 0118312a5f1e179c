package cache

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound means the store holds no entry for the key.
var ErrNotFound = errors.New("cache entry not found")

// ErrCorrupt means an entry exists but cannot be used: it is unreadable,
// truncated, fails its integrity check or has an unknown schema version.
// It is always wrapped with the precise reason.
var ErrCorrupt = errors.New("cache entry is corrupt")

// ErrTooBig is returned by a [Keyring] that rejects a secret as too large
// (go-keyring's ErrSetDataTooBig). [KeyringStore] reacts by writing smaller
// chunks.
var ErrTooBig = errors.New("secret too big for the keyring")

// TimeoutError reports a keyring call that did not return in time, typically
// a Secret Service that never answers on D-Bus.
type TimeoutError struct {
	// Op is the keyring operation: "get", "set", "delete" or "probe".
	Op string
	// Timeout is how long the call was given.
	Timeout time.Duration
}

// Error describes the timeout.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("keyring %s did not answer within %s", e.Op, e.Timeout)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
