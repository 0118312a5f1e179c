package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeTokens hands out "tok-N" for alice in data-eng; Renew counts.
type fakeTokens struct {
	calls, renews int
	err           error
	groups        []any
}

func (f *fakeTokens) result() *session.Result {
	f.calls++
	tok := fmt.Sprintf("tok-%d", f.calls)
	all := map[string]any{"sub": "alice", "email": "alice@example.com", "groups": f.groups}
	return &session.Result{
		Entry:  cache.TokenEntry{IDToken: tok, Expiry: now.Add(time.Hour), Source: "device", Subject: "alice", Claims: all},
		Claims: &flow.Claims{Subject: "alice", Email: "alice@example.com", Expiry: now.Add(time.Hour), All: all},
	}
}

func (f *fakeTokens) Token(context.Context) (*session.Result, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.result(), nil
}

func (f *fakeTokens) Renew(_ context.Context, stale string) (*session.Result, error) {
	f.renews++
	return f.result(), nil
}

func (f *fakeTokens) Cached() (*cache.TokenEntry, error) {
	res := f.result()
	return &res.Entry, nil
}

func (f *fakeTokens) Key(kind string, extra ...string) string {
	return strings.Join(append([]string{kind}, extra...), "/")
}

// fakeLocker counts the locks taken.
type fakeLocker struct{ locks []string }

func (l *fakeLocker) Lock(_ context.Context, key string) (func() error, error) {
	l.locks = append(l.locks, key)
	return func() error { return nil }, nil
}

// fakeAWS issues credentials valid for life; refuse makes the first call
// ask for a fresh token, as STS InvalidIdentityToken does.
type fakeAWS struct {
	calls  []awssts.Request
	tokens []string
	life   time.Duration
	refuse bool
	err    error
}

func (f *fakeAWS) AssumeRoleWithWebIdentity(ctx context.Context, r awssts.Request, token func(context.Context, bool) (string, error)) (*awssts.Credentials, error) {
	f.calls = append(f.calls, r)
	tok, err := token(ctx, false)
	if err == nil && f.refuse {
		tok, err = token(ctx, true)
	}
	if err != nil {
		return nil, err
	}
	f.tokens = append(f.tokens, tok)
	if f.err != nil {
		return nil, f.err
	}
	return &awssts.Credentials{AccessKeyID: fmt.Sprintf("AKIA%d", len(f.calls)), SecretAccessKey: "s", SessionToken: "t", Expiration: now.Add(f.life)}, nil
}

// fakeGCP issues access tokens valid for life.
type fakeGCP struct {
	calls []gcpsts.Request
	life  time.Duration
	err   error
}

func (f *fakeGCP) Exchange(_ context.Context, r gcpsts.Request) (*gcpsts.AccessToken, error) {
	f.calls = append(f.calls, r)
	if f.err != nil {
		return nil, f.err
	}
	return &gcpsts.AccessToken{Token: fmt.Sprintf("ya29.%d", len(f.calls)), Expiry: now.Add(f.life), ServiceAccount: r.ServiceAccount}, nil
}

// records collects audit records.
type records []Record

func (r *records) Observe(rec Record) { *r = append(*r, rec) }

func (r records) events() []string {
	var out []string
	for _, x := range r {
		out = append(out, x.Event+":"+x.Outcome)
	}
	return out
}

type harness struct {
	s      *Service
	tokens *fakeTokens
	locker *fakeLocker
	aws    *fakeAWS
	gcp    *fakeGCP
	audit  *records
	warn   *bytes.Buffer
}

