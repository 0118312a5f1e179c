// Package proxy is `dagster-oidc proxy`: a reverse proxy in front of
// dagster-webserver that signs people in with OpenID Connect, keeps their
// session in an encrypted cookie, accepts bearer ID tokens from trusted
// issuers, and lets each GraphQL operation (WebSocket ones included) and
// webserver route through only for the roles the authz table gives it.
//
// The packages under it have one job each: authz (roles, grants, the
// mutation and route table), gqlinspect (what a request asks GraphQL to
// run), cookie (sealed cookies), signin (OIDC). This package joins them to
// HTTP: authentication, the reverse proxy and the WebSocket relay, the
// refusal pages and errors, and the audit lines.
package proxy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/cookie"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/signin"
)

// Paths the proxy serves itself. Everything else goes to the webserver.
const (
	PathPrefix    = "/_dagster-oidc/"
	SignInPath    = PathPrefix + "sign_in"
	CallbackPath  = PathPrefix + "callback"
	SignOutPath   = PathPrefix + "sign_out"
	SignedOutPath = PathPrefix + "signed_out"
	HealthPath    = "/healthz"
)

// Defaults of the Options' zero fields.
const (
	DefaultSessionLifetime = 12 * time.Hour
	DefaultMaxBodyBytes    = 4 << 20
	DefaultMaxMessageBytes = 1 << 20
	DefaultBodyTimeout     = 30 * time.Second
	// attemptLifetime bounds a sign-in from redirect to callback.
	attemptLifetime = 10 * time.Minute
)

// Options configure a Server.
type Options struct {
	// Profile and Environment name the configuration, for audit lines and
	// the rules' env.
	Profile, Environment string
	// ExternalURL is how browsers reach the proxy (https, or http on a
	// loopback host); the callback is ExternalURL + CallbackPath.
	ExternalURL *url.URL
	// Upstream is dagster-webserver's URL.
	Upstream *url.URL
	// Transport carries requests to the upstream; http.DefaultTransport's
	// clone when nil.
	Transport http.RoundTripper
	// SignIn is the profile's OIDC client.
	SignIn *signin.Client
	// Bearer verifies Authorization: Bearer ID tokens; nil refuses them.
	Bearer *signin.Bearer
	// Rules give roles from claims.
	Rules []authz.Rule
	// Sealer seals the cookies.
	Sealer *cookie.Sealer
	// SessionLifetime bounds a session from sign-in, refreshes included.
	SessionLifetime time.Duration
	// ForwardHeaders sends X-Forwarded-User, -Email and -Groups upstream.
	ForwardHeaders bool
	// MaxBodyBytes bounds a request body; MaxMessageBytes a WebSocket message.
	MaxBodyBytes, MaxMessageBytes int64
	// Audit receives the sign-in, refusal and mutation lines; nil discards.
	Audit *audit.Logger
	Clock clock.Clock
	// ErrorLog receives upstream and internal errors (one line each, no
	// tokens); nil discards them.
	ErrorLog func(format string, args ...any)
}

// Server is the proxy's http.Handler.
type Server struct {
	o       Options
	origin  string
	secure  bool
	rp      *httputil.ReverseProxy
	dialer  *http.Client
	bearers bearerCache
	refresh refreshGroup
}

