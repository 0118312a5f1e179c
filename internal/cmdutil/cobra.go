package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

// RunE is the RunE of a leaf command whose flags bind into o (a command
// with arguments stores them in o first, then calls it): each check runs
// first (a flag's value), then runF when a test gave one (to capture o),
// else run.
func RunE[O any](o *O, runF, run func(context.Context, *O) error, checks ...func() error) func(*cobra.Command, []string) error {
	if runF != nil {
		run = runF
	}
	return func(cmd *cobra.Command, _ []string) error {
		for _, check := range checks {
			if err := check(); err != nil {
				return err
			}
		}
		return run(cmd.Context(), o)
	}
}

// RefuseUnknownSubcommands makes every command under c that only groups
// others fail on an argument naming none of them. Cobra would print the
// group's help on stdout and exit 0, which a credential_process line then
// parses as JSON. Without arguments the group still prints its help.
func RefuseUnknownSubcommands(c *cobra.Command) {
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
		RefuseUnknownSubcommands(sub)
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

// IsCobraUsage reports whether err is one of cobra's or pflag's own usage
// errors (an unknown command or flag, a wrong argument count, a bad flag
// value), which carry no hint of ours.
func IsCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
