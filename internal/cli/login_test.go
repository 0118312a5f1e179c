package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

func TestDeviceLoginThenCachedToken(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.onSleep = e.approveAs("alice")
	_, stderr, code := e.run("login")
	if code != 0 {
		t.Fatalf("login exit %d: %s", code, stderr)
	}
	for _, want := range []string{"To log in, open " + e.sb.Issuer(), "expires in", "Logged in as alice@example.com (profile sandbox, environment dev) via device"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if e.sleeps[0] != time.Second {
		t.Errorf("first poll wait = %s, want the IdP's 1s interval", e.sleeps[0])
	}

	e.reqs.Store(0)
	out1, stderr, code := e.run("token")
	if code != 0 || stderr != "" {
		t.Fatalf("token exit %d: %s", code, stderr)
	}
	out2, _, _ := e.run("token")
	if out1 != out2 || strings.Count(out1, ".") != 2 {
		t.Errorf("token runs differ or are not a JWT: %q %q", out1, out2)
	}
	if n := e.reqs.Load(); n != 0 {
		t.Errorf("cached token runs made %d HTTP requests, want 0", n)
	}

	out, _, code := e.run("token", "--format", "json")
	var doc output.TokenJSON
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("token --format json exit %d: %q", code, out)
	}
	if doc.Claims["email"] != "alice@example.com" || doc.Source != "device" || doc.Expiry.Before(time.Now()) {
		t.Errorf("json doc = %+v", doc)
	}
	if want := doc.Expiry.Add(-config.DefaultRefreshMargin); !doc.RefreshAt.Equal(want) {
		t.Errorf("refresh_at %s, want expiry minus the default refresh_margin (%s)", doc.RefreshAt, want)
	}
}

func TestDeviceLoginSlowDown(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{SlowDownPolls: 2})
	e.login("alice")
	// RFC 8628 §3.5: +5 s per slow_down, cumulative.
	want := []time.Duration{time.Second, 6 * time.Second, 11 * time.Second}
	if len(e.sleeps) < 3 {
		t.Fatalf("sleeps = %v", e.sleeps)
	}
	for i, w := range want {
		if e.sleeps[i] != w {
			t.Errorf("wait %d = %s, want %s (all: %v)", i, e.sleeps[i], w, e.sleeps)
		}
	}
}

func TestDeviceLoginDenied(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.onSleep = func(stderr string) error {
		m := userCodeRE.FindStringSubmatch(stderr)
		if m == nil {
			return errors.New("no user code")
		}
		_ = e.sb.DenyDevice(t.Context(), m[1])
		return nil
	}
	_, stderr, code := e.run("login")
	if code != 4 || !strings.Contains(stderr, "error: the login was denied at the identity provider") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if out, _, code := e.run("status", "--format", "json"); code != 0 || !strings.Contains(out, `"logged_in": false`) {
		t.Errorf("denied login left a cached token: %s", out)
	}
}

func TestDeviceLoginCancelled(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.onSleep = func(string) error { return errCanceled }
	_, stderr, code := e.run("login")
	if code != 130 {
		t.Errorf("exit %d, want 130; stderr %q", code, stderr)
	}
}

func TestTokenWithoutTerminalExits3(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.tty = false
	start := time.Now()
	out, stderr, code := e.run("token")
	if code != 3 {
		t.Fatalf("exit %d, want 3: %s", code, stderr)
	}
	if out != "" || len(e.browsers) != 0 || e.reqs.Load() != 0 {
		t.Errorf("stdout %q, browsers %v, requests %d", out, e.browsers, e.reqs.Load())
	}
	if !strings.Contains(stderr, "run: dagster-oidc login --profile sandbox") {
		t.Errorf("no hint: %q", stderr)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
}

func TestRefreshRotatesAndStoresFirst(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{RotateRefreshTokens: true, RevokeOnRefreshReuse: true})
	e.login("alice")
	first, _, _ := e.run("token")
	// Make the cached token look due: a margin longer than its life.
	e.writeConfig(strings.Replace(readFile(t, e.config), "flow: device", "flow: device\n    refresh_margin: 24h", 1))
	e.tty = false
	second, stderr, code := e.run("token")
	if code != 0 {
		t.Fatalf("refresh exit %d: %s", code, stderr)
	}
	if first == second {
		t.Error("token was not refreshed")
	}
	third, stderr, code := e.run("token")
	if code != 0 || third == second {
		t.Fatalf("second refresh exit %d (rotated token must have been stored): %s", code, stderr)
	}
	st := e.sb.Stats()
	if st.RefreshReuses != 0 || st.GrantsRevoked != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRefreshWithoutIDTokenNeedsLogin(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{OmitIDTokenOnRefresh: true})
	e.login("alice")
	e.writeConfig(strings.Replace(readFile(t, e.config), "flow: device", "flow: device\n    refresh_margin: 24h", 1))
	e.tty = false
	// The cached token is still valid, so it is served with a warning.
	_, stderr, code := e.run("token")
	if code != 0 || !strings.Contains(stderr, "carried no id_token; serving the cached one") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
