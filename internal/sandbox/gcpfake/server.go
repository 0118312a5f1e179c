// Package gcpfake stands in for Google's Security Token Service and IAM
// Credentials API on a local test server. It checks every request field of
// specs.md §2.3 and §2.4, answers with Google's response and error shapes,
// and counts requests, so that dagster-oidc's own client and Google's real
// client library can be tested offline.
package gcpfake

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// Paths served, relative to the server's root. Point a client's token URL at
// ROOT+TokenPath and its impersonation URL base at ROOT+IAMBasePath.
const (
	TokenPath   = "/v1/token"
	IAMBasePath = "/v1"
)

// VerifyFunc verifies a raw ID token and returns its subject.
type VerifyFunc func(ctx context.Context, rawIDToken string) (sub string, err error)

// Options configure a Server.
type Options struct {
	// Verify checks the subject token's signature, issuer, audience and
	// expiry (e.g. a go-oidc verifier). Required.
	Verify VerifyFunc
	// Audience is the workload identity provider's full resource name that
	// the STS request's audience must equal.
	Audience string
	// ServiceAccounts lists the service accounts the federated principals
	// may impersonate (roles/iam.workloadIdentityUser); others get 403.
	ServiceAccounts map[string]bool
	// TokenLifetime is the lifetime of STS tokens; 0 means one hour.
	TokenLifetime time.Duration
	// MaxLifetime is the longest generateAccessToken lifetime; 0 means one
	// hour, Google's limit without the lifetime-extension org policy.
	MaxLifetime time.Duration
	// Clock stamps issued tokens; nil means the system clock.
	Clock clock.Clock
}

// Server is an http.Handler serving POST /v1/token and
// POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu           sync.Mutex
	federated    map[string]federatedToken
	stsCalls     []STSCall
	iamCalls     []IAMCall
	issuedTokens []string
}

// federatedToken is what the fake remembers about an STS token it issued.
type federatedToken struct {
	subject string
	scopes  []string
	expiry  time.Time
}

// STSCall records one token-exchange request as received.
type STSCall struct {
	// Form holds the posted form fields (subject_token included: tests only).
	Form map[string][]string
	// Status is the HTTP status answered.
	Status int
}

// IAMCall records one generateAccessToken request as received.
type IAMCall struct {
	// ServiceAccount is the email in the URL.
	ServiceAccount string
	// Scope and Lifetime are the body fields.
	Scope    []string
	Lifetime string
	// Subject is the federated principal's subject, when the Bearer was valid.
	Subject string
	// Status is the HTTP status answered.
	Status int
}

// New returns a Server; serve it with httptest.NewServer(s).
func New(o Options) *Server {
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = time.Hour
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	s := &Server{opts: o, federated: map[string]federatedToken{}}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST "+TokenPath, s.handleToken)
	s.mux.HandleFunc("POST "+IAMBasePath+"/projects/-/serviceAccounts/{name}", s.handleGenerateAccessToken)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// STSCalls returns the token-exchange requests received so far.
func (s *Server) STSCalls() []STSCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]STSCall(nil), s.stsCalls...)
}

// IAMCalls returns the generateAccessToken requests received so far.
func (s *Server) IAMCalls() []IAMCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]IAMCall(nil), s.iamCalls...)
}

// IssuedTokens returns every access token handed out, STS and impersonated,
// in order.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issuedTokens...)
}

// newToken returns a random opaque access token shaped like Google's.
func (s *Server) newToken(prefix string) string {
	t := prefix + rand.Text()
	s.issuedTokens = append(s.issuedTokens, t)
	return t
}
