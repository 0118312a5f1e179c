// Package session resolves a verified ID token for one profile: it serves
// the cache, refreshes ahead of expiry under a cross-process lock, reads
// workload tokens fresh, and starts an interactive login only where a person
// can answer it.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// Event is something the audit trail records.
type Event struct {
	// Name is login, refresh, token_served, verification_failed or login_required.
	Name    string
	Outcome string // ok, error, denied
	Source  string
	Claims  *flow.Claims
	Expiry  time.Time
	Err     error
	// Unverified says why a workload token was accepted without a
	// signature check ("" when it was checked).
	Unverified string
}

// Manager is the token use case of one profile.
type Manager struct {
	Profile     string
	Environment string
	Issuer      string
	ClientID    string
	// Audience is the audience the profile's tokens must carry; a cached
	// entry without it (or of another issuer or client) is not served.
	Audience string

	// Debug receives the -v lines (cache decisions, lock waits); nil is off.
	Debug *debuglog.Logger

	// Fast holds ID tokens (short-lived; the file store keeps the hot path fast).
	Fast cache.Store
	// Secrets holds refresh tokens: the keyring when one exists.
	Secrets cache.Store
	// LockDir is where the per-key lock files live; LockWait bounds the wait.
	LockDir  string
	LockWait time.Duration

	Clock clock.Clock
	// Margin: a token with less than this left is refreshed.
	Margin time.Duration
	// CanPrompt is true when a person can answer an interactive login.
	CanPrompt bool
	// Warn receives warnings (a discarded corrupt entry). Never stdout.
	Warn io.Writer

	// Source builds the profile's token source; called only on a cache miss.
	Source func(ctx context.Context) (flow.Source, error)
	// Refresher builds the refresher; called only when a refresh is due.
	Refresher func(ctx context.Context) (Refresher, error)
	// Verify checks a token from a source or a refresh (nonce checked by the
	// browser flow itself); source is the token's source name.
	Verify func(ctx context.Context, source, raw string) (*flow.Verified, error)
	// Observe receives audit events; nil drops them.
	Observe func(Event)
	// Workload is true when the profile's source is a workload identity:
	// its tokens are read at every use and never stored.
	Workload bool
	// LoginHint replaces the default "run: dagster-oidc login --profile P"
	// when a login is required.
	LoginHint string
	// DerivedKeys are the Fast-store keys of what was obtained with the
	// token (cloud credentials). They are deleted whenever a token of
	// another subject is stored, so one person's credentials are never
	// served after another logs in on the same profile.
	DerivedKeys []string
	// ExchangeLocks are the lock keys the exchanges of this profile hold
	// while they obtain and store cloud credentials; Exclusive takes them
	// before the token lock.
	ExchangeLocks []string
}

// Refresher redeems a refresh token; *flow.Refresher is the real one.
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string) (*flow.Token, error)
}

// Result is a token, its verified claims, and how it was obtained.
type Result struct {
	Entry cache.TokenEntry
	// Claims are the claims the verifier accepted (from the entry on a cache
	// hit: it is written only after verification).
	Claims    *flow.Claims
	FromCache bool
	Refreshed bool
	// Unverified says why the token's signature was not checked ("" when it
	// was); such a token was not stored.
	Unverified string
}

func (m *Manager) key(kind string) string {
	return cache.Key{Kind: kind, Profile: m.Profile, Environment: m.Environment, Issuer: m.Issuer, ClientID: m.ClientID}.String()
}

// LockKey is the name of the profile's lock.
func (m *Manager) LockKey() string { return m.key("lock") }

func (m *Manager) loginHint() string {
	if m.LoginHint != "" {
		return m.LoginHint
	}
	return "run: dagster-oidc login --profile " + m.Profile
}

