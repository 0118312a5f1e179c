package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// IDToken returns the profile's verified ID token (cached, refreshed or
// read from the workload source) and records that it was handed out.
func (s *Service) IDToken(ctx context.Context) (*session.Result, error) {
	res, err := s.Tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	s.record(Record{Event: "token_served", Outcome: "ok", Source: res.Entry.Source, Subject: res.Entry.Subject, Expiry: res.Entry.Expiry, Unverified: res.Unverified != ""})
	return res, nil
}

// TokenDocument is `token --format json`'s document for res: the token,
// when the cache stops returning it (expiry minus refresh_margin) and its
// claims without the private ones.
func (s *Service) TokenDocument(res *session.Result) output.TokenJSON {
	e := res.Entry
	return output.TokenJSON{
		IDToken: e.IDToken, Expiry: e.Expiry.UTC(), RefreshAt: e.Expiry.Add(-s.Profile.RefreshMargin.D()).UTC(),
		Source: e.Source, Profile: s.Profile.Name, Claims: s.VisibleClaims(res.Claims.All), Unverified: res.Unverified,
	}
}

// VerifyToken checks a token presented to the profile (a bearer token) with
// the profile's verification policy; nothing is stored.
func (s *Service) VerifyToken(ctx context.Context, raw string) (*flow.Verified, error) {
	return s.w.pol.Verify(ctx, s.w.flowName, raw, "")
}

// Login runs the profile's source regardless of the cache: an interactive
// login, or a fresh read of the workload identity.
func (s *Service) Login(ctx context.Context) (*session.Result, error) {
	src, err := s.source(ctx)
	if err != nil {
		return nil, err
	}
	return s.w.mgr.Login(ctx, src)
}

// ServeAWS returns AWS credentials that are handed out (printed), recording
// that for the audit trail.
func (s *Service) ServeAWS(ctx context.Context, q AWSRequest) (*AWSResult, error) {
	res, err := s.AWSCredentials(ctx, q)
	if err != nil {
		return nil, err
	}
	s.record(Record{Event: "credential_served", Outcome: "ok", Role: res.Entry.RoleARN, SessionName: res.Entry.SessionName, Expiry: res.Entry.Expiration, Run: policy.Run{ID: q.Run.ID, Job: q.Run.Job}})
	return res, nil
}

// CredentialEndpoint is the use case of exec's credential endpoint: each
// call serves q's credentials and records the outcome, a refusal too (the
// child's SDK only sees an HTTP error).
func (s *Service) CredentialEndpoint(q AWSRequest) func(ctx context.Context) (*AWSResult, error) {
	return func(ctx context.Context) (*AWSResult, error) {
		res, err := s.ServeAWS(ctx, q)
		if err != nil {
			s.record(Record{Event: "credential_served", Outcome: outcomeOf(err), Run: q.Run, Err: err})
		}
		return res, err
	}
}

// ServeGCP returns a GCP access token that is handed out, recording it.
func (s *Service) ServeGCP(ctx context.Context, q GCPRequest) (*GCPResult, error) {
	res, err := s.GCPAccessToken(ctx, q)
	if err != nil {
		return nil, err
	}
	s.record(Record{Event: "token_served", Outcome: "ok", ServiceAccount: res.Entry.ServiceAccount, Expiry: res.Entry.Expiry, Run: q.Run})
	return res, nil
}

// LogoutRequest says what logout removes.
type LogoutRequest struct {
	// All removes the entries of every profile.
	All bool
	// Revoke revokes the refresh token at the IdP first (RFC 7009).
	Revoke bool
}

// Logout removes the profile's login and cloud credentials and returns
// what happened, one sentence each. It runs under the profile's locks: a
// refresh, login or exchange in flight finishes first, and is then removed
// rather than written back later.
func (s *Service) Logout(ctx context.Context, q LogoutRequest) (notes []string, err error) {
	err = s.w.mgr.Exclusive(ctx, func() error {
		notes, err = s.logoutLocked(ctx, q)
		return err
	})
	return notes, err
}