const (
	dataEngRole = "arn:aws:iam::123456789012:role/data-eng"
	pipelineSA  = "pipelines@proj.iam.gserviceaccount.com"
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		tokens: &fakeTokens{groups: []any{"data-eng"}}, locker: &fakeLocker{},
		aws: &fakeAWS{life: time.Hour}, gcp: &fakeGCP{life: time.Hour}, audit: &records{}, warn: &bytes.Buffer{},
	}
	p := &config.Profile{
		Name: "dev", Environment: "dev",
		AWS: &config.AWS{Region: "us-east-1", Duration: config.Duration(time.Hour), RefreshMargin: config.Duration(20 * time.Minute),
			Roles: []config.RoleRule{{RoleARN: dataEngRole, When: "'data-eng' in claims.groups"}}},
		GCP: &config.GCP{Audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/oidc",
			ServiceAccounts: []config.ServiceAccountRule{{ServiceAccount: pipelineSA, When: "'data-eng' in claims.groups"}}},
	}
	h.s = &Service{Profile: p, Tokens: h.tokens, Store: &cache.MemoryStore{}, Locker: h.locker, Clock: clock.Fake(now),
		AWS: h.aws, GCP: h.gcp, Audit: h.audit, Warn: h.warn}
	return h
}

// cloud runs one cloud's use case through the shared cached exchange.
type cloud struct {
	name string
	// get runs the use case: the credential's id and whether it was cached.
	get func(h *harness) (string, bool, error)
	// exchanges counts the exchanger's calls.
	exchanges func(h *harness) int
	// setLife sets how long issued credentials live; fail makes the
	// exchanger fail.
	setLife func(h *harness, d time.Duration)
	fail    func(h *harness, err error)
	margin  time.Duration
	kind    string
}

var clouds = []cloud{
	{
		name: "aws",
		get: func(h *harness) (string, bool, error) {
			res, err := h.s.AWSCredentials(context.Background(), AWSRequest{Run: policy.Run{Job: "etl"}})
			if err != nil {
				return "", false, err
			}
			return res.Entry.AccessKeyID, res.FromCache, nil
		},
		exchanges: func(h *harness) int { return len(h.aws.calls) },
		setLife:   func(h *harness, d time.Duration) { h.aws.life = d },
		fail:      func(h *harness, err error) { h.aws.err = err },
		margin:    20 * time.Minute, kind: cache.KindAWS,
	},
	{
		name: "gcp",
		get: func(h *harness) (string, bool, error) {
			res, err := h.s.GCPAccessToken(context.Background(), GCPRequest{Run: policy.Run{Job: "etl"}})
			if err != nil {
				return "", false, err
			}
			return res.Entry.AccessToken, res.FromCache, nil
		},
		exchanges: func(h *harness) int { return len(h.gcp.calls) },
		setLife:   func(h *harness, d time.Duration) { h.gcp.life = d },
		fail:      func(h *harness, err error) { h.gcp.err = err },
		margin:    GCPRefreshMargin, kind: cache.KindGCP,
	},
}

