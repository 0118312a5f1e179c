// Package credentials holds the use cases of dagster-oidc: a verified ID
// token, AWS credentials, a GCP access token and the executable-sourced
// response, the explanation of a policy decision, and the status of a
// login. Each takes a typed request and returns a typed result; none knows
// about flags, cobra or the terminal, so the commands, the credential
// endpoint of exec and the proxy call the same code.
//
// A Service is built from small ports (token source, store, locker,
// exchangers, audit observer, clock) so that every use case is tested with
// fakes; Open wires the real ones for a profile.
package credentials

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// Tokens is the token use case of one profile (*session.Manager).
type Tokens interface {
	// Token returns a valid, verified ID token.
	Token(ctx context.Context) (*session.Result, error)
	// Renew returns a token other than stale, which was refused downstream.
	Renew(ctx context.Context, stale string) (*session.Result, error)
	// Key returns the cache key of an entry kind of the profile.
	Key(kind string, extra ...string) string
	// Cached returns the cached token entry, nil when there is none; it
	// never calls out.
	Cached() (*cache.TokenEntry, error)
}

// cachedResult is the answer for a cached entry, with the claims stored
// with it after verification.
func cachedResult(e *cache.TokenEntry) *session.Result {
	return &session.Result{Entry: *e, Claims: flow.ClaimsFromMap(e.Claims, e.Expiry), FromCache: true}
}

// isWorkload reports whether the profile's source is a workload identity
// (false for a Service built from ports alone).
func (s *Service) isWorkload() bool { return s.w != nil && flow.IsWorkload(s.w.flowName) }

// Locker serialises the processes that exchange for one profile.
type Locker interface {
	// Lock takes the lock called key and returns its release.
	Lock(ctx context.Context, key string) (unlock func() error, err error)
}

// FileLocker is the cross-process lock file of internal/cache.
type FileLocker struct {
	// Dir holds the lock files; Wait bounds the wait for another process.
	Dir  string
	Wait time.Duration
	// Debug logs how long each lock took; nil is off.
	Debug *debuglog.Logger
}

// Lock takes the lock file of key in Dir.
func (l FileLocker) Lock(ctx context.Context, key string) (func() error, error) {
	return l.Debug.Lock(key, func() (func() error, error) { return cache.Lock(ctx, l.Dir, key, l.Wait) })
}

// AWSExchanger trades an ID token for AWS credentials (*awssts.Client).
// token returns the ID token; fresh asks for another than the last one.
type AWSExchanger interface {
	AssumeRoleWithWebIdentity(ctx context.Context, r awssts.Request, token func(ctx context.Context, fresh bool) (string, error)) (*awssts.Credentials, error)
}

// GCPExchanger trades an ID token for a GCP access token (*gcpsts.Client).
type GCPExchanger interface {
	Exchange(ctx context.Context, r gcpsts.Request) (*gcpsts.AccessToken, error)
}

// Observer receives the audit records of the use cases.
type Observer interface {
	Observe(Record)
}

// Record is one decision for the audit trail.
type Record struct {
	// Event and Outcome are the audit event name and outcome.
	Event, Outcome string
	Source         string
	// Claims are the verified claims of the token used, when known.
	Claims *flow.Claims
	// Subject is the token's subject when the claims are not at hand.
	Subject                           string
	Role, ServiceAccount, SessionName string
	// Expiry is the credentials' (or token's) expiry.
	Expiry time.Time
	Run    policy.Run
	Err    error
	// Unverified: the token was accepted without a signature check.
	Unverified bool
}

// Service runs the use cases of one profile.
type Service struct {
	Profile *config.Profile
	Tokens  Tokens
	// Store holds the cloud credentials documents (the fast store).
	Store  cache.Store
	Locker Locker
	Clock  clock.Clock
	// AWS and GCP are the exchangers; nil when the profile has no such
	// section.
	AWS AWSExchanger
	GCP GCPExchanger
	// Audit receives the records; nil drops them.
	Audit Observer
	// Warn receives warnings (never stdout).
	Warn io.Writer
	// Debug receives the -v lines (cache decisions, rule outcomes); nil is off.
	Debug *debuglog.Logger

	// w is what Open wired (nil in a Service built from ports alone).
	w *wiring
}

func (s *Service) record(r Record) {
	if s.Audit != nil {
		s.Audit.Observe(r)
	}
}

func (s *Service) warnf(format string, args ...any) {
	if s.Warn != nil {
		fmt.Fprintf(s.Warn, format+"\n", args...)
	}
}

// outcomeOf is the audit outcome of an error.
func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	if kindDenied(err) {
		return "denied"
	}
	return "error"
}
