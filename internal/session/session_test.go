package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeSource hands out tokens "tok-1", "tok-2", ... valid for an hour.
type fakeSource struct {
	name        string
	interactive bool
	calls       int
	refresh     string
	err         error
}

func (s *fakeSource) Name() string      { return s.name }
func (s *fakeSource) Interactive() bool { return s.interactive }
func (s *fakeSource) Token(context.Context) (*flow.Token, error) {
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return &flow.Token{IDToken: fmt.Sprintf("tok-%d", s.calls), RefreshToken: s.refresh, Source: s.name}, nil
}

// verifyAll accepts any token; the subject is the part after "sub=" or "alice".
func verifyAll(_ context.Context, _, raw string) (*flow.Verified, error) {
	if raw == "bad" {
		return nil, apperr.Denied(&flow.VerificationError{Reason: flow.ReasonSignature, Detail: "bad"}, "")
	}
	sub := "alice"
	if i := strings.Index(raw, "sub="); i >= 0 {
		sub = raw[i+4:]
	}
	all := map[string]any{"sub": sub, "iss": "https://id.example.com", "aud": "cli"}
	return &flow.Verified{Claims: &flow.Claims{Subject: sub, Issuer: "https://id.example.com", Audience: []string{"cli"}, Expiry: now.Add(time.Hour), All: all}}, nil
}

type harness struct {
	m         *Manager
	src       *fakeSource
	warn      *bytes.Buffer
	events    []Event
	refresher *fakeRefresher
}

// fakeRefresher answers refreshes from a script and records the refresh
// tokens it was given.
type fakeRefresher struct {
	next  func(rt string) (*flow.Token, error)
	calls []string
}

func (f *fakeRefresher) Refresh(_ context.Context, rt string) (*flow.Token, error) {
	f.calls = append(f.calls, rt)
	return f.next(rt)
}

func newHarness(t *testing.T, interactive bool) *harness {
	t.Helper()
	h := &harness{src: &fakeSource{name: "device", interactive: interactive, refresh: "rt-1"}, warn: &bytes.Buffer{}}
	h.refresher = &fakeRefresher{next: func(string) (*flow.Token, error) { return nil, errors.New("no refresh expected") }}
	h.m = &Manager{
		Profile: "dev", Environment: "dev", Issuer: "https://id.example.com", ClientID: "cli", Audience: "cli",
		Fast: &cache.MemoryStore{}, Secrets: &cache.MemoryStore{},
		LockDir: t.TempDir(), LockWait: time.Second,
		Clock: clock.Fake(now), Margin: 2 * time.Minute, CanPrompt: true, Warn: h.warn,
		Source: func(context.Context) (flow.Source, error) { return h.src, nil },
		Verify: verifyAll,
	}
	h.m.Refresher = func(context.Context) (Refresher, error) { return h.refresher, nil }
	h.m.Observe = func(e Event) { h.events = append(h.events, e) }
	return h
}

func TestTokenLogsInThenServesCache(t *testing.T) {
	h := newHarness(t, true)
	res, err := h.m.Token(t.Context())
	if err != nil || res.Entry.IDToken != "tok-1" || res.FromCache {
		t.Fatalf("first: %+v %v", res, err)
	}
	res, err = h.m.Token(t.Context())
	if err != nil || !res.FromCache || h.src.calls != 1 {
		t.Fatalf("second: %+v %v calls %d", res, err, h.src.calls)
	}
	if rt := h.m.RefreshToken(); rt != "rt-1" {
		t.Errorf("refresh token = %q", rt)
	}
	if len(h.events) != 1 || h.events[0].Name != "login" || h.events[0].Outcome != "ok" {
		t.Errorf("events = %+v", h.events)
	}
}

func TestNoTerminalNoTokenIsLoginRequired(t *testing.T) {
	h := newHarness(t, true)
	h.m.CanPrompt = false
	_, err := h.m.Token(t.Context())
	if apperr.ExitCode(err) != 3 || apperr.HintOf(err) != "run: dagster-oidc login --profile dev" {
		t.Fatalf("err = %v (exit %d, hint %q)", err, apperr.ExitCode(err), apperr.HintOf(err))
	}
	if h.src.calls != 0 {
		t.Error("an interactive source was started without a terminal")
	}
	if len(h.events) != 1 || h.events[0].Name != "login_required" {
		t.Errorf("events = %+v", h.events)
	}
}

