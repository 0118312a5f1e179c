package cache

import (
	"time"
)

// DefaultService is the keyring service name dagster-oidc items live under.
const DefaultService = "dagster-oidc"

// Keyring is the narrow view of an OS keyring that [KeyringStore] needs.
// Get returns an error wrapping ErrNotFound for a missing item, and Set one
// wrapping ErrTooBig for a secret the backend cannot hold.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// callWithTimeout runs fn and gives up after timeout (0 means wait forever).
// go-keyring has no context, so a call that hangs on a dead D-Bus peer keeps
// its goroutine until it returns; the caller moves on.
func callWithTimeout[T any](op string, timeout time.Duration, fn func() (T, error)) (T, error) {
	if timeout <= 0 {
		return fn()
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-timer.C:
		var zero T
		return zero, &TimeoutError{Op: op, Timeout: timeout}
	}
}
