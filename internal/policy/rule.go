package policy

// Rule grants (or, with Deny, refuses) a target when its condition holds.
type Rule struct {
	// Target is the role ARN or service account the rule grants. It must be
	// set on an allow rule and empty on a deny rule.
	Target string
	// When is an expr-lang/expr expression over `claims` (the ID token's
	// claims, map[string]any), `run` (run.id, run.job, run.location) and
	// `env` (the profile's environment name). It must yield a bool. An empty
	// When always holds.
	When string
	// Environment, when set, limits the rule to that environment.
	Environment string
	// Deny makes a matching rule refuse the whole decision, whatever other
	// rules grant.
	Deny bool
}

// Run is the Dagster run the credentials are for; empty outside `exec`.
type Run struct {
	ID       string
	Job      string
	Location string
}

// Input is what the rules are evaluated against.
type Input struct {
	// Claims are the verified ID token's claims as decoded from JSON.
	Claims map[string]any
	// Run is the Dagster run, if any.
	Run Run
	// Environment is the profile's environment name.
	Environment string
}

// Outcome is what one rule did in a decision.
type Outcome struct {
	// Index is the rule's position in the rules slice, from 0. Messages
	// number rules from 1 ("rule 1" is Index 0), as a user counts them.
	Index int
	// Target is the rule's target ("" for a deny rule).
	Target string
	// When is the rule's condition.
	When string
	// Deny is true for a deny rule.
	Deny bool
	// Matched is true when the rule applied and its condition held.
	Matched bool
	// Reason says why: "matched", "condition false", "condition false
	// (claim groups is absent)", "environment prod != dev", "error: ...".
	Reason string
}

// Decision is the result of evaluating the rules.
type Decision struct {
	// Target is the chosen target: the requested one if allowed, else the
	// first allowed; "" when refused.
	Target string
	// Allowed are the targets of all matching allow rules, in rule order,
	// without duplicates; nil when a deny rule matched.
	Allowed []string
	// Outcomes has one entry per rule, in rule order.
	Outcomes []Outcome
}

// vars is the expression environment. A struct, not a map, so that a typo
// such as `run.jobs` or `claim.groups` fails at compile time.
type vars struct {
	Claims map[string]any `expr:"claims"`
	Run    runVars        `expr:"run"`
	Env    string         `expr:"env"`
}

type runVars struct {
	ID       string `expr:"id"`
	Job      string `expr:"job"`
	Location string `expr:"location"`
}