func (s *Service) logoutLocked(ctx context.Context, q LogoutRequest) ([]string, error) {
	var notes []string
	if q.Revoke {
		note, err := s.revoke(ctx)
		if err != nil {
			return nil, err
		}
		notes = append(notes, note)
	}
	w := s.w
	if q.All {
		var errs []error
		for _, st := range []cache.Store{w.mgr.Fast, w.secrets} {
			u := st
			if l, ok := st.(*lazyStore); ok {
				if got, err := l.get(); err == nil {
					u = got
				}
			}
			if c, ok := u.(cache.Clearer); ok {
				if err := c.Clear(); err != nil {
					errs = append(errs, fmt.Errorf("%s store: %w", st.Name(), err))
				}
			}
		}
		if err := errors.Join(errs...); err != nil {
			return notes, fmt.Errorf("could not remove every entry: %w", err)
		}
		return append(notes, "Removed every cached login and credential."), nil
	}
	if err := w.mgr.Remove(s.credentialKeys()...); err != nil {
		return notes, fmt.Errorf("could not remove the cached login: %w", err)
	}
	return append(notes, "Logged out of profile "+s.Profile.Name+"."), nil
}

func (s *Service) revoke(ctx context.Context) (string, error) {
	rt := s.w.mgr.RefreshToken()
	if rt == "" {
		return "No refresh token stored; nothing to revoke.", nil
	}
	m, err := s.metadata(ctx)
	if err != nil {
		return "", err
	}
	if m.RevocationURL == "" {
		return "The issuer advertises no revocation_endpoint; the refresh token is removed locally only.", nil
	}
	ref, err := s.refresher(ctx)
	if err != nil {
		return "", err
	}
	if err := ref.Revoke(ctx, m.RevocationURL, rt); err != nil {
		return "", fmt.Errorf("could not revoke the refresh token (nothing was removed; retry, or run logout without --revoke): %w", err)
	}
	return "Revoked the refresh token at the identity provider.", nil
}

// FlowName is the source in use after --flow and ambient detection.
func (s *Service) FlowName() string {
	if s.w == nil {
		return ""
	}
	return s.w.flowName
}

// SubjectHash is the audit trail's keyed hash of a subject ("" when the
// trail is off).
func (s *Service) SubjectHash(sub, issuer string) string {
	if s.w == nil {
		return ""
	}
	if l := s.w.trail.Logger(); l != nil && sub != "" {
		return l.SubjectHash(sub, issuer)
	}
	return ""
}

// AuditLogger is the profile's audit trail (nil when it is off), for
// callers with their own events (the proxy).
func (s *Service) AuditLogger() *audit.Logger { return s.w.trail.Logger() }

// Close flushes the audit trail.
func (s *Service) Close() {
	if s.w == nil {
		return
	}
	if err := s.w.trail.close(); err != nil {
		s.warnf("warning: %v", err)
	}
}

// KeepTokenFile writes the current ID token to path (0600) and rewrites it
// ahead of the token's expiry until stop is called, for SDKs that read a
// web-identity token file.
func (s *Service) KeepTokenFile(ctx context.Context, path string) (stop func(), err error) {
	write := func() (time.Time, error) {
		res, err := s.Tokens.Token(ctx)
		if err != nil {
			return time.Time{}, err
		}
		return res.Entry.Expiry, atomicfile.Write(path, []byte(res.Entry.IDToken), 0o600)
	}
	exp, err := write()
	if err != nil {
		return nil, fmt.Errorf("could not write the web-identity token file: %w", err)
	}
	loopCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			wait := max(exp.Sub(s.Clock.Now())-s.Profile.RefreshMargin.D(), 5*time.Second)
			// The real sleeper: the injected one is for polls that tests
			// drive step by step, not for a loop that runs beside a child.
			if clock.Sleep(loopCtx, wait) != nil {
				return
			}
			next, err := write()
			if err != nil {
				s.warnf("dagster-oidc: warning: could not refresh the web-identity token file: %v", err)
				continue
			}
			exp = next
		}
	}()
	return func() { cancel(); wg.Wait() }, nil
}