// TestCachedExchange runs the one cached-exchange routine through both
// clouds' use cases.
func TestCachedExchange(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, c cloud, h *harness)
	}{
		{"cold then warm: the warm call reads the store only", func(t *testing.T, c cloud, h *harness) {
			first, cached, err := c.get(h)
			if err != nil || cached {
				t.Fatalf("cold: %q cached=%v %v", first, cached, err)
			}
			second, cached, err := c.get(h)
			if err != nil || !cached || second != first {
				t.Fatalf("warm: %q cached=%v %v", second, cached, err)
			}
			if c.exchanges(h) != 1 || h.tokens.calls != 1 || len(h.locker.locks) != 1 {
				t.Errorf("warm call exchanged %d, tokens %d, locks %v", c.exchanges(h), h.tokens.calls, h.locker.locks)
			}
			if got := h.audit.events(); strings.Join(got, ",") != "exchange:ok" {
				t.Errorf("audit = %v", got)
			}
		}},
		{"within the margin: exchanged again, with a warning", func(t *testing.T, c cloud, h *harness) {
			c.setLife(h, c.margin/2)
			for range 2 {
				if _, cached, err := c.get(h); err != nil || cached {
					t.Fatalf("cached=%v %v", cached, err)
				}
			}
			if c.exchanges(h) != 2 || !strings.Contains(h.warn.String(), "exchanged again on every call") {
				t.Errorf("exchanges %d, warning %q", c.exchanges(h), h.warn.String())
			}
		}},
		{"a corrupt document is discarded with a warning", func(t *testing.T, c cloud, h *harness) {
			if err := h.s.Store.Set(h.tokens.Key(c.kind), []byte("{not json")); err != nil {
				t.Fatal(err)
			}
			if _, cached, err := c.get(h); err != nil || cached {
				t.Fatalf("cached=%v %v", cached, err)
			}
			if !strings.Contains(h.warn.String(), "discarded unreadable cached") {
				t.Errorf("warning = %q", h.warn.String())
			}
		}},
		{"an exchange failure caches nothing and is audited", func(t *testing.T, c cloud, h *harness) {
			c.fail(h, apperr.Denied(errors.New("AccessDenied"), ""))
			if _, _, err := c.get(h); apperr.ExitCode(err) != 4 {
				t.Fatalf("err = %v", err)
			}
			if _, err := h.s.Store.Get(h.tokens.Key(c.kind)); !errors.Is(err, cache.ErrNotFound) {
				t.Errorf("something was cached: %v", err)
			}
			if got := h.audit.events(); strings.Join(got, ",") != "exchange:denied" {
				t.Errorf("audit = %v", got)
			}
		}},
		{"the policy refuses: no exchange, policy_denied", func(t *testing.T, c cloud, h *harness) {
			h.tokens.groups = []any{"analysts"}
			if _, _, err := c.get(h); apperr.ExitCode(err) != 4 {
				t.Fatalf("err = %v", err)
			}
			if c.exchanges(h) != 0 || strings.Join(h.audit.events(), ",") != "policy_denied:denied" {
				t.Errorf("exchanges %d, audit %v", c.exchanges(h), h.audit.events())
			}
		}},
		{"no token: the error, nothing exchanged", func(t *testing.T, c cloud, h *harness) {
			h.tokens.err = apperr.LoginRequired(errors.New("no login"), "run: dagster-oidc login")
			if _, _, err := c.get(h); apperr.ExitCode(err) != 3 {
				t.Fatalf("err = %v", err)
			}
			if c.exchanges(h) != 0 {
				t.Errorf("exchanged %d times", c.exchanges(h))
			}
		}},
		{"expired entries of other slots are dropped on write", func(t *testing.T, c cloud, h *harness) {
			if _, _, err := c.get(h); err != nil {
				t.Fatal(err)
			}
			h.s.Clock = clock.Fake(now.Add(2 * time.Hour))
			c.setLife(h, 3*time.Hour)
			if _, cached, err := c.get(h); err != nil || cached {
				t.Fatalf("cached=%v %v", cached, err)
			}
			data, err := h.s.Store.Get(h.tokens.Key(c.kind))
			if err != nil {
				t.Fatal(err)
			}
			var doc document[map[string]any]
			if err := cache.Decode(data, c.kind, &doc); err != nil || len(doc.Entries) != 1 {
				t.Errorf("document has %d entries (%v), want the fresh one only", len(doc.Entries), err)
			}
		}},
	}
	for _, c := range clouds {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) { tt.run(t, c, newHarness(t)) })
		}
	}
}

