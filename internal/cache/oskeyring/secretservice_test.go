//go:build keyring

// These tests talk to a real Secret Service (gnome-keyring) and fail, not
// skip, when none answers:
//
//	dbus-run-session -- scripts/with-keyring.sh go test -tags keyring ./internal/cache/...

package oskeyring

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
)

// secretServiceUsers lists the items of service as the Secret Service itself
// reports them, through libsecret's secret-tool rather than go-keyring.
func secretServiceUsers(t *testing.T, service string) []string {
	t.Helper()
	out, err := exec.Command("secret-tool", "search", "--all", "service", service).CombinedOutput()
	if err != nil {
		t.Fatalf("secret-tool search: %v: %s", err, out)
	}
	var users []string
	for _, m := range regexp.MustCompile(`(?m)^attribute\.username = (.*)$`).FindAllStringSubmatch(string(out), -1) {
		users = append(users, m[1])
	}
	sort.Strings(users)
	return users
}

func newSecretServiceStore(t *testing.T) (*cache.KeyringStore, string) {
	t.Helper()
	kr := Keyring{}
	if err := cache.Probe(kr, 10*time.Second); err != nil {
		t.Fatalf("no Secret Service answers; run under dbus-run-session -- scripts/with-keyring.sh: %v", err)
	}
	service := "dagster-oidc-test-" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() {
		if err := kr.DeleteAll(service); err != nil {
			t.Errorf("DeleteAll: %v", err)
		}
	})
	return &cache.KeyringStore{Backend: kr, Service: service, ChunkSize: 2000, Timeout: 10 * time.Second}, service
}

func TestSecretServiceChunkedRoundTrip(t *testing.T) {
	s, service := newSecretServiceStore(t)
	for _, tc := range []struct {
		name       string
		size       int
		wantChunks int
	}{
		{"3 KB", 3 * 1024, 3},
		{"20 KB", 20 * 1024, 14},
		{"1 KB inline", 1024, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := value(tc.size)
			v[0] = byte(tc.size) // distinct values per case
			if err := s.Set("token.dev.abc", v); err != nil {
				t.Fatalf("Set: %v", err)
			}
			users := secretServiceUsers(t, service)
			if len(users) != 1+tc.wantChunks || users[0] != "token.dev.abc" {
				t.Fatalf("Secret Service holds %v, want the index and %d chunks of one generation", users, tc.wantChunks)
			}
			got, err := s.Get("token.dev.abc")
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("Get = %d bytes, %v; want %d bytes", len(got), err, len(v))
			}
		})
	}
	if err := s.Delete("token.dev.abc"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if left := secretServiceUsers(t, service); len(left) != 0 {
		t.Errorf("Delete left items %v in the Secret Service", left)
	}
	if _, err := s.Get("token.dev.abc"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Get after Delete error = %v, want cache.ErrNotFound", err)
	}
}

func TestSecretServiceCorruptChunk(t *testing.T) {
	s, service := newSecretServiceStore(t)
	if err := s.Set("refresh.dev.abc", value(20*1024)); err != nil {
		t.Fatal(err)
	}
	var chunk string
	for _, u := range secretServiceUsers(t, service) {
		if strings.HasPrefix(u, "refresh.dev.abc#3.") {
			chunk = u
		}
	}
	if chunk == "" {
		t.Fatalf("no chunk 3 among %v", secretServiceUsers(t, service))
	}
	// Overwrite the chunk directly, with valid base64 of the right length.
	if err := (Keyring{}).Set(service, chunk, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 1500))); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get("refresh.dev.abc")
	if !errors.Is(err, cache.ErrCorrupt) || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("Get error = %v, want cache.ErrCorrupt (sha256 mismatch)", err)
	}
	if err := s.Delete("refresh.dev.abc"); err != nil {
		t.Fatal(err)
	}
	if left := secretServiceUsers(t, service); len(left) != 0 {
		t.Errorf("Delete left items %v in the Secret Service", left)
	}
}

func TestSecretServiceSelect(t *testing.T) {
	store, reason, err := cache.Select(cache.ModeAuto, Keyring{}, t.TempDir(), 10*time.Second)
	if err != nil || store.Name() != "keyring" || reason != "keyring available" {
		t.Fatalf("cache.Select(auto) = %v, %q, %v; want the keyring", store, reason, err)
	}
	if left := secretServiceUsers(t, cache.DefaultService); len(left) != 0 {
		t.Errorf("cache.Probe left items %v", left)
	}
}

// value is n bytes of a repeating alphabet.
func value(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}