// Cached returns the cached token entry without any network or lock; an
// unreadable entry is discarded with a warning and reported as absent, and
// so is one obtained for another issuer, client or audience than the
// profile's (the profile was edited, or the entry was put there). A cache
// another user could have written is an error (cache.ErrUntrusted).
func (m *Manager) Cached() (*cache.TokenEntry, error) {
	var e cache.TokenEntry
	ok, err := m.load(m.Fast, m.key(cache.KindToken), cache.KindToken, &e)
	if !ok {
		return nil, err
	}
	if e.Issuer != m.Issuer || e.ClientID != m.ClientID || (m.Audience != "" && !slices.Contains(e.Audience, m.Audience)) {
		return nil, nil
	}
	m.Debug.Claims(e.Claims)
	return &e, nil
}

// cachedResult is the answer for a cached entry: its claims are the ones
// stored with it after verification, so the token is not parsed again.
func cachedResult(e *cache.TokenEntry) *Result {
	c := flow.ClaimsFromMap(e.Claims, e.Expiry)
	return &Result{Entry: *e, Claims: c, FromCache: true}
}

// read decodes an entry; false when absent, discarded as corrupt or untrusted.
func (m *Manager) read(s cache.Store, key, kind string, v any) bool {
	ok, _ := m.load(s, key, kind, v)
	return ok
}

// load is read that returns the refusal of an untrusted cache instead of
// hiding it.
func (m *Manager) load(s cache.Store, key, kind string, v any) (bool, error) {
	data, err := s.Get(key)
	if err == nil {
		err = cache.Decode(data, kind, v)
		if err == nil {
			return true, nil
		}
	}
	switch {
	case errors.Is(err, cache.ErrNotFound):
	case errors.Is(err, cache.ErrUntrusted):
		return false, err
	case errors.Is(err, cache.ErrCorrupt):
		_ = s.Delete(key)
		m.warnf("warning: discarded an unreadable cached %s entry (%v); if this repeats, %s", kind, err, m.loginHint())
	default:
		m.warnf("warning: could not read the %s cache (%s store): %v", kind, s.Name(), err)
	}
	return false, nil
}

// whyNotUsable says, for a debug line, why the cached entry e is not served.
func (m *Manager) whyNotUsable(e *cache.TokenEntry, stale string) string {
	switch {
	case e == nil:
		return "no ID token cached"
	case stale != "" && e.IDToken == stale:
		return "the cached ID token was refused downstream; getting another"
	}
	return fmt.Sprintf("the cached ID token expires at %s, within the refresh margin %s", e.Expiry.UTC().Format(time.RFC3339), m.Margin)
}

// lock takes the profile's lock file, logging the wait.
func (m *Manager) lock(ctx context.Context) (func() error, error) {
	return m.Debug.Lock(m.LockKey(), func() (func() error, error) {
		return cache.Lock(ctx, m.LockDir, m.LockKey(), m.LockWait)
	})
}

func (m *Manager) warnf(format string, args ...any) {
	if m.Warn != nil {
		fmt.Fprintf(m.Warn, format+"\n", args...)
	}
}

func (m *Manager) now() time.Time {
	if m.Clock == nil {
		return time.Now()
	}
	return m.Clock.Now()
}

func (m *Manager) fresh(e *cache.TokenEntry) bool {
	return e != nil && e.Expiry.After(m.now().Add(m.Margin))
}

func (m *Manager) observe(ev Event) {
	if m.Observe != nil {
		m.Observe(ev)
	}
}

// Token returns a valid ID token: from the cache when it has more than
// Margin left, else refreshed or read again from a workload source under
// the profile's lock, else (only where CanPrompt) from an interactive login.
func (m *Manager) Token(ctx context.Context) (*Result, error) {
	return m.token(ctx, "")
}

// Renew returns a token other than stale, which was refused downstream (an
// STS InvalidIdentityToken): a refresh or a fresh workload read.
func (m *Manager) Renew(ctx context.Context, stale string) (*Result, error) {
	return m.token(ctx, stale)
}

