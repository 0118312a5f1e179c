package cli

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
)

// gcpRefreshMargin is how long before expiry a cached GCP access token is
// exchanged again, so that a printed token stays usable for a while.
const gcpRefreshMargin = 5 * time.Minute

// gcpDoc is the cached document of a profile's GCP access tokens: one entry
// per (requested service account, Dagster job, exchange settings), so that
// logout removes them all at once.
type gcpDoc struct {
	Entries map[string]cache.GCPEntry `json:"entries"`
}

// gcpRequest says which access token a command wants.
type gcpRequest struct {
	ServiceAccount string // --service-account; "" = the policy's choice
	Run            policy.Run
}

// slot keys the cached entry. The exchange settings are part of it so that
// editing the audience or the scopes never serves a token minted for the old
// ones.
func (q gcpRequest) slot(g *config.GCP) string {
	return strings.Join([]string{q.ServiceAccount, q.Run.Job, g.Audience, strings.Join(g.Scopes, " "),
		g.Lifetime.D().String(), g.TokenURL, g.ImpersonationURL}, "\x00")
}

// gcpResult is an access token and how it was obtained.
type gcpResult struct {
	Entry     cache.GCPEntry
	FromCache bool
}

// gcpConfig returns the profile's gcp section, or a usage error.
func (r *resolved) gcpConfig() (*config.GCP, error) {
	g := r.p.GCP
	if g == nil {
		return nil, apperr.Usage(fmt.Errorf("profile %q has no gcp section", r.p.Name),
			"add gcp: {audience: //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER} to the profile (see docs/gcp.md)")
	}
	if strings.HasSuffix(g.ImpersonationURL, ":generateAccessToken") {
		return nil, apperr.Usage(fmt.Errorf("profile %q: gcp.impersonation_url %q is a full generateAccessToken URL", r.p.Name, g.ImpersonationURL),
			"set it to the IAM Credentials API root (e.g. https://iamcredentials.googleapis.com/v1): the service account is chosen by the policy")
	}
	return g, nil
}

func (r *resolved) gcpDocKey() string { return r.mgr.Key(cache.KindGCP) }

func (r *resolved) readGCPDoc() gcpDoc {
	return gcpDoc{Entries: readEntries[cache.GCPEntry](r, r.gcpDocKey(), cache.KindGCP, "GCP tokens")}
}

// cachedGCP is the hot path: one file read, no token, no policy, no network.
func (r *resolved) cachedGCP(slot string) (*cache.GCPEntry, bool) {
	doc := r.readGCPDoc()
	e, ok := doc.Entries[slot]
	if !ok || !e.Expiry.After(r.f.Clock.Now().Add(gcpRefreshMargin)) {
		return nil, false
	}
	return &e, true
}

// gcpAccessToken returns an access token for q: cached while it has more
// than gcpRefreshMargin left, else from Google STS (and generateAccessToken
// when the policy chooses a service account).
func (r *resolved) gcpAccessToken(ctx context.Context, q gcpRequest) (*gcpResult, error) {
	g, err := r.gcpConfig()
	if err != nil {
		return nil, err
	}
	slot := q.slot(g)
	if e, ok := r.cachedGCP(slot); ok {
		return &gcpResult{Entry: *e, FromCache: true}, nil
	}
	unlock, err := cache.Lock(ctx, r.f.CacheDir(), r.mgr.Key("gcp-lock"), lockWait)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlock() }()
	if e, ok := r.cachedGCP(slot); ok {
		return &gcpResult{Entry: *e, FromCache: true}, nil
	}
	tok, err := r.mgr.Token(ctx)
	if err != nil {
		return nil, err
	}
	claims := tok.Claims
	sa, err := r.gcpServiceAccount(claims, q.ServiceAccount, q.Run)
	if err != nil {
		return nil, err
	}
	client := &gcpsts.Client{HTTP: r.f.HTTPClient(), TokenURL: g.TokenURL, ImpersonationURLBase: g.ImpersonationURL, Clock: r.f.Clock}
	at, err := client.Exchange(ctx, gcpsts.Request{
		Audience: g.Audience, SubjectTokenType: g.SubjectTokenType, SubjectToken: tok.Entry.IDToken,
		Scopes: g.Scopes, ServiceAccount: sa, Lifetime: g.Lifetime.D(),
	})
	if err != nil {
		r.auditGCPExchange(claims, q.Run, sa, time.Time{}, err)
		return nil, err
	}
	r.auditGCPExchange(claims, q.Run, sa, at.Expiry, nil)
	e := cache.GCPEntry{AccessToken: at.Token, Expiry: at.Expiry, ServiceAccount: at.ServiceAccount}
	now := r.f.Clock.Now()
	if left := at.Expiry.Sub(now); left <= gcpRefreshMargin {
		fmt.Fprintf(r.f.IO.ErrOut, "warning: google issued a token valid for %s, less than the %s refresh margin; it will be exchanged again on every call\n", left.Round(time.Second), gcpRefreshMargin)
	}
	doc := r.readGCPDoc()
	for k, old := range doc.Entries {
		if !old.Expiry.After(now) {
			delete(doc.Entries, k)
		}
	}
	doc.Entries[slot] = e
	if data, err := cache.Encode(cache.KindGCP, doc); err == nil {
		if err := r.mgr.Fast.Set(r.gcpDocKey(), data); err != nil {
			fmt.Fprintf(r.f.IO.ErrOut, "warning: could not cache the GCP access token: %v\n", err)
		}
	}
	return &gcpResult{Entry: e}, nil
}

