package cli

import (
	"fmt"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
)

// awsRules converts a profile's role rules to policy rules.
func awsRules(p *config.Profile) []policy.Rule {
	if p.AWS == nil {
		return nil
	}
	rules := make([]policy.Rule, len(p.AWS.Roles))
	for i, r := range p.AWS.Roles {
		rules[i] = policy.Rule{Target: r.RoleARN, When: r.When, Environment: r.Environment, Deny: r.Deny}
	}
	return rules
}

// gcpRules converts a profile's service-account rules to policy rules; a
// plain service_account is one unconditional rule.
func gcpRules(p *config.Profile) []policy.Rule {
	if p.GCP == nil {
		return nil
	}
	var rules []policy.Rule
	for _, r := range p.GCP.ServiceAccounts {
		rules = append(rules, policy.Rule{Target: r.ServiceAccount, When: r.When, Environment: r.Environment, Deny: r.Deny})
	}
	if len(rules) == 0 && p.GCP.ServiceAccount != "" {
		rules = append(rules, policy.Rule{Target: p.GCP.ServiceAccount})
	}
	return rules
}

// compileRules compiles the named profiles' rules, naming profile and rule
// on error.
func compileRules(cfg *config.File, names []string) error {
	for _, name := range names {
		p := cfg.Profiles[name]
		if err := policy.Compile(awsRules(p)); err != nil {
			return fmt.Errorf("%s:%d: profiles.%s.aws.roles: %w", cfg.Path, cfg.Line("profiles."+name+".aws.roles"), name, err)
		}
		if err := policy.Compile(gcpRules(p)); err != nil {
			return fmt.Errorf("%s:%d: profiles.%s.gcp.service_accounts: %w", cfg.Path, cfg.Line("profiles."+name+".gcp"), name, err)
		}
	}
	return nil
}

// credentialKeys are the cache keys of the profile's cloud credentials:
// one document per cloud, holding every role, service account and job.
func (r *resolved) credentialKeys() []string {
	return []string{r.mgr.Key(cache.KindAWS), r.mgr.Key(cache.KindGCP)}
}

func outcomeOf(err error) string {
	if apperr.KindOf(err) == apperr.KindDenied {
		return "denied"
	}
	return "error"
}
