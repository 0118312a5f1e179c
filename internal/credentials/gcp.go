package credentials

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/gcpconfig"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// GCPRefreshMargin is how long before expiry a cached GCP access token is
// exchanged again, so that a printed token stays usable for a while.
const GCPRefreshMargin = 5 * time.Minute

// GCPRequest says which access token a caller wants.
type GCPRequest struct {
	// ServiceAccount is the one asked for; "" = the policy's choice.
	ServiceAccount string
	Run            policy.Run
}

// GCPResult is an access token and how it was obtained.
type GCPResult = Cached[cache.GCPEntry]

// gcpDocument is the profile's cached GCP access tokens document.
var gcpDocument = exchange[cache.GCPEntry]{
	kind: cache.KindGCP, what: "GCP access token", margin: GCPRefreshMargin,
	expiry: func(e cache.GCPEntry) time.Time { return e.Expiry },
	short:  "warning: google issued a token valid for %s, less than the %s refresh margin; it will be exchanged again on every call",
}

// gcpSection returns the profile's gcp section, or a usage error.
func (s *Service) gcpSection() (*config.GCP, error) {
	g := s.Profile.GCP
	if g == nil {
		return nil, apperr.Usage(fmt.Errorf("profile %q has no gcp section", s.Profile.Name),
			"add gcp: {audience: //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER} to the profile (see docs/gcp.md)")
	}
	if strings.HasSuffix(g.ImpersonationURL, ":generateAccessToken") {
		return nil, apperr.Usage(fmt.Errorf("profile %q: gcp.impersonation_url %q is a full generateAccessToken URL", s.Profile.Name, g.ImpersonationURL),
			"set it to the IAM Credentials API root (e.g. https://iamcredentials.googleapis.com/v1): the service account is chosen by the policy")
	}
	return g, nil
}

// gcpSlot keys the cached entry. The exchange settings are part of it so
// that editing the audience or the scopes never serves a token minted for
// the old ones.
func gcpSlot(g *config.GCP, q GCPRequest) string {
	return strings.Join([]string{q.ServiceAccount, q.Run.Job, g.Audience, strings.Join(g.Scopes, " "),
		g.Lifetime.D().String(), g.TokenURL, g.ImpersonationURL}, "\x00")
}

// GCPAccessToken returns an access token for q: cached while it has more
// than GCPRefreshMargin left, else from Google STS (and generateAccessToken
// when the policy chooses a service account).
func (s *Service) GCPAccessToken(ctx context.Context, q GCPRequest) (*GCPResult, error) {
	g, err := s.gcpSection()
	if err != nil {
		return nil, err
	}
	return cachedExchange(ctx, s, gcpDocument, gcpSlot(g, q), func(ctx context.Context, tok *session.Result) (cache.GCPEntry, error) {
		return s.gcpExchange(ctx, g, q, tok)
	})
}

// gcpExchange chooses the service account and exchanges tok at Google.
func (s *Service) gcpExchange(ctx context.Context, g *config.GCP, q GCPRequest, tok *session.Result) (cache.GCPEntry, error) {
	sa, err := s.gcpServiceAccount(tok.Claims, q.ServiceAccount, q.Run)
	if err != nil {
		return cache.GCPEntry{}, err
	}
	at, err := s.GCP.Exchange(ctx, gcpsts.Request{
		Audience: g.Audience, SubjectTokenType: g.SubjectTokenType, SubjectToken: tok.Entry.IDToken,
		Scopes: g.Scopes, ServiceAccount: sa, Lifetime: g.Lifetime.D(),
	})
	var expiry time.Time
	if err == nil {
		expiry = at.Expiry
	}
	if err := s.exchanged(Record{Claims: tok.Claims, ServiceAccount: sa, Run: q.Run}, tok.Entry.Source, expiry, err); err != nil {
		return cache.GCPEntry{}, err
	}
	return cache.GCPEntry{AccessToken: at.Token, Expiry: at.Expiry, ServiceAccount: at.ServiceAccount}, nil
}

// gcpServiceAccount chooses the service account to impersonate: the policy
// decides among the profile's rules (a plain gcp.service_account is one
// unconditional rule) and want picks among the allowed ones. Without any
// rule the token stays federated, and asking for a service account is
// refused like any account the policy does not allow.
func (s *Service) gcpServiceAccount(claims *flow.Claims, want string, run policy.Run) (string, error) {
	rules := gcpRules(s.Profile)
	if len(rules) == 0 && want == "" {
		return "", nil
	}
	d, err := s.decide(rules, claims, want, run, "service account")
	if err != nil {
		return "", err
	}
	return d.Target, nil
}

// ExternalAccountRequest describes one external_account file.
type ExternalAccountRequest struct {
	// ServiceAccount pins the impersonated account; "" lets the policy
	// choose when the profile has service_accounts rules, else the profile's
	// service_account, else none.
	ServiceAccount string
	// Command is the executable's command line (this binary's gcp
	// executable for the profile).
	Command []string
	// OutputFile is the executable's cache file ("" for none), written
	// out absolute.
	OutputFile string
	// Path is where to write the document (mode 0600, made absolute);
	// "" only returns it.
	Path string
	// Timeout is the executable's timeout; 0 means Google's default.
	Timeout time.Duration
	Run     policy.Run
}

// ExternalAccount builds the external_account JSON whose executable is
// q.Command and, with q.Path, writes it there; it returns the document and
// the absolute path written ("" for none). Only service_accounts rules need
// a token, to evaluate them.
func (s *Service) ExternalAccount(ctx context.Context, q ExternalAccountRequest) (data []byte, path string, err error) {
	if q.OutputFile != "" {
		q.OutputFile = absPath(q.OutputFile)
	}
	if data, _, err = s.externalAccount(ctx, q); err != nil || q.Path == "" {
		return data, "", err
	}
	path = absPath(q.Path)
	return data, path, gcpconfig.Write(path, data)
}

// externalAccount is ExternalAccount that also returns the service account
// the document impersonates ("" for none).
func (s *Service) externalAccount(ctx context.Context, q ExternalAccountRequest) ([]byte, string, error) {
	g, err := s.gcpSection()
	if err != nil {
		return nil, "", err
	}
	sa := q.ServiceAccount
	if sa == "" {
		sa = g.ServiceAccount
		if len(g.ServiceAccounts) > 0 {
			tok, err := s.Tokens.Token(ctx)
			if err != nil {
				return nil, "", err
			}
			if sa, err = s.gcpServiceAccount(tok.Claims, "", q.Run); err != nil {
				return nil, "", err
			}
		}
	}
	o := gcpconfig.Options{
		Audience:         g.Audience,
		SubjectTokenType: g.SubjectTokenType,
		TokenURL:         g.TokenURL,
		ServiceAccount:   sa,
		Command:          q.Command,
		TimeoutMillis:    int(q.Timeout / time.Millisecond),
		OutputFile:       q.OutputFile,
	}
	if sa != "" {
		o.TokenLifetime = g.Lifetime.D()
		if g.ImpersonationURL != "" {
			o.ImpersonationURL = gcpsts.ImpersonationURL(g.ImpersonationURL, sa)
		}
	}
	data, err := gcpconfig.Build(o)
	return data, sa, err
}
