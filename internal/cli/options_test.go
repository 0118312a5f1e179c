package cli

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/buildinfo"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
)

// errCaptured stops a command after its runF captured the options.
var errCaptured = errors.New("captured")

// optionsFactory is a Factory for option-capture tests and the global
// flags of a profiles file with two profiles, "first" (the default) and
// "second", selected by g.Profile.
func optionsFactory(t *testing.T) (*cmdutil.Factory, *cmdutil.Globals) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	yaml := `default_profile: first
profiles:
  first:
    issuer: https://idp.example.com
    client_id: one
  second:
    issuer: https://idp.example.com
    client_id: two
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"HOME": dir, "DAGSTER_OIDC_CACHE_DIR": filepath.Join(dir, "cache"), "DAGSTER_OIDC_STATE_DIR": filepath.Join(dir, "state")}
	f := &cmdutil.Factory{
		IO:         &iostreams.IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}, StdinTTY: true, StderrTTY: true},
		Env:        func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		Clock:      clock.Real{},
		Executable: func() (string, error) { return "/opt/dagster-oidc", nil },
		Environ:    func() []string { return []string{"A=1"} },
		Stat:       os.Stat,
		HTTPClient: func() *http.Client { return &http.Client{} },
		HasDisplay: func() bool { return false },
	}
	return f, &cmdutil.Globals{ConfigPath: path, Profile: "second"}
}

// capture runs cmd with args and returns the error of its RunE: errCaptured
// when runF was reached.
func capture(t *testing.T, cmd *cobra.Command, args string) error {
	t.Helper()
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	return cmd.ExecuteContext(context.Background())
}

// captured checks a table case's outcome of [capture]: with wantErr the
// command must refuse its arguments with exactly that error before runF is
// reached; without, it must reach runF. It reports whether options were
// captured to check.
func captured(t *testing.T, err error, reached bool, wantErr string) bool {
	t.Helper()
	if wantErr != "" {
		if err == nil || err.Error() != wantErr || reached {
			t.Fatalf("err = %v (runF reached: %v), want %q", err, reached, wantErr)
		}
		return false
	}
	if !errors.Is(err, errCaptured) {
		t.Fatalf("err = %v, want runF reached", err)
	}
	return true
}

// checkOpen asserts that open opens the profile the global flags select.
func checkOpen(t *testing.T, open cmdutil.Opener, o cmdutil.OpenOptions) *cmdutil.Opened {
	t.Helper()
	if open == nil {
		t.Fatal("Open is nil")
	}
	r, err := open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(r.Close)
	if r.Profile.Name != "second" {
		t.Errorf("Open opened profile %q, want the --profile one %q", r.Profile.Name, "second")
	}
	return r
}

func TestNewCmdToken(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    TokenOptions
		wantErr string
	}{
		{name: "defaults", args: "", want: TokenOptions{Format: "raw"}},
		{name: "json and flow", args: "--format json --flow browser", want: TokenOptions{Format: "json", Flow: "browser"}},
		{name: "bad format", args: "--format yaml", wantErr: `unknown --format "yaml" (raw or json)`},
		{name: "argument", args: "extra", wantErr: `unknown command "extra" for "token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, g := optionsFactory(t)
			var got *TokenOptions
			err := capture(t, newTokenCmd(f, g, func(_ context.Context, o *TokenOptions) error { got = o; return errCaptured }), tt.args)
			if !captured(t, err, got != nil, tt.wantErr) {
				return
			}
			if got.IO != f.IO {
				t.Error("IO is not the Factory's streams")
			}
			if got.Format != tt.want.Format || got.Flow != tt.want.Flow {
				t.Errorf("format, flow = %q, %q; want %q, %q", got.Format, got.Flow, tt.want.Format, tt.want.Flow)
			}
			checkOpen(t, got.Open, cmdutil.OpenOptions{Flow: got.Flow})
		})
	}
}