func (m *Manager) token(ctx context.Context, stale string) (*Result, error) {
	usable := func(e *cache.TokenEntry) bool { return m.fresh(e) && e.IDToken != stale }
	// A workload token is read from the platform at every use and never
	// stored: nothing to look up, nothing to lock.
	if m.Workload {
		src, err := m.Source(ctx)
		if err != nil {
			return nil, err
		}
		m.Debug.Printf("token of profile %s: reading the %s token (workload tokens are never cached)", m.Profile, src.Name())
		return m.fromSource(ctx, src)
	}
	e, err := m.Cached()
	if err != nil {
		return nil, err
	}
	if usable(e) {
		m.Debug.Printf("cache %s: ID token served, valid until %s (refresh margin %s)", m.key(cache.KindToken), e.Expiry.UTC().Format(time.RFC3339), m.Margin)
		return cachedResult(e), nil
	}
	m.Debug.Printf("cache %s: %s", m.key(cache.KindToken), m.whyNotUsable(e, stale))
	// Fail fast where nobody can log in and nothing can refresh: no lock, no
	// network, no browser.
	if !m.CanPrompt {
		var r cache.RefreshEntry
		if !m.read(m.Secrets, m.key(cache.KindRefresh), cache.KindRefresh, &r) {
			src, err := m.Source(ctx)
			if err != nil {
				return nil, err
			}
			if isInteractive(src) {
				err := apperr.LoginRequired(fmt.Errorf("no valid login for profile %q and no terminal to log in from", m.Profile), m.loginHint())
				m.observe(Event{Name: "login_required", Outcome: "error", Source: src.Name(), Err: err})
				return nil, err
			}
		}
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlock() }()

	// Another process may have refreshed while we waited.
	cached, err := m.Cached()
	if err != nil {
		return nil, err
	}
	if usable(cached) {
		m.Debug.Printf("cache %s: another process refreshed the ID token meanwhile", m.key(cache.KindToken))
		return cachedResult(cached), nil
	}
	src, err := m.Source(ctx)
	if err != nil {
		return nil, err
	}
	if res, err, done := m.refresh(ctx, cached); done {
		return res, err
	}
	if !m.CanPrompt {
		err := apperr.LoginRequired(fmt.Errorf("the login of profile %q has expired and there is no terminal to log in from", m.Profile), m.loginHint())
		m.observe(Event{Name: "login_required", Outcome: "error", Source: src.Name(), Err: err})
		return nil, err
	}
	return m.loginLocked(ctx, src)
}

// refresh tries the refresh token. done is false when a login is needed.
func (m *Manager) refresh(ctx context.Context, cached *cache.TokenEntry) (res *Result, err error, done bool) {
	var r cache.RefreshEntry
	rkey := m.key(cache.KindRefresh)
	if !m.read(m.Secrets, rkey, cache.KindRefresh, &r) || r.RefreshToken == "" {
		return nil, nil, false
	}
	refresher, err := m.Refresher(ctx)
	if err != nil {
		return m.stale(cached, err)
	}
	// A rotating IdP spends the refresh token as soon as it answers: make
	// sure the rotated one can be stored before spending this one.
	if raw, err := m.Secrets.Get(rkey); err == nil {
		if err := m.Secrets.Set(rkey, raw); err != nil {
			return m.stale(cached, fmt.Errorf("the refresh token store (%s) is not writable, so the refresh token was not spent: %w", m.Secrets.Name(), err))
		}
	}
	m.Debug.Printf("refresh of profile %s: using the stored refresh token (%s store)", m.Profile, m.Secrets.Name())
	tok, err := refresher.Refresh(ctx, r.RefreshToken)
	if err != nil {
		m.Debug.Printf("refresh of profile %s: failed", m.Profile)
		if errors.Is(err, flow.ErrRefreshRejected) {
			_ = m.Secrets.Delete(rkey)
			m.observe(Event{Name: "refresh", Outcome: "error", Source: "refresh", Err: err})
			m.warnf("The identity provider no longer accepts the saved login (%v); a new login is needed.", err)
			return nil, nil, false
		}
		m.observe(Event{Name: "refresh", Outcome: "error", Source: "refresh", Err: err})
		return m.stale(cached, err)
	}
	// Persist a rotated refresh token before anything uses the new tokens:
	// the old one is already spent at the IdP.
	if tok.RefreshToken != r.RefreshToken {
		if err := m.saveRefresh(tok.RefreshToken); err != nil {
			return nil, fmt.Errorf("could not save the rotated refresh token: %w", err), true
		}
	}
	if tok.IDToken == "" {
		if cached != nil && cached.Expiry.After(m.now()) {
			m.warnf("warning: the identity provider's refresh answer carried no id_token; serving the cached one until it expires at %s", cached.Expiry.UTC().Format(time.RFC3339))
			return cachedResult(cached), nil, true
		}
		return nil, errors.New("the identity provider's refresh answer carried no id_token and the cached one has expired: ask the IdP administrator to return ID tokens on refresh (e.g. Okta: include openid in the refresh scopes; Entra ID: request the openid scope), or run dagster-oidc login"), true
	}
	v, err := m.verify(ctx, tok)
	if err != nil {
		return nil, err, true
	}
	// OpenID Connect Core §12.2: a refreshed ID token's sub MUST be the one
	// of the login it refreshes. Another subject is refused, the saved
	// login dropped, and a new login required.
	if cached != nil && cached.Subject != "" && v.Claims.Subject != cached.Subject {
		_ = m.Secrets.Delete(rkey)
		_ = m.Fast.Delete(m.key(cache.KindToken))
		err := errors.New("the identity provider's refresh answer is for another subject than the login it refreshes (OpenID Connect Core §12.2); the saved login was dropped")
		m.observe(Event{Name: "refresh", Outcome: "denied", Source: "refresh", Err: err})
		m.warnf("warning: %v; a new login is needed.", err)
		return nil, nil, false
	}
	res, err = m.storeVerified(tok, v, "refresh")
	if err == nil {
		res.Refreshed = true
	}
	return res, err, true
}