func TestAWSRenewsATokenSTSRefused(t *testing.T) {
	h := newHarness(t)
	h.aws.refuse = true
	res, err := h.s.AWSCredentials(t.Context(), AWSRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h.tokens.renews != 1 || len(h.aws.tokens) != 1 || h.aws.tokens[0] != "tok-2" {
		t.Errorf("renews %d, tokens sent %v", h.tokens.renews, h.aws.tokens)
	}
	if res.Entry.RoleARN != dataEngRole || h.aws.calls[0].RoleARN != dataEngRole {
		t.Errorf("role %q", res.Entry.RoleARN)
	}
}

func TestAWSSessionNameAndSlotPerRun(t *testing.T) {
	h := newHarness(t)
	h.s.Profile.AWS.SessionName = "dagster-{{job}}-{{run_id}}"
	for _, run := range []policy.Run{{ID: "r1", Job: "etl"}, {ID: "r2", Job: "etl"}, {ID: "r1", Job: "etl"}} {
		if _, err := h.s.AWSCredentials(t.Context(), AWSRequest{Run: run}); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.aws.calls) != 2 || h.aws.calls[0].SessionName != "dagster-etl-r1" || h.aws.calls[1].SessionName != "dagster-etl-r2" {
		t.Errorf("calls = %+v", h.aws.calls)
	}
}

func TestUseCasesRefuseAProfileWithoutTheSection(t *testing.T) {
	h := newHarness(t)
	h.s.Profile.AWS, h.s.Profile.GCP = nil, nil
	for name, err := range map[string]error{
		"aws": func() error { _, err := h.s.AWSCredentials(t.Context(), AWSRequest{}); return err }(),
		"gcp": func() error { _, err := h.s.GCPAccessToken(t.Context(), GCPRequest{}); return err }(),
		"role": func() error {
			_, _, err := h.s.AWSRole(t.Context(), AWSRequest{})
			return err
		}(),
	} {
		if apperr.ExitCode(err) != 2 {
			t.Errorf("%s: err = %v, want a usage error", name, err)
		}
	}
	if h.tokens.calls != 0 {
		t.Error("a token was fetched for a profile that cannot use it")
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name       string
		groups     []any
		role       string
		wantDenied bool
	}{
		{"allowed", []any{"data-eng"}, "", false},
		{"no rule allows", []any{"analysts"}, "", true},
		{"a role the policy does not allow", []any{"data-eng"}, "arn:aws:iam::123456789012:role/other", true},
	}
	if doc := newHarness(t).s.ExplainDocument(ExplainRequest{}, nil); doc.Profile != "dev" || doc.Token != nil {
		t.Errorf("document without an explanation = %+v, want the profile only", doc)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.tokens.groups = tt.groups
			x, err := h.s.Explain(t.Context(), ExplainRequest{Role: tt.role})
			if err != nil {
				t.Fatal(err)
			}
			if len(x.Sections) != 2 || x.Sections[0].Name != "AWS roles" || x.Sections[1].Name != "GCP service accounts" {
				t.Errorf("sections = %+v", x.Sections)
			}
			if (x.Denied != nil) != tt.wantDenied {
				t.Errorf("denied = %v", x.Denied)
			}
			if len(h.aws.calls)+len(h.gcp.calls) != 0 {
				t.Error("explain called an exchanger")
			}
			doc := h.s.ExplainDocument(ExplainRequest{Role: tt.role, Run: policy.Run{Job: "etl"}}, x)
			if doc.Profile != "dev" || doc.Job != "etl" || doc.Token == nil || doc.Token.Expired || doc.Token.Claims["sub"] != "alice" ||
				len(doc.Sections) != 2 || doc.Sections[0].Table == nil {
				t.Errorf("document = %+v", doc)
			}
			if tt.wantDenied != (strings.Join(h.audit.events(), ",") == "policy_denied:denied") {
				t.Errorf("audit = %v", h.audit.events())
			}
		})
	}
}