func TestNewCmdAWS(t *testing.T) {
	tests := []struct {
		name    string
		build   func(*cmdutil.Factory, *cmdutil.Globals, func(context.Context, *AWSOptions) error) *cobra.Command
		args    string
		want    AWSOptions
		wantErr string
	}{
		{name: "credential-process", build: newAWSCredentialProcessCmd, args: "--role arn:aws:iam::1:role/r", want: AWSOptions{Role: "arn:aws:iam::1:role/r", CredentialProcess: true}},
		{name: "env default", build: newAWSEnvCmd, args: "", want: AWSOptions{Format: "sh"}},
		{name: "env fish", build: newAWSEnvCmd, args: "--format fish --role r", want: AWSOptions{Format: "fish", Role: "r"}},
		{name: "env bad format", build: newAWSEnvCmd, args: "--format csv", wantErr: `unknown --format "csv" (sh, fish, pwsh, dotenv or json)`},
		{name: "credential-process has no format", build: newAWSCredentialProcessCmd, args: "--format json", wantErr: "unknown flag: --format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, g := optionsFactory(t)
			var got *AWSOptions
			err := capture(t, tt.build(f, g, func(_ context.Context, o *AWSOptions) error { got = o; return errCaptured }), tt.args)
			if !captured(t, err, got != nil, tt.wantErr) {
				return
			}
			if got.IO != f.IO {
				t.Error("IO is not the Factory's streams")
			}
			if v, _ := got.Env("HOME"); v == "" {
				t.Error("Env is not the Factory's environment")
			}
			if got.Role != tt.want.Role || got.Format != tt.want.Format || got.CredentialProcess != tt.want.CredentialProcess {
				t.Errorf("role, format, credential-process = %q, %q, %v; want %q, %q, %v", got.Role, got.Format, got.CredentialProcess, tt.want.Role, tt.want.Format, tt.want.CredentialProcess)
			}
			checkOpen(t, got.Open, cmdutil.OpenOptions{})
		})
	}
}

func TestNewCmdAWSConfigure(t *testing.T) {
	f, g := optionsFactory(t)
	var got *AWSConfigureOptions
	cmd := newAWSConfigureCmd(f, g, func(_ context.Context, o *AWSConfigureOptions) error { got = o; return errCaptured })
	if err := capture(t, cmd, "--aws-profile data --file /tmp/aws-config --role r"); !errors.Is(err, errCaptured) {
		t.Fatalf("err = %v, want runF reached", err)
	}
	if got.IO != f.IO || got.AWSProfile != "data" || got.File != "/tmp/aws-config" || got.Role != "r" {
		t.Errorf("options = %+v", *got)
	}
	if exe, err := got.Executable(); exe != "/opt/dagster-oidc" || err != nil {
		t.Errorf("Executable() = %q, %v; want the Factory's", exe, err)
	}
	r := checkOpen(t, got.Open, cmdutil.OpenOptions{})
	if r.AbsPath() != g.ConfigPath {
		t.Errorf("configPath = %q, want %q", r.AbsPath(), g.ConfigPath)
	}
}

func TestNewCmdGCPToken(t *testing.T) {
	tests := []struct {
		name    string
		build   func(*cmdutil.Factory, *cmdutil.Globals, func(context.Context, *GCPTokenOptions) error) *cobra.Command
		args    string
		want    GCPTokenOptions
		wantErr string
	}{
		{name: "token", build: newGCPTokenCmd, args: "", want: GCPTokenOptions{Format: "raw"}},
		{name: "token json", build: newGCPTokenCmd, args: "--format json --service-account sa@p.iam.gserviceaccount.com", want: GCPTokenOptions{Format: "json", ServiceAccount: "sa@p.iam.gserviceaccount.com"}},
		{name: "token bad format", build: newGCPTokenCmd, args: "--format env", wantErr: `unknown --format "env" (raw or json)`},
		{name: "env", build: newGCPEnvCmd, args: "--service-account sa", want: GCPTokenOptions{Format: "env", ServiceAccount: "sa"}},
		{name: "env has no format", build: newGCPEnvCmd, args: "--format raw", wantErr: "unknown flag: --format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, g := optionsFactory(t)
			var got *GCPTokenOptions
			err := capture(t, tt.build(f, g, func(_ context.Context, o *GCPTokenOptions) error { got = o; return errCaptured }), tt.args)
			if !captured(t, err, got != nil, tt.wantErr) {
				return
			}
			if got.IO != f.IO {
				t.Error("IO is not the Factory's streams")
			}
			if v, _ := got.Env("HOME"); v == "" {
				t.Error("Env is not the Factory's environment")
			}
			if got.Format != tt.want.Format || got.ServiceAccount != tt.want.ServiceAccount {
				t.Errorf("format, service account = %q, %q; want %q, %q", got.Format, got.ServiceAccount, tt.want.Format, tt.want.ServiceAccount)
			}
			checkOpen(t, got.Open, cmdutil.OpenOptions{})
		})
	}
}

