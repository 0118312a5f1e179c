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
func verifyAll(_ context.Context, raw string) (*flow.Claims, error) {
	if raw == "bad" {
		return nil, apperr.Denied(&flow.VerificationError{Reason: flow.ReasonSignature, Detail: "bad"}, "")
	}
	sub := "alice"
	if i := strings.Index(raw, "sub="); i >= 0 {
		sub = raw[i+4:]
	}
	return &flow.Claims{Subject: sub, Issuer: "https://id.example.com", Expiry: now.Add(time.Hour)}, nil
}

type harness struct {
	m      *Manager
	src    *fakeSource
	warn   *bytes.Buffer
	events []Event
}

func newHarness(t *testing.T, interactive bool) *harness {
	t.Helper()
	h := &harness{src: &fakeSource{name: "device", interactive: interactive, refresh: "rt-1"}, warn: &bytes.Buffer{}}
	h.m = &Manager{
		Profile: "dev", Environment: "dev", Issuer: "https://id.example.com", ClientID: "cli",
		Fast: &cache.MemoryStore{}, Secrets: &cache.MemoryStore{},
		LockDir: t.TempDir(), LockWait: time.Second,
		Clock: clock.Fake(now), Margin: 2 * time.Minute, CanPrompt: true, Warn: h.warn,
		Source: func(context.Context) (flow.Source, error) { return h.src, nil },
		Verify: verifyAll,
	}
	// Refreshes are covered against the sandbox provider in internal/cli.
	h.m.Refresher = func(context.Context) (*flow.Refresher, error) {
		return nil, errors.New("no refresher in these tests")
	}
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

func TestWorkloadSourceReadFreshNeverToSecrets(t *testing.T) {
	h := newHarness(t, false)
	h.src.name, h.src.refresh = "kubernetes", ""
	h.m.CanPrompt = false
	if _, err := h.m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Secrets.Get(h.m.key(cache.KindRefresh)); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("something was written to the secrets store: %v", err)
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
	h.m.Verify = func(ctx context.Context, raw string) (*flow.Claims, error) { return verifyAll(ctx, "bad") }
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
	h.m.Verify = func(ctx context.Context, raw string) (*flow.Claims, error) { return verifyAll(ctx, raw+"sub=bob") }
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
	if err := h.m.Logout(); err != nil {
		t.Fatal(err)
	}
	if e, _ := h.m.Cached(); e != nil || h.m.HasRefreshToken() {
		t.Errorf("left behind: %+v %v", e, h.m.HasRefreshToken())
	}
}
