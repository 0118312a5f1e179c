package cache

import (
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
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

// GoKeyring is the real OS keyring through github.com/zalando/go-keyring:
// Keychain on macOS, Credential Manager on Windows, the Secret Service over
// D-Bus elsewhere. It translates go-keyring's sentinel errors; timeouts are
// applied by [KeyringStore] and [Probe], which wrap every call.
type GoKeyring struct{}

// Get reads one item.
func (GoKeyring) Get(service, user string) (string, error) {
	v, err := keyring.Get(service, user)
	return v, translate(err)
}

// Set writes one item, replacing any item of the same service and user.
func (GoKeyring) Set(service, user, password string) error {
	return translate(keyring.Set(service, user, password))
}

// Delete removes one item.
func (GoKeyring) Delete(service, user string) error {
	return translate(keyring.Delete(service, user))
}

// DeleteAll removes every item of service.
func (GoKeyring) DeleteAll(service string) error {
	if service == "" {
		return errors.New("refusing to delete the items of an empty service name")
	}
	return translate(keyring.DeleteAll(service))
}

func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("%w: %w", ErrTooBig, err)
	}
	return err
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
