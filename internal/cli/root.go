package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	ConfigPath string
	Profile    string
	Verbose    bool
}

// profileName returns --profile, else DAGSTER_OIDC_PROFILE ("" = the file's default).
func (g *globalOptions) profileName(f *Factory) string {
	if g.Profile != "" {
		return g.Profile
	}
	return f.Env.Get(env.Profile)
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "dagster-oidc",
		Short: "OpenID Connect logins and short-lived AWS/GCP credentials for Dagster",
		Long: `dagster-oidc replaces long-lived cloud keys with identity from your OpenID
provider. It logs you in (device code, browser, or workload identity),
caches and refreshes the ID token, maps its claims to a role by policy and
exchanges it for short-lived AWS or GCP credentials.

Stdout carries only the requested output; prompts and logs go to stderr.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return apperr.Usage(err, "see --help")
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", "", "profiles file (default $DAGSTER_OIDC_CONFIG or ~/.config/dagster-oidc/config.yaml)")
	pf.StringVarP(&g.Profile, "profile", "p", "", "profile to use (default $DAGSTER_OIDC_PROFILE or the file's default_profile)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "debug logs on stderr (tokens are never printed)")

	root.AddCommand(
		newLoginCmd(f, g, nil),
		newLogoutCmd(f, g, nil),
		newStatusCmd(f, g, nil),
		newTokenCmd(f, g, nil),
		newExplainCmd(f, g, nil),
		newAWSCmd(f, g),
		newGCPCmd(f, g),
		newExecCmd(f, g, nil),
		newAuditCmd(f, g),
		newConfigCmd(f, g),
		newVersionCmd(f),
	)
	return root
}

// Main runs the command line and returns the process exit code. It prints
// each error once, as "error: ..." plus the hint on the next line.
func Main(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isCobraUsage(err) {
		err = apperr.Usage(err, "see dagster-oidc --help")
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(f.IO.ErrOut, "interrupted")
		return 130
	}
	fmt.Fprintf(f.IO.ErrOut, "error: %s\n", err)
	if hint := apperr.HintOf(err); hint != "" {
		fmt.Fprintf(f.IO.ErrOut, "%s\n", hint)
	}
	return apperr.ExitCode(err)
}

// exitError carries a child's exit code out of exec.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("command exited with code %d", e.code) }

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
