package session

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// dexTokenEndpoint answers every refresh as Dex v2.45 answers a dead
// refresh token.
func dexTokenEndpoint(t *testing.T, description string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"`+description+`"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token"
}

// TestIssue16_4_DeadRefreshTokenInvalidRequest: with the real refresher
// against a Dex-style answer, the dead refresh token is dropped; without a
// terminal the call exits 3 with the login hint; with one it falls back to a
// new login.
func TestIssue16_4_DeadRefreshTokenInvalidRequest(t *testing.T) {
	for _, tt := range []struct {
		name      string
		canPrompt bool
	}{{"no terminal", false}, {"terminal", true}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			if _, err := h.m.Token(t.Context()); err != nil {
				t.Fatal(err)
			}
			h.due()
			h.m.CanPrompt = tt.canPrompt
			tokenURL := dexTokenEndpoint(t, "Refresh token is invalid or has already been claimed by another client.")
			h.m.Refresher = func(context.Context) (Refresher, error) {
				return &flow.Refresher{ClientID: "cli", TokenURL: tokenURL, HTTP: http.DefaultClient}, nil
			}
			res, err := h.m.Token(t.Context())
			if tt.canPrompt {
				if err != nil || h.src.calls != 2 || res.Entry.IDToken != "tok-2" {
					t.Fatalf("res %+v err %v, source calls %d: want a new login", res, err, h.src.calls)
				}
				if rt := h.m.RefreshToken(); rt != "rt-1" {
					t.Errorf("refresh token after the new login = %q", rt)
				}
				return
			}
			if apperr.ExitCode(err) != 3 || apperr.HintOf(err) != "run: dagster-oidc login --profile dev" {
				t.Fatalf("err = %v (exit %d, hint %q)", err, apperr.ExitCode(err), apperr.HintOf(err))
			}
			if h.m.HasRefreshToken() {
				t.Error("the dead refresh token was kept")
			}
			if h.src.calls != 1 {
				t.Errorf("an interactive login started without a terminal")
			}
			if !strings.Contains(h.warn.String(), "no longer accepts the saved login") {
				t.Errorf("warning = %q", h.warn.String())
			}
		})
	}
}

// signalWriter is a Warn writer that reports each write on a channel.
type signalWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	wrote chan string
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	w.wrote <- string(p)
	return len(p), nil
}

// TestIssue16_6_LogoutWinsOverRefreshInFlight: a refresh is held inside the
// profile's lock (its refresher blocks until the test lets it go); logout
// must wait for it, say so, and then remove what the refresh stored, so
// nothing is logged in afterwards.
func TestIssue16_6_LogoutWinsOverRefreshInFlight(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.due()
	entered, release := make(chan struct{}), make(chan struct{})
	h.refresher.next = func(string) (*flow.Token, error) {
		close(entered)
		<-release
		return &flow.Token{IDToken: "tok-refreshed", RefreshToken: "rt-2", Source: "refresh"}, nil
	}
	warn := &signalWriter{wrote: make(chan string, 4)}
	h.m.Warn = warn
	h.m.ExchangeLocks = []string{h.m.Key("aws-lock")}

	refreshed := make(chan error, 1)
	go func() {
		_, err := h.m.Token(context.Background())
		refreshed <- err
	}()
	<-entered
	loggedOut := make(chan error, 1)
	go func() { loggedOut <- h.m.Logout(context.Background(), h.m.Key(cache.KindAWS)) }()
	select {
	case err := <-loggedOut:
		t.Fatalf("logout finished (%v) while a refresh held the profile's lock", err)
	case line := <-warn.wrote:
		if line != "Waiting for another dagster-oidc process of profile dev to finish (a refresh, login or exchange in flight)...\n" {
			t.Errorf("warning = %q", line)
		}
	}
	close(release)
	if err := <-refreshed; err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if err := <-loggedOut; err != nil {
		t.Fatalf("logout: %v", err)
	}
	if e, _ := h.m.Cached(); e != nil || h.m.HasRefreshToken() {
		t.Errorf("after logout: token %+v, refresh token %v; want nothing", e, h.m.HasRefreshToken())
	}
}

// TestLogoutWaitsForAnExchangeLock: an exchange holding its lock (an STS
// call in flight) keeps logout waiting too; with a short wait logout gives
// up with the lock error and removes nothing.
func TestLogoutWaitsForAnExchangeLock(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.m.ExchangeLocks = []string{h.m.Key("aws-lock")}
	h.m.LockWait = time.Millisecond
	unlock, err := cache.Lock(t.Context(), h.m.LockDir, h.m.Key("aws-lock"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unlock() }()
	var lte *cache.LockTimeoutError
	if err := h.m.Logout(t.Context()); !errors.As(err, &lte) {
		t.Fatalf("logout = %v, want a lock timeout", err)
	}
	if e, _ := h.m.Cached(); e == nil {
		t.Error("logout removed the token without the lock")
	}
}

// TestIssue16_11_UnwritableTokenCacheServesAndWarns: once a refresh token
// is spent, a token cache that cannot be written does not turn the
// verified token into a failure: it is served with a warning, and the
// rotated refresh token is kept.
func TestIssue16_11_UnwritableTokenCacheServesAndWarns(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.due()
	h.m.CanPrompt = false
	h.m.Fast = readOnlyStore{h.m.Fast}
	h.refresher.next = func(string) (*flow.Token, error) {
		return &flow.Token{IDToken: "tok-refreshed", RefreshToken: "rt-2", Source: "refresh"}, nil
	}
	res, err := h.m.Token(t.Context())
	if err != nil || res.Entry.IDToken != "tok-refreshed" {
		t.Fatalf("Token = %+v, %v; want the refreshed token", res, err)
	}
	if !strings.Contains(h.warn.String(), "warning: could not cache the ID token (memory store): read-only file system; serving it uncached") {
		t.Errorf("warning = %q", h.warn.String())
	}
	if rt := h.m.RefreshToken(); rt != "rt-2" {
		t.Errorf("refresh token = %q, want the rotated one", rt)
	}
}
