package sandbox

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
)

// TestIssue16_20_TokenFileRotates: KeepTokenFile writes a verifiable
// service-account token 0600 at once and a new one each time 80% of the
// lifetime has passed (the test fires that timer).
func TestIssue16_20_TokenFileRotates(t *testing.T) {
	s := startServer(t, Options{})
	path := filepath.Join(t.TempDir(), "sa", "token")
	waits := make(chan time.Duration, 4)
	fire := make(chan time.Time)
	f, err := s.keepTokenFile(t.Context(), TokenFileOptions{Path: path, Lifetime: 10 * time.Minute}, func(d time.Duration) <-chan time.Time {
		waits <- d
		return fire
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func() string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
			t.Errorf("token file mode = %v, want 0600", info.Mode().Perm())
		}
		return string(b)
	}
	first := read()
	_, p := oauthConfig(t, s, "http://127.0.0.1/callback")
	claims := verifyIDToken(t, p, s.ClientID(), first)
	if claims["sub"] != DefaultMintSubject {
		t.Errorf("sub = %v", claims["sub"])
	}
	if d := <-waits; d != 8*time.Minute {
		t.Errorf("rotation after %s, want 8m (80%% of 10m)", d)
	}
	fire <- time.Now()
	<-waits // the loop has rotated and waits again
	second := read()
	if second == first {
		t.Fatal("the token file was not rotated")
	}
	if cur, n := f.Current(); cur != second || n != 2 {
		t.Errorf("Current() = %d rotations, token matches file: %v", n, cur == second)
	}
	verifyIDToken(t, p, s.ClientID(), second)
}

// TestIssue16_20_GitHubTokenEndpoint: the Actions-style endpoint wants the
// request token and answers {"value": JWT} for the asked audience.
func TestIssue16_20_GitHubTokenEndpoint(t *testing.T) {
	s := startServer(t, Options{})
	ask := func(bearer, audience string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.GitHubRequestURL()+"&audience="+url.QueryEscape(audience), nil)
		if bearer != "" {
			req.Header.Set("Authorization", "bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Value string `json:"value"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v.Value
	}
	if status, _ := ask("wrong", DemoCIAudience); status != http.StatusUnauthorized {
		t.Errorf("wrong request token: HTTP %d, want 401", status)
	}
	status, tok := ask(s.GitHubRequestToken(), DemoCIAudience)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("HTTP %d, token %q", status, tok)
	}
	_, p := oauthConfig(t, s, "http://127.0.0.1/callback")
	claims := verifyIDToken(t, p, DemoCIAudience, tok)
	if claims["sub"] != "repo:sandbox/pipelines:environment:dev" || claims["repository"] != DemoGitHubRepository {
		t.Errorf("claims = %v", claims)
	}
	// The ci role trusts exactly these tokens.
	if status, body := callSTS(t, s, assumeForm(DemoCIRoleARN, "ci-run", tok)); status != http.StatusOK {
		t.Errorf("STS for the ci role: %d\n%s", status, body)
	}
}

// TestIssue16_20_GetCallerIdentity: credentials the STS emulator issued
// answer GetCallerIdentity (found by the SigV4 access key and the session
// token), others are refused, and expired ones say so.
func TestIssue16_20_GetCallerIdentity(t *testing.T) {
	var mu sync.Mutex
	now := stsNow
	o := stsOptions()
	o.Clock = clock.Func(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	s := startServer(t, o)
	status, body := callSTS(t, s, assumeForm(DemoPipelineRoleARN, "run-42", mint(t, s, nil, time.Hour)))
	if status != http.StatusOK {
		t.Fatalf("assume: %d\n%s", status, body)
	}
	var assumed assumeResponse
	if err := xml.Unmarshal([]byte(body), &assumed); err != nil {
		t.Fatal(err)
	}
	c := assumed.Result.Credentials
	call := func(keyID, sessionToken string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.STSEndpoint(), strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+keyID+"/20260102/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
		req.Header.Set("X-Amz-Security-Token", sessionToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	status, body = call(c.AccessKeyID, c.SessionToken)
	var who callerIdentityResponse
	if status != http.StatusOK || xml.Unmarshal([]byte(body), &who) != nil {
		t.Fatalf("GetCallerIdentity: %d\n%s", status, body)
	}
	if who.Result.Arn != assumed.Result.AssumedRoleUser.Arn || who.Result.Account != "000000000000" || who.Result.UserID != assumed.Result.AssumedRoleUser.AssumedRoleID {
		t.Errorf("identity = %+v, assumed %+v", who.Result, assumed.Result.AssumedRoleUser)
	}
	for name, tc := range map[string][2]string{
		"unknown key":   {"ASIAUNKNOWNUNKNOWN00", c.SessionToken},
		"wrong session": {c.AccessKeyID, "nope"},
	} {
		if status, body := call(tc[0], tc[1]); status != http.StatusForbidden || !strings.Contains(body, "InvalidClientTokenId") {
			t.Errorf("%s: %d\n%s", name, status, body)
		}
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if status, body := call(c.AccessKeyID, c.SessionToken); status != http.StatusBadRequest || !strings.Contains(body, "<Code>ExpiredToken</Code>") {
		t.Errorf("expired: %d\n%s", status, body)
	}
}

// TestIssue16_20_GCPEmulator: an ID token of the sandbox is exchanged at
// the emulated Google STS and the federated token impersonates the demo
// service account.
func TestIssue16_20_GCPEmulator(t *testing.T) {
	s := startServer(t, Options{})
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:id_token"},
		"audience":             {DemoGCPAudience},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
		"subject_token":        {mint(t, s, nil, 0)},
	}
	resp, err := postForm(t.Context(), http.DefaultClient, s.GCPTokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	var fed struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&fed)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || fed.AccessToken == "" {
		t.Fatalf("STS exchange: HTTP %d", resp.StatusCode)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.GCPImpersonationURL()+"/projects/-/serviceAccounts/"+DemoGCPServiceAccount+":generateAccessToken",
		strings.NewReader(`{"scope":["https://www.googleapis.com/auth/cloud-platform"],"lifetime":"3600s"}`))
	req.Header.Set("Authorization", "Bearer "+fed.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("generateAccessToken: HTTP %d", resp.StatusCode)
	}
	// A token for another audience is refused.
	form.Set("subject_token", mint(t, s, map[string]any{"aud": "someone-else"}, 0))
	resp, err = postForm(t.Context(), http.DefaultClient, s.GCPTokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("foreign audience: HTTP %d, want 400", resp.StatusCode)
	}
}

// TestIssue16_20_ConfigValidates: every profile serve prints, the optional
// sandbox-k8s one included, passes dagster-oidc's own validation.
func TestIssue16_20_ConfigValidates(t *testing.T) {
	s := startServer(t, Options{})
	var b bytes.Buffer
	if err := s.WriteConfig(&b, ConfigOptions{TokenFile: "/run/sandbox/token"}); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse("sandbox.yaml", b.Bytes())
	if err != nil {
		t.Fatalf("config.Parse:\n%s\n%v", b.String(), err)
	}
	if got := strings.Join(f.ProfileNames(), ","); got != "sandbox,sandbox-github,sandbox-k8s" {
		t.Errorf("profiles = %s", got)
	}
}