// gcpServiceAccount chooses the service account to impersonate: the policy
// decides among the profile's rules (a plain gcp.service_account is one
// unconditional rule) and want picks among the allowed ones. Without any
// rule the token stays federated, and asking for a service account is
// refused like any account the policy does not allow.
func (r *resolved) gcpServiceAccount(claims *flow.Claims, want string, run policy.Run) (string, error) {
	rules := gcpRules(r.p)
	if len(rules) == 0 && want == "" {
		return "", nil
	}
	d, err := r.decide(rules, claims.All, want, run, "service account")
	if err != nil {
		r.auditPolicyDenied(claims, run, err)
		return "", err
	}
	return d.Target, nil
}

func (r *resolved) auditGCPExchange(claims *flow.Claims, run policy.Run, sa string, expiry time.Time, err error) {
	rec := auditRecord{Event: "exchange", Outcome: "ok", Claims: claims, ServiceAccount: sa, Expiry: expiry, Run: run, Err: err}
	if err != nil {
		rec.Outcome = outcomeOf(err)
	}
	r.audit(rec)
}

// gcpConfigRequest describes one external_account file.
type gcpConfigRequest struct {
	// ServiceAccount pins the impersonated account; "" lets the policy
	// choose when the profile has service_accounts rules, else the profile's
	// service_account, else none.
	ServiceAccount string
	// OutputFile is the executable's cache file; "" for none.
	OutputFile string
	// Timeout is the executable's timeout; 0 means Google's default.
	Timeout time.Duration
	Run     policy.Run
}

// gcpExternalAccount builds the external_account JSON whose executable is
// `<this binary> gcp executable --profile NAME [--config ABS]`.
func (r *resolved) gcpExternalAccount(ctx context.Context, q gcpConfigRequest) ([]byte, error) {
	g, err := r.gcpConfig()
	if err != nil {
		return nil, err
	}
	sa, err := r.gcpConfigServiceAccount(ctx, g, q)
	if err != nil {
		return nil, err
	}
	exe, err := r.f.Executable()
	if err != nil {
		return nil, fmt.Errorf("could not find this binary's path: %w", err)
	}
	argv := []string{exe, "gcp", "executable", "--profile", r.p.Name, "--config", r.configPath()}
	o := gcpconfig.Options{
		Audience:         g.Audience,
		SubjectTokenType: g.SubjectTokenType,
		TokenURL:         g.TokenURL,
		ServiceAccount:   sa,
		Command:          argv,
		TimeoutMillis:    int(q.Timeout / time.Millisecond),
	}
	if q.OutputFile != "" {
		o.OutputFile = absPath(q.OutputFile)
	}
	if sa != "" {
		o.TokenLifetime = g.Lifetime.D()
		if g.ImpersonationURL != "" {
			o.ImpersonationURL = gcpsts.ImpersonationURL(g.ImpersonationURL, sa)
		}
	}
	return gcpconfig.Build(o)
}

// gcpConfigServiceAccount is the service account a generated file
// impersonates. Only service_accounts rules need a login, to evaluate them.
func (r *resolved) gcpConfigServiceAccount(ctx context.Context, g *config.GCP, q gcpConfigRequest) (string, error) {
	switch {
	case q.ServiceAccount != "":
		return q.ServiceAccount, nil
	case len(g.ServiceAccounts) == 0:
		return g.ServiceAccount, nil
	}
	tok, err := r.mgr.Token(ctx)
	if err != nil {
		return "", err
	}
	claims := tok.Claims
	return r.gcpServiceAccount(claims, "", q.Run)
}