// stale serves a still-unexpired cached token when a refresh failed for a
// reason other than rejection (IdP down): better late than broken.
func (m *Manager) stale(cached *cache.TokenEntry, err error) (*Result, error, bool) {
	if cached != nil && cached.Expiry.After(m.now()) {
		m.warnf("warning: could not refresh (%v); serving the cached token, valid until %s", err, cached.Expiry.UTC().Format(time.RFC3339))
		return cachedResult(cached), nil, true
	}
	return nil, fmt.Errorf("could not refresh the login of profile %q: %w", m.Profile, err), true
}

// Login runs an interactive login with src regardless of the cache.
func (m *Manager) Login(ctx context.Context, src flow.Source) (*Result, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlock() }()
	if !isInteractive(src) {
		return m.fromSource(ctx, src)
	}
	return m.loginLocked(ctx, src)
}

// loginLocked runs an interactive login. Nothing of it is stored before its
// ID token has verified: a refused login leaves no refresh token behind.
func (m *Manager) loginLocked(ctx context.Context, src flow.Source) (*Result, error) {
	tok, err := src.Token(ctx)
	if err != nil {
		// The browser flow verifies the nonce itself.
		err = humanHint(err)
		m.observe(Event{Name: "login", Outcome: outcome(err), Source: src.Name(), Err: err})
		return nil, err
	}
	v, err := m.verify(ctx, tok)
	if err == nil {
		err = m.storable(tok, v)
	}
	if err != nil {
		return nil, err
	}
	if tok.RefreshToken != "" {
		if err := m.saveRefresh(tok.RefreshToken); err != nil {
			return nil, fmt.Errorf("could not save the refresh token: %w", err)
		}
	} else {
		_ = m.Secrets.Delete(m.key(cache.KindRefresh))
	}
	return m.storeVerified(tok, v, "login")
}

