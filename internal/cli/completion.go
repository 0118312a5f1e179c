package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
)

// flagValues are the fixed values of enumerated flags, by command path
// (without the root) and flag name: what shell completion offers and the
// only values checkValue accepts.
var flagValues = map[string][]string{
	"status --format":    {"text", "json"},
	"status --output":    {"text", "json"},
	"token --format":     {"raw", "json"},
	"aws env --format":   output.EnvFormats,
	"gcp token --format": {output.GCPFormatRaw, output.GCPFormatJSON},
	"exec --aws-mode":    {"server", "token-file"},
}

// registerCompletions gives shell completion the values of --profile (the
// profiles of the file read returns), --flow (the source registry), --role
// and --service-account (the targets of the rules of the profile that
// profile names) and of the enumerated flags above, on every command that
// has them.
func registerCompletions(root *cobra.Command, read func() (*config.File, error), profile func() string) {
	_ = root.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, err := read()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return cfg.ProfileNames(), cobra.ShellCompDirectiveNoFileComp
	})
	targets := func(of func(*config.Profile) []string) func() []string {
		return func() []string {
			cfg, err := read()
			if err != nil {
				return nil
			}
			p, err := cfg.Profile(profile())
			if err != nil {
				return nil
			}
			return of(p)
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		for name, values := range map[string]func() []string{
			"flow":            flow.FlowNames,
			"role":            targets((*config.Profile).RoleTargets),
			"service-account": targets((*config.Profile).ServiceAccountTargets),
		} {
			if c.LocalFlags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fixedCompletion(values))
			}
		}
		for key, values := range flagValues {
			if p, name, _ := strings.Cut(key, " --"); p == path {
				_ = c.RegisterFlagCompletionFunc(name, fixedCompletion(func() []string { return values }))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// checkValue is nil when flagValues lists value for key ("token --format"),
// else the usage error that names the values the flag takes.
func checkValue(key, value string) error {
	values := flagValues[key]
	if slices.Contains(values, value) {
		return nil
	}
	_, name, _ := strings.Cut(key, " --")
	list := strings.Join(values, ", ")
	if i := strings.LastIndex(list, ", "); i >= 0 {
		list = list[:i] + " or " + list[i+2:]
	}
	return apperr.Usage(fmt.Errorf("unknown --%s %q (%s)", name, value, list), "")
}

// oneOf is the check that *value is one of the values flagValues lists
// for key (see checkValue).
func oneOf(key string, value *string) func() error {
	return func() error { return checkValue(key, *value) }
}

// fixedCompletion completes a flag with what values returns.
func fixedCompletion(values func() []string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values(), cobra.ShellCompDirectiveNoFileComp
	}
}