// New checks the options and builds the server.
func New(o Options) (*Server, error) {
	if o.ExternalURL == nil || o.Upstream == nil || o.SignIn == nil || o.Sealer == nil {
		return nil, errors.New("proxy: ExternalURL, Upstream, SignIn and Sealer are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = DefaultSessionLifetime
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.ErrorLog == nil {
		o.ErrorLog = func(string, ...any) {}
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	s := &Server{o: o, origin: o.ExternalURL.Scheme + "://" + o.ExternalURL.Host}
	s.secure = o.ExternalURL.Scheme == "https" || !isLoopback(o.ExternalURL.Hostname())
	s.rp = &httputil.ReverseProxy{
		Rewrite:    s.rewrite,
		Transport:  o.Transport,
		BufferPool: &copyBuffers{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away (a closed tab): nothing to tell
			}
			s.o.ErrorLog("upstream %s %s: %v", r.Method, r.URL.Path, err)
			http.Error(w, "dagster-webserver is not reachable through the proxy", http.StatusBadGateway)
		},
	}
	s.dialer = &http.Client{Transport: o.Transport}
	return s, nil
}

// copyBuffers reuses the reverse proxy's 32 KB body-copy buffers, which
// it would otherwise allocate for every request.
type copyBuffers struct{ pool sync.Pool }

// Get returns a buffer of copyBufferSize bytes.
func (b *copyBuffers) Get() []byte {
	if v, ok := b.pool.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, copyBufferSize)
}

// Put keeps buf for another request.
func (b *copyBuffers) Put(buf []byte) {
	if cap(buf) == copyBufferSize {
		buf = buf[:copyBufferSize]
		b.pool.Put(&buf)
	}
}

// copyBufferSize is httputil.ReverseProxy's own buffer size.
const copyBufferSize = 32 * 1024

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sessionCookie is the session cookie's name: __Host- prefixed (Secure,
// Path=/, no Domain) except on a plain-http loopback URL.
func (s *Server) sessionCookie() string {
	if s.secure {
		return "__Host-dagster-oidc"
	}
	return "dagster-oidc"
}

const attemptCookiePrefix = "dagster-oidc-signin-"

// ServeHTTP routes a request: the proxy's own paths, then authentication,
// authorisation and the upstream.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case HealthPath:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
		return
	case SignInPath:
		s.signIn(w, r)
		return
	case CallbackPath:
		s.callback(w, r)
		return
	case SignOutPath:
		s.signOut(w, r)
		return
	case SignedOutPath:
		page(w, http.StatusOK, "Signed out", `<p>You are signed out of Dagster.</p><p><a href="/">Sign in again</a></p>`)
		return
	}
	if strings.HasPrefix(r.URL.Path, PathPrefix) {
		http.NotFound(w, r)
		return
	}
	id, err := s.authenticate(w, r)
	if err != nil {
		s.unauthenticated(w, r, err)
		return
	}
	if len(id.Grants) == 0 {
		s.noRole(w, r, id)
		return
	}
	route := authz.MatchRoute(r.URL.Path)
	if route.GraphQL {
		if isWebSocket(r) {
			s.websocket(w, r, id)
			return
		}
		s.graphql(w, r, id)
		return
	}
	if !id.Grants.Allows(route.Role, nil) {
		s.auditRefusal(id, refusal{class: "role", need: route.Role, what: "route " + route.Pattern})
		http.Error(w, fmt.Sprintf("dagster-oidc: %s needs the %s role; %s has %s", route.Pattern, route.Role, id.Name, id.Grants), http.StatusForbidden)
		return
	}
	if id.Source == sourceSession && !safeMethod(r.Method) && !s.sameOrigin(r) {
		s.auditRefusal(id, refusal{class: "csrf", what: "route " + route.Pattern})
		http.Error(w, "dagster-oidc: cross-site request refused (Origin does not match)", http.StatusForbidden)
		return
	}
	if route.Role > authz.Viewer {
		s.auditAllowed(id, "route "+route.Pattern, "", nil, nil, route.Role)
	}
	s.rp.ServeHTTP(w, withIdentity(r, id))
}

func safeMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && headerHasToken(r.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// sameOrigin is the CSRF check of a state-changing request that carries the
// session cookie: its Origin must be the proxy's, or, without Origin, the
// browser must say Sec-Fetch-Site: same-origin. A request with neither is
// refused.
func (s *Server) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return o == s.origin
	}
	return r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// isNavigation reports whether a person's browser is loading a page (so a
