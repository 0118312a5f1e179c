package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox/gcpfake"
)

const (
	gcpTestAudience  = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dagster/providers/oidc"
	gcpTestSA        = "pipelines@proj.iam.gserviceaccount.com"
	gcpAnalystSA     = "analysts@proj.iam.gserviceaccount.com"
	gcpCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
)

// gcpEnv is the in-process test env plus a gcpfake that verifies the
// sandbox's ID tokens with go-oidc.
type gcpEnv struct {
	*testEnv
	fake *gcpfake.Server
	url  string
}

// gcpFakeOptions are the knobs of newGCPEnv's fake.
type gcpFakeOptions struct {
	audience string          // default gcpTestAudience
	clientID string          // the verifier's audience; default the sandbox's
	sas      map[string]bool // default gcpTestSA and gcpAnalystSA bound
}

// newGCPEnv starts the sandbox and a gcpfake, and writes a profile whose gcp
// section is gcpYAML (indented six spaces, "URL" replaced by the fake's root).
func newGCPEnv(t *testing.T, gcpYAML string, fo gcpFakeOptions) *gcpEnv {
	t.Helper()
	e := newTestEnv(t, sandbox.Options{})
	if fo.audience == "" {
		fo.audience = gcpTestAudience
	}
	if fo.clientID == "" {
		fo.clientID = e.sb.ClientID()
	}
	if fo.sas == nil {
		fo.sas = map[string]bool{gcpTestSA: true, gcpAnalystSA: true}
	}
	provider, err := oidc.NewProvider(t.Context(), e.sb.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	v := provider.Verifier(&oidc.Config{ClientID: fo.clientID})
	fake := gcpfake.New(gcpfake.Options{
		Verify: func(ctx context.Context, raw string) (string, error) {
			tok, err := v.Verify(ctx, raw)
			if err != nil {
				return "", err
			}
			return tok.Subject, nil
		},
		Audience:        fo.audience,
		ServiceAccounts: fo.sas,
	})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	g := &gcpEnv{testEnv: e, fake: fake, url: srv.URL}
	g.writeGCPConfig(gcpYAML)
	return g
}

func (g *gcpEnv) writeGCPConfig(gcpYAML string) {
	g.t.Helper()
	g.writeConfig(fmt.Sprintf(`default_profile: sandbox
profiles:
  sandbox:
    environment: dev
    issuer: %s
    client_id: %s
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
    gcp:
%s`, g.sb.Issuer(), g.sb.ClientID(), strings.ReplaceAll(gcpYAML, "URL", g.url)))
}

// gcpEndpoints is the gcp YAML pointing at the fake.
const gcpEndpoints = `      audience: ` + gcpTestAudience + `
      token_url: URL/v1/token
      impersonation_url: URL/v1
`

func TestGCPTokenAndEnv(t *testing.T) {
	tests := []struct {
		name    string
		gcpYAML string
		args    []string
		wantSA  string
		want    func(tok string, exp time.Time) string // expected stdout
		wantIAM []gcpfake.IAMCall
	}{
		{
			name: "federated raw", gcpYAML: gcpEndpoints, args: []string{"gcp", "token"},
			want: func(tok string, _ time.Time) string { return tok + "\n" },
		},
		{
			name: "federated env", gcpYAML: gcpEndpoints, args: []string{"gcp", "env"},
			want: func(tok string, _ time.Time) string {
				return "export CLOUDSDK_AUTH_ACCESS_TOKEN='" + tok + "'\nexport GOOGLE_OAUTH_ACCESS_TOKEN='" + tok + "'\n"
			},
		},
		{
			name: "impersonated json", gcpYAML: gcpEndpoints + "      service_account: " + gcpTestSA + "\n      lifetime: 30m\n",
			args: []string{"gcp", "token", "--format", "json"}, wantSA: gcpTestSA,
			want: func(tok string, exp time.Time) string {
				return `{"access_token":"` + tok + `","token_type":"Bearer","expiry":"` + exp.UTC().Format(time.RFC3339) + `","service_account":"` + gcpTestSA + `"}` + "\n"
			},
			wantIAM: []gcpfake.IAMCall{{ServiceAccount: gcpTestSA, Scope: []string{gcpCloudPlatform}, Lifetime: "1800s", Subject: "alice", Status: 200}},
		},
		{
			name:    "impersonated env with custom scopes",
			gcpYAML: gcpEndpoints + "      service_account: " + gcpTestSA + "\n      scopes: [https://www.googleapis.com/auth/devstorage.read_only]\n",
			args:    []string{"gcp", "env"}, wantSA: gcpTestSA,
			want: func(tok string, _ time.Time) string {
				return "export CLOUDSDK_AUTH_ACCESS_TOKEN='" + tok + "'\nexport GOOGLE_OAUTH_ACCESS_TOKEN='" + tok + "'\n"
			},
			wantIAM: []gcpfake.IAMCall{{ServiceAccount: gcpTestSA, Scope: []string{"https://www.googleapis.com/auth/devstorage.read_only"}, Lifetime: "3600s", Subject: "alice", Status: 200}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGCPEnv(t, tc.gcpYAML, gcpFakeOptions{})
			g.login("alice")
			idToken, _, _ := g.run("token")
			idToken = strings.TrimSpace(idToken)
			g.reqs.Store(0)
			start := time.Now()
			out, stderr, code := g.run(tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			issued := g.fake.IssuedTokens()
			last := issued[len(issued)-1]
			wantExp := time.Time{}
			if tc.want != nil && strings.Contains(strings.Join(tc.args, " "), "json") {
				var doc struct{ Expiry time.Time }
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatal(err)
				}
				if d := doc.Expiry.Sub(start); d < 29*time.Minute || d > 31*time.Minute {
					t.Errorf("expiry %s is not 30m away", doc.Expiry)
				}
				wantExp = doc.Expiry
			}
			if diff := cmp.Diff(tc.want(last, wantExp), out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			sts := g.fake.STSCalls()
			if len(sts) != 1 {
				t.Fatalf("sts calls %+v", sts)
			}
			wantForm := map[string][]string{
				"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
				"audience":             {gcpTestAudience},
				"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
				"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
				"subject_token":        {idToken},
				"scope":                {gcpCloudPlatform},
			}
			if diff := cmp.Diff(gcpfake.STSCall{Form: wantForm, Status: 200}, sts[0]); diff != "" {
				t.Errorf("sts call (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIAM, g.fake.IAMCalls()); diff != "" {
				t.Errorf("iam calls (-want +got):\n%s", diff)
			}
			wantReqs := int64(1 + len(tc.wantIAM))
			if n := g.reqs.Load(); n != wantReqs {
				t.Errorf("%d HTTP requests, want %d", n, wantReqs)
			}

			// The second call is served from the cache: no HTTP at all.
			g.reqs.Store(0)
			again, stderr, code := g.run(tc.args...)
			if code != 0 || again != out {
				t.Errorf("second call exit %d, stdout %q, want %q; stderr %q", code, again, out, stderr)
			}
			if n := g.reqs.Load(); n != 0 {
				t.Errorf("cached call made %d HTTP requests", n)
			}
			if n := len(g.fake.STSCalls()); n != 1 {
				t.Errorf("%d sts calls after the cached call", n)
			}
		})
	}
}

func TestGCPServiceAccountPolicy(t *testing.T) {
	rules := gcpEndpoints + `      service_accounts:
        - service_account: ` + gcpTestSA + `
          when: "'data-eng' in claims.groups"
        - service_account: ` + gcpAnalystSA + `
          when: "'analysts' in claims.groups"
`
	tests := []struct {
		name     string
		gcpYAML  string
		user     string
		args     []string
		wantCode int
		wantSA   string
		wantErr  []string
	}{
		{name: "policy picks the data-eng account", gcpYAML: rules, user: "alice", args: []string{"gcp", "token", "--format", "json"}, wantSA: gcpTestSA},
		{name: "policy picks the analysts account", gcpYAML: rules, user: "bob", args: []string{"gcp", "token", "--format", "json"}, wantSA: gcpAnalystSA},
		{name: "pin an allowed account", gcpYAML: rules, user: "alice", args: []string{"gcp", "token", "--format", "json", "--service-account", gcpTestSA}, wantSA: gcpTestSA},
		{
			name: "pin a disallowed account", gcpYAML: rules, user: "alice", args: []string{"gcp", "token", "--service-account", gcpAnalystSA}, wantCode: 4,
			wantErr: []string{`error: "` + gcpAnalystSA + `" is not among the allowed targets (` + gcpTestSA + `)`, "run: dagster-oidc explain"},
		},
		{
			name: "no rule matches", gcpYAML: rules, user: "mallory", args: []string{"gcp", "env"}, wantCode: 4,
			wantErr: []string{"error: no rule grants a target: rule 1 (" + gcpTestSA + "): condition false", "run: dagster-oidc explain"},
		},
		{
			name: "no rules configured, account asked for", gcpYAML: gcpEndpoints, user: "alice", args: []string{"gcp", "token", "--service-account", gcpTestSA}, wantCode: 4,
			wantErr: []string{"error: no rule grants a target: no rules are configured"},
		},
		{
			name: "deny rule", gcpYAML: gcpEndpoints + `      service_accounts:
        - deny: true
          when: "claims.email endsWith '@example.com'"
        - service_account: ` + gcpTestSA + `
`, user: "alice", args: []string{"gcp", "token"}, wantCode: 4,
			wantErr: []string{"error: rule 1 denies access (matched)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGCPEnv(t, tc.gcpYAML, gcpFakeOptions{})
			g.login(tc.user)
			out, stderr, code := g.run(tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, stderr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tc.wantCode != 0 {
				if out != "" || len(g.fake.STSCalls()) != 0 {
					t.Errorf("a refusal printed %q and made %d sts calls", out, len(g.fake.STSCalls()))
				}
				return
			}
			var doc struct {
				ServiceAccount string `json:"service_account"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("stdout %q: %v", out, err)
			}
			iam := g.fake.IAMCalls()
			if doc.ServiceAccount != tc.wantSA || len(iam) != 1 || iam[0].ServiceAccount != tc.wantSA || iam[0].Subject != tc.user {
				t.Errorf("service account %q, iam calls %+v; want %s", doc.ServiceAccount, iam, tc.wantSA)
			}
		})
	}
}

func TestGCPExchangeErrors(t *testing.T) {
	tests := []struct {
		name     string
		gcpYAML  string
		fake     gcpFakeOptions
		wantCode int
		wantErr  string
		wantHint string
	}{
		{
			name: "unknown provider", gcpYAML: gcpEndpoints, fake: gcpFakeOptions{audience: gcpTestAudience + "-other"}, wantCode: 1,
			wantErr:  "error: google sts refused the token exchange: 400 invalid_target: ",
			wantHint: "no enabled workload identity provider has this audience",
		},
		{
			name: "client id not allowed", gcpYAML: gcpEndpoints, fake: gcpFakeOptions{clientID: "someone-else"}, wantCode: 4,
			wantErr:  "error: google sts refused the token exchange: 400 invalid_grant: ",
			wantHint: "the ID token's aud claim is not an allowed audience of the workload identity provider",
		},
		{
			name: "service account not bound", gcpYAML: gcpEndpoints + "      service_account: " + gcpTestSA + "\n",
			fake: gcpFakeOptions{sas: map[string]bool{}}, wantCode: 4,
			wantErr:  "error: google iam credentials refused to issue a token for " + gcpTestSA + ": 403 PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied",
			wantHint: "the federated identity lacks iam.serviceAccounts.getAccessToken on " + gcpTestSA + ": grant roles/iam.workloadIdentityUser",
		},
		{
			name: "lifetime over the limit", gcpYAML: gcpEndpoints + "      service_account: " + gcpTestSA + "\n      lifetime: 2h\n", wantCode: 1,
			wantErr:  "error: google iam credentials refused to issue a token for " + gcpTestSA + ": 400 INVALID_ARGUMENT: The lifetime requested exceeds",
			wantHint: "the requested token lifetime is too long",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGCPEnv(t, tc.gcpYAML, tc.fake)
			g.login("alice")
			idToken, _, _ := g.run("token")
			out, stderr, code := g.run("gcp", "token")
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], tc.wantErr) || !strings.HasPrefix(lines[1], tc.wantHint) {
				t.Errorf("stderr is not the error and its hint:\n%s\nwant %q / %q", stderr, tc.wantErr, tc.wantHint)
			}
			if out != "" || strings.Contains(stderr, strings.TrimSpace(idToken)) {
				t.Errorf("stdout %q; stderr leaks the ID token: %v", out, strings.Contains(stderr, strings.TrimSpace(idToken)))
			}
			for _, tok := range g.fake.IssuedTokens() {
				if strings.Contains(stderr, tok) {
					t.Error("stderr leaks an access token")
				}
			}
		})
	}
}

func TestGCPNoSection(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	for _, args := range [][]string{{"gcp", "token"}, {"gcp", "env"}, {"gcp", "config"}} {
		_, stderr, code := e.run(args...)
		if code != 2 || !strings.Contains(stderr, `error: profile "sandbox" has no gcp section`) {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	_, stderr, code := e.run("gcp", "token", "--format", "yaml")
	if code != 2 || !strings.Contains(stderr, `unknown --format "yaml"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// gcpExecutableDoc is the executable response, strictly decoded.
type gcpExecutableDoc struct {
	Version        int    `json:"version"`
	Success        bool   `json:"success"`
	TokenType      string `json:"token_type,omitempty"`
	IDToken        string `json:"id_token,omitempty"`
	ExpirationTime int64  `json:"expiration_time,omitempty"`
	Code           string `json:"code,omitempty"`
	Message        string `json:"message,omitempty"`
}

func gcpDecodeExecutable(t *testing.T, out string) gcpExecutableDoc {
	t.Helper()
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout is not one JSON line: %q", out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var d gcpExecutableDoc
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	return d
}

func TestGCPExecutable(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantType string
		wantCode int
		wantMsg  string
	}{
		{name: "no google variables", wantType: output.GCPTokenTypeIDToken},
		{name: "as google runs it", wantType: output.GCPTokenTypeJWT, env: map[string]string{
			credentials.GCPEnvAudience: gcpTestAudience, credentials.GCPEnvTokenType: output.GCPTokenTypeJWT, credentials.GCPEnvInteractive: "0"}},
		{name: "id_token type asked for", wantType: output.GCPTokenTypeIDToken, env: map[string]string{credentials.GCPEnvTokenType: output.GCPTokenTypeIDToken}},
		{name: "audience of another provider", wantCode: 2, env: map[string]string{credentials.GCPEnvAudience: gcpTestAudience + "2"},
			wantMsg: `the credential configuration's audience "` + gcpTestAudience + `2" is not profile "sandbox"'s gcp.audience "` + gcpTestAudience + `"; write the file again: dagster-oidc gcp config --profile sandbox`},
		{name: "saml asked for", wantCode: 2, env: map[string]string{credentials.GCPEnvTokenType: "urn:ietf:params:oauth:token-type:saml2"},
			wantMsg: `unsupported subject token type "urn:ietf:params:oauth:token-type:saml2": dagster-oidc provides OIDC ID tokens; set subject_token_type to urn:ietf:params:oauth:token-type:jwt in the credential configuration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGCPEnv(t, gcpEndpoints, gcpFakeOptions{})
			g.login("alice")
			tokJSON, _, _ := g.run("token", "--format", "json")
			var tok output.TokenJSON
			if err := json.Unmarshal([]byte(tokJSON), &tok); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.env {
				g.env[k] = v
			}
			g.reqs.Store(0)
			out, stderr, code := g.run("gcp", "executable")
			d := gcpDecodeExecutable(t, out)
			if g.reqs.Load() != 0 {
				t.Errorf("%d HTTP requests with a cached login", g.reqs.Load())
			}
			if tc.wantCode != 0 {
				want := gcpExecutableDoc{Version: 1, Success: false, Code: "400", Message: tc.wantMsg}
				if code != tc.wantCode || d != want {
					t.Errorf("exit %d, doc %+v; want %d, %+v", code, d, tc.wantCode, want)
				}
				return
			}
			want := gcpExecutableDoc{Version: 1, Success: true, TokenType: tc.wantType, IDToken: tok.IDToken,
				ExpirationTime: tok.Expiry.Add(-time.Minute).Unix()}
			if code != 0 || stderr != "" || d != want {
				t.Errorf("exit %d, stderr %q, doc %+v; want %+v", code, stderr, d, want)
			}
		})
	}
}

func TestGCPExecutableLoginRequired(t *testing.T) {
	tests := []struct {
		name  string
		setup func(g *gcpEnv)
	}{
		{name: "never logged in", setup: func(*gcpEnv) {}},
		{name: "login expired", setup: func(g *gcpEnv) {
			g.login("alice")
			// The refresh token is gone and the ID token has expired.
			g.keyring.mu.Lock()
			clear(g.keyring.items)
			g.keyring.mu.Unlock()
			g.clock = clock.Fake(time.Now().Add(time.Hour))
		}},
		{name: "interactive asked for without a terminal", setup: func(g *gcpEnv) {
			g.env[credentials.GCPEnvInteractive] = "1"
			g.tty = false
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGCPEnv(t, gcpEndpoints, gcpFakeOptions{})
			tc.setup(g)
			g.reqs.Store(0)
			// A terminal is attached (unless the case says otherwise), yet
			// the executable must not prompt: Google's library hides it.
			out, stderr, code := g.run("gcp", "executable")
			d := gcpDecodeExecutable(t, out)
			if code != 3 || d.Success || d.Version != 1 || d.Code != "401" ||
				!strings.HasSuffix(d.Message, "; run: dagster-oidc login --profile sandbox") {
				t.Errorf("exit %d, doc %+v", code, d)
			}
			if strings.Contains(stderr, "To log in") || g.reqs.Load() != 0 || len(g.browsers) != 0 {
				t.Errorf("the executable started a login: %d requests, stderr %q", g.reqs.Load(), stderr)
			}
		})
	}
}

func TestGCPExecutableOutputFile(t *testing.T) {
	g := newGCPEnv(t, gcpEndpoints, gcpFakeOptions{})
	g.login("alice")
	path := filepath.Join(g.dir, "run", "gcp-subject.json")
	g.env[credentials.GCPEnvOutputFile] = path

	first, stderr, code := g.run("gcp", "executable")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := readFile(t, path); got != first {
		t.Errorf("output file %q, want the printed response %q", got, first)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("output file mode: %v %v", fi, err)
	}

	// Reused while valid, even after logout: no session, no HTTP.
	if _, stderr, code := g.run("logout"); code != 0 {
		t.Fatalf("logout exit %d: %s", code, stderr)
	}
	g.reqs.Store(0)
	again, stderr, code := g.run("gcp", "executable")
	if code != 0 || again != first || g.reqs.Load() != 0 {
		t.Errorf("reuse: exit %d, %d requests, stdout %q want %q; stderr %q", code, g.reqs.Load(), again, first, stderr)
	}

	// Expired entries, failures and garbage are replaced by a fresh token.
	for name, content := range map[string]string{
		"expired": strings.Replace(first, fmt.Sprint(gcpDecodeExecutable(t, first).ExpirationTime), fmt.Sprint(time.Now().Add(10*time.Second).Unix()), 1),
		"failure": `{"version":1,"success":false,"code":"401","message":"login required"}`,
		"garbage": `not json`,
	} {
		t.Run(name, func(t *testing.T) {
			g.login("bob")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := g.run("gcp", "executable")
			d := gcpDecodeExecutable(t, out)
			if code != 0 || !d.Success || d.IDToken == gcpDecodeExecutable(t, first).IDToken {
				t.Fatalf("exit %d, doc %+v; stderr %q", code, d, stderr)
			}
			if got := readFile(t, path); got != out {
				t.Errorf("output file not rewritten: %q", got)
			}
			if (name == "garbage") != strings.Contains(stderr, "warning: could not parse the gcp output file") {
				t.Errorf("stderr %q", stderr)
			}
		})
	}
}

func TestGCPExecutablePolicyGate(t *testing.T) {
	g := newGCPEnv(t, gcpEndpoints+`      service_accounts:
        - service_account: `+gcpAnalystSA+`
          when: "'analysts' in claims.groups"
`, gcpFakeOptions{})
	g.login("alice")
	g.env[credentials.GCPEnvImpersonated] = gcpAnalystSA
	out, _, code := g.run("gcp", "executable")
	d := gcpDecodeExecutable(t, out)
	if code != 4 || d.Success || d.Code != "403" || !strings.HasPrefix(d.Message, "no rule grants a target: rule 1 ("+gcpAnalystSA+"): condition false") {
		t.Errorf("exit %d, doc %+v", code, d)
	}
	g.login("bob")
	out, _, code = g.run("gcp", "executable")
	if d := gcpDecodeExecutable(t, out); code != 0 || !d.Success {
		t.Errorf("bob: exit %d, doc %+v", code, d)
	}
}

func TestGCPConfigGolden(t *testing.T) {
	tests := []struct {
		name    string
		gcpYAML string
		args    []string
		login   string
		golden  string
	}{
		{
			name: "federated to stdout", gcpYAML: "      audience: " + gcpTestAudience + "\n",
			args: []string{"gcp", "config"}, golden: "federated.json",
		},
		{
			name:    "profile service account with lifetime and output file",
			gcpYAML: "      audience: " + gcpTestAudience + "\n      service_account: " + gcpTestSA + "\n      lifetime: 2h\n",
			args:    []string{"gcp", "config", "--output-file", "DIR/run/gcp-subject.json", "--timeout", "10s"}, golden: "impersonation.json",
		},
		{
			name: "local endpoints, pinned account, explicit config",
			gcpYAML: "      audience: " + gcpTestAudience + "\n      token_url: http://127.0.0.1:8080/v1/token\n      impersonation_url: http://127.0.0.1:8080/v1\n" +
				"      subject_token_type: urn:ietf:params:oauth:token-type:id_token\n      service_account: " + gcpTestSA + "\n",
			args: []string{"gcp", "config", "--config", "DIR/config.yaml", "--profile", "sandbox", "--service-account", gcpAnalystSA}, golden: "local_endpoints.json",
		},
		{
			name: "policy chooses the account",
			gcpYAML: "      audience: " + gcpTestAudience + "\n      service_accounts:\n        - service_account: " + gcpAnalystSA +
				"\n          when: \"'analysts' in claims.groups\"\n        - service_account: " + gcpTestSA + "\n",
			args: []string{"gcp", "config"}, login: "alice", golden: "policy.json",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGCPEnv(t, tc.gcpYAML, gcpFakeOptions{})
			if tc.login != "" {
				g.login(tc.login)
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "DIR", g.dir)
			}
			g.reqs.Store(0)
			out, stderr, code := g.run(args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if g.reqs.Load() != 0 {
				t.Errorf("gcp config made %d HTTP requests", g.reqs.Load())
			}
			gcpGolden(t, filepath.Join("testdata", "gcp", tc.golden), []byte(strings.ReplaceAll(out, g.dir, "/DIR")))
		})
	}
}

func TestGCPConfigWritesFile(t *testing.T) {
	g := newGCPEnv(t, "      audience: "+gcpTestAudience+"\n", gcpFakeOptions{})
	path := filepath.Join(g.dir, "gcloud", "dagster-oidc.json")
	out, stderr, code := g.run("gcp", "config", "--output", path)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if !strings.Contains(stderr, "export GOOGLE_APPLICATION_CREDENTIALS="+path+" GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1") {
		t.Errorf("stderr %q", stderr)
	}
	want, _, _ := g.run("gcp", "config")
	if got := readFile(t, path); got != want {
		t.Errorf("file %q, want %q", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v %v", fi, err)
	}
}

func TestGCPConfigRefusesSpaces(t *testing.T) {
	g := newGCPEnv(t, "      audience: "+gcpTestAudience+"\n", gcpFakeOptions{})
	spaced := filepath.Join(g.dir, "my configs", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(spaced), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spaced, []byte(readFile(t, g.config)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		exe      string
		args     []string
		wantErr  string
		wantHint string
	}{
		{
			name: "binary path", exe: "/opt/my tools/dagster-oidc", args: []string{"gcp", "config"},
			wantErr:  `error: invalid gcp credential configuration: the executable path "/opt/my tools/dagster-oidc" contains whitespace, which Google's client libraries split on (no quoting)`,
			wantHint: `link it to a path without spaces, e.g. ln -s "/opt/my tools/dagster-oidc" /usr/local/bin/dagster-oidc, and use that path`,
		},
		{
			name: "config path", exe: "/usr/local/bin/dagster-oidc", args: []string{"gcp", "config", "--config", spaced},
			wantErr:  `error: invalid gcp credential configuration: argument "` + spaced + `" of the executable command contains whitespace, which Google's client libraries split on (no quoting)`,
			wantHint: "use values without spaces: rename the profile, or move the file to a path without spaces (a symlink works)",
		},
		{
			name: "relative binary path", exe: "bin/dagster-oidc", args: []string{"gcp", "config"},
			wantErr:  `error: invalid gcp credential configuration: the executable "bin/dagster-oidc" is not an absolute path`,
			wantHint: "Google's client libraries require an absolute path",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &cmdutil.Factory{
				IO:         &iostreams.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
				Env:        func(k string) (string, bool) { v, ok := g.env[k]; return v, ok },
				Clock:      clock.Real{},
				HTTPClient: func() *http.Client { return &http.Client{Transport: countingTransport{n: &g.reqs}} },
				Keyring:    g.keyring,
				Executable: func() (string, error) { return tc.exe, nil },
				Stat:       os.Stat,
			}
			code := Main(context.Background(), f, tc.args)
			lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			if code != 2 || out.Len() != 0 || len(lines) != 2 || lines[0] != tc.wantErr || !strings.HasPrefix(lines[1], tc.wantHint) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s\n%s", code, out.String(), errOut.String(), tc.wantErr, tc.wantHint)
			}
		})
	}
}

// gcpGolden compares got with the file at path, rewriting it under -update.
func gcpGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got)
}