func TestExecutable(t *testing.T) {
	tests := []struct {
		name     string
		q        ExecutableRequest
		wantType string
		wantCode int
	}{
		{"default type", ExecutableRequest{}, "urn:ietf:params:oauth:token-type:id_token", 0},
		{"jwt asked for", ExecutableRequest{TokenType: "urn:ietf:params:oauth:token-type:jwt"}, "urn:ietf:params:oauth:token-type:jwt", 0},
		{"saml refused", ExecutableRequest{TokenType: "urn:ietf:params:oauth:token-type:saml2"}, "", 2},
		{"another audience", ExecutableRequest{Audience: "//iam.googleapis.com/other"}, "", 2},
		{"a service account the policy allows", ExecutableRequest{ImpersonatedEmail: pipelineSA}, "urn:ietf:params:oauth:token-type:id_token", 0},
		{"one it does not", ExecutableRequest{ImpersonatedEmail: "root@proj.iam.gserviceaccount.com"}, "", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			res, err := h.s.Executable(t.Context(), tt.q)
			if tt.wantCode != 0 {
				if apperr.ExitCode(err) != tt.wantCode {
					t.Fatalf("err = %v, want exit %d", err, tt.wantCode)
				}
				return
			}
			if err != nil || res.TokenType != tt.wantType || res.IDToken != "tok-1" || !res.Expiry.Equal(now.Add(time.Hour-time.Minute)) {
				t.Fatalf("%+v %v", res, err)
			}
		})
	}
}

func TestExternalAccountAsksForATokenOnlyForRules(t *testing.T) {
	h := newHarness(t)
	q := ExternalAccountRequest{Command: []string{"/usr/local/bin/dagster-oidc", "gcp", "executable", "--profile", "dev"}}
	if _, _, err := h.s.ExternalAccount(t.Context(), ExternalAccountRequest{Command: q.Command, ServiceAccount: pipelineSA}); err != nil || h.tokens.calls != 0 {
		t.Fatalf("pinned account: %v, %d token calls", err, h.tokens.calls)
	}
	data, path, err := h.s.ExternalAccount(t.Context(), q)
	if err != nil || h.tokens.calls != 1 || !strings.Contains(string(data), pipelineSA) || path != "" {
		t.Fatalf("rules: %v, %d token calls, path %q:\n%s", err, h.tokens.calls, path, data)
	}
}

func TestExternalAccountWritesThePath(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	t.Chdir(dir)
	q := ExternalAccountRequest{Command: []string{"/opt/d", "gcp", "executable"}, ServiceAccount: pipelineSA, OutputFile: "cache.json", Path: "gcp.json"}
	data, path, err := h.s.ExternalAccount(t.Context(), q)
	if err != nil || path != filepath.Join(dir, "gcp.json") {
		t.Fatalf("ExternalAccount = %q, %v; want the absolute path", path, err)
	}
	written, err := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if err != nil || string(written) != string(data) || fi.Mode().Perm() != 0o600 {
		t.Errorf("written %v (mode %v), want the document with mode 0600", err, fi.Mode())
	}
	if !strings.Contains(string(data), filepath.Join(dir, "cache.json")) {
		t.Errorf("the output_file is not absolute:\n%s", data)
	}
}

func TestTokenDocument(t *testing.T) {
	tests := []struct {
		name       string
		private    []string
		unverified string
		wantClaims []string
	}{
		{name: "every claim", wantClaims: []string{"email", "groups", "sub"}},
		{name: "private claims left out", private: []string{"email", "groups"}, unverified: "no JWKS", wantClaims: []string{"sub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.s.Profile.RefreshMargin, h.s.Profile.PrivateClaims = config.Duration(2*time.Minute), tt.private
			res := h.tokens.result()
			res.Unverified = tt.unverified
			doc := h.s.TokenDocument(res)
			var claims []string
			for k := range doc.Claims {
				claims = append(claims, k)
			}
			slices.Sort(claims)
			if doc.IDToken != "tok-1" || doc.Profile != "dev" || doc.Source != "device" || !doc.Expiry.Equal(now.Add(time.Hour)) ||
				!doc.RefreshAt.Equal(now.Add(58*time.Minute)) || doc.Unverified != tt.unverified || !slices.Equal(claims, tt.wantClaims) {
				t.Errorf("document = %+v, claims %v; want refresh at expiry - 2m and claims %v", doc, claims, tt.wantClaims)
			}
			if res.Claims.All["email"] == nil {
				t.Error("the result's own claims were edited")
			}
		})
	}
}