// TestFinding15_2WorkloadTokensAreNeverStored: docs/security.md says
// workload tokens are never stored; each use reads the platform again.
func TestFinding15_2WorkloadTokensAreNeverStored(t *testing.T) {
	h := newHarness(t, false)
	h.src.name, h.src.refresh = "kubernetes", ""
	h.m.CanPrompt, h.m.Workload = false, true
	for i := 1; i <= 2; i++ {
		res, err := h.m.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if res.FromCache || res.Claims == nil || res.Claims.Subject != "alice" {
			t.Errorf("call %d: %+v", i, res)
		}
	}
	if h.src.calls != 2 {
		t.Errorf("the source was read %d times for 2 calls", h.src.calls)
	}
	for _, s := range []cache.Store{h.m.Fast, h.m.Secrets} {
		for _, kind := range []string{cache.KindToken, cache.KindRefresh} {
			if _, err := s.Get(h.m.key(kind)); !errors.Is(err, cache.ErrNotFound) {
				t.Errorf("a %s entry was written to the %s store: %v", kind, s.Name(), err)
			}
		}
	}
}

// TestFinding15_2UnverifiedTokenIsNeverStored: a token the verifier passed
// without a signature check is refused wherever it would be stored.
func TestFinding15_2UnverifiedTokenIsNeverStored(t *testing.T) {
	h := newHarness(t, true)
	h.m.Verify = func(ctx context.Context, src, raw string) (*flow.Verified, error) {
		v, err := verifyAll(ctx, src, raw)
		v.Unverified = "the issuer could not be reached"
		return v, err
	}
	if _, err := h.m.Token(t.Context()); apperr.ExitCode(err) != 4 {
		t.Fatalf("err = %v", err)
	}
	if e, _ := h.m.Cached(); e != nil || h.m.HasRefreshToken() {
		t.Errorf("stored: %+v, refresh token %v", e, h.m.HasRefreshToken())
	}
}

// TestFinding16_5RefusedLoginStoresNoRefreshToken: a login whose ID token
// fails verification leaves nothing behind, its refresh token included.
func TestFinding16_5RefusedLoginStoresNoRefreshToken(t *testing.T) {
	h := newHarness(t, true)
	h.m.Verify = func(ctx context.Context, src, raw string) (*flow.Verified, error) { return verifyAll(ctx, src, "bad") }
	if _, err := h.m.Login(t.Context(), h.src); apperr.ExitCode(err) != 4 {
		t.Fatalf("err = %v", err)
	}
	if h.m.HasRefreshToken() {
		t.Error("the refused login's refresh token was stored")
	}
}

// TestFinding16_7CachedEntryOfAnotherIssuerAudienceOrClientIsNotServed:
// the read path checks the entry against the profile, not only expiry.
func TestFinding16_7CachedEntryOfAnotherIssuerAudienceOrClientIsNotServed(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *cache.TokenEntry)
	}{
		{"issuer", func(e *cache.TokenEntry) { e.Issuer = "https://evil.example.com" }},
		{"audience", func(e *cache.TokenEntry) { e.Audience = []string{"other-app"} }},
		{"no audience", func(e *cache.TokenEntry) { e.Audience = nil }},
		{"client", func(e *cache.TokenEntry) { e.ClientID = "other-cli" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			e := cache.TokenEntry{IDToken: "planted", Expiry: now.Add(time.Hour), Source: "device",
				Issuer: "https://id.example.com", ClientID: "cli", Audience: []string{"cli"}, Subject: "mallory"}
			tt.edit(&e)
			data, err := cache.Encode(cache.KindToken, e)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.m.Fast.Set(h.m.key(cache.KindToken), data); err != nil {
				t.Fatal(err)
			}
			res, err := h.m.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if res.FromCache || res.Entry.IDToken == "planted" {
				t.Errorf("served the entry of another %s: %+v", tt.name, res.Entry)
			}
		})
	}
}