func TestNewCmdGCPExecutable(t *testing.T) {
	f, g := optionsFactory(t)
	var got *GCPExecutableOptions
	run := func(_ context.Context, o *GCPExecutableOptions) error { got = o; return errCaptured }
	if err := capture(t, newGCPExecutableCmd(f, g, run), "extra"); err == nil || got != nil {
		t.Fatalf("an argument: err = %v, runF reached: %v", err, got != nil)
	}
	if err := capture(t, newGCPExecutableCmd(f, g, run), ""); !errors.Is(err, errCaptured) {
		t.Fatalf("err = %v, want runF reached", err)
	}
	if got.IO != f.IO {
		t.Error("IO is not the Factory's streams")
	}
	if v, _ := got.Env("HOME"); v == "" {
		t.Error("Env is not the Factory's environment")
	}
	checkOpen(t, got.Open, cmdutil.OpenOptions{NoPrompt: true})
}

func TestNewCmdGCPConfig(t *testing.T) {
	f, g := optionsFactory(t)
	var got *GCPConfigOptions
	cmd := newGCPConfigCmd(f, g, func(_ context.Context, o *GCPConfigOptions) error { got = o; return errCaptured })
	if err := capture(t, cmd, "-o out.json --output-file cache.json --service-account sa --timeout 45s"); !errors.Is(err, errCaptured) {
		t.Fatalf("err = %v, want runF reached", err)
	}
	if want := (credentials.ExternalAccountRequest{Path: "out.json", OutputFile: "cache.json", ServiceAccount: "sa", Timeout: 45 * time.Second}); got.IO != f.IO || !cmp.Equal(got.Request, want) {
		t.Errorf("options = %+v, want the request %+v", *got, want)
	}
	if exe, err := got.Executable(); exe != "/opt/dagster-oidc" || err != nil {
		t.Errorf("Executable() = %q, %v; want the Factory's", exe, err)
	}
	checkOpen(t, got.Open, cmdutil.OpenOptions{})
	f, g = optionsFactory(t)
	cmd = newGCPConfigCmd(f, g, func(_ context.Context, o *GCPConfigOptions) error { got = o; return errCaptured })
	if err := capture(t, cmd, ""); !errors.Is(err, errCaptured) || got.Request.Timeout != 30*time.Second {
		t.Errorf("default timeout: err = %v, timeout %s; want the gcpconfig default 30s", err, got.Request.Timeout)
	}
}

// execFlags is the request exec's flags make.
func execFlags(child credentials.ChildRequest, grace time.Duration, statusFile string) credentials.ExecRequest {
	return credentials.ExecRequest{Child: child, GracePeriod: grace, StatusFile: statusFile}
}

