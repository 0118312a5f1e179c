package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	ConfigPath string
	Profile    string
	Verbose    bool

	// cfg and cfgErr are the profiles file, read once (see config).
	cfg    *config.File
	cfgErr error
	loaded bool
}

// config reads the profiles file on first use; every command and
// completion of the process shares that one read.
func (g *globalOptions) config(f *Factory) (*config.File, error) {
	if !g.loaded {
		g.cfg, g.cfgErr = config.Load(f.Env.ConfigPath(g.ConfigPath))
		g.loaded = true
	}
	return g.cfg, g.cfgErr
}

// profileName returns --profile, else DAGSTER_OIDC_PROFILE ("" = the file's default).
func (g *globalOptions) profileName(f *Factory) string {
	if g.Profile != "" {
		return g.Profile
	}
	return f.Env.Get(env.Profile)
}

// topCommand is a top-level command, built on demand.
type topCommand struct {
	name  string
	build func(*Factory, *globalOptions) *cobra.Command
}

// topCommands are the top-level commands in help order.
var topCommands = []topCommand{
	{"login", func(f *Factory, g *globalOptions) *cobra.Command { return newLoginCmd(f, g, nil) }},
	{"logout", func(f *Factory, g *globalOptions) *cobra.Command { return newLogoutCmd(f, g, nil) }},
	{"status", func(f *Factory, g *globalOptions) *cobra.Command { return newStatusCmd(f, g, nil) }},
	{"token", func(f *Factory, g *globalOptions) *cobra.Command { return newTokenCmd(f, g, nil) }},
	{"explain", func(f *Factory, g *globalOptions) *cobra.Command { return newExplainCmd(f, g, nil) }},
	{"aws", newAWSCmd},
	{"gcp", newGCPCmd},
	{"exec", func(f *Factory, g *globalOptions) *cobra.Command { return newExecCmd(f, g, nil) }},
	{"proxy", func(f *Factory, g *globalOptions) *cobra.Command { return newProxyCmd(f, g, nil) }},
	{"audit", newAuditCmd},
	{"config", newConfigCmd},
	{"version", func(f *Factory, _ *globalOptions) *cobra.Command { return newVersionCmd(f, nil) }},
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command { return newRootCmd(f, "") }

// newRootCmd builds the root and every top-level command, or only the one
// named only: a credential_process start then builds one branch of the tree
// instead of all of them (see docs/performance.md).
func newRootCmd(f *Factory, only string) *cobra.Command {
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
		registerCompletions(root, func() (*config.File, error) { return g.config(f) }, func() string { return g.profileName(f) })
	}
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command that only groups others
// fail on an argument naming none of them. Cobra would print the group's
// help on stdout and exit 0, which a credential_process line then parses as
// JSON. Without arguments the group still prints its help.
func refuseUnknownSubcommands(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		}
	}
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
}

// unknownCommand is the usage error for a subcommand name that does not
// exist, with cobra's suggestions (edit distance 2, or a prefix).
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return apperr.Usage(errors.New(msg), "see "+cmd.CommandPath()+" --help")
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
func Main(ctx context.Context, f *Factory, args []string) int {
	f.Args = args
	err := f.Env.Check()
	if err != nil {
		err = apperr.Usage(err, "fix or unset the variable")
	} else {
		root := newRootCmd(f, targetCommand(args))
		root.SetArgs(args)
		err = root.ExecuteContext(ctx)
	}
	if err == nil {
		return 0
	}
	var ee *credentials.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if apperr.HintOf(err) == "" && isCobraUsage(err) {
		err = apperr.Usage(err, "see dagster-oidc --help")
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

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