func TestCorruptEntryDiscardedWithWarning(t *testing.T) {
	h := newHarness(t, true)
	if err := h.m.Fast.Set(h.m.key(cache.KindToken), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	res, err := h.m.Token(t.Context())
	if err != nil || res.Entry.IDToken != "tok-1" {
		t.Fatalf("%+v %v", res, err)
	}
	if !strings.Contains(h.warn.String(), "discarded an unreadable cached token entry") || !strings.Contains(h.warn.String(), "dagster-oidc login --profile dev") {
		t.Errorf("warning = %q", h.warn.String())
	}
}

func TestVerificationFailureCachesNothing(t *testing.T) {
	h := newHarness(t, true)
	h.src = &fakeSource{name: "device", interactive: true}
	h.m.Verify = func(ctx context.Context, src, raw string) (*flow.Verified, error) { return verifyAll(ctx, src, "bad") }
	_, err := h.m.Token(t.Context())
	if apperr.ExitCode(err) != 4 {
		t.Fatalf("err = %v", err)
	}
	if e, _ := h.m.Cached(); e != nil {
		t.Errorf("cached %+v", e)
	}
	if h.events[len(h.events)-1].Name != "verification_failed" {
		t.Errorf("events = %+v", h.events)
	}
}

func TestDerivedKeysDroppedWhenSubjectChanges(t *testing.T) {
	h := newHarness(t, true)
	h.m.DerivedKeys = []string{"aws-doc"}
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Fast.Set("aws-doc", []byte("creds")); err != nil {
		t.Fatal(err)
	}
	// Same subject again: credentials stay.
	if _, err := h.m.Login(t.Context(), h.src); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Fast.Get("aws-doc"); err != nil {
		t.Fatalf("same subject dropped the credentials: %v", err)
	}
	// Another subject: credentials go.
	bob := &fakeSource{name: "device", interactive: true}
	h.m.Verify = func(ctx context.Context, src, raw string) (*flow.Verified, error) {
		return verifyAll(ctx, src, raw+"sub=bob")
	}
	if _, err := h.m.Login(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Fast.Get("aws-doc"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("alice's credentials survived bob's login: %v", err)
	}
}

func TestLogoutRemovesEverything(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e, _ := h.m.Cached(); e != nil || h.m.HasRefreshToken() {
		t.Errorf("left behind: %+v %v", e, h.m.HasRefreshToken())
	}
}

// due makes the cached token need a refresh (margin longer than its life).
func (h *harness) due() { h.m.Margin = 2 * time.Hour }

func TestRefreshStoresRotatedTokenFirst(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.due()
	h.m.CanPrompt = false
	h.refresher.next = func(rt string) (*flow.Token, error) {
		return &flow.Token{IDToken: "tok-refreshed", RefreshToken: "rt-2", Source: "refresh"}, nil
	}
	var order []string
	h.m.Verify = func(ctx context.Context, src, raw string) (*flow.Verified, error) {
		// By the time the new ID token is verified and used, the rotated
		// refresh token must already be stored.
		order = append(order, "verify:rt="+h.m.RefreshToken())
		return verifyAll(ctx, src, raw)
	}
	res, err := h.m.Token(t.Context())
	if err != nil || !res.Refreshed || res.Entry.IDToken != "tok-refreshed" {
		t.Fatalf("%+v %v", res, err)
	}
	if len(order) != 1 || order[0] != "verify:rt=rt-2" {
		t.Errorf("order = %v", order)
	}
	if len(h.refresher.calls) != 1 || h.refresher.calls[0] != "rt-1" {
		t.Errorf("refresh calls = %v", h.refresher.calls)
	}
}

func TestRefreshRejectedNeedsLogin(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.due()
	h.m.CanPrompt = false
	h.refresher.next = func(string) (*flow.Token, error) {
		return nil, apperr.LoginRequired(fmt.Errorf("%w (invalid_grant)", flow.ErrRefreshRejected), "")
	}
	_, err := h.m.Token(t.Context())
	if apperr.ExitCode(err) != 3 || !strings.Contains(apperr.HintOf(err), "dagster-oidc login --profile dev") {
		t.Fatalf("err = %v (hint %q)", err, apperr.HintOf(err))
	}
	if h.m.HasRefreshToken() {
		t.Error("the rejected refresh token was kept")
	}
}

func TestRefreshFailureServesUnexpiredToken(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.due()
	h.refresher.next = func(string) (*flow.Token, error) { return nil, errors.New("connection refused") }
	res, err := h.m.Token(t.Context())
	if err != nil || res.Entry.IDToken != "tok-1" {
		t.Fatalf("%+v %v", res, err)
	}
	if !strings.Contains(h.warn.String(), "could not refresh (connection refused); serving the cached token") {
		t.Errorf("warning = %q", h.warn.String())
	}
	// Past expiry the same failure is an error, and the refresh token stays.
	h.m.Clock = clock.Fake(now.Add(2 * time.Hour))
	if _, err := h.m.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "could not refresh the login of profile \"dev\"") {
		t.Errorf("err = %v", err)
	}
	if !h.m.HasRefreshToken() {
		t.Error("a transient failure dropped the refresh token")
	}
}

func TestRefreshWithoutIDTokenAfterExpiry(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.m.Clock = clock.Fake(now.Add(2 * time.Hour))
	h.refresher.next = func(string) (*flow.Token, error) { return &flow.Token{RefreshToken: "rt-2"}, nil }
	_, err := h.m.Token(t.Context())
	if err == nil || !strings.Contains(err.Error(), "carried no id_token and the cached one has expired") {
		t.Fatalf("err = %v", err)
	}
	if rt := h.m.RefreshToken(); rt != "rt-2" {
		t.Errorf("rotated refresh token not kept: %q", rt)
	}
}

func TestUnwritableSecretsStoreNeverSpendsTheRefreshToken(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.due()
	h.m.Secrets = readOnlyStore{h.m.Secrets}
	_, _ = h.m.Token(t.Context())
	if len(h.refresher.calls) != 0 {
		t.Errorf("refreshed %d times with a store that cannot keep the rotated token", len(h.refresher.calls))
	}
	if !strings.Contains(h.warn.String(), "is not writable, so the refresh token was not spent") {
		t.Errorf("warning = %q", h.warn.String())
	}
}

// readOnlyStore refuses writes.
type readOnlyStore struct{ cache.Store }

func (readOnlyStore) Set(string, []byte) error { return errors.New("read-only file system") }

// TestAlso_RefreshToAnotherSubjectNeedsLogin (issue 15, "Also"): a refresh
// answer whose ID token names another sub is refused; the saved login is
// dropped and, with nobody to log in, the result is "login required".
func TestAlso_RefreshToAnotherSubjectNeedsLogin(t *testing.T) {
	h := newHarness(t, true)
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.due()
	h.m.CanPrompt = false
	h.refresher.next = func(string) (*flow.Token, error) {
		return &flow.Token{IDToken: "tok-refreshed sub=mallory", RefreshToken: "rt-2", Source: "refresh"}, nil
	}
	res, err := h.m.Token(t.Context())
	if apperr.ExitCode(err) != 3 || res != nil {
		t.Fatalf("res %+v, err = %v; want login required (exit 3)", res, err)
	}
	if h.m.HasRefreshToken() {
		t.Error("the refresh token of the swapped login was kept")
	}
	if e, _ := h.m.Cached(); e != nil {
		t.Errorf("a token is still cached: %+v", e)
	}
	if !strings.Contains(h.warn.String(), "for another subject than the login it refreshes") {
		t.Errorf("warning = %q", h.warn.String())
	}
	denied := false
	for _, e := range h.events {
		denied = denied || (e.Name == "refresh" && e.Outcome == "denied")
	}
	if !denied {
		t.Errorf("events = %+v, want a denied refresh", h.events)
	}
}