// fromSource reads a workload token fresh and verifies it; it is never
// stored (the platform keeps it fresh, so it is asked again next time).
func (m *Manager) fromSource(ctx context.Context, src flow.Source) (*Result, error) {
	tok, err := src.Token(ctx)
	if err != nil {
		err = workloadSourceHint(err)
		name := "login"
		if apperr.KindOf(err) == apperr.KindDenied {
			// The source read a token that cannot be accepted.
			name = "verification_failed"
		}
		m.observe(Event{Name: name, Outcome: outcome(err), Source: src.Name(), Err: err})
		return nil, err
	}
	v, err := m.verify(ctx, tok)
	if err != nil {
		if m.Workload {
			return nil, workloadHint(tok.Source, err)
		}
		return nil, err
	}
	if v.Unverified != "" {
		m.warnf("warning: accepted the %s token without checking its signature: %s; its iss, aud and exp were checked, and it is not stored", tok.Source, v.Unverified)
	}
	e := m.entry(tok, v.Claims)
	m.observe(Event{Name: "login", Outcome: "ok", Source: tok.Source, Claims: v.Claims, Expiry: v.Claims.Expiry, Unverified: v.Unverified})
	return &Result{Entry: e, Claims: v.Claims, Unverified: v.Unverified}, nil
}

// verify checks tok, recording a refusal.
func (m *Manager) verify(ctx context.Context, tok *flow.Token) (*flow.Verified, error) {
	v, err := m.Verify(ctx, tok.Source, tok.IDToken)
	if err != nil && !m.Workload {
		err = humanHint(err)
	}
	if err != nil {
		m.observe(Event{Name: "verification_failed", Outcome: "denied", Source: tok.Source, Err: err})
		return nil, err
	}
	m.Debug.Claims(v.Claims.All)
	return v, nil
}

// store verifies tok and caches it.
func (m *Manager) store(ctx context.Context, tok *flow.Token, event string) (*Result, error) {
	v, err := m.verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	return m.storeVerified(tok, v, event)
}

// storable refuses to store a token whose signature was not checked.
func (m *Manager) storable(tok *flow.Token, v *flow.Verified) error {
	if v.Unverified == "" {
		return nil
	}
	err := apperr.Denied(&flow.VerificationError{Reason: flow.ReasonSignature, Detail: "a token from " + tok.Source + " was not signature-checked (" + v.Unverified + ") and is not stored"}, "")
	m.observe(Event{Name: "verification_failed", Outcome: "denied", Source: tok.Source, Err: err})
	return err
}

// entry is the cache entry of a verified token.
func (m *Manager) entry(tok *flow.Token, claims *flow.Claims) cache.TokenEntry {
	return cache.TokenEntry{
		IDToken: tok.IDToken, Expiry: claims.Expiry, Source: tok.Source,
		Issuer: claims.Issuer, ClientID: m.ClientID, Audience: claims.Audience, Subject: claims.Subject,
		Claims: claims.All, ObtainedAt: m.now(),
	}
}

// storeVerified caches a token whose signature was checked. A token
// accepted without that check is never written.
func (m *Manager) storeVerified(tok *flow.Token, v *flow.Verified, event string) (*Result, error) {
	source, claims := tok.Source, v.Claims
	if err := m.storable(tok, v); err != nil {
		return nil, err
	}
	prev, _ := m.Cached()
	if prev == nil || prev.Subject != claims.Subject || prev.Issuer != claims.Issuer {
		for _, k := range m.DerivedKeys {
			if err := m.Fast.Delete(k); err != nil {
				return nil, fmt.Errorf("could not remove the previous identity's cached credentials: %w", err)
			}
		}
	}
	e := m.entry(tok, claims)
	m.warnShortLived(prev, &e, claims)
	data, err := cache.Encode(cache.KindToken, e)
	if err != nil {
		return nil, err
	}
	if err := m.Fast.Set(m.key(cache.KindToken), data); err != nil {
		// The token is verified, and the refresh token (or device code) it
		// came from is spent: serve it, as the cloud paths serve credentials
		// they could not cache, rather than fail after spending.
		m.warnf("warning: could not cache the ID token (%s store): %v; serving it uncached, so the next call refreshes again (check the cache directory: dagster-oidc status)", m.Fast.Name(), err)
	}
	m.observe(Event{Name: event, Outcome: "ok", Source: source, Claims: claims, Expiry: claims.Expiry})
	return &Result{Entry: e, Claims: claims}, nil
}

