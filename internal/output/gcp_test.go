package output

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"
)

// gcpGolden compares got with testdata/NAME, rewriting it under -update.
func gcpGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

var gcpTestExpiry = time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)

func TestGCPExecutable(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		r      GCPExecutableResult
	}{
		{"default token type", "gcp_executable_success.golden", GCPExecutableResult{IDToken: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", Expiry: gcpTestExpiry}},
		{"jwt token type", "gcp_executable_success_jwt.golden", GCPExecutableResult{IDToken: "h.p.s", Expiry: gcpTestExpiry, TokenType: GCPTokenTypeJWT}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := GCPExecutable(&buf, tc.r); err != nil {
				t.Fatal(err)
			}
			gcpGolden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestGCPExecutableRejects(t *testing.T) {
	tests := []struct {
		name    string
		r       GCPExecutableResult
		wantErr string
	}{
		{"no token", GCPExecutableResult{Expiry: gcpTestExpiry}, "the id token is empty"},
		{"no expiry", GCPExecutableResult{IDToken: "h.p.s"}, "the id token has no expiry"},
		{"saml", GCPExecutableResult{IDToken: "h.p.s", Expiry: gcpTestExpiry, TokenType: "urn:ietf:params:oauth:token-type:saml2"}, "unsupported token type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := GCPExecutable(&buf, tc.r)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q on error", buf.String())
			}
		})
	}
}

func TestGCPExecutableError(t *testing.T) {
	var buf bytes.Buffer
	if err := GCPExecutableError(&buf, "401", "login required: run dagster-oidc login --profile prod"); err != nil {
		t.Fatal(err)
	}
	gcpGolden(t, "gcp_executable_error.golden", buf.Bytes())

	for _, args := range [][2]string{{"", "m"}, {"c", ""}} {
		if err := GCPExecutableError(&bytes.Buffer{}, args[0], args[1]); err == nil {
			t.Errorf("GCPExecutableError(%q, %q) succeeded, want an error", args[0], args[1])
		}
	}
}

func TestGCPAccessToken(t *testing.T) {
	tok := GCPToken{AccessToken: "ya29.a0Af-token", Expiry: gcpTestExpiry}
	withSA := GCPToken{AccessToken: "ya29.it's", Expiry: gcpTestExpiry, ServiceAccount: "pipelines@proj.iam.gserviceaccount.com"}
	tests := []struct {
		format, golden string
		t              GCPToken
	}{
		{GCPFormatRaw, "gcp_token_raw.golden", tok},
		{GCPFormatJSON, "gcp_token_json.golden", tok},
		{GCPFormatJSON, "gcp_token_json_service_account.golden", withSA},
		{GCPFormatEnv, "gcp_token_env.golden", tok},
		{GCPFormatEnv, "gcp_token_env_quoted.golden", withSA},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := GCPAccessToken(&buf, tc.format, tc.t); err != nil {
				t.Fatal(err)
			}
			gcpGolden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestGCPAccessTokenRejects(t *testing.T) {
	tests := []struct {
		name, format string
		t            GCPToken
		wantErr      string
	}{
		{"unknown format", "yaml", GCPToken{AccessToken: "x"}, `unknown gcp token format "yaml"`},
		{"empty token", GCPFormatRaw, GCPToken{}, "it is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := GCPAccessToken(&bytes.Buffer{}, tc.format, tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
