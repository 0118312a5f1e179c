//go:build e2e

package e2e

// Google's real client library, golang.org/x/oauth2/google/externalaccount,
// loads the external_account file that `dagster-oidc gcp config` writes and
// runs the built binary as its executable source; token_url and the
// impersonation URL point at a gcpfake that verifies the sandbox's ID tokens
// against its JWKS with go-oidc.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2/google"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox/gcpfake"
)

const (
	gcpAudience      = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dagster/providers/oidc"
	gcpSA            = "pipelines@proj.iam.gserviceaccount.com"
	gcpCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
	gcpAllowExec     = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"
)

// gcpWorld is a world whose profile has a gcp section pointing at a gcpfake.
type gcpWorld struct {
	*world
	fake *gcpfake.Server
}

// newGCPWorld starts the sandbox and the fake; sa "" leaves the token
// federated.
func newGCPWorld(t *testing.T, sa string) *gcpWorld {
	t.Helper()
	w := newWorld(t, sandbox.Options{}, "")
	provider, err := oidc.NewProvider(t.Context(), w.sb.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	v := provider.Verifier(&oidc.Config{ClientID: w.sb.ClientID()})
	fake := gcpfake.New(gcpfake.Options{
		Verify: func(ctx context.Context, raw string) (string, error) {
			tok, err := v.Verify(ctx, raw)
			if err != nil {
				return "", err
			}
			return tok.Subject, nil
		},
		Audience:        gcpAudience,
		ServiceAccounts: map[string]bool{gcpSA: true},
	})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	extra := fmt.Sprintf("    gcp:\n      audience: %s\n      token_url: %s/v1/token\n      impersonation_url: %s/v1\n", gcpAudience, srv.URL, srv.URL)
	if sa != "" {
		extra += "      service_account: " + sa + "\n"
	}
	w.writeConfig(w.profile(extra))
	return &gcpWorld{world: w, fake: fake}
}

// consumerEnv gives this test process, Google's library's host, the world's
// environment, which the library passes on to the executable.
func (w *gcpWorld) consumerEnv(t *testing.T, allow string) {
	t.Helper()
	for k, v := range w.env {
		t.Setenv(k, v)
	}
	t.Setenv(gcpAllowExec, allow)
}

// writeCredentials runs `gcp config` and returns the file's path and JSON.
func (w *gcpWorld) writeCredentials(t *testing.T, extra ...string) (string, []byte) {
	t.Helper()
	path := filepath.Join(w.dir, "gcloud", "dagster-oidc.json")
	args := append([]string{"gcp", "config", "--config", w.config, "--output", path}, extra...)
	if _, stderr, code := w.run(args...); code != 0 {
		t.Fatalf("gcp config exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// libraryToken loads the file as a new process would and asks for a token;
// calls asks that many times from the same token source.
func libraryToken(t *testing.T, data []byte, calls int) (string, error) {
	t.Helper()
	creds, err := google.CredentialsFromJSONWithTypeAndParams(context.Background(), data, google.ExternalAccount,
		google.CredentialsParams{Scopes: []string{gcpCloudPlatform}})
	if err != nil {
		t.Fatalf("the library refused the file dagster-oidc wrote: %v", err)
	}
	var last string
	for range calls {
		tok, err := creds.TokenSource.Token()
		if err != nil {
			return "", err
		}
		last = tok.AccessToken
	}
	return last, nil
}

func TestGCPLibraryImpersonationWithOutputFile(t *testing.T) {
	w := newGCPWorld(t, gcpSA)
	w.login("alice")
	idToken, stderr, code := w.run("token")
	if code != 0 {
		t.Fatalf("token exit %d: %s", code, stderr)
	}
	idToken = strings.TrimSpace(idToken)
	outFile := filepath.Join(w.dir, "run", "gcp-subject.json")
	_, data := w.writeCredentials(t, "--output-file", outFile)
	var file struct {
		CredentialSource struct {
			Executable struct {
				Command    string `json:"command"`
				OutputFile string `json:"output_file"`
			} `json:"executable"`
		} `json:"credential_source"`
		ImpersonationURL string `json:"service_account_impersonation_url"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if want := bin.cli + " gcp executable --profile sandbox --config " + w.config; file.CredentialSource.Executable.Command != want {
		t.Errorf("command %q, want %q", file.CredentialSource.Executable.Command, want)
	}
	w.consumerEnv(t, "1")

	// Two tokens from one source: one executable run, one exchange.
	got, err := libraryToken(t, data, 2)
	if err != nil {
		t.Fatalf("library token: %v", err)
	}
	issued := w.fake.IssuedTokens()
	if len(issued) != 2 || got != issued[1] || !strings.HasPrefix(got, "ya29.sa.") {
		t.Errorf("library got %q; fake issued %q", got, issued)
	}
	wantSTS := []gcpfake.STSCall{{Status: 200, Form: map[string][]string{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"audience":             {gcpAudience},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
		"subject_token":        {idToken},
		"scope":                {gcpCloudPlatform},
	}}}
	if diff := cmp.Diff(wantSTS, w.fake.STSCalls()); diff != "" {
		t.Errorf("sts calls (-want +got):\n%s", diff)
	}
	// A valid Bearer is what lets the fake name the federated subject.
	wantIAM := []gcpfake.IAMCall{{ServiceAccount: gcpSA, Scope: []string{gcpCloudPlatform}, Lifetime: "3600s", Subject: "alice", Status: 200}}
	if diff := cmp.Diff(wantIAM, w.fake.IAMCalls()); diff != "" {
		t.Errorf("iam calls (-want +got):\n%s", diff)
	}
	written, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatalf("the executable did not write its output file: %v", err)
	}
	if fi, err := os.Stat(outFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("output file mode: %v %v", fi, err)
	}
	var entry struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(written, &entry); err != nil || entry.IDToken != idToken {
		t.Errorf("output file %s: %v", written, err)
	}

	// A second process reuses the output file: the executable does not run,
	// which shows because it could no longer answer after logout.
	if _, stderr, code := w.run("logout"); code != 0 {
		t.Fatalf("logout exit %d: %s", code, stderr)
	}
	if _, err := libraryToken(t, data, 1); err != nil {
		t.Fatalf("second load did not reuse the output file: %v", err)
	}
	if n := len(w.fake.STSCalls()); n != 2 {
		t.Errorf("%d sts calls after the second load, want 2", n)
	}
	if again, _ := os.ReadFile(outFile); string(again) != string(written) {
		t.Error("the output file was rewritten: the executable ran")
	}

	// Without the file the executable runs, finds no login, and fails.
	if err := os.Remove(outFile); err != nil {
		t.Fatal(err)
	}
	_, err = libraryToken(t, data, 1)
	if err == nil || !strings.Contains(err.Error(), "oauth2/google/externalaccount: executable command failed with exit code 3") {
		t.Errorf("load after logout: %v", err)
	}
	if n := len(w.fake.STSCalls()); n != 2 {
		t.Errorf("%d sts calls after the failed load, want 2", n)
	}
	// Run by hand, the executable says why.
	out, _, code := w.run("gcp", "executable")
	if code != 3 || !strings.HasPrefix(out, `{"version":1,"success":false,"code":"401","message":"`) ||
		!strings.Contains(out, "run: dagster-oidc login --profile sandbox") {
		t.Errorf("by hand: exit %d, stdout %q", code, out)
	}
}

func TestGCPLibraryFederatedWithoutOutputFile(t *testing.T) {
	w := newGCPWorld(t, "")
	w.login("bob")
	_, data := w.writeCredentials(t)
	w.consumerEnv(t, "1")
	for i := range 2 {
		got, err := libraryToken(t, data, 1)
		if err != nil {
			t.Fatalf("load %d: %v", i+1, err)
		}
		issued := w.fake.IssuedTokens()
		if got != issued[len(issued)-1] || !strings.HasPrefix(got, "ya29.") {
			t.Errorf("load %d got %q; fake issued %q", i+1, got, issued)
		}
	}
	if n, iam := len(w.fake.STSCalls()), len(w.fake.IAMCalls()); n != 2 || iam != 0 {
		t.Errorf("%d sts and %d iam calls, want 2 and 0", n, iam)
	}
	// Nothing to reuse: after logout the next load runs the executable.
	if _, stderr, code := w.run("logout"); code != 0 {
		t.Fatalf("logout exit %d: %s", code, stderr)
	}
	if _, err := libraryToken(t, data, 1); err == nil || !strings.Contains(err.Error(), "executable command failed with exit code 3") {
		t.Errorf("load after logout: %v", err)
	}
}

func TestGCPLibraryExecutablesNotAllowed(t *testing.T) {
	w := newGCPWorld(t, gcpSA)
	w.login("alice")
	_, data := w.writeCredentials(t)
	w.consumerEnv(t, "")
	_, err := libraryToken(t, data, 1)
	const want = "oauth2/google/externalaccount: executables need to be explicitly allowed (set GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES to '1') to run"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	if n := len(w.fake.STSCalls()); n != 0 {
		t.Errorf("%d sts calls", n)
	}
}