func TestNewCmdExec(t *testing.T) {
	tests := []struct {
		name     string
		args     string
		want     credentials.ExecRequest
		wantArgs []string
		wantErr  string
	}{
		{name: "defaults", args: "-- dagster api execute_run x", want: execFlags(credentials.ChildRequest{AWSMode: "server"}, 20*time.Second, ""), wantArgs: []string{"dagster", "api", "execute_run", "x"}},
		{
			name: "every flag", args: "--aws --gcp --role r --service-account sa --grace-period 5s --status-file st.json -- job",
			want:     execFlags(credentials.ChildRequest{AWS: true, GCP: true, AWSMode: "server", Role: "r", ServiceAccount: "sa"}, 5*time.Second, "st.json"),
			wantArgs: []string{"job"},
		},
		{name: "aws-mode implies aws", args: "--aws-mode token-file -- job", want: execFlags(credentials.ChildRequest{AWS: true, AWSMode: "token-file"}, 20*time.Second, ""), wantArgs: []string{"job"}},
		{name: "no command", args: "--aws", wantErr: "no command to run: dagster-oidc exec [flags] -- CMD [ARGS...]"},
		{name: "no dash", args: "job", wantErr: "put the command after --: dagster-oidc exec [flags] -- CMD [ARGS...]"},
		{name: "bad mode", args: "--aws-mode file -- job", wantErr: `unknown --aws-mode "file" (server or token-file)`},
		{name: "bad grace", args: "--grace-period 0s -- job", wantErr: "--grace-period must be positive, got 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, g := optionsFactory(t)
			var got *ExecOptions
			err := capture(t, newExecCmd(f, g, func(_ context.Context, o *ExecOptions) error { got = o; return errCaptured }), tt.args)
			if !captured(t, err, got != nil, tt.wantErr) {
				return
			}
			if got.IO != f.IO {
				t.Error("IO is not the Factory's streams")
			}
			if v, _ := got.Env("HOME"); v == "" {
				t.Error("Env is not the Factory's environment")
			}
			if e := got.Environ(); len(e) != 1 || e[0] != "A=1" {
				t.Errorf("Environ() = %q, want the Factory's", e)
			}
			if exe, err := got.Executable(); exe != "/opt/dagster-oidc" || err != nil {
				t.Errorf("Executable() = %q, %v; want the Factory's", exe, err)
			}
			want := tt.want
			want.Args = tt.wantArgs
			if diff := cmp.Diff(want, got.Request); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			checkOpen(t, got.Open, cmdutil.OpenOptions{})
		})
	}
}

func TestNewCmdLogin(t *testing.T) {
	for args, wantFlow := range map[string]string{"": "", "--flow device": "device"} {
		f, g := optionsFactory(t)
		var got *LoginOptions
		err := capture(t, newLoginCmd(f, g, func(_ context.Context, o *LoginOptions) error { got = o; return errCaptured }), args)
		if !errors.Is(err, errCaptured) {
			t.Fatalf("%q: err = %v, want runF reached", args, err)
		}
		if got.IO != f.IO || got.Flow != wantFlow {
			t.Errorf("%q: options = %+v", args, *got)
		}
		checkOpen(t, got.Open, cmdutil.OpenOptions{Flow: got.Flow})
	}
	f, g := optionsFactory(t)
	if err := capture(t, newLoginCmd(f, g, func(context.Context, *LoginOptions) error { return errCaptured }), "extra"); err == nil || errors.Is(err, errCaptured) {
		t.Errorf("an argument: err = %v, want a refusal before runF", err)
	}
}

func TestNewCmdLogout(t *testing.T) {
	for args, want := range map[string][2]bool{"": {false, false}, "--all": {true, false}, "--revoke --all": {true, true}} {
		f, g := optionsFactory(t)
		var got *LogoutOptions
		if err := capture(t, newLogoutCmd(f, g, func(_ context.Context, o *LogoutOptions) error { got = o; return errCaptured }), args); !errors.Is(err, errCaptured) {
			t.Fatalf("%q: err = %v, want runF reached", args, err)
		}
		if got.IO != f.IO || got.Request.All != want[0] || got.Request.Revoke != want[1] {
			t.Errorf("%q: options = %+v, want all %v revoke %v", args, *got, want[0], want[1])
		}
		checkOpen(t, got.Open, cmdutil.OpenOptions{})
	}
}

