package cli

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// errCaptured stops a command after its runF captured the options.
var errCaptured = errors.New("captured")

// optionsFactory is a Factory for option-capture tests and the global
// flags of a profiles file with two profiles, "first" (the default) and
// "second", selected by g.Profile.
func optionsFactory(t *testing.T) (*Factory, *globalOptions) {
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
	f := &Factory{
		IO:         &IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}, StdinTTY: true, StderrTTY: true},
		Env:        func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		Clock:      clock.Real{},
		Executable: func() (string, error) { return "/opt/dagster-oidc", nil },
		Environ:    func() []string { return []string{"A=1"} },
		Stat:       os.Stat,
		HTTPClient: func() *http.Client { return &http.Client{} },
		HasDisplay: func() bool { return false },
	}
	return f, &globalOptions{ConfigPath: path, Profile: "second"}
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

// checkOpen asserts that open opens the profile the global flags select.
func checkOpen(t *testing.T, open profileOpener, o openOptions) *resolved {
	t.Helper()
	if open == nil {
		t.Fatal("Open is nil")
	}
	r, err := open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(r.close)
	if r.p.Name != "second" {
		t.Errorf("Open opened profile %q, want the --profile one %q", r.p.Name, "second")
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
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || got != nil {
					t.Fatalf("err = %v (runF reached: %v), want %q", err, got != nil, tt.wantErr)
				}
				return
			}
			if !errors.Is(err, errCaptured) {
				t.Fatalf("err = %v, want runF reached", err)
			}
			if got.IO != f.IO {
				t.Error("IO is not the Factory's streams")
			}
			if got.Format != tt.want.Format || got.Flow != tt.want.Flow {
				t.Errorf("format, flow = %q, %q; want %q, %q", got.Format, got.Flow, tt.want.Format, tt.want.Flow)
			}
			checkOpen(t, got.Open, openOptions{Flow: got.Flow})
		})
	}
}
