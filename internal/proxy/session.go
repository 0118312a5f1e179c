package proxy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/signin"
)

// sessionData is what the session cookie holds, sealed. It is bounded by the
// ID token's expiry (Expiry) and renewed with the refresh token until
// SignedIn + SessionLifetime.
type sessionData struct {
	Subject  string       `json:"sub"`
	Issuer   string       `json:"iss"`
	Name     string       `json:"name"`
	Email    string       `json:"email,omitempty"`
	Groups   []string     `json:"grp,omitempty"`
	Grants   authz.Grants `json:"g"`
	Expiry   int64        `json:"exp"`
	SignedIn int64        `json:"at"`
	Refresh  string       `json:"rt,omitempty"`
}

func (d *sessionData) identity() *identity {
	return &identity{Subject: d.Subject, Issuer: d.Issuer, Name: d.Name, Email: d.Email, Groups: d.Groups, Grants: d.Grants, Source: sourceSession}
}

// sessionIdentity is the identity of a session, with its end.
func (s *Server) sessionIdentity(d *sessionData) *identity {
	id := d.identity()
	id.Until = time.Unix(d.Expiry, 0)
	if d.Refresh != "" {
		id.Until = time.Unix(d.SignedIn, 0).Add(s.o.SessionLifetime)
	}
	return id
}

// errNoSession means the request carries no usable credentials.
var errNoSession = errors.New("not signed in")

// authenticate finds who a request is from: a bearer token (verified, or
// the request is refused: it never falls back to the cookie), else the
// session cookie, renewed with its refresh token when the ID token expired.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*identity, error) {
	now := s.o.Clock.Now()
	if raw, ok := signin.FromHeader(r.Header.Get("Authorization")); ok {
		if s.o.Bearer == nil {
			return nil, errors.New("bearer tokens are not accepted by this proxy")
		}
		if id := s.bearers.get(raw, now); id != nil {
			return id, nil
		}
		c, err := s.o.Bearer.Verify(r.Context(), raw)
		if err != nil {
			s.auditEvent(eventSignIn, audit.OutcomeDenied, nil, sourceBearer, verificationClass(err), "")
			return nil, err
		}
		id := s.identityFrom(c, sourceBearer)
		id.Until = c.Expiry
		s.bearers.put(raw, id, c.Expiry)
		return id, nil
	}
	ck, err := r.Cookie(s.sessionCookie())
	if err != nil {
		return nil, errNoSession
	}
	var d sessionData
	if err := s.o.Sealer.Open(s.sessionCookie(), ck.Value, &d); err != nil {
		return nil, err
	}
	if now.Unix() < d.Expiry {
		return s.sessionIdentity(&d), nil
	}
	end := time.Unix(d.SignedIn, 0).Add(s.o.SessionLifetime)
	if d.Refresh == "" || !now.Before(end) {
		return nil, errSessionExpired
	}
	nd, err := s.refresh.do(now, d.Refresh, func() (*sessionData, error) { return s.renew(r.Context(), &d) })
	if err != nil {
		s.o.ErrorLog("session refresh: %v", err)
		return nil, errSessionExpired
	}
	if err := s.setSession(w, nd); err != nil {
		return nil, err
	}
	return s.sessionIdentity(nd), nil
}

var errSessionExpired = errors.New("the session expired; sign in again")

// renew refreshes a session's ID token and re-evaluates its grants.
func (s *Server) renew(ctx context.Context, d *sessionData) (*sessionData, error) {
	t, err := s.o.SignIn.Refresh(ctx, d.Refresh)
	if err != nil {
		return nil, err
	}
	if t.Claims.Subject != d.Subject || t.Claims.Issuer != d.Issuer {
		return nil, errors.New("the refreshed ID token is for another subject")
	}
	nd := s.newSession(t, d.SignedIn)
	return nd, nil
}

func (s *Server) newSession(t *signin.Tokens, signedIn int64) *sessionData {
	id := s.identityFrom(t.Claims, sourceSession)
	exp := t.Claims.Expiry
	if end := time.Unix(signedIn, 0).Add(s.o.SessionLifetime); end.Before(exp) {
		exp = end
	}
	return &sessionData{Subject: id.Subject, Issuer: id.Issuer, Name: id.Name, Email: id.Email, Groups: id.Groups,
		Grants: id.Grants, Expiry: exp.Unix(), SignedIn: signedIn, Refresh: t.Refresh}
}