// warnShortLived warns, once, when the IdP issues ID tokens that live less
// than the refresh margin: each call then refreshes. Once: not again while
// the entry it replaces was as short-lived (the warning was given then).
func (m *Manager) warnShortLived(prev, e *cache.TokenEntry, claims *flow.Claims) {
	short := func(x *cache.TokenEntry) bool { return x.Expiry.Sub(x.ObtainedAt) < m.Margin }
	if !short(e) || (prev != nil && !prev.ObtainedAt.IsZero() && short(prev)) {
		return
	}
	// The IdP's own figure (exp - iat) when it says when it issued the token.
	life := e.Expiry.Sub(e.ObtainedAt).Round(time.Second)
	if !claims.IssuedAt.IsZero() {
		life = claims.Expiry.Sub(claims.IssuedAt)
	}
	m.warnf("warning: the identity provider issues ID tokens valid for %s, less than refresh_margin %s, so every call refreshes the token; set refresh_margin below that in profile %s (e.g. %s)",
		life, m.Margin, m.Profile, (life / 2).Round(time.Second))
}

func (m *Manager) saveRefresh(rt string) error {
	data, err := cache.Encode(cache.KindRefresh, cache.RefreshEntry{RefreshToken: rt, Issuer: m.Issuer, ClientID: m.ClientID, UpdatedAt: m.now()})
	if err != nil {
		return err
	}
	return m.Secrets.Set(m.key(cache.KindRefresh), data)
}

// RefreshToken returns the stored refresh token, "" when none (for logout --revoke).
func (m *Manager) RefreshToken() string {
	var r cache.RefreshEntry
	if m.read(m.Secrets, m.key(cache.KindRefresh), cache.KindRefresh, &r) {
		return r.RefreshToken
	}
	return ""
}

// HasRefreshToken reports whether a refresh token is stored.
func (m *Manager) HasRefreshToken() bool { return m.RefreshToken() != "" }

// Logout removes the profile's token, refresh token and any extra keys
// (cloud credentials) from both stores, holding the profile's locks (see
// Exclusive): a refresh, login or exchange in flight finishes first, and
// what it stored is removed too instead of being written back afterwards.
func (m *Manager) Logout(ctx context.Context, extra ...string) error {
	return m.Exclusive(ctx, func() error { return m.Remove(extra...) })
}

// Exclusive runs fn holding the locks named by ExchangeLocks and then the
// profile's token lock: the order in which the exchanges take them (an
// exchange holds its own lock while it asks for a token), so the two never
// wait for each other. It tells Warn when another process holds one.
func (m *Manager) Exclusive(ctx context.Context, fn func() error) error {
	said := false
	waiting := func() {
		if !said {
			said = true
			m.warnf("Waiting for another dagster-oidc process of profile %s to finish (a refresh, login or exchange in flight)...", m.Profile)
		}
	}
	for _, key := range append(append([]string(nil), m.ExchangeLocks...), m.LockKey()) {
		unlock, err := cache.LockNotify(ctx, m.LockDir, key, m.LockWait, waiting)
		if err != nil {
			return err
		}
		defer func() { _ = unlock() }()
	}
	return fn()
}

// Remove deletes the profile's token, refresh token and any extra keys
// from both stores without taking a lock; callers hold Exclusive.
func (m *Manager) Remove(extra ...string) error {
	var errs []error
	for _, k := range append([]string{m.key(cache.KindToken), m.key(cache.KindRefresh)}, extra...) {
		for _, s := range []cache.Store{m.Fast, m.Secrets} {
			if err := s.Delete(k); err != nil {
				errs = append(errs, fmt.Errorf("%s store: %w", s.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Key returns the cache key of an entry kind with extra discriminators, for
// the exchangers' cached credentials.
func (m *Manager) Key(kind string, extra ...string) string {
	return cache.Key{Kind: kind, Profile: m.Profile, Environment: m.Environment, Issuer: m.Issuer, ClientID: m.ClientID, Extra: extra}.String()
}

func isInteractive(src flow.Source) bool {
	i, ok := src.(flow.Interactive)
	return ok && i.Interactive()
}

func outcome(err error) string {
	if apperr.KindOf(err) == apperr.KindDenied {
		return "denied"
	}
	return "error"
}
