package credentials

import (
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
)

// Source says which source the flow resolves to and why.
func (s *Service) Source() *output.SourceDoc {
	w := s.w
	d := &output.SourceDoc{Chosen: w.flowName}
	switch {
	case w.detection != nil && w.detection.Chosen != "":
		d.Reason = "flow: auto detected an ambient workload identity"
	case w.detection != nil:
		d.Reason = "flow: auto found no workload identity; human login via " + w.flowName
	default:
		d.Reason = "flow: " + w.flowName + " set in the profile or by --flow"
	}
	if w.detection != nil {
		for _, c := range w.detection.Candidates {
			d.Candidates = append(d.Candidates, output.CandidateDoc{Name: c.Name, Available: c.Available, Reason: c.Reason})
		}
	}
	return d
}

// Status is the profile's cached login, source and stores. It makes no
// network request and never logs in. A cache the trust checks refuse is
// the error every other command gives, not a silent "not logged in".
func (s *Service) Status() (*output.Status, error) {
	p, w := s.Profile, s.w
	now := s.Clock.Now()
	st := &output.Status{
		Profile: p.Name, Environment: p.Environment, Issuer: p.Issuer, ClientID: p.ClientID,
		Flow: p.Flow, Source: s.Source(),
	}
	secret, err := DescribeClientSecret(p, now)
	if err != nil {
		return nil, err
	}
	st.ClientSecret = secret
	st.Store.Tokens = w.mgr.Fast.Name()
	st.Store.RefreshTokens = w.secrets.Name()
	st.Store.Reason = w.secrets.Reason()
	if s.isWorkload() {
		st.Store.Reason = "workload tokens are never stored; " + st.Store.Reason
		st.Workload = &output.WorkloadDoc{Verify: p.Verify}
		switch flow.VerifyMode(p.Verify) {
		case flow.VerifyWhenReachable:
			st.Workload.Unverified = "when the issuer cannot be reached (iss, aud and exp are still checked; each such use is audited as unverified)"
		case flow.VerifyOff:
			st.Workload.Unverified = "always (iss, aud and exp are checked; each use is audited as unverified)"
		}
	}
	st.Store.RefreshToken = w.mgr.HasRefreshToken()
	if st.Store.RefreshToken && w.secrets.Name() == cache.ModeFile {
		st.Store.Warning = "the refresh token is stored in a file (0600) because no keyring answered; anyone who can read your files as you can use it"
	}
	e, err := w.mgr.Cached()
	if err != nil {
		return nil, err
	}
	if e == nil {
		return st, nil
	}
	st.TokenSource = e.Source
	st.Subject = e.Subject
	exp := e.Expiry.UTC()
	st.Expiry = &exp
	st.Valid = e.Expiry.After(now)
	if st.Valid {
		st.ExpiresIn = e.Expiry.Sub(now).Round(time.Second).String()
	}
	// A token the next call would not serve (expired, or inside
	// refresh_margin) is a login only while a refresh token can renew it:
	// after the IdP rejected the refresh token, nothing can.
	st.LoggedIn = e.Expiry.After(now.Add(p.RefreshMargin.D())) || st.Store.RefreshToken
	st.Email, _ = s.VisibleClaims(e.Claims)["email"].(string)
	st.Audience = e.Audience
	return st, nil
}

// VisibleClaims drops the profile's private_claims.
func (s *Service) VisibleClaims(all map[string]any) map[string]any {
	out := make(map[string]any, len(all))
	for k, v := range all {
		out[k] = v
	}
	for _, k := range s.Profile.PrivateClaims {
		delete(out, k)
	}
	return out
}
