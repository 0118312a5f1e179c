package policy

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/expr-lang/expr"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

// explainHint is the hint on every refusal.
const explainHint = "run: dagster-oidc explain (shows the claims and why each rule did or did not match)"

// Evaluate runs the rules against in and chooses a target.
//
// Rules outside in.Environment are skipped; the others are compiled and run
// in order, all of them, so the decision lists every outcome. A matching
// deny rule refuses outright. want selects among the allowed targets (see
// Decision.Target); it matches a target exactly or by its last "/" segment,
// so "data-eng" selects arn:aws:iam::123456789012:role/data-eng. "" takes
// the first match.
//
// Refusals (a deny rule, no match, want not allowed, a deny rule that could
// not be evaluated) are wrapped with apperr.Denied and list each rule and
// why it failed. A rule that does not compile fails the decision with a
// plain error: the configuration is broken. The Decision is returned with
// its outcomes in every case, for explain.
func Evaluate(rules []Rule, in Input, want string) (*Decision, error) {
	d := &Decision{Outcomes: make([]Outcome, 0, len(rules))}
	env := vars{
		Claims: in.Claims,
		Run:    runVars{ID: in.Run.ID, Job: in.Run.Job, Location: in.Run.Location},
		Env:    in.Environment,
	}
	if env.Claims == nil {
		env.Claims = map[string]any{}
	}
	var denied *Outcome
	var broken error
	for i, r := range rules {
		o := Outcome{Index: i, Target: r.Target, When: r.When, Deny: r.Deny}
		matched, reason, err := evalRule(r, env)
		o.Matched, o.Reason = matched, reason
		d.Outcomes = append(d.Outcomes, o)
		switch {
		case err != nil && broken == nil:
			broken = fmt.Errorf("rule %d: %w", i+1, err)
		case r.Deny && (matched || strings.HasPrefix(reason, "error: ")) && denied == nil:
			// A deny rule that could not be evaluated refuses too: fail closed.
			denied = &d.Outcomes[len(d.Outcomes)-1]
		case matched && !r.Deny && !contains(d.Allowed, r.Target):
			d.Allowed = append(d.Allowed, r.Target)
		}
	}
	if broken != nil {
		d.Allowed = nil
		return d, apperr.New(apperr.KindError, fmt.Errorf("could not evaluate the role rules: %w", broken), "run: dagster-oidc config validate")
	}
	if denied != nil {
		d.Allowed = nil
		return d, apperr.Denied(fmt.Errorf("rule %d denies access (%s)", denied.Index+1, denied.Reason), explainHint)
	}
	if len(d.Allowed) == 0 {
		return d, apperr.Denied(fmt.Errorf("no rule grants a target: %s", d.summary()), explainHint)
	}
	if want == "" {
		d.Target = d.Allowed[0]
		return d, nil
	}
	if contains(d.Allowed, want) {
		d.Target = want
		return d, nil
	}
	var picked []string
	for _, t := range d.Allowed {
		if lastSegment(t) == want {
			picked = append(picked, t)
		}
	}
	switch len(picked) {
	case 1:
		d.Target = picked[0]
		return d, nil
	case 0:
		return d, apperr.Denied(fmt.Errorf("%q is not among the allowed targets (%s): %s",
			want, strings.Join(d.Allowed, ", "), d.summary()), explainHint)
	default:
		return d, apperr.Usage(fmt.Errorf("%q matches several allowed targets (%s)", want, strings.Join(picked, ", ")),
			"give the full role ARN or service account")
	}
}

// evalRule applies one rule. err is set only when the rule does not
// compile; a runtime failure is a reason starting "error: ".
func evalRule(r Rule, env vars) (matched bool, reason string, err error) {
	if r.Environment != "" && r.Environment != env.Env {
		got := env.Env
		if got == "" {
			got = "(none)"
		}
		return false, fmt.Sprintf("environment %s != %s", r.Environment, got), nil
	}
	c, err := compileRule(r)
	if err != nil {
		return false, "error: " + err.Error(), err
	}
	if c.program == nil {
		return true, "matched (no condition)", nil
	}
	missing := absent(env.Claims, c.claims)
	falseReason := "condition false"
	if why := falseDetail(missing, c.run, env.Run); why != "" {
		falseReason += " (" + why + ")"
	}
	out, runErr := expr.Run(c.program, env)
	if runErr != nil {
		if len(missing) > 0 {
			return false, falseReason, nil
		}
		msg := flatten(runErr).Error()
		if m := castErrorRE().FindStringSubmatch(msg); m != nil {
			// AsBool's cast of a claim's value that is not a bool.
			return false, "error: condition yields " + m[1] + ", not bool", nil
		}
		return false, "error: " + msg, nil
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Sprintf("error: condition yields %T, not bool", out), nil
	}
	if !b {
		return false, falseReason, nil
	}
	return true, "matched", nil
}

// castErrorRE matches the run-time error of expr.AsBool's cast,
// "invalid operation: bool(string) (1:1)".
var castErrorRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^invalid operation: bool\((.+)\) \(\d+:\d+\)$`) })

// falseDetail says why a condition may be false: the claims it reads that
// are absent, and the values of the run fields it reads (run.job is
// "weekly_report"), or "" when there is nothing to add.
func falseDetail(missing, runFields []string, run runVars) string {
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, absentText(missing))
	}
	values := map[string]string{"id": run.ID, "job": run.Job, "location": run.Location}
	for _, f := range runFields {
		if v := values[f]; v != "" {
			parts = append(parts, fmt.Sprintf("run.%s is %q", f, v))
		} else {
			parts = append(parts, "run."+f+" is empty")
		}
	}
	return strings.Join(parts, ", ")
}

func absentText(names []string) string {
	if len(names) == 1 {
		return "claim " + names[0] + " is absent"
	}
	return "claims " + strings.Join(names, ", ") + " are absent"
}

// summary lists each rule and why it did not grant, on one line.
func (d *Decision) summary() string {
	parts := make([]string, 0, len(d.Outcomes))
	for _, o := range d.Outcomes {
		label := o.Target
		if o.Deny {
			label = "deny"
		}
		parts = append(parts, fmt.Sprintf("rule %d (%s): %s", o.Index+1, label, o.Reason))
	}
	if len(parts) == 0 {
		return "no rules are configured"
	}
	return strings.Join(parts, "; ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lastSegment is the part of a target after its last "/" (a role name).
func lastSegment(target string) string {
	return target[strings.LastIndex(target, "/")+1:]
}
