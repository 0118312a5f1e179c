package gcpsts_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox/gcpfake"
)

const (
	testAudience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dagster/providers/oidc"
	testSA       = "pipelines@proj.iam.gserviceaccount.com"
	testClientID = "dagster-cli"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a gcpfake server with a test issuer and a client pointed at it.
type fixture struct {
	fake   *gcpfake.Server
	issuer *gcpfake.TestIssuer
	client *gcpsts.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := clock.Fake(testNow)
	iss, err := gcpfake.NewTestIssuer("https://id.example.com", testClientID, c)
	if err != nil {
		t.Fatal(err)
	}
	fake := gcpfake.New(gcpfake.Options{
		Verify:          iss.Verify,
		Audience:        testAudience,
		ServiceAccounts: map[string]bool{testSA: true, "denied@proj.iam.gserviceaccount.com": false},
		Clock:           c,
	})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return &fixture{
		fake:   fake,
		issuer: iss,
		client: &gcpsts.Client{
			HTTP:                 srv.Client(),
			TokenURL:             srv.URL + gcpfake.TokenPath,
			ImpersonationURLBase: srv.URL + gcpfake.IAMBasePath,
			Clock:                c,
		},
	}
}

func (f *fixture) idToken(t *testing.T, exp time.Time) string {
	t.Helper()
	raw, err := f.issuer.Sign("alice", testNow.Add(-time.Minute), exp)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestExchangeSuccess(t *testing.T) {
	tests := []struct {
		name         string
		req          gcpsts.Request
		wantSTSScope string
		wantIAM      []gcpfake.IAMCall
		wantExpiry   time.Time
		wantSA       string
	}{
		{
			name:         "federated token, default scope",
			req:          gcpsts.Request{Audience: testAudience},
			wantSTSScope: gcpsts.ScopeCloudPlatform,
			wantExpiry:   testNow.Add(time.Hour),
		},
		{
			name: "federated token, custom scopes",
			req: gcpsts.Request{Audience: testAudience, Scopes: []string{
				"https://www.googleapis.com/auth/devstorage.read_only", "https://www.googleapis.com/auth/bigquery"}},
			wantSTSScope: "https://www.googleapis.com/auth/devstorage.read_only https://www.googleapis.com/auth/bigquery",
			wantExpiry:   testNow.Add(time.Hour),
		},
		{
			name: "impersonation with lifetime and scopes",
			req: gcpsts.Request{Audience: testAudience, ServiceAccount: testSA, Lifetime: 30 * time.Minute,
				Scopes: []string{"https://www.googleapis.com/auth/devstorage.read_only"}},
			wantSTSScope: gcpsts.ScopeCloudPlatform,
			wantIAM: []gcpfake.IAMCall{{ServiceAccount: testSA, Scope: []string{"https://www.googleapis.com/auth/devstorage.read_only"},
				Lifetime: "1800s", Subject: "alice", Status: http.StatusOK}},
			wantExpiry: testNow.Add(30 * time.Minute),
			wantSA:     testSA,
		},
		{
			name:         "impersonation with default lifetime, id_token type",
			req:          gcpsts.Request{Audience: testAudience, ServiceAccount: testSA, SubjectTokenType: gcpsts.TokenTypeIDToken},
			wantSTSScope: gcpsts.ScopeCloudPlatform,
			wantIAM: []gcpfake.IAMCall{{ServiceAccount: testSA, Scope: []string{gcpsts.ScopeCloudPlatform},
				Lifetime: "3600s", Subject: "alice", Status: http.StatusOK}},
			wantExpiry: testNow.Add(time.Hour),
			wantSA:     testSA,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.req.SubjectToken = f.idToken(t, testNow.Add(time.Hour))
			got, err := f.client.Exchange(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			issued := f.fake.IssuedTokens()
			want := &gcpsts.AccessToken{Token: issued[len(issued)-1], Expiry: tc.wantExpiry, ServiceAccount: tc.wantSA}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("token (-want +got):\n%s", diff)
			}
			wantType := tc.req.SubjectTokenType
			if wantType == "" {
				wantType = gcpsts.TokenTypeJWT
			}
			wantSTS := []gcpfake.STSCall{{Status: http.StatusOK, Form: map[string][]string{
				"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
				"audience":             {testAudience},
				"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
				"subject_token_type":   {wantType},
				"subject_token":        {tc.req.SubjectToken},
				"scope":                {tc.wantSTSScope},
			}}}
			if diff := cmp.Diff(wantSTS, f.fake.STSCalls()); diff != "" {
				t.Errorf("sts calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIAM, f.fake.IAMCalls()); diff != "" {
				t.Errorf("iam calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExchangeErrors(t *testing.T) {
	tests := []struct {
		name       string
		req        func(t *testing.T, f *fixture, tok string) gcpsts.Request
		expired    bool
		wantKind   apperr.Kind
		wantStage  string
		wantStatus int
		wantCode   string
	}{
		{
			name: "unknown provider",
			req: func(_ *testing.T, _ *fixture, tok string) gcpsts.Request {
				return gcpsts.Request{Audience: testAudience + "-other", SubjectToken: tok}
			},
			wantKind:   apperr.KindError,
			wantStage:  gcpsts.StageSTS,
			wantStatus: 400, wantCode: "invalid_target",
		},
		{
			name: "malformed audience",
			req: func(_ *testing.T, _ *fixture, tok string) gcpsts.Request {
				return gcpsts.Request{Audience: "projects/1/pools/x", SubjectToken: tok}
			},
			wantKind:   apperr.KindError,
			wantStage:  gcpsts.StageSTS,
			wantStatus: 400, wantCode: "invalid_request",
		},
		{
			name: "expired subject token",
			req: func(_ *testing.T, _ *fixture, tok string) gcpsts.Request {
				return gcpsts.Request{Audience: testAudience, SubjectToken: tok}
			},
			expired:    true,
			wantKind:   apperr.KindDenied,
			wantStage:  gcpsts.StageSTS,
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name: "subject token for another client",
			req: func(t *testing.T, f *fixture, _ string) gcpsts.Request {
				other := *f.issuer
				other.ClientID = "someone-else"
				raw, err := other.Sign("alice", testNow, testNow.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return gcpsts.Request{Audience: testAudience, SubjectToken: raw}
			},
			wantKind:   apperr.KindDenied,
			wantStage:  gcpsts.StageSTS,
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name: "subject token signed by another key",
			req: func(t *testing.T, f *fixture, _ string) gcpsts.Request {
				other, err := gcpfake.NewTestIssuer(f.issuer.Issuer, "someone-else", clock.Fake(testNow))
				if err != nil {
					t.Fatal(err)
				}
				raw, err := other.Sign("alice", testNow, testNow.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return gcpsts.Request{Audience: testAudience, SubjectToken: raw}
			},
			wantKind:   apperr.KindDenied,
			wantStage:  gcpsts.StageSTS,
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name: "service account not bound",
			req: func(_ *testing.T, _ *fixture, tok string) gcpsts.Request {
				return gcpsts.Request{Audience: testAudience, SubjectToken: tok, ServiceAccount: "denied@proj.iam.gserviceaccount.com"}
			},
			wantKind:   apperr.KindDenied,
			wantStage:  gcpsts.StageImpersonation,
			wantStatus: 403, wantCode: "PERMISSION_DENIED",
		},
		{
			name: "lifetime beyond the limit",
			req: func(_ *testing.T, _ *fixture, tok string) gcpsts.Request {
				return gcpsts.Request{Audience: testAudience, SubjectToken: tok, ServiceAccount: testSA, Lifetime: 2 * time.Hour}
			},
			wantKind:   apperr.KindError,
			wantStage:  gcpsts.StageImpersonation,
			wantStatus: 400, wantCode: "INVALID_ARGUMENT",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			exp := testNow.Add(time.Hour)
			if tc.expired {
				exp = testNow.Add(-time.Second)
			}
			tok := f.idToken(t, exp)
			req := tc.req(t, f, tok)
			_, err := f.client.Exchange(context.Background(), req)
			if err == nil {
				t.Fatal("Exchange succeeded, want an error")
			}
			var e *gcpsts.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *gcpsts.Error", err)
			}
			if e.Stage != tc.wantStage || e.StatusCode != tc.wantStatus || e.Code != tc.wantCode {
				t.Errorf("got stage %q status %d code %q, want %q %d %q", e.Stage, e.StatusCode, e.Code, tc.wantStage, tc.wantStatus, tc.wantCode)
			}
			if got := apperr.KindOf(err); got != tc.wantKind {
				t.Errorf("kind = %v, want %v", got, tc.wantKind)
			}
			if hint := apperr.HintOf(err); hint != "" {
				t.Errorf("hint = %q, want none: the caller chooses the advice", hint)
			}
			s := err.Error()
			if strings.ContainsAny(s, "\r\n") {
				t.Errorf("message %q spans several lines", s)
			}
			if strings.Contains(s, req.SubjectToken) {
				t.Errorf("message %q contains the subject token", s)
			}
			for _, issued := range f.fake.IssuedTokens() {
				if strings.Contains(s, issued) {
					t.Errorf("message %q contains an access token", s)
				}
			}
		})
	}
}

func TestExchangeRejectsBadResponses(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		max     int64
		wantErr string
	}{
		{name: "expires_in zero", body: `{"access_token":"ya29.x","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":0}`,
			wantErr: "google sts returned an invalid expires_in 0"},
		{name: "expires_in missing", body: `{"access_token":"ya29.x","token_type":"Bearer"}`,
			wantErr: "google sts returned an invalid expires_in 0"},
		{name: "no access token", body: `{"token_type":"Bearer","expires_in":3600}`,
			wantErr: "google sts returned no access_token"},
		{name: "body over the cap", body: `{"access_token":"` + strings.Repeat("a", 200) + `","expires_in":3600}`, max: 64,
			wantErr: "the response body exceeds 64 bytes"},
		{name: "not json", body: `<html>`, wantErr: "could not parse the google sts response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &gcpsts.Client{HTTP: srv.Client(), TokenURL: srv.URL, MaxResponseBytes: tc.max, Clock: clock.Fake(testNow)}
			_, err := c.Exchange(context.Background(), gcpsts.Request{Audience: testAudience, SubjectToken: "a.b.c"})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestExchangeValidatesRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     gcpsts.Request
		wantErr string
	}{
		{name: "no audience", req: gcpsts.Request{SubjectToken: "t"}, wantErr: "audience is empty"},
		{name: "no token", req: gcpsts.Request{Audience: testAudience}, wantErr: "subject token is empty"},
		{name: "saml", req: gcpsts.Request{Audience: testAudience, SubjectToken: "t", SubjectTokenType: "urn:ietf:params:oauth:token-type:saml2"}, wantErr: "unsupported subject token type"},
		{name: "lifetime too long", req: gcpsts.Request{Audience: testAudience, SubjectToken: "t", Lifetime: 13 * time.Hour}, wantErr: "outside 0s..12h0m0s"},
		{name: "fractional lifetime", req: gcpsts.Request{Audience: testAudience, SubjectToken: "t", Lifetime: 1500 * time.Millisecond}, wantErr: "not a whole number of seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
			defer srv.Close()
			c := &gcpsts.Client{HTTP: srv.Client(), TokenURL: srv.URL}
			_, err := c.Exchange(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if calls != 0 {
				t.Errorf("%d requests sent for an invalid request", calls)
			}
		})
	}
}

func TestImpersonationURL(t *testing.T) {
	tests := []struct{ base, email, want string }{
		{"", testSA, "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/pipelines@proj.iam.gserviceaccount.com:generateAccessToken"},
		{"http://127.0.0.1:8080/v1/", testSA, "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/pipelines@proj.iam.gserviceaccount.com:generateAccessToken"},
		{"https://iamcredentials.googleapis.com/v1", "a/b?c", "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a%2Fb%3Fc:generateAccessToken"},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			if got := gcpsts.ImpersonationURL(tc.base, tc.email); got != tc.want {
				t.Errorf("ImpersonationURL(%q, %q) = %q, want %q", tc.base, tc.email, got, tc.want)
			}
		})
	}
}
