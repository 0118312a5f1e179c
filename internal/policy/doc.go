// Package policy decides which target (an AWS role ARN or a GCP service
// account) a verified identity may use, from ordered rules whose conditions
// are github.com/expr-lang/expr expressions over the token's claims, the
// Dagster run and the profile's environment.
//
// Rules are compiled only when a decision is needed (and by Compile for
// `config validate`), so commands that never reach the policy do not pay for
// it. A condition that reads a claim the token does not carry evaluates to
// false with a reason naming the claim instead of failing. Every decision
// keeps one Outcome per rule, which the explain command prints.
package policy
