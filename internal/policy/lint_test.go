package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIssue16_10_ListComparedWithString: a list claim compared with a
// string gets a warning; membership tests and other claims do not.
func TestIssue16_10_ListComparedWithString(t *testing.T) {
	rules := []Rule{
		{Target: "a", When: "claims.groups == 'data-eng'"},
		{Target: "b", When: "'data-eng' in claims.groups"},
		{Target: "c", When: "claims.email == 'a@example.com' && 'x' != claims.roles"},
		{Target: "d"},
		{Target: "e", When: "claims.org.groups == 'x'"},
	}
	want := []string{
		"rule 1: claims.groups == 'data-eng' compares a list claim with a string and is never true for a list; write: 'data-eng' in claims.groups",
		"rule 3: claims.roles != 'x' compares a list claim with a string and is always true for a list; write: 'x' not in claims.roles",
	}
	if d := cmp.Diff(want, Lint(rules)); d != "" {
		t.Errorf("Lint (-want +got):\n%s", d)
	}
}

// TestIssue16_10_RuleNotBoolean: a condition whose result is known not to
// be a bool (nil included) is refused when the rules compile.
func TestIssue16_10_RuleNotBoolean(t *testing.T) {
	for when, want := range map[string]string{
		"nil":               `rule 1: condition "nil" yields unknown, not bool`,
		"run.job":           `rule 1: condition "run.job" yields string, not bool`,
		"len(claims.x) + 1": `rule 1: condition "len(claims.x) + 1" yields int, not bool`,
	} {
		err := Compile([]Rule{{Target: "a", When: when}})
		if err == nil || err.Error() != want {
			t.Errorf("Compile(%q) = %v, want %q", when, err, want)
		}
	}
}

// TestIssue16_16_FalseConditionNamesTheRun: a false condition that reads
// the run says what the run was, so a refusal in a pod log explains itself.
func TestIssue16_16_FalseConditionNamesTheRun(t *testing.T) {
	rules := []Rule{
		{Target: "arn:aws:iam::123456789012:role/etl", When: "run.job == 'etl_daily'"},
		{Target: "arn:aws:iam::123456789012:role/report", When: "run.job in ['weekly_report'] && run.location == 'analytics'"},
	}
	_, err := Evaluate(rules, Input{Claims: map[string]any{"sub": "system:serviceaccount:dagster:runs"}, Run: Run{ID: "r1", Job: "kpi_refresh"}}, "")
	want := `no rule grants a target: rule 1 (arn:aws:iam::123456789012:role/etl): condition false (run.job is "kpi_refresh"); ` +
		`rule 2 (arn:aws:iam::123456789012:role/report): condition false (run.job is "kpi_refresh", run.location is empty)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
