// Package sandbox is an offline OpenID provider and AWS STS emulator on
// 127.0.0.1, for dagster-oidc's tests, the dagster-oidc-sandbox binary and
// its demo. The provider is zitadel/oidc's op package over a wrapped example
// storage; the STS emulator answers AssumeRoleWithWebIdentity with
// credentials that are valid nowhere else. Never link it into dagster-oidc.
package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// Server is a running sandbox. Each Server has its own listener, users,
// keys and tokens; many can run in one process.
type Server struct {
	opts   Options
	issuer string
	store  *store
	rec    *recorder
	srv    *http.Server
	github *githubTokens

	closeOnce sync.Once
	closeErr  error
	stopAfter func() bool
}

// Start listens on o.Addr and serves until Close is called or ctx is done.
func Start(ctx context.Context, o Options) (*Server, error) {
	o = o.withDefaults()
	if err := validate(o); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("could not listen on %s: %w", o.Addr, err)
	}
	s := &Server{opts: o, issuer: "http://" + ln.Addr().String(), rec: newRecorder()}
	s.store = newStore(o, s.rec)
	s.github = &githubTokens{s: s, requestToken: newID()}
	s.rec.secret("github_request_token", s.github.requestToken)
	handler, err := s.routes()
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	s.stopAfter = context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// ErrNotLoopback means a listen address other than a loopback one was
// asked for: the sandbox hands out tokens and credentials to anyone who asks,
// so it never listens where another machine could reach it.
var ErrNotLoopback = errors.New("the sandbox listens only on a loopback address")

// checkLoopback accepts "127.0.0.1:PORT", "[::1]:PORT", any 127/8 address and
// "localhost:PORT"; an empty host (all interfaces) is refused.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w, not %q (use 127.0.0.1:PORT)", ErrNotLoopback, addr)
}

func validate(o Options) error {
	if err := checkLoopback(o.Addr); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, u := range o.Users {
		if u.ID == "" || seen[u.ID] {
			return fmt.Errorf("could not start the sandbox: user ID %q is empty or repeated", u.ID)
		}
		seen[u.ID] = true
	}
	for _, r := range o.Roles {
		if r.ARN == "" {
			return errors.New("could not start the sandbox: a role has no ARN")
		}
	}
	return nil
}

// routes builds the provider and mounts it with the sandbox's own pages.
func (s *Server) routes() (http.Handler, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("could not make the token encryption key: %w", err)
	}
	cfg := &op.Config{
		CryptoKey:             key,
		CryptoKeyId:           "sandbox",
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     DefaultDeviceCodeLifetime,
			PollInterval: s.opts.DevicePollInterval,
			UserFormPath: devicePath,
			UserCode:     op.UserCodeBase20,
		},
	}
	provider, err := op.NewProvider(cfg, s.store, op.StaticIssuer(s.issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("could not create the OpenID provider: %w", err)
	}
	issuerCtx := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux := http.NewServeMux()
	mux.Handle(provider.TokenEndpoint().Relative(), &tokenMiddleware{
		next: provider, rec: s.rec, omitID: s.opts.OmitIDTokenOnRefresh, slowLeft: s.opts.SlowDownPolls,
	})
	mux.Handle(loginPath, issuerCtx.Handler(&loginPage{store: s.store, callback: op.AuthCallbackURL(provider)}))
	mux.Handle(devicePath, &devicePage{store: s.store})
	mux.Handle(stsPath, newSTS(s.issuer, s.opts, s.store, s.rec))
	mux.Handle(githubPath, s.github)
	mux.Handle(gcpPath+"/", s.newGCP())
	mux.Handle("/", provider)
	return logRequests(s.opts.Logger, mux), nil
}

// Issuer is the provider's issuer, "http://127.0.0.1:PORT", without a
// trailing slash; discovery and ID tokens carry exactly this string.
func (s *Server) Issuer() string { return s.issuer }

// ClientID is the registered public client's ID.
func (s *Server) ClientID() string { return s.opts.ClientID }

// STSEndpoint is the STS emulator's URL, Issuer() + "/sts".
func (s *Server) STSEndpoint() string { return s.issuer + stsPath }

// DeviceURL is the page where a person approves a device code.
func (s *Server) DeviceURL() string { return s.issuer + devicePath }

// Users are the users who can log in.
func (s *Server) Users() []User { return append([]User(nil), s.opts.Users...) }

// Roles are the roles the STS emulator trusts, with defaults applied.
func (s *Server) Roles() []Role { return append([]Role(nil), s.opts.Roles...) }

// ApproveDevice approves a pending device user code as userID, as the device
// page does after a login.
func (s *Server) ApproveDevice(ctx context.Context, userCode, userID string) error {
	if userID == "" {
		return errors.New("could not approve the device code: no user given")
	}
	return s.store.decideDevice(ctx, userCode, userID)
}

// DenyDevice denies a pending device user code; the device then gets
// access_denied.
func (s *Server) DenyDevice(ctx context.Context, userCode string) error {
	return s.store.decideDevice(ctx, userCode, "")
}

// IssuedSecrets returns every token and secret the sandbox handed out so
// far: access, ID and refresh tokens from the token endpoint, tokens from
// MintIDToken, and the STS emulator's secret keys and session tokens. Leak
// tests search outputs and logs for them.
func (s *Server) IssuedSecrets() []Secret {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]Secret(nil), s.rec.secrets...)
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats { return s.rec.snapshot() }

// Close stops the server at once; it is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.stopAfter != nil {
			s.stopAfter()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = errors.Join(fmt.Errorf("could not shut the sandbox down: %w", err), s.srv.Close())
		}
	})
	return s.closeErr
}