// missing session leads to sign-in rather than a 401).
func isNavigation(r *http.Request) bool {
	if r.Method != "GET" && r.Method != "HEAD" {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// identity is who a request comes from, and what they may do.
type identity struct {
	Subject, Issuer string
	// Name is how the person is shown: email, else preferred_username, else sub.
	Name   string
	Email  string
	Groups []string
	Grants authz.Grants
	// Source is sourceSession or sourceBearer.
	Source string
	// Until is when the credentials end for good: a bearer token's expiry,
	// a session's end (with a refresh token, its lifetime; without, the ID
	// token's expiry). A WebSocket is closed then.
	Until time.Time
}

const (
	sourceSession = "session"
	sourceBearer  = "bearer"
)

type identityKey struct{}

func withIdentity(r *http.Request, id *identity) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
}

// identityHeaders are stripped from every request before it goes upstream:
// whatever a client sends there, the webserver must not believe it.
var identityHeaders = []string{
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
	"X-Forwarded-Access-Token", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups",
	"X-Auth-Request-Preferred-Username", "X-Auth-Request-Access-Token", "X-Remote-User", "Remote-User",
	"X-Remote-Group", "X-Webauth-User", "X-Dagster-User", "Authorization", "Proxy-Authorization",
}

// rewrite prepares the upstream request: target, X-Forwarded-For/Host/Proto,
// no identity headers from the client, none of the proxy's cookies, and
// optionally the identity it verified.
func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(s.o.Upstream)
	pr.SetXForwarded()
	for _, h := range identityHeaders {
		pr.Out.Header.Del(h)
	}
	stripCookies(pr.Out.Header, s.sessionCookie())
	if id, ok := pr.In.Context().Value(identityKey{}).(*identity); ok && s.o.ForwardHeaders {
		setForwarded(pr.Out.Header, id)
	}
}

// setForwarded sets X-Forwarded-User (the subject), -Email and -Groups.
func setForwarded(h http.Header, id *identity) {
	h.Set("X-Forwarded-User", headerValue(id.Subject))
	if id.Email != "" {
		h.Set("X-Forwarded-Email", headerValue(id.Email))
	}
	if len(id.Groups) > 0 {
		h.Set("X-Forwarded-Groups", headerValue(strings.Join(id.Groups, ",")))
	}
}

// headerValue drops characters that cannot be in a header value.
func headerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// stripCookies removes the proxy's cookies from a Cookie header.
func stripCookies(h http.Header, session string) {
	vals := h.Values("Cookie")
	if len(vals) == 0 {
		return
	}
	h.Del("Cookie")
	var keep []string
	for _, v := range vals {
		for _, c := range strings.Split(v, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(c), "=")
			if name == "" || name == session || strings.HasPrefix(name, attemptCookiePrefix) {
				continue
			}
			keep = append(keep, strings.TrimSpace(c))
		}
	}
	if len(keep) > 0 {
		h.Set("Cookie", strings.Join(keep, "; "))
	}
}

// bearerCache remembers verified bearer tokens until they expire, keyed by
// their hash, so that an API client's token is verified and its rules
// evaluated once, not on every request.
type bearerCache struct {
	mu sync.Mutex
	m  map[[32]byte]bearerEntry
}

type bearerEntry struct {
	id     *identity
	expiry time.Time
}

// maxBearers bounds the cache; when full it starts again empty.
const maxBearers = 4096

func (c *bearerCache) get(raw string, now time.Time) *identity {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	if !now.Before(e.expiry) {
		delete(c.m, k)
		return nil
	}
	return e.id
}

func (c *bearerCache) put(raw string, id *identity, expiry time.Time) {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxBearers {
		c.m = map[[32]byte]bearerEntry{}
	}
	c.m[k] = bearerEntry{id: id, expiry: expiry}
}

// identityFrom builds an identity from verified claims, with its grants.
func (s *Server) identityFrom(c *flow.Claims, source string) *identity {
	id := &identity{Subject: c.Subject, Issuer: c.Issuer, Email: c.Email, Source: source}
	id.Name = c.Email
	if id.Name == "" {
		id.Name, _ = c.All["preferred_username"].(string)
	}
	if id.Name == "" {
		id.Name = c.Subject
	}
	if gs, ok := c.All["groups"].([]any); ok {
		for _, g := range gs {
			if s, ok := g.(string); ok && len(id.Groups) < maxGroups {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	g, _, err := authz.Decide(s.o.Rules, c.All, s.o.Environment)
	if err != nil && apperr.KindOf(err) != apperr.KindDenied {
		s.o.ErrorLog("role rules: %v", err)
	}
	id.Grants = g
	return id
}

// maxGroups bounds the groups kept in a session (for X-Forwarded-Groups).
const maxGroups = 32
