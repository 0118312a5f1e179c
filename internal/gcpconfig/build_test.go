package gcpconfig_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/gcpconfig"
)

const (
	testAudience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dagster/providers/oidc"
	testSA       = "pipelines@proj.iam.gserviceaccount.com"
)

var testCommand = []string{"/usr/local/bin/dagster-oidc", "gcp", "executable", "--profile", "prod"}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name string
		o    gcpconfig.Options
	}{
		{"impersonation", gcpconfig.Options{Audience: testAudience, ServiceAccount: testSA, TokenLifetime: 2 * time.Hour,
			Command: testCommand, TimeoutMillis: 60000, OutputFile: "/run/dagster-oidc/gcp-subject.json"}},
		{"federated", gcpconfig.Options{Audience: testAudience, Command: testCommand}},
		{"local endpoints", gcpconfig.Options{Audience: testAudience, SubjectTokenType: "urn:ietf:params:oauth:token-type:id_token",
			TokenURL:         "http://127.0.0.1:8080/v1/token",
			ImpersonationURL: "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/" + testSA + ":generateAccessToken",
			Command:          testCommand}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gcpconfig.Build(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "external_account_"+strings.ReplaceAll(tc.name, " ", "_")+".json", got)
		})
	}
}

func TestBuildValidation(t *testing.T) {
	valid := func(edit func(*gcpconfig.Options)) gcpconfig.Options {
		o := gcpconfig.Options{Audience: testAudience, ServiceAccount: testSA, Command: testCommand}
		edit(&o)
		return o
	}
	tests := []struct {
		name     string
		o        gcpconfig.Options
		wantErr  string
		wantHint string
	}{
		{"empty audience", valid(func(o *gcpconfig.Options) { o.Audience = "" }), "the gcp audience is empty", "full resource name"},
		{"project id audience", valid(func(o *gcpconfig.Options) { o.Audience = "projects/p/pools/x" }), "is not a workload identity provider name", "PROJECT_NUMBER"},
		{"saml", valid(func(o *gcpconfig.Options) { o.SubjectTokenType = "urn:ietf:params:oauth:token-type:saml2" }), "unsupported subject token type", ""},
		{"http token url", valid(func(o *gcpconfig.Options) { o.TokenURL = "http://sts.example.com/v1/token" }), "must use https", "loopback"},
		{"relative token url", valid(func(o *gcpconfig.Options) { o.TokenURL = "/v1/token" }), "is not an absolute URL", ""},
		{"not an email", valid(func(o *gcpconfig.Options) { o.ServiceAccount = "pipelines" }), "is not an email address", ""},
		{"lifetime too short", valid(func(o *gcpconfig.Options) { o.TokenLifetime = 599 * time.Second }), "token lifetime 9m59s is outside 10m0s..12h0m0s", ""},
		{"lifetime too long", valid(func(o *gcpconfig.Options) { o.TokenLifetime = 43201 * time.Second }), "is outside 10m0s..12h0m0s", "allowServiceAccountCredentialLifetimeExtension"},
		{"lifetime fractional", valid(func(o *gcpconfig.Options) { o.TokenLifetime = 900*time.Second + time.Millisecond }), "not a whole number of seconds", ""},
		{"lifetime without impersonation", valid(func(o *gcpconfig.Options) { o.ServiceAccount = ""; o.TokenLifetime = time.Hour }), "needs service account impersonation", ""},
		{"no command", valid(func(o *gcpconfig.Options) { o.Command = nil }), "the executable command is empty", ""},
		{"relative path", valid(func(o *gcpconfig.Options) { o.Command = []string{"dagster-oidc", "gcp", "executable"} }), `the executable "dagster-oidc" is not an absolute path`, "command -v dagster-oidc"},
		{"space in path", valid(func(o *gcpconfig.Options) { o.Command = []string{"/opt/my tools/dagster-oidc", "gcp", "executable"} }),
			`the executable path "/opt/my tools/dagster-oidc" contains whitespace`, `ln -s "/opt/my tools/dagster-oidc" /usr/local/bin/dagster-oidc`},
		{"tab in argument", valid(func(o *gcpconfig.Options) { o.Command = []string{"/bin/dagster-oidc", "--profile", "my\tprofile"} }),
			`argument "my\tprofile" of the executable command contains whitespace`, "without spaces"},
		{"empty argument", valid(func(o *gcpconfig.Options) { o.Command = []string{"/bin/dagster-oidc", ""} }), "argument 1 of the executable command is empty", ""},
		{"timeout too short", valid(func(o *gcpconfig.Options) { o.TimeoutMillis = 4999 }), "executable timeout 4999 ms is outside 5000..120000 ms", "5 to 120 seconds"},
		{"timeout too long", valid(func(o *gcpconfig.Options) { o.TimeoutMillis = 120001 }), "executable timeout 120001 ms is outside", ""},
		{"relative output file", valid(func(o *gcpconfig.Options) { o.OutputFile = "cache/out.json" }), "is not an absolute path", "absolute path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gcpconfig.Build(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if apperr.KindOf(err) != apperr.KindUsage {
				t.Errorf("kind = %v, want usage", apperr.KindOf(err))
			}
			if hint := apperr.HintOf(err); hint == "" || !strings.Contains(hint, tc.wantHint) {
				t.Errorf("hint = %q, want it to contain %q", hint, tc.wantHint)
			}
		})
	}
	for _, ms := range []int{5000, 120000} {
		if _, err := gcpconfig.Build(valid(func(o *gcpconfig.Options) { o.TimeoutMillis = ms })); err != nil {
			t.Errorf("timeout %d ms: %v", ms, err)
		}
	}
	for _, d := range []time.Duration{600 * time.Second, 43200 * time.Second} {
		if _, err := gcpconfig.Build(valid(func(o *gcpconfig.Options) { o.TokenLifetime = d })); err != nil {
			t.Errorf("lifetime %s: %v", d, err)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gcloud")
	path := filepath.Join(dir, "dagster-oidc.json")
	for _, content := range []string{"first\n", "second\n"} {
		if err := gcpconfig.Write(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("content = %q, want %q", got, content)
		}
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", p, fi.Mode().Perm(), want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("%d entries in %s, want 1 (no leftover temporary file)", len(entries), dir)
	}
}
