package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
)

// flagValues are the fixed values of enumerated flags, by command path
// (without the root) and flag name, for shell completion.
var flagValues = map[string][]string{
	"status --format":    {"text", "json"},
	"status --output":    {"text", "json"},
	"token --format":     {"raw", "json"},
	"aws env --format":   output.EnvFormats,
	"gcp token --format": {output.GCPFormatRaw, output.GCPFormatJSON},
	"exec --aws-mode":    {"server", "token-file"},
}

// registerCompletions gives shell completion the values of --profile (the
// config file's profiles), --flow (the source registry), --role and
// --service-account (the targets of the profile's rules) and of the
// enumerated flags above, on every command that has them.
func registerCompletions(root *cobra.Command, f *Factory, g *globalOptions) {
	_ = root.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, err := g.config(f)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return cfg.ProfileNames(), cobra.ShellCompDirectiveNoFileComp
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		for name, values := range map[string]func() []string{
			"flow":            flow.FlowNames,
			"role":            func() []string { return ruleTargets(f, g, roleTargets) },
			"service-account": func() []string { return ruleTargets(f, g, serviceAccountTargets) },
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

// fixedCompletion completes a flag with what values returns.
func fixedCompletion(values func() []string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values(), cobra.ShellCompDirectiveNoFileComp
	}
}

// ruleTargets lists what targets returns for the selected profile.
func ruleTargets(f *Factory, g *globalOptions, targets func(*config.Profile) []string) []string {
	cfg, err := g.config(f)
	if err != nil {
		return nil
	}
	p, err := cfg.Profile(g.profileName(f))
	if err != nil {
		return nil
	}
	return targets(p)
}

// roleTargets are the role ARNs of the profile's allow rules.
func roleTargets(p *config.Profile) []string {
	var out []string
	if p.AWS != nil {
		for _, r := range p.AWS.Roles {
			if !r.Deny && r.RoleARN != "" {
				out = append(out, r.RoleARN)
			}
		}
	}
	return out
}

// serviceAccountTargets are the service accounts of the profile's allow
// rules, or its plain service_account.
func serviceAccountTargets(p *config.Profile) []string {
	var out []string
	if p.GCP != nil {
		for _, r := range p.GCP.ServiceAccounts {
			if !r.Deny && r.ServiceAccount != "" {
				out = append(out, r.ServiceAccount)
			}
		}
		if len(p.GCP.ServiceAccounts) == 0 && p.GCP.ServiceAccount != "" {
			out = append(out, p.GCP.ServiceAccount)
		}
	}
	return out
}
