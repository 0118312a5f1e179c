package gcpfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox/gcpfake"
)

const (
	audience = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/oidc"
	sa       = "sa@proj.iam.gserviceaccount.com"
)

// testServer returns a fake whose Verify accepts only "good-token", and a
// pointer to the time its clock reports.
func testServer(t *testing.T) (*gcpfake.Server, *httptest.Server, *time.Time) {
	t.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fake := gcpfake.New(gcpfake.Options{
		Verify: func(_ context.Context, raw string) (string, error) {
			if raw != "good-token" {
				return "", errors.New("bad signature")
			}
			return "alice", nil
		},
		Audience:        audience,
		ServiceAccounts: map[string]bool{sa: true},
		Clock:           clock.Func(func() time.Time { return now }),
	})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv, &now
}

func goodForm() url.Values {
	return url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"audience":             {audience},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
		"subject_token":        {"good-token"},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
	}
}

func post(t *testing.T, c *http.Client, target, contentType, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("response %q is not JSON: %v", data, err)
	}
	return resp.StatusCode, m
}

func stsToken(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	status, m := post(t, srv.Client(), srv.URL+gcpfake.TokenPath, "application/x-www-form-urlencoded", "", goodForm().Encode())
	if status != http.StatusOK {
		t.Fatalf("sts status %d: %v", status, m)
	}
	return m["access_token"].(string)
}

func TestTokenChecksEveryField(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(url.Values)
		contentType string
		wantStatus  int
		wantError   string
	}{
		{name: "valid", edit: func(url.Values) {}, wantStatus: 200},
		{name: "id_token type", edit: func(f url.Values) { f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:id_token") }, wantStatus: 200},
		{name: "grant type", edit: func(f url.Values) { f.Set("grant_type", "client_credentials") }, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "requested token type", edit: func(f url.Values) { f.Set("requested_token_type", "urn:ietf:params:oauth:token-type:id_token") }, wantStatus: 400, wantError: "invalid_request"},
		{name: "subject token type", edit: func(f url.Values) { f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:saml2") }, wantStatus: 400, wantError: "invalid_request"},
		{name: "malformed audience", edit: func(f url.Values) { f.Set("audience", "projects/1") }, wantStatus: 400, wantError: "invalid_request"},
		{name: "other provider", edit: func(f url.Values) { f.Set("audience", audience+"2") }, wantStatus: 400, wantError: "invalid_target"},
		{name: "no scope", edit: func(f url.Values) { f.Del("scope") }, wantStatus: 400, wantError: "invalid_scope"},
		{name: "foreign scope", edit: func(f url.Values) { f.Set("scope", "openid") }, wantStatus: 400, wantError: "invalid_scope"},
		{name: "no subject token", edit: func(f url.Values) { f.Del("subject_token") }, wantStatus: 400, wantError: "invalid_request"},
		{name: "bad subject token", edit: func(f url.Values) { f.Set("subject_token", "forged") }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "json body", edit: func(url.Values) {}, contentType: "application/json", wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv, _ := testServer(t)
			form := goodForm()
			tc.edit(form)
			ct := tc.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			status, m := post(t, srv.Client(), srv.URL+gcpfake.TokenPath, ct, "", form.Encode())
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tc.wantStatus, m)
			}
			if tc.wantError == "" {
				if m["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) {
					t.Errorf("response %v", m)
				}
			} else if m["error"] != tc.wantError || m["error_description"] == "" {
				t.Errorf("error %v, want %q with a description", m, tc.wantError)
			}
			if calls := fake.STSCalls(); len(calls) != 1 || calls[0].Status != tc.wantStatus {
				t.Errorf("recorded calls %+v", calls)
			}
		})
	}
}

func TestGenerateAccessTokenChecks(t *testing.T) {
	tests := []struct {
		name       string
		email      string
		bearer     func(fed string) string
		body       string
		advance    time.Duration
		wantStatus int
		wantAPI    string
	}{
		{name: "valid", wantStatus: 200},
		{name: "default lifetime", body: `{"scope":["https://www.googleapis.com/auth/cloud-platform"]}`, wantStatus: 200},
		{name: "no bearer", bearer: func(string) string { return "" }, wantStatus: 401, wantAPI: "UNAUTHENTICATED"},
		{name: "unknown bearer", bearer: func(string) string { return "ya29.forged" }, wantStatus: 401, wantAPI: "UNAUTHENTICATED"},
		{name: "expired bearer", advance: time.Hour, wantStatus: 401, wantAPI: "UNAUTHENTICATED"},
		{name: "not bound", email: "other@proj.iam.gserviceaccount.com", wantStatus: 403, wantAPI: "PERMISSION_DENIED"},
		{name: "no scope", body: `{"lifetime":"3600s"}`, wantStatus: 400, wantAPI: "INVALID_ARGUMENT"},
		{name: "bad lifetime", body: `{"scope":["x"],"lifetime":"1h"}`, wantStatus: 400, wantAPI: "INVALID_ARGUMENT"},
		{name: "lifetime over max", body: `{"scope":["x"],"lifetime":"3601s"}`, wantStatus: 400, wantAPI: "INVALID_ARGUMENT"},
		{name: "unknown field", body: `{"scope":["x"],"lifetimes":"1s"}`, wantStatus: 400, wantAPI: "INVALID_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv, now := testServer(t)
			fed := stsToken(t, srv)
			*now = now.Add(tc.advance)
			email, bearer, body := sa, fed, tc.body
			if tc.email != "" {
				email = tc.email
			}
			if tc.bearer != nil {
				bearer = tc.bearer(fed)
			}
			if body == "" {
				body = `{"scope":["https://www.googleapis.com/auth/devstorage.read_only"],"lifetime":"1200s"}`
			}
			target := srv.URL + "/v1/projects/-/serviceAccounts/" + email + ":generateAccessToken"
			status, m := post(t, srv.Client(), target, "application/json", bearer, body)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tc.wantStatus, m)
			}
			if tc.wantAPI != "" {
				e, _ := m["error"].(map[string]any)
				if e["status"] != tc.wantAPI || e["code"] != float64(tc.wantStatus) || e["message"] == "" {
					t.Errorf("error %v, want status %s", m, tc.wantAPI)
				}
			} else {
				exp, err := time.Parse(time.RFC3339, m["expireTime"].(string))
				if err != nil || m["accessToken"] == "" {
					t.Fatalf("response %v: %v", m, err)
				}
				lifetime := 20 * time.Minute
				if tc.body != "" {
					lifetime = time.Hour
				}
				if !exp.Equal(now.Add(lifetime)) {
					t.Errorf("expireTime %s, want %s", exp, now.Add(lifetime))
				}
			}
			if calls := fake.IAMCalls(); len(calls) != 1 || calls[0].ServiceAccount != email || calls[0].Status != tc.wantStatus {
				t.Errorf("recorded calls %+v", calls)
			}
		})
	}
}
