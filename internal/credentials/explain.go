package credentials

import (
	"context"
	"fmt"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// ExplainRequest asks how the policy decides for the profile's token.
type ExplainRequest struct {
	// Role is the role or service account that would be asked for.
	Role string
	Run  policy.Run
	// Refresh lets explain refresh (or log in) when the cached token is
	// not valid; without it a login is decided on its cached token, expired
	// or not, and nobody is called. Workload tokens are always read.
	Refresh bool
	// Proxy evaluates the proxy block's role rules instead of the cloud
	// ones (explain --proxy).
	Proxy bool
}

// Explanation is the token and each rule section's decision. It calls no
// STS.
type Explanation struct {
	Token    *session.Result
	Sections []ExplainSection
	// Denied is the refusal when a section allows nothing (exit 4).
	Denied error
	// ProxyGrants are the proxy roles held, with --proxy.
	ProxyGrants authz.Grants
}

// ExplainSection is the decision of one kind of rules.
type ExplainSection struct {
	// Name is "AWS roles" or "GCP service accounts".
	Name     string
	Decision *policy.Decision
}

// Explain evaluates every rule section of the profile for its token. A rule
// that cannot be evaluated stops it with that error, returned beside what
// was decided so far.
func (s *Service) Explain(ctx context.Context, q ExplainRequest) (*Explanation, error) {
	tok, err := s.explainToken(ctx, q)
	if err != nil {
		return nil, err
	}
	x := &Explanation{Token: tok}
	sections := []struct {
		name  string
		rules []policy.Rule
	}{{"AWS roles", awsRules(s.Profile)}, {"GCP service accounts", gcpRules(s.Profile)}}
	if q.Proxy {
		if s.Profile.Proxy == nil {
			return nil, apperr.Usage(fmt.Errorf("profile %s has no proxy block", s.Profile.Name), "add proxy: with url, cookie_keys_file or cookie_keys_env and roles (docs/proxy.md)")
		}
		rules := s.Profile.Proxy.ProxyRules()
		x.ProxyGrants, _, _ = authz.Decide(rules, tok.Claims.All, s.Profile.Environment)
		sections = sections[:0]
		sections = append(sections, struct {
			name  string
			rules []policy.Rule
		}{"Proxy roles", authz.PolicyRules(rules)})
	}
	for _, sec := range sections {
		if len(sec.rules) == 0 {
			continue
		}
		d, err := policy.Evaluate(sec.rules, policy.Input{Claims: tok.Claims.All, Run: q.Run, Environment: s.Profile.Environment}, q.Role)
		x.Sections = append(x.Sections, ExplainSection{Name: sec.name, Decision: d})
		if err != nil {
			if apperr.KindOf(err) != apperr.KindDenied {
				return x, err
			}
			x.Denied = err
		}
	}
	if x.Denied != nil {
		s.record(Record{Event: "policy_denied", Outcome: "denied", Claims: tok.Claims, Run: q.Run, Err: x.Denied})
	}
	return x, nil
}

// explainToken is the token Explain decides on.
func (s *Service) explainToken(ctx context.Context, q ExplainRequest) (*session.Result, error) {
	if q.Refresh || s.isWorkload() {
		return s.Tokens.Token(ctx)
	}
	e, err := s.Tokens.Cached()
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, apperr.LoginRequired(fmt.Errorf("profile %q has no cached login to explain", s.Profile.Name), "run: dagster-oidc login --profile "+s.Profile.Name+" (or explain --refresh to log in or refresh first)")
	}
	return cachedResult(e), nil
}

// ExplainDocument is what explain prints for q and its explanation x (nil
// when Explain failed before a token was at hand): the source, the token's
// visible claims, the run and each section's outcome table.
func (s *Service) ExplainDocument(q ExplainRequest, x *Explanation) output.Explanation {
	doc := output.Explanation{Profile: s.Profile.Name, Environment: s.Profile.Environment, Proxy: q.Proxy,
		RunID: q.Run.ID, Job: q.Run.Job, Location: q.Run.Location}
	if s.w != nil {
		doc.Source = s.Source()
	}
	if x == nil {
		return doc
	}
	e := x.Token.Entry
	doc.Token = &output.ExplainedToken{Source: e.Source, Expiry: e.Expiry, Expired: !e.Expiry.After(s.Clock.Now()), Claims: s.VisibleClaims(x.Token.Claims.All)}
	for _, sec := range x.Sections {
		es := output.ExplainedSection{Name: sec.Name}
		if sec.Decision != nil {
			es.Table = sec.Decision
		}
		doc.Sections = append(doc.Sections, es)
	}
	if q.Proxy {
		doc.ProxyGrants = x.ProxyGrants.String()
	}
	return doc
}
