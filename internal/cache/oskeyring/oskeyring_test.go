//go:build !keyring

// keyring.MockInit swaps go-keyring's process-wide provider, so these tests
// stay out of the binary that runs the real Secret Service tests.

package oskeyring

import (
	"errors"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
)

func TestKeyringTranslatesErrors(t *testing.T) {
	keyring.MockInit()
	kr := Keyring{}
	if _, err := kr.Get("svc", "absent"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Get(absent) error = %v, want cache.ErrNotFound", err)
	}
	if err := kr.Delete("svc", "absent"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Delete(absent) error = %v, want cache.ErrNotFound", err)
	}
	if err := kr.Set("svc", "u", "p"); err != nil {
		t.Fatal(err)
	}
	if got, err := kr.Get("svc", "u"); err != nil || got != "p" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if err := kr.DeleteAll("svc"); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Get("svc", "u"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Get after DeleteAll error = %v, want cache.ErrNotFound", err)
	}
	if err := kr.DeleteAll(""); err == nil {
		t.Error("DeleteAll(\"\") succeeded")
	}

	keyring.MockInitWithError(keyring.ErrSetDataTooBig)
	if err := kr.Set("svc", "u", "p"); !errors.Is(err, cache.ErrTooBig) || !errors.Is(err, keyring.ErrSetDataTooBig) {
		t.Errorf("Set error = %v, want cache.ErrTooBig wrapping go-keyring's", err)
	}
	keyring.MockInitWithError(keyring.ErrUnsupportedPlatform)
	if err := cache.Probe(kr, 0); !errors.Is(err, keyring.ErrUnsupportedPlatform) {
		t.Errorf("cache.Probe error = %v, want the backend's error", err)
	}
	keyring.MockInit()
	if err := cache.Probe(kr, 0); err != nil {
		t.Errorf("cache.Probe on a working keyring = %v", err)
	}
}
