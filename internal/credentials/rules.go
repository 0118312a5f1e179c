package credentials

import (
	"fmt"
	"io"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/shellquote"
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

// CompileRules compiles the named profiles' rules, naming profile and rule
// on error.
func CompileRules(cfg *config.File, names []string) error {
	for _, name := range names {
		p := cfg.Profiles[name]
		if err := policy.Compile(awsRules(p)); err != nil {
			return fmt.Errorf("%s:%d: profiles.%s.aws.roles: %w", cfg.Path, cfg.Line("profiles."+name+".aws.roles"), name, err)
		}
		if err := policy.Compile(gcpRules(p)); err != nil {
			return fmt.Errorf("%s:%d: profiles.%s.gcp.service_accounts: %w", cfg.Path, cfg.Line("profiles."+name+".gcp"), name, err)
		}
		if p.Proxy != nil {
			if err := policy.Compile(authz.PolicyRules(p.Proxy.ProxyRules())); err != nil {
				return fmt.Errorf("%s:%d: profiles.%s.proxy.roles: %w", cfg.Path, cfg.Line("profiles."+name+".proxy.roles"), name, err)
			}
		}
	}
	return nil
}

// decide evaluates the rules for claims and records a refusal; what names
// the target kind in messages.
func (s *Service) decide(rules []policy.Rule, claims *flow.Claims, want string, run policy.Run, what string) (*policy.Decision, error) {
	d, err := s.evaluate(rules, claims, want, run, what)
	if err != nil {
		s.record(Record{Event: "policy_denied", Outcome: "denied", Claims: claims, Run: run, Err: err})
		if kindDenied(err) && (run.Job != "" || run.ID != "") {
			// Inside a run this is often the only line of the pod's log:
			// it names the run and the command that shows the decision.
			err = apperr.Denied(fmt.Errorf("run %s of job %q (code location %q) refused: %w", run.ID, run.Job, run.Location, err), "run: "+ExplainCommand(s.Profile.Name, run))
		}
	}
	return d, err
}

// ExplainCommand is the explain command line that shows the decision for
// run on profile.
func ExplainCommand(profile string, run policy.Run) string {
	args := []string{"dagster-oidc", "explain", "--profile", profile}
	if run.Job != "" {
		args = append(args, "--job", run.Job)
	}
	if run.Location != "" {
		args = append(args, "--location", run.Location)
	}
	if run.ID != "" {
		args = append(args, "--run-id", run.ID)
	}
	return shellquote.Join(args...)
}

func (s *Service) evaluate(rules []policy.Rule, claims *flow.Claims, want string, run policy.Run, what string) (*policy.Decision, error) {
	p := s.Profile
	d, err := policy.Evaluate(rules, policy.Input{Claims: claims.All, Run: run, Environment: p.Environment}, want)
	if d != nil && s.Debug != nil {
		// A rule's reason may quote a claim (a failed cast of the email).
		s.Debug.Claims(claims.All)
		for _, o := range d.Outcomes {
			s.Debug.Printf("policy %s rule %d (%s): %s", what, o.Index+1, ruleTarget(o), o.Reason)
		}
		s.Debug.Printf("policy %s: chosen %q", what, d.Target)
	}
	if err != nil {
		if apperr.KindOf(err) == apperr.KindDenied {
			return d, err
		}
		return d, apperr.Usage(fmt.Errorf("profile %q: %w", p.Name, err), "fix the rule, then run: dagster-oidc config validate")
	}
	if d.Target == "" {
		return d, apperr.Denied(fmt.Errorf("no %s rule of profile %q allows this identity", what, p.Name), "run: dagster-oidc explain --profile "+p.Name)
	}
	return d, nil
}

// ruleTarget names a rule's target for a debug line.
func ruleTarget(o policy.Outcome) string {
	if o.Deny {
		return "deny"
	}
	return o.Target
}

func kindDenied(err error) bool { return apperr.KindOf(err) == apperr.KindDenied }

// CheckProfiles makes the checks of the named profiles that config.Load
// leaves to the moment a rule is needed (so the cached path compiles
// nothing): every rule compiles to a bool, and prints notes and warnings
// (a short AWS refresh margin, a list claim compared with a string). config
// validate and explain run it, so both find the same problems.
func CheckProfiles(cfg *config.File, names []string, w io.Writer) error {
	if err := CompileRules(cfg, names); err != nil {
		return apperr.Usage(err, "")
	}
	for _, name := range names {
		p := cfg.Profiles[name]
		if a := p.AWS; a != nil {
			if advice := awssts.MarginAdvice(a.RefreshMargin.D()); advice != "" {
				fmt.Fprintf(w, "profile %s: note: %s\n", name, advice)
			}
		}
		for _, sec := range []struct {
			key   string
			rules []policy.Rule
		}{{"aws.roles", awsRules(p)}, {"gcp.service_accounts", gcpRules(p)}} {
			for _, warning := range policy.Lint(sec.rules) {
				fmt.Fprintf(w, "%s:%d: warning: profiles.%s.%s: %s\n", cfg.Path, cfg.Line("profiles."+name+"."+sec.key), name, sec.key, warning)
			}
		}
	}
	return nil
}
