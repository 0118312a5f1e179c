// Package oskeyring is the OS keyring behind [cache.Keyring], through
// github.com/zalando/go-keyring. It is its own package so that what links
// the cache alone (the warm front, cmd/dagster-oidc-cached) links neither
// go-keyring nor D-Bus.
package oskeyring

import (
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
)

// Keyring is the real OS keyring through github.com/zalando/go-keyring:
// Keychain on macOS, Credential Manager on Windows, the Secret Service over
// D-Bus elsewhere. It translates go-keyring's sentinel errors; timeouts are
// applied by [cache.KeyringStore] and [cache.Probe], which wrap every call.
type Keyring struct{}

// Get reads one item.
func (Keyring) Get(service, user string) (string, error) {
	v, err := keyring.Get(service, user)
	return v, translate(err)
}

// Set writes one item, replacing any item of the same service and user.
func (Keyring) Set(service, user, password string) error {
	return translate(keyring.Set(service, user, password))
}

// Delete removes one item.
func (Keyring) Delete(service, user string) error {
	return translate(keyring.Delete(service, user))
}

// DeleteAll removes every item of service.
func (Keyring) DeleteAll(service string) error {
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
		return cache.ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("%w: %w", cache.ErrTooBig, err)
	}
	return err
}
