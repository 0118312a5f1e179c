//go:build e2e && keyring

package e2e

// The binary's refresh tokens in a real Secret Service (gnome-keyring on a
// private session bus). These tests fail, not skip, when none answers:
//
//	dbus-run-session -- scripts/with-keyring.sh go test -tags 'e2e keyring' -run Keyring ./e2e/...

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/cache/oskeyring"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// useSecretService hands the test's session bus and keyring directories to
// the binary, and fails unless a Secret Service answers on that bus.
func useSecretService(t *testing.T, w *world) {
	t.Helper()
	for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME"} {
		v, ok := os.LookupEnv(k)
		if !ok || v == "" {
			t.Fatalf("%s is not set; run under: dbus-run-session -- scripts/with-keyring.sh go test -tags 'e2e keyring' -run Keyring ./e2e/...", k)
		}
		w.env[k] = v
	}
	if err := cache.Probe(oskeyring.Keyring{}, 10*time.Second); err != nil {
		t.Fatalf("no Secret Service answers on the session bus: %v", err)
	}
}

// keyringItems lists the user names of the Secret Service items of
// dagster-oidc's service, as libsecret's secret-tool reports them.
func keyringItems(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("secret-tool", "search", "--all", "service", cache.DefaultService).CombinedOutput()
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

// keyringRefresh reads the profile's refresh token from the Secret Service
// through the binary's own chunking store.
func keyringRefresh(t *testing.T, w *world) string {
	t.Helper()
	s := &cache.KeyringStore{Backend: oskeyring.Keyring{}, Service: cache.DefaultService, Timeout: 10 * time.Second}
	data, err := s.Get(stateKey(w, cache.KindRefresh))
	if err != nil {
		t.Fatalf("reading the refresh token from the keyring: %v", err)
	}
	var e cache.RefreshEntry
	if err := cache.Decode(data, cache.KindRefresh, &e); err != nil {
		t.Fatalf("decoding the refresh token from the keyring: %v", err)
	}
	return e.RefreshToken
}

// padSep separates a sandbox refresh token from the padding the proxy adds.
const padSep = "~pad~"

// padRefreshTokens makes the proxy hand the binary refresh tokens of over
// size bytes (the sandbox's own are short), and strip the padding again
// from the ones the binary presents. It returns the length of the longest
// refresh token the binary presented.
func padRefreshTokens(t *testing.T, p *tokenProxy, size int) *atomic.Int64 {
	longest := &atomic.Int64{}
	p.setHook(func(rw http.ResponseWriter, r *http.Request, form url.Values, forward func() (*upstreamAnswer, error)) {
		if !isRefresh(form) {
			p.pass(rw, forward)
			return
		}
		rt := form.Get("refresh_token")
		if n := int64(len(rt)); n > longest.Load() {
			longest.Store(n)
		}
		real, _, _ := strings.Cut(rt, padSep)
		form.Set("refresh_token", real)
		a, err := forward()
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		var doc map[string]any
		if a.status == http.StatusOK && json.Unmarshal(a.body, &doc) == nil {
			if next, ok := doc["refresh_token"].(string); ok {
				doc["refresh_token"] = next + padSep + strings.Repeat("p", size)
				if a.body, err = json.Marshal(doc); err != nil {
					t.Error(err)
				}
			}
		}
		writeAnswer(rw, a)
	})
	return longest
}

func TestKeyringLoginRefreshLogout(t *testing.T) {
	for _, tc := range []struct {
		mode, reason string
	}{
		{mode: cache.ModeKeyring, reason: "cache: keyring"},
		{mode: cache.ModeAuto, reason: "keyring available"},
	} {
		t.Run("cache: "+tc.mode, func(t *testing.T) {
			w := newWorld(t, sandbox.Options{RotateRefreshTokens: true, RevokeOnRefreshReuse: true}, "")
			w.writeConfig(strings.Replace(w.profile(""), "    cache: file\n", "    cache: "+tc.mode+"\n", 1))
			useSecretService(t, w)
			if items := keyringItems(t); len(items) != 0 {
				t.Fatalf("the keyring already holds dagster-oidc items: %v", items)
			}
			rkey := stateKey(w, cache.KindRefresh)
			t.Cleanup(func() {
				s := &cache.KeyringStore{Backend: oskeyring.Keyring{}, Service: cache.DefaultService, Timeout: 10 * time.Second}
				_ = s.Delete(rkey)
			})

			w.login("alice")
			st := statusOf(t, w)
			if st.Store.RefreshTokens != "keyring" || !st.Store.RefreshToken || st.Store.Reason != tc.reason {
				t.Errorf("status says refresh tokens go to %q (%q), present %v; want keyring (%q), present", st.Store.RefreshTokens, st.Store.Reason, st.Store.RefreshToken, tc.reason)
			}
			if items := keyringItems(t); len(items) != 1 || items[0] != rkey {
				t.Errorf("the keyring holds %v, want the refresh token's item %s alone", items, rkey)
			}
			if kinds := cacheDecodes(t, w); kinds[cache.KindRefresh] != 0 {
				t.Error("the refresh token was also written to a file")
			}

			// A refresh reads the refresh token from the keyring and stores
			// the rotated one there.
			first := keyringRefresh(t, w)
			old := expireLogin(t, w)
			if tok, _ := wantToken(t, w); tok == old {
				t.Error("token did not refresh")
			}
			if keyringRefresh(t, w) == first {
				t.Error("the rotated refresh token was not stored in the keyring")
			}

			// A 20 KB refresh token is chunked into several items and read
			// back whole by the next refresh.
			const size = 20 * 1024
			p := startTokenProxy(t, w)
			presented := padRefreshTokens(t, p, size)
			expireLogin(t, w)
			wantToken(t, w)
			if got := len(keyringRefresh(t, w)); got < size {
				t.Fatalf("the keyring holds a %d-byte refresh token, want more than %d", got, size)
			}
			items := keyringItems(t)
			if len(items) < 1+size/cache.DefaultChunkSize {
				t.Errorf("a %d-byte refresh token is kept in %d items, want an index and at least %d chunks: %v", size, len(items), size/cache.DefaultChunkSize, items)
			}
			for _, it := range items {
				if !strings.HasPrefix(it, rkey) {
					t.Errorf("unexpected keyring item %s", it)
				}
			}
			expireLogin(t, w)
			wantToken(t, w)
			if n := presented.Load(); n < size {
				t.Errorf("the longest refresh token presented was %d bytes, want the stored one of over %d", n, size)
			}
			if s := w.sb.Stats(); s.TokenRequests["refresh_token"] != 3 || s.RefreshReuses != 0 {
				t.Errorf("the provider saw %d refreshes and %d reuses, want 3 and 0", s.TokenRequests["refresh_token"], s.RefreshReuses)
			}

			out, stderr, code := w.run("logout")
			if code != 0 {
				t.Fatalf("logout: exit %d\n%s%s", code, out, stderr)
			}
			if items := keyringItems(t); len(items) != 0 {
				t.Errorf("after logout the keyring still holds %v", items)
			}
			if st := statusOf(t, w); st.LoggedIn || st.Store.RefreshToken {
				t.Errorf("after logout status says %+v", st)
			}
			if kinds := cacheDecodes(t, w); kinds[cache.KindToken]+kinds[cache.KindRefresh] != 0 {
				t.Errorf("after logout the cache still holds %v", kinds)
			}
			t.Logf("%d-byte refresh token round-tripped through %d Secret Service items", size, len(items))
		})
	}
}
