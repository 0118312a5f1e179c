package authz

import (
	"slices"

	"github.com/dagster-oidc/dagster-oidc/internal/policy"
)

// Rule grants a role, on every code location or the listed ones, when its
// condition (the expr language of internal/policy) holds; a Deny rule
// refuses every role.
type Rule struct {
	Role        Role
	Locations   []string
	When        string
	Environment string
	Deny        bool
}

// PolicyRules are the rules in internal/policy's form: the target of each
// is its role's name.
func PolicyRules(rules []Rule) []policy.Rule {
	out := make([]policy.Rule, len(rules))
	for i, r := range rules {
		out[i] = policy.Rule{When: r.When, Environment: r.Environment, Deny: r.Deny}
		if !r.Deny {
			out[i].Target = r.Role.String()
		}
	}
	return out
}

// Decide evaluates the rules against an identity's verified claims and
// returns every grant of a matching rule. No matching rule, or a matching
// deny rule, is no grant at all (and a denial in the error, as in
// policy.Evaluate); a rule that does not compile is a plain error. The
// decision is returned in every case, for explain.
func Decide(rules []Rule, claims map[string]any, environment string) (Grants, *policy.Decision, error) {
	d, err := policy.Evaluate(PolicyRules(rules), policy.Input{Claims: claims, Environment: environment}, "")
	if err != nil {
		return nil, d, err
	}
	var g Grants
	for _, o := range d.Outcomes {
		r := rules[o.Index]
		if !o.Matched || r.Deny {
			continue
		}
		var locs []string
		if r.Locations != nil {
			locs = slices.Clone(r.Locations)
		}
		g = append(g, Grant{Role: r.Role, Locations: locs})
	}
	return g, d, nil
}