func TestNewCmdStatus(t *testing.T) {
	tests := []struct {
		args, wantFormat, wantFlow, wantErr string
	}{
		{args: "", wantFormat: "text"},
		{args: "--format json --flow kubernetes", wantFormat: "json", wantFlow: "kubernetes"},
		{args: "-o json", wantFormat: "json"},
		{args: "--format yaml", wantErr: `unknown --format "yaml" (text or json)`},
	}
	for _, tt := range tests {
		f, g := optionsFactory(t)
		var got *StatusOptions
		err := capture(t, newStatusCmd(f, g, func(_ context.Context, o *StatusOptions) error { got = o; return errCaptured }), tt.args)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr || got != nil {
				t.Errorf("%q: err = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if !errors.Is(err, errCaptured) {
			t.Fatalf("%q: err = %v, want runF reached", tt.args, err)
		}
		if got.IO != f.IO || got.Format != tt.wantFormat || got.Flow != tt.wantFlow {
			t.Errorf("%q: options = %+v", tt.args, *got)
		}
		checkOpen(t, got.Open, cmdutil.OpenOptions{Flow: got.Flow})
	}
}

func TestNewCmdExplain(t *testing.T) {
	f, g := optionsFactory(t)
	var got *ExplainOptions
	cmd := newExplainCmd(f, g, func(_ context.Context, o *ExplainOptions) error { got = o; return errCaptured })
	if err := capture(t, cmd, "--role r --job etl --location loc --run-id 42 --refresh --proxy"); !errors.Is(err, errCaptured) {
		t.Fatalf("err = %v, want runF reached", err)
	}
	want := credentials.ExplainRequest{Role: "r", Run: policy.Run{ID: "42", Job: "etl", Location: "loc"}, Refresh: true, Proxy: true}
	if got.IO != f.IO || got.Request != want {
		t.Errorf("options = %+v, want the request %+v", *got, want)
	}
	if v, _ := got.Env("HOME"); v == "" {
		t.Error("Env is not the Factory's environment")
	}
	checkOpen(t, got.Open, cmdutil.OpenOptions{})
}

func TestNewCmdProxy(t *testing.T) {
	f, g := optionsFactory(t)
	var got *ProxyOptions
	cmd := newProxyCmd(f, g, func(_ context.Context, o *ProxyOptions) error { got = o; return errCaptured })
	if err := capture(t, cmd, "--listen 127.0.0.1:0 --upstream http://127.0.0.1:3000 --url https://ui.example.com"); !errors.Is(err, errCaptured) {
		t.Fatalf("err = %v, want runF reached", err)
	}
	if want := (credentials.ProxyRequest{Listen: "127.0.0.1:0", Upstream: "http://127.0.0.1:3000", URL: "https://ui.example.com"}); got.IO != f.IO || got.Request != want {
		t.Errorf("options = %+v", *got)
	}
	checkOpen(t, got.Open, cmdutil.OpenOptions{})
}

func TestNewCmdConfig(t *testing.T) {
	f, g := optionsFactory(t)
	var in *ConfigInitOptions
	cmd := newConfigInitCmd(f, g, func(_ context.Context, o *ConfigInitOptions) error { in = o; return errCaptured })
	if err := capture(t, cmd, "--issuer https://idp.example.com --client-id c --environment prod --force --stdout"); !errors.Is(err, errCaptured) {
		t.Fatalf("init: err = %v, want runF reached", err)
	}
	if st := in.Request.Starter; in.IO != f.IO || st.Issuer != "https://idp.example.com" || st.ClientID != "c" || st.Environment != "prod" || !in.Request.Force || !in.Stdout {
		t.Errorf("init options = %+v", *in)
	}
	if in.File.Path() != g.ConfigPath || !in.File.Given() || in.File.Profile() != "second" {
		t.Errorf("init file: path %q given %v profile %q", in.File.Path(), in.File.Given(), in.File.Profile())
	}
	if cfg, err := in.File.Read(); err != nil || len(cfg.Profiles) != 2 {
		t.Errorf("init file Read: %v", err)
	}
	if err := capture(t, newConfigInitCmd(f, g, func(context.Context, *ConfigInitOptions) error { return errCaptured }), "--issuer x"); err == nil || err.Error() != "--issuer and --client-id are required" {
		t.Errorf("init without --client-id: %v", err)
	}

	var v *ConfigValidateOptions
	cmd = newConfigValidateCmd(f, g, func(_ context.Context, o *ConfigValidateOptions) error { v = o; return errCaptured })
	if err := capture(t, cmd, "--offline"); !errors.Is(err, errCaptured) {
		t.Fatalf("validate: err = %v, want runF reached", err)
	}
	if v.IO != f.IO || v.Clock != f.Clock || !v.Offline || v.HTTPClient() == nil || v.File.Path() != g.ConfigPath {
		t.Errorf("validate options = %+v", *v)
	}

	var sh *ConfigShowOptions
	cmd = newConfigShowCmd(f, g, func(_ context.Context, o *ConfigShowOptions) error { sh = o; return errCaptured })
	if err := capture(t, cmd, ""); !errors.Is(err, errCaptured) {
		t.Fatalf("show: err = %v, want runF reached", err)
	}
	if sh.IO != f.IO {
		t.Error("show: IO is not the Factory's streams")
	}
	checkOpen(t, sh.Open, cmdutil.OpenOptions{})
}

func TestNewCmdAudit(t *testing.T) {
	f, g := optionsFactory(t)
	var got *AuditOptions
	run := func(_ context.Context, o *AuditOptions) error { got = o; return errCaptured }
	if err := capture(t, newAuditTailCmd(f, g, run), "-n 5 --match-session alice-run1 trail.jsonl"); !errors.Is(err, errCaptured) {
		t.Fatalf("tail: err = %v, want runF reached", err)
	}
	if got.IO != f.IO || got.Lines != 5 || got.MatchSession != "alice-run1" || strings.Join(got.Files, ",") != "trail.jsonl" || got.CacheDir != f.Env.CacheDir() {
		t.Errorf("tail options = %+v", *got)
	}
	if files, err := got.files(); err != nil || len(files) != 1 || files[0] != "trail.jsonl" {
		t.Errorf("tail files() = %q, %v; want the argument", files, err)
	}
	if err := capture(t, newAuditTailCmd(f, g, run), "a b"); err == nil || errors.Is(err, errCaptured) {
		t.Errorf("tail with two files: %v, want a refusal", err)
	}
	got = nil
	if err := capture(t, newAuditVerifyCmd(f, g, run), "--checkpoints cps.txt"); !errors.Is(err, errCaptured) {
		t.Fatalf("verify: err = %v, want runF reached", err)
	}
	if got.IO != f.IO || got.Checkpoints != "cps.txt" || len(got.Files) != 0 {
		t.Errorf("verify options = %+v", *got)
	}
	// No FILE: the configured trail, which does not exist yet.
	if _, err := got.files(); err == nil || !strings.Contains(err.Error(), "no audit file at "+filepath.Join(f.Env.StateDir(), "audit.jsonl")) {
		t.Errorf("verify files() = %v, want the configured trail under the state directory", err)
	}
}

func TestNewCmdVersion(t *testing.T) {
	f, _ := optionsFactory(t)
	f.Build = buildinfo.Info{Version: "1.2.3", Commit: "abc", Date: "2026-12-01"}
	var got *VersionOptions
	if err := capture(t, newVersionCmd(f, func(_ context.Context, o *VersionOptions) error { got = o; return errCaptured }), ""); !errors.Is(err, errCaptured) {
		t.Fatalf("err = %v, want runF reached", err)
	}
	if got.IO != f.IO || got.Build != f.Build || got.ReadBuildInfo == nil {
		t.Errorf("options = %+v", *got)
	}
	var out strings.Builder
	got.IO = &iostreams.IOStreams{Out: &out}
	got.ReadBuildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	if err := versionRun(context.Background(), got); err != nil || out.String() != "dagster-oidc 1.2.3 (commit abc, built 2026-12-01)\n" {
		t.Errorf("versionRun: %v, %q", err, out.String())
	}
}

// TestCheckValueAcceptsWhatCompletionOffers: each enumerated flag takes
// exactly the values flagValues lists (the ones shell completion offers),
// and a refusal names them all.
func TestCheckValueAcceptsWhatCompletionOffers(t *testing.T) {
	want := map[string]string{
		"status --format":    `unknown --format "yaml" (text or json)`,
		"status --output":    `unknown --output "yaml" (text or json)`,
		"token --format":     `unknown --format "yaml" (raw or json)`,
		"aws env --format":   `unknown --format "yaml" (sh, fish, pwsh, dotenv or json)`,
		"gcp token --format": `unknown --format "yaml" (raw or json)`,
		"exec --aws-mode":    `unknown --aws-mode "yaml" (server or token-file)`,
	}
	if len(want) != len(flagValues) {
		t.Fatalf("flagValues has %d flags, this table %d: add the new one here", len(flagValues), len(want))
	}
	for key, msg := range want {
		for _, v := range flagValues[key] {
			if err := checkValue(key, v); err != nil {
				t.Errorf("%s %s: %v", key, v, err)
			}
		}
		err := checkValue(key, "yaml")
		if err == nil || err.Error() != msg || apperr.ExitCode(err) != 2 {
			t.Errorf("%s yaml: %v (exit %d), want %q and exit 2", key, err, apperr.ExitCode(err), msg)
		}
	}
}
