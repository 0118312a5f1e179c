package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
)

func TestRunE(t *testing.T) {
	type opts struct{ calls []string }
	errCheck := errors.New("bad flag")
	record := func(name string) func(context.Context, *opts) error {
		return func(_ context.Context, o *opts) error { o.calls = append(o.calls, name); return nil }
	}
	tests := []struct {
		name    string
		runF    func(context.Context, *opts) error
		checks  []func() error
		want    []string
		wantErr error
	}{
		{name: "run without a test's runF", want: []string{"run"}},
		{name: "runF instead of run", runF: record("runF"), want: []string{"runF"}},
		{name: "checks pass", checks: []func() error{func() error { return nil }, func() error { return nil }}, want: []string{"run"}},
		{name: "a failed check stops before runF", runF: record("runF"), checks: []func() error{func() error { return nil }, func() error { return errCheck }}, wantErr: errCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &opts{}
			err := RunE(o, tt.runF, record("run"), tt.checks...)(&cobra.Command{}, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if strings.Join(o.calls, ",") != strings.Join(tt.want, ",") {
				t.Errorf("calls = %q, want %q", o.calls, tt.want)
			}
		})
	}
}

func TestRefuseUnknownSubcommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantErr  string
		wantHint string
		wantHelp bool
	}{
		{name: "group alone prints its help", args: []string{"aws"}, wantHelp: true},
		{name: "a typo gets a suggestion", args: []string{"aws", "credential-proces"}, wantErr: `unknown command "credential-proces" for "root aws"; did you mean credential-process?`, wantHint: "see root aws --help"},
		{name: "no suggestion for a stranger", args: []string{"aws", "zzz"}, wantErr: `unknown command "zzz" for "root aws"`, wantHint: "see root aws --help"},
		{name: "a leaf still runs", args: []string{"aws", "credential-process"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := &cobra.Command{Use: "root", SilenceErrors: true, SilenceUsage: true}
			group := &cobra.Command{Use: "aws", Short: "the aws group"}
			group.AddCommand(&cobra.Command{Use: "credential-process", RunE: func(*cobra.Command, []string) error { return nil }})
			root.AddCommand(group)
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetArgs(tt.args)
			RefuseUnknownSubcommands(root)
			err := root.Execute()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else if err == nil || err.Error() != tt.wantErr || apperr.HintOf(err) != tt.wantHint || apperr.ExitCode(err) != apperr.ExitCode(apperr.Usage(errors.New(""), "")) {
				t.Fatalf("err = %v (hint %q), want %q (hint %q), a usage error", err, apperr.HintOf(err), tt.wantErr, tt.wantHint)
			}
			if got := strings.Contains(out.String(), "the aws group"); got != tt.wantHelp {
				t.Errorf("help printed = %v, want %v:\n%s", got, tt.wantHelp, out.String())
			}
		})
	}
}

func TestIsCobraUsage(t *testing.T) {
	root := &cobra.Command{Use: "root", SilenceErrors: true, SilenceUsage: true, Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }}
	root.Flags().Int("n", 0, "")
	for _, args := range [][]string{{"--nope"}, {"-z"}, {"extra"}, {"--n", "x"}, {"--n"}} {
		root.SetArgs(args)
		if err := root.Execute(); err == nil || !IsCobraUsage(err) {
			t.Errorf("%q: err = %v, want one of cobra's usage errors", args, err)
		}
	}
	if IsCobraUsage(errors.New("STS refused the token")) {
		t.Error("an error of ours was taken for cobra's")
	}
}

// factory is a Factory with a profiles file of two profiles, "first" (the
// default) and "second"; vars are its environment.
func factory(t *testing.T, vars map[string]string) (*Factory, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	yaml := "default_profile: first\nprofiles:\n  first:\n    issuer: https://idp.example.com\n    client_id: one\n  second:\n    issuer: https://idp.example.com\n    client_id: two\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	vars["HOME"], vars["DAGSTER_OIDC_CACHE_DIR"], vars["DAGSTER_OIDC_STATE_DIR"] = dir, filepath.Join(dir, "cache"), filepath.Join(dir, "state")
	return &Factory{
		IO:         &iostreams.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}, StdinTTY: true, StderrTTY: true},
		Env:        func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		Clock:      clock.Real{},
		Stat:       os.Stat,
		HTTPClient: func() *http.Client { return &http.Client{} },
		HasDisplay: func() bool { return false },
	}, path
}

func TestOpenerSelectsTheProfile(t *testing.T) {
	tests := []struct {
		name, flag, variable, want string
	}{
		{name: "the file's default", want: "first"},
		{name: "DAGSTER_OIDC_PROFILE", variable: "second", want: "second"},
		{name: "--profile wins over the variable", flag: "first", variable: "second", want: "first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			if tt.variable != "" {
				vars["DAGSTER_OIDC_PROFILE"] = tt.variable
			}
			f, path := factory(t, vars)
			g := &Globals{ConfigPath: path, Profile: tt.flag}
			var got string
			err := NewOpener(f, g).With(OpenOptions{}, func(r *Opened) error {
				got = r.Profile.Name
				if r.Path != path || r.AbsPath() != path || r.Svc == nil || r.File == nil {
					t.Errorf("opened %+v, want the file %s and its use cases", r, path)
				}
				return nil
			})
			if err != nil || got != tt.want {
				t.Fatalf("opened %q (err %v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestOpenerErrors(t *testing.T) {
	f, path := factory(t, map[string]string{})
	tests := []struct {
		name    string
		g       *Globals
		wantErr string
		hint    string
	}{
		{name: "no file", g: &Globals{ConfigPath: filepath.Join(filepath.Dir(path), "missing.yaml")},
			wantErr: "no config file at " + filepath.Join(filepath.Dir(path), "missing.yaml"), hint: "run: dagster-oidc config init --issuer URL --client-id ID (or pass --config)"},
		{name: "unknown profile", g: &Globals{ConfigPath: path, Profile: "third"}, wantErr: `profile "third"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			err := NewOpener(f, tt.g).With(OpenOptions{}, func(*Opened) error { called = true; return nil })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || called {
				t.Fatalf("err = %v (fn called: %v), want one containing %q", err, called, tt.wantErr)
			}
			if tt.hint != "" && apperr.HintOf(err) != tt.hint {
				t.Errorf("hint = %q, want %q", apperr.HintOf(err), tt.hint)
			}
		})
	}
}

func TestGlobalsReadTheFileOnce(t *testing.T) {
	f, path := factory(t, map[string]string{})
	g := &Globals{ConfigPath: path}
	first, err := g.Config(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	again, err := g.Config(f)
	if err != nil || again != first {
		t.Fatalf("second read = %p, %v; want the first read %p", again, err, first)
	}
}

func TestWithoutTerminalNeverPrompts(t *testing.T) {
	f, _ := factory(t, map[string]string{})
	if !f.Deps().CanPrompt {
		t.Fatal("the test's Factory cannot prompt; the check would prove nothing")
	}
	if f.withoutTerminal().Deps().CanPrompt {
		t.Error("use cases opened with NoPrompt could still prompt")
	}
	if !f.Deps().CanPrompt {
		t.Error("NoPrompt changed the Factory's own streams")
	}
}
