// Package cli holds the cobra commands of dagster-oidc. Each command parses
// its flags into an options struct and a request, calls a use case of
// internal/credentials and prints through internal/output; it holds no
// protocol logic. What the commands share (the Factory, the global flags,
// the profile opener) is internal/cmdutil.
package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// topCommand is a top-level command, built on demand.
type topCommand struct {
	name  string
	build func(*cmdutil.Factory, *cmdutil.Globals) *cobra.Command
}

// topCommands are the top-level commands in help order.
var topCommands = []topCommand{
	{"login", func(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command { return newLoginCmd(f, g, nil) }},
	{"logout", func(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command { return newLogoutCmd(f, g, nil) }},
	{"status", func(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command { return newStatusCmd(f, g, nil) }},
	{"token", func(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command { return newTokenCmd(f, g, nil) }},
	{"explain", func(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command { return newExplainCmd(f, g, nil) }},
	{"aws", newAWSCmd},
	{"gcp", newGCPCmd},
	{"exec", func(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command { return newExecCmd(f, g, nil) }},
	{"proxy", func(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command { return newProxyCmd(f, g, nil) }},
	{"audit", newAuditCmd},
	{"config", newConfigCmd},
	{"version", func(f *cmdutil.Factory, _ *cmdutil.Globals) *cobra.Command { return newVersionCmd(f, nil) }},
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command { return newRootCmd(f, "") }

// newRootCmd builds the root and every top-level command, or only the one
// named only: a credential_process start then builds one branch of the tree
// instead of all of them (see docs/performance.md).
func newRootCmd(f *cmdutil.Factory, only string) *cobra.Command {
	g := &cmdutil.Globals{}
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
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return apperr.Usage(err, "see "+c.CommandPath()+" --help")
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", "", "profiles file (default $DAGSTER_OIDC_CONFIG or ~/.config/dagster-oidc/config.yaml)")
	pf.StringVarP(&g.Profile, "profile", "p", "", "profile to use (default $DAGSTER_OIDC_PROFILE or the file's default_profile)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "debug logs on stderr (tokens are never printed)")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		if v := f.Env.Get(env.Verbose); g.Verbose || v == "1" || v == "true" {
			f.Debug = debuglog.New(f.IO.ErrOut)
			f.Debug.Clock = f.Clock
		}
	}

	for _, c := range topCommands {
		if only == "" || c.name == only {
			root.AddCommand(c.build(f, g))
		}
	}
	if only != "" {
		// Unreachable when args name another command; cobra would build
		// it (four shells' subcommands) at every start.
		root.CompletionOptions.DisableDefaultCmd = true
	} else {
		root.InitDefaultCompletionCmd()
		registerCompletions(root, func() (*config.File, error) { return g.Config(f) }, func() string { return g.ProfileName(f) })
	}
	cmdutil.RefuseUnknownSubcommands(root)
	return root
}

// targetCommand returns the top-level command args run when that is plain
// without cobra: its first argument that is not a global flag (--config,
// --profile/-p, --verbose/-v) or a flag's value, when it names one of
// topCommands. Anything else (help, completion, an unknown command or flag)
// returns "", and the whole tree is built.
func targetCommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--config" || a == "--profile" || a == "-p":
			i++
		case a == "-v" || a == "--verbose" || strings.HasPrefix(a, "--verbose=") ||
			strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "--profile=") || (strings.HasPrefix(a, "-p") && len(a) > 2):
		case strings.HasPrefix(a, "-"):
			return ""
		default:
			for _, c := range topCommands {
				if c.name == a {
					return a
				}
			}
			return ""
		}
	}
	return ""
}

// Main runs the command line and returns the process exit code. It prints
// each error once, as "error: ..." plus the hint on the next line.
func Main(ctx context.Context, f *cmdutil.Factory, args []string) int {
	f.Args = args
	err := f.Env.Check()
	var cmd *cobra.Command // the command the arguments were given to
	if err != nil {
		err = apperr.Usage(err, "fix or unset the variable")
	} else {
		root := newRootCmd(f, targetCommand(args))
		root.SetArgs(args)
		cmd, err = root.ExecuteContextC(ctx)
	}
	if err == nil {
		return 0
	}
	var ee *credentials.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if apperr.HintOf(err) == "" && cmdutil.IsCobraUsage(err) {
		help := "see dagster-oidc --help"
		if cmd != nil {
			help = "see " + cmd.CommandPath() + " --help"
		}
		err = apperr.Usage(err, help)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(f.IO.ErrOut, "interrupted")
		return 130
	}
	// Errors quote IdP and STS answers: no terminal controls (issue 15.4).
	fmt.Fprintf(f.IO.ErrOut, "error: %s\n", termsafe.Lines(err.Error()))
	if hint := apperr.HintOf(err); hint != "" {
		fmt.Fprintf(f.IO.ErrOut, "%s\n", termsafe.Lines(hint))
	}
	return apperr.ExitCode(err)
}
