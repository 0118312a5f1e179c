package gcpconfig_test

// These tests load the JSON that Build writes with Google's real client
// library, golang.org/x/oauth2/google (a test-only dependency), and let it run
// an executable against gcpfake's STS and IAM Credentials endpoints. The
// executable is this test binary re-executed with helperArg as its first
// argument; it prints output.GCPExecutable just as `dagster-oidc gcp
// executable` does, and logs each run.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2/google"

	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/gcpconfig"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox/gcpfake"
)

// helperArg makes the test binary act as the credential executable.
const helperArg = "gcp-test-executable"

// allowExecutables is the consumer-side gate of executable-sourced credentials.
const allowExecutables = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"

func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == helperArg {
		os.Exit(runHelperExecutable(os.Args[2], os.Args[3]))
	}
	os.Exit(m.Run())
}

// helperRun is what the helper executable logs about one run.
type helperRun struct {
	Audience    string `json:"audience"`
	TokenType   string `json:"token_type"`
	Interactive string `json:"interactive"`
	OutputFile  string `json:"output_file"`
	Email       string `json:"email"`
	HasEmail    bool   `json:"has_email"`
}

// runHelperExecutable reads "EXP_UNIX ID_TOKEN" (or "FAIL") from tokenFile,
// appends a helperRun to logFile and prints the executable response.
func runHelperExecutable(tokenFile, logFile string) int {
	email, hasEmail := os.LookupEnv("GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL")
	run := helperRun{
		Audience:    os.Getenv("GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE"),
		TokenType:   os.Getenv("GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE"),
		Interactive: os.Getenv("GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE"),
		OutputFile:  os.Getenv("GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE"),
		Email:       email,
		HasEmail:    hasEmail,
	}
	line, _ := json.Marshal(run)
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, _ = f.Write(append(line, '\n'))
	f.Close()

	data, err := os.ReadFile(tokenFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		_ = output.GCPExecutableError(os.Stdout, "401", "login required: run dagster-oidc login")
		return 1
	}
	exp, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r := output.GCPExecutableResult{IDToken: fields[1], Expiry: time.Unix(exp, 0)}
	if run.OutputFile != "" {
		if err := output.WriteGCPOutputFile(run.OutputFile, r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	if err := output.GCPExecutable(os.Stdout, r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// libFixture wires gcpfake, a test issuer and the helper executable.
type libFixture struct {
	fake      *gcpfake.Server
	srv       *httptest.Server
	issuer    *gcpfake.TestIssuer
	tokenFile string
	logFile   string
	idToken   string
}

func newLibFixture(t *testing.T) *libFixture {
	t.Helper()
	iss, err := gcpfake.NewTestIssuer("https://id.example.com", "dagster-cli", nil)
	if err != nil {
		t.Fatal(err)
	}
	fake := gcpfake.New(gcpfake.Options{Verify: iss.Verify, Audience: testAudience, ServiceAccounts: map[string]bool{testSA: true}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	f := &libFixture{fake: fake, srv: srv, issuer: iss,
		tokenFile: filepath.Join(dir, "token"), logFile: filepath.Join(dir, "runs.jsonl")}
	f.setToken(t, time.Now().Add(time.Hour))
	return f
}

// setToken makes the helper print a fresh ID token expiring at exp.
func (f *libFixture) setToken(t *testing.T, exp time.Time) {
	t.Helper()
	raw, err := f.issuer.Sign("system:serviceaccount:dagster:run-worker", time.Now(), exp)
	if err != nil {
		t.Fatal(err)
	}
	f.idToken = raw
	if err := os.WriteFile(f.tokenFile, []byte(strconv.FormatInt(exp.Unix(), 10)+" "+raw), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *libFixture) options(t *testing.T) gcpconfig.Options {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return gcpconfig.Options{
		Audience:      testAudience,
		TokenURL:      f.srv.URL + gcpfake.TokenPath,
		Command:       []string{exe, helperArg, f.tokenFile, f.logFile},
		TimeoutMillis: 20000,
	}
}

// runs returns the helper's log.
func (f *libFixture) runs(t *testing.T) []helperRun {
	t.Helper()
	file, err := os.Open(f.logFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var runs []helperRun
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var r helperRun
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	return runs
}

// libraryToken loads the JSON as a new process would and gets a token.
func libraryToken(t *testing.T, cfg []byte, scopes ...string) (string, time.Time, error) {
	t.Helper()
	ctx := context.Background()
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, cfg, google.ExternalAccount, google.CredentialsParams{Scopes: scopes})
	if err != nil {
		t.Fatalf("the library refused the generated JSON: %v", err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return "", time.Time{}, err
	}
	return tok.AccessToken, tok.Expiry, nil
}

func buildConfig(t *testing.T, o gcpconfig.Options) []byte {
	t.Helper()
	cfg, err := gcpconfig.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "external_account.json")
	if err := gcpconfig.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLibraryImpersonation(t *testing.T) {
	t.Setenv(allowExecutables, "1")
	f := newLibFixture(t)
	o := f.options(t)
	o.ImpersonationURL = gcpsts.ImpersonationURL(f.srv.URL+gcpfake.IAMBasePath, testSA)
	o.TokenLifetime = 30 * time.Minute
	cfg := buildConfig(t, o)

	const scope = "https://www.googleapis.com/auth/devstorage.read_only"
	for i := 1; i <= 2; i++ {
		start := time.Now()
		tok, exp, err := libraryToken(t, cfg, scope)
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		issued := f.fake.IssuedTokens()
		if want := issued[len(issued)-1]; tok != want || !strings.HasPrefix(tok, "ya29.sa.") {
			t.Errorf("load %d: token %q, want the impersonated token %q", i, tok, want)
		}
		if exp.Before(start.Add(29*time.Minute)) || exp.After(time.Now().Add(31*time.Minute)) {
			t.Errorf("load %d: expiry %s, want about 30 minutes from now", i, exp)
		}
	}
	// Without output_file each new process runs the executable.
	wantRun := helperRun{Audience: testAudience, TokenType: gcpsts.TokenTypeJWT, Interactive: "0"}
	if diff := cmp.Diff([]helperRun{wantRun, wantRun}, f.runs(t)); diff != "" {
		t.Errorf("executable runs (-want +got):\n%s", diff)
	}
	sts := f.fake.STSCalls()
	if len(sts) != 2 {
		t.Fatalf("%d sts calls, want 2", len(sts))
	}
	wantForm := map[string][]string{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"audience":             {testAudience},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token_type":   {gcpsts.TokenTypeJWT},
		"subject_token":        {f.idToken},
		"scope":                {gcpsts.ScopeCloudPlatform},
	}
	if diff := cmp.Diff(wantForm, sts[1].Form); diff != "" {
		t.Errorf("sts form (-want +got):\n%s", diff)
	}
	wantIAM := gcpfake.IAMCall{ServiceAccount: testSA, Scope: []string{scope}, Lifetime: "1800s",
		Subject: "system:serviceaccount:dagster:run-worker", Status: http.StatusOK}
	if diff := cmp.Diff([]gcpfake.IAMCall{wantIAM, wantIAM}, f.fake.IAMCalls()); diff != "" {
		t.Errorf("iam calls (-want +got):\n%s", diff)
	}
}

func TestLibraryOutputFileReuse(t *testing.T) {
	t.Setenv(allowExecutables, "1")
	f := newLibFixture(t)
	o := f.options(t)
	o.OutputFile = filepath.Join(t.TempDir(), "cache", "gcp-subject.json")
	cfg := buildConfig(t, o)

	for i := 1; i <= 2; i++ {
		tok, _, err := libraryToken(t, cfg, gcpsts.ScopeCloudPlatform)
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		if !strings.HasPrefix(tok, "ya29.fed.") {
			t.Errorf("load %d: token %q, want a federated token", i, tok)
		}
	}
	wantRun := helperRun{Audience: testAudience, TokenType: gcpsts.TokenTypeJWT, Interactive: "0", OutputFile: o.OutputFile}
	if diff := cmp.Diff([]helperRun{wantRun}, f.runs(t)); diff != "" {
		t.Errorf("after two loads, executable runs (-want +got):\n%s", diff)
	}
	if n := len(f.fake.STSCalls()); n != 2 {
		t.Errorf("%d sts calls, want 2", n)
	}

	// An expired cache entry is ignored: the executable runs again.
	if err := output.WriteGCPOutputFile(o.OutputFile, output.GCPExecutableResult{IDToken: f.idToken, Expiry: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	f.setToken(t, time.Now().Add(time.Hour))
	if _, _, err := libraryToken(t, cfg, gcpsts.ScopeCloudPlatform); err != nil {
		t.Fatal(err)
	}
	if n := len(f.runs(t)); n != 2 {
		t.Errorf("after an expired entry, %d executable runs, want 2", n)
	}
	sts := f.fake.STSCalls()
	if got := sts[len(sts)-1].Form["subject_token"][0]; got != f.idToken {
		t.Error("the library did not exchange the fresh ID token")
	}
	got, usable, err := output.ReadGCPOutputFile(o.OutputFile, time.Now(), 5*time.Minute)
	if err != nil || !usable || got.IDToken != f.idToken {
		t.Errorf("output file after refresh: usable=%v err=%v", usable, err)
	}
}

// The exact messages below are quoted in docs/gcp.md.
func TestLibraryErrors(t *testing.T) {
	tests := []struct {
		name    string
		allow   bool
		fail    bool
		sa      string
		wantErr string
		exact   bool
	}{
		{name: "executables not allowed", exact: true,
			wantErr: "oauth2/google/externalaccount: executables need to be explicitly allowed (set GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES to '1') to run"},
		{name: "executable fails", allow: true, fail: true, exact: true,
			wantErr: "oauth2/google/externalaccount: executable command failed with exit code 1"},
		{name: "service account not bound", allow: true, sa: "other@proj.iam.gserviceaccount.com",
			wantErr: `oauth2/google: status code 403: {"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).","status":"PERMISSION_DENIED"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(allowExecutables, "1")
			if !tc.allow {
				os.Unsetenv(allowExecutables) // restored by t.Setenv's cleanup
			}
			f := newLibFixture(t)
			if tc.fail {
				if err := os.WriteFile(f.tokenFile, []byte("FAIL"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			o := f.options(t)
			if tc.sa != "" {
				o.ImpersonationURL = gcpsts.ImpersonationURL(f.srv.URL+gcpfake.IAMBasePath, tc.sa)
			}
			_, _, err := libraryToken(t, buildConfig(t, o), gcpsts.ScopeCloudPlatform)
			if err == nil {
				t.Fatal("the library got a token, want an error")
			}
			if tc.exact && err.Error() != tc.wantErr || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.wantErr)
			}
			wantRuns := 1
			if !tc.allow {
				wantRuns = 0
			}
			if n := len(f.runs(t)); n != wantRuns {
				t.Errorf("%d executable runs, want %d", n, wantRuns)
			}
		})
	}
}