// setSession seals d into the session cookie, kept by the browser until the
// session's end (the refresh token may renew it until then).
func (s *Server) setSession(w http.ResponseWriter, d *sessionData) error {
	v, err := s.o.Sealer.Seal(s.sessionCookie(), d)
	if err != nil {
		return err
	}
	end := time.Unix(d.SignedIn, 0).Add(s.o.SessionLifetime)
	maxAge := int(end.Sub(s.o.Clock.Now()) / time.Second)
	if d.Refresh == "" {
		maxAge = int(time.Unix(d.Expiry, 0).Sub(s.o.Clock.Now()) / time.Second)
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: v, Path: "/", MaxAge: max(maxAge, 1),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// signIn starts the authorization code flow; rd is the path to return to.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	a := signin.NewAttempt(safeReturn(r.URL.Query().Get("rd")))
	u, err := s.o.SignIn.AuthURL(r.Context(), a)
	if err != nil {
		s.o.ErrorLog("sign-in: %v", err)
		page(w, http.StatusBadGateway, "Sign-in unavailable", "<p>The identity provider cannot be reached. Try again in a moment.</p>")
		return
	}
	v, err := s.o.Sealer.Seal(attemptName(a.State), a)
	if err != nil {
		s.o.ErrorLog("sign-in: %v", err)
		http.Error(w, "could not start the sign-in", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: attemptName(a.State), Value: v, Path: CallbackPath, MaxAge: int(attemptLifetime / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// attemptName is the cookie of one sign-in attempt: several tabs may sign in
// at once, each with its own state.
func attemptName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return fmt.Sprintf("%s%x", attemptCookiePrefix, sum[:8])
}

// safeReturn keeps a return path only if it is a path on this proxy (no
// scheme, no host, no "//" or "/\" that a browser would read as a host).
func safeReturn(rd string) string {
	if rd == "" || !strings.HasPrefix(rd, "/") || strings.HasPrefix(rd, "//") || strings.HasPrefix(rd, "/\\") || strings.HasPrefix(rd, PathPrefix) {
		return "/"
	}
	u, err := url.Parse(rd)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.ContainsAny(rd, "\r\n\t") {
		return "/"
	}
	return rd
}

// callback finishes the sign-in: state, code, ID token (nonce included),
// grants; then back to where the person was going.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	ck, err := r.Cookie(attemptName(state))
	var a signin.Attempt
	if state == "" || err != nil || s.o.Sealer.Open(attemptName(state), ck.Value, &a) != nil || a.State != state {
		s.auditEvent(eventSignIn, audit.OutcomeDenied, nil, "browser", "state_mismatch", "")
		page(w, http.StatusBadRequest, "Sign-in expired", `<p>This sign-in is unknown or expired (it must finish within 10 minutes, in the browser that started it).</p><p><a href="/">Start again</a></p>`)
		return
	}
	s.clearCookie(w, attemptName(state), CallbackPath)
	if e := q.Get("error"); e != "" {
		s.auditEvent(eventSignIn, audit.OutcomeDenied, nil, "browser", "idp_error", e)
		page(w, http.StatusForbidden, "Sign-in refused", "<p>The identity provider refused the sign-in: "+esc(e)+" "+esc(q.Get("error_description"))+`</p><p><a href="/">Try again</a></p>`)
		return
	}
	t, err := s.o.SignIn.Exchange(r.Context(), q.Get("code"), a)
	if err != nil {
		s.o.ErrorLog("sign-in callback: %v", err)
		s.auditEvent(eventSignIn, audit.OutcomeDenied, nil, "browser", verificationClass(err), "")
		page(w, http.StatusForbidden, "Sign-in failed", "<p>"+esc(firstLine(err.Error()))+`</p><p><a href="/">Try again</a></p>`)
		return
	}
	d := s.newSession(t, s.o.Clock.Now().Unix())
	outcome := audit.OutcomeOK
	if len(d.Grants) == 0 {
		outcome = audit.OutcomeDenied
	}
	s.auditEvent(eventSignIn, outcome, d.identity(), "browser", "", "")
	if err := s.setSession(w, d); err != nil {
		s.o.ErrorLog("sign-in: %v", err)
		page(w, http.StatusInternalServerError, "Sign-in failed", "<p>"+esc(err.Error())+"</p>")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.Return, http.StatusFound)
}

// signOut ends the session and, when the IdP supports RP-initiated logout,
// the IdP's session too.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if r.Method != "GET" && !s.sameOrigin(r) {
		http.Error(w, "dagster-oidc: cross-site request refused (Origin does not match)", http.StatusForbidden)
		return
	}
	s.clearCookie(w, s.sessionCookie(), "/")
	back := s.origin + SignedOutPath
	dest := SignedOutPath
	if u := s.o.SignIn.LogoutURL(r.Context(), back); u != "" {
		dest = u
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, dest, http.StatusFound)
}

// refreshGroup runs one refresh per refresh token at a time and shares its
// result for a minute: the UI's parallel requests at expiry must not each
// spend the same (possibly rotating) refresh token.
type refreshGroup struct {
	mu    sync.Mutex
	calls map[[32]byte]*refreshCall
}

type refreshCall struct {
	done chan struct{}
	at   time.Time
	d    *sessionData
	err  error
}

func (g *refreshGroup) do(now time.Time, token string, fn func() (*sessionData, error)) (*sessionData, error) {
	k := sha256.Sum256([]byte(token))
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[[32]byte]*refreshCall{}
	}
	for key, c := range g.calls {
		select {
		case <-c.done:
			if now.Sub(c.at) > time.Minute {
				delete(g.calls, key)
			}
		default:
		}
	}
	if c, ok := g.calls[k]; ok {
		g.mu.Unlock()
		<-c.done
		return c.d, c.err
	}
	c := &refreshCall{done: make(chan struct{})}
	g.calls[k] = c
	g.mu.Unlock()
	c.d, c.err = fn()
	c.at = now
	close(c.done)
	return c.d, c.err
}

// verificationClass names a sign-in or bearer failure for the audit line.
func verificationClass(err error) string {
	var v *flow.VerificationError
	if errors.As(err, &v) {
		return v.Reason
	}
	if errors.Is(err, signin.ErrUntrustedIssuer) {
		return "untrusted_issuer"
	}
	if apperr.KindOf(err) == apperr.KindDenied {
		return "denied"
	}
	return "error"
}
