package policy

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"

	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

const (
	roleEng    = "arn:aws:iam::123456789012:role/data-eng"
	roleETL    = "arn:aws:iam::123456789012:role/etl-daily-writer"
	roleAdmin  = "arn:aws:iam::123456789012:role/admin"
	roleEngDev = "arn:aws:iam::210987654321:role/data-eng"
)

func testInput() Input {
	return Input{
		Claims: map[string]any{
			"sub":    "alice",
			"email":  "alice@example.com",
			"groups": []any{"data-eng", "analysts"},
			"org":    map[string]any{"team": "platform"},
			"level":  float64(3),
			"nick":   nil,
		},
		Run:         Run{ID: "0f3e6c1a-5d7b-4c2e-9a8f-1b2c3d4e5f60", Job: "etl_daily", Location: "pipelines"},
		Environment: "dev",
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		name, when  string
		environment string
		wantMatched bool
		wantReason  string
	}{
		{"membership", "'data-eng' in claims.groups", "", true, "matched"},
		{"membership false", "'admins' in claims.groups", "", false, "condition false"},
		{"absent list", "'x' in claims.roles", "", false, "condition false (claim roles is absent)"},
		{"absent string operator", "claims.nickname endsWith 'x'", "", false, "condition false (claim nickname is absent)"},
		{"null claim", "claims.nick startsWith 'a'", "", false, "condition false (claim nick is absent)"},
		{"absent parent", "claims.missing.team == 'x'", "", false, "condition false (claim missing is absent)"},
		{"absent child", "claims.org.unit == 'x'", "", false, "condition false (claim org.unit is absent)"},
		{"two absent", "claims.a == 'x' || claims['b'] == 'y'", "", false, "condition false (claims a, b are absent)"},
		{"absent in a length", "len(claims.roles) > 0", "", false, "condition false (claim roles is absent)"},
		{"negated membership over absent claim", "!('admins' in claims.roles)", "", true, "matched"},
		{"nested present", "claims.org.team == 'platform'", "", true, "matched"},
		{"optional chaining", "claims?.org?.team == 'platform'", "", true, "matched"},
		{"index syntax", "claims['email'] endsWith '@example.com'", "", true, "matched"},
		{"number claim", "claims.level >= 2", "", true, "matched"},
		{"run context", "run.job == 'etl_daily' && run.location == 'pipelines' && len(run.id) == 36", "", true, "matched"},
		{"environment variable", "env == 'dev'", "", true, "matched"},
		{"any builtin", "any(claims.groups, # startsWith 'data-')", "", true, "matched"},
		{"regex", "claims.email matches '^[a-z]+@example[.]com$'", "", true, "matched"},
		{"non-bool at run time", "claims.email", "", false, "error: condition yields string, not bool"},
		{"index out of range on a present claim", "claims.groups[5] == 'x'", "", false, "error: "},
		{"no condition", "", "", true, "matched (no condition)"},
		{"environment mismatch", "true", "prod", false, "environment prod != dev"},
		{"environment match", "true", "dev", true, "matched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := Evaluate([]Rule{{Target: roleEng, When: tt.when, Environment: tt.environment}}, testInput(), "")
			o := d.Outcomes[0]
			if o.Matched != tt.wantMatched || !strings.HasPrefix(o.Reason, tt.wantReason) {
				t.Errorf("outcome = %v %q, want %v %q", o.Matched, o.Reason, tt.wantMatched, tt.wantReason)
			}
			if tt.wantReason == "error: " && strings.Contains(o.Reason, "\n") {
				t.Errorf("reason is not one line: %q", o.Reason)
			}
		})
	}
}

func TestEnvironmentNone(t *testing.T) {
	in := testInput()
	in.Environment = ""
	d, err := Evaluate([]Rule{{Target: roleEng, Environment: "prod"}}, in, "")
	if err == nil || d.Outcomes[0].Reason != "environment prod != (none)" {
		t.Errorf("reason = %q, err = %v", d.Outcomes[0].Reason, err)
	}
}

func TestEvaluate(t *testing.T) {
	rules := []Rule{
		{Target: roleEng, When: "'data-eng' in claims.groups"},
		{Target: roleETL, When: "'data-eng' in claims.groups && run.job == 'etl_daily'"},
		{Target: roleAdmin, When: "'admins' in claims.groups"},
		{Target: roleEng, When: "claims.email endsWith '@example.com'"}, // duplicate target
		{Target: roleEngDev, When: "true", Environment: "prod"},
	}
	tests := []struct {
		name        string
		rules       []Rule
		mutate      func(*Input)
		want        string
		wantTarget  string
		wantAllowed []string
		wantKind    apperr.Kind // checked when wantErr is set
		wantErr     string
	}{
		{name: "first match", rules: rules, wantTarget: roleEng, wantAllowed: []string{roleEng, roleETL}},
		{name: "want by ARN", rules: rules, want: roleETL, wantTarget: roleETL, wantAllowed: []string{roleEng, roleETL}},
		{name: "want by role name", rules: rules, want: "etl-daily-writer", wantTarget: roleETL, wantAllowed: []string{roleEng, roleETL}},
		{
			name: "want not allowed", rules: rules, want: roleAdmin, wantAllowed: []string{roleEng, roleETL},
			wantKind: apperr.KindDenied,
			wantErr:  `"arn:aws:iam::123456789012:role/admin" is not among the allowed targets`,
		},
		{
			name:  "want ambiguous by name",
			rules: []Rule{{Target: roleEng}, {Target: roleEngDev}}, want: "data-eng",
			wantAllowed: []string{roleEng, roleEngDev}, wantKind: apperr.KindUsage,
			wantErr: `"data-eng" matches several allowed targets`,
		},
		{
			name: "want exact beats ambiguous name", rules: []Rule{{Target: roleEng}, {Target: roleEngDev}},
			want: roleEngDev, wantTarget: roleEngDev, wantAllowed: []string{roleEng, roleEngDev},
		},
		{
			name: "environment selects", rules: rules, mutate: func(in *Input) { in.Environment = "prod"; in.Claims = map[string]any{} },
			wantTarget: roleEngDev, wantAllowed: []string{roleEngDev},
		},
		{
			name: "no match lists every rule", rules: rules, mutate: func(in *Input) { in.Claims = map[string]any{"sub": "bob"} },
			wantKind: apperr.KindDenied,
			wantErr: "no rule grants a target: rule 1 (" + roleEng + "): condition false (claim groups is absent); " +
				"rule 2 (" + roleETL + "): condition false (claim groups is absent, run.job is \"etl_daily\"); " +
				"rule 3 (" + roleAdmin + "): condition false (claim groups is absent); " +
				"rule 4 (" + roleEng + "): condition false (claim email is absent); " +
				"rule 5 (" + roleEngDev + "): environment prod != dev",
		},
		{
			name:     "deny wins over an earlier allow",
			rules:    append([]Rule{{Deny: true, When: "claims.email endsWith '@example.com' && env == 'dev'"}}, rules...),
			wantKind: apperr.KindDenied, wantErr: "rule 1 denies access (matched)",
		},
		{
			name:       "deny that does not match",
			rules:      append(rules[:1:1], Rule{Deny: true, When: "'contractors' in claims.groups"}),
			wantTarget: roleEng, wantAllowed: []string{roleEng},
		},
		{
			name:     "deny rule that fails at run time fails closed",
			rules:    append(rules[:1:1], Rule{Deny: true, When: "claims.groups[9] == 'x'"}),
			wantKind: apperr.KindDenied, wantErr: "rule 2 denies access (error: ",
		},
		{
			name:     "rule that does not compile breaks the decision",
			rules:    append(rules[:1:1], Rule{Target: roleETL, When: "claims.groups contains"}),
			wantKind: apperr.KindError, wantErr: "could not evaluate the role rules: rule 2: could not compile condition",
		},
		{name: "no rules", rules: nil, wantKind: apperr.KindDenied, wantErr: "no rule grants a target: no rules are configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput()
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			d, err := Evaluate(tt.rules, in, tt.want)
			if len(d.Outcomes) != len(tt.rules) {
				t.Errorf("outcomes = %d, want one per rule (%d)", len(d.Outcomes), len(tt.rules))
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if k := apperr.KindOf(err); k != tt.wantKind {
					t.Errorf("kind = %v, want %v", k, tt.wantKind)
				}
				if apperr.HintOf(err) == "" {
					t.Error("refusal has no hint")
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if d.Target != tt.wantTarget {
				t.Errorf("target = %q, want %q", d.Target, tt.wantTarget)
			}
			if diff := cmp.Diff(tt.wantAllowed, d.Allowed); diff != "" {
				t.Errorf("allowed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateNilClaims(t *testing.T) {
	d, err := Evaluate([]Rule{{Target: roleEng, When: "'x' in claims.groups"}}, Input{}, "")
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindDenied {
		t.Fatalf("err = %v, want denied", err)
	}
	if got := d.Outcomes[0].Reason; got != "condition false (claim groups is absent)" {
		t.Errorf("reason = %q", got)
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name    string
		rules   []Rule
		wantErr []string // one per bad rule, in order; nil means valid
	}{
		{name: "valid", rules: []Rule{{Target: roleEng, When: "'a' in claims.groups"}, {Deny: true, When: "env == 'x'"}, {Target: roleETL}}},
		{name: "syntax error names the rule", rules: []Rule{{Target: roleEng}, {Target: roleETL, When: "claims.groups contains"}},
			wantErr: []string{`rule 2: could not compile condition "claims.groups contains"`}},
		{name: "unknown variable", rules: []Rule{{Target: roleEng, When: "'a' in claim.groups"}},
			wantErr: []string{"rule 1: could not compile condition", "unknown name claim"}},
		{name: "unknown run field", rules: []Rule{{Target: roleEng, When: "run.jobs == 'x'"}},
			wantErr: []string{"rule 1: could not compile condition"}},
		{name: "non-bool", rules: []Rule{{Target: roleEng, When: "1 + 2"}},
			wantErr: []string{"rule 1: condition \"1 + 2\" yields int, not bool"}},
		{name: "deny with target", rules: []Rule{{Target: roleEng, Deny: true}},
			wantErr: []string{"rule 1: a deny rule refuses every target; remove its target"}},
		{name: "allow without target", rules: []Rule{{When: "true"}, {Target: " "}},
			wantErr: []string{"rule 1: no target", "rule 2: no target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Compile(tt.rules)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("err = nil")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "rule ") {
					t.Errorf("error line %q does not name its rule", line)
				}
			}
		})
	}
}

func TestExplainGolden(t *testing.T) {
	rules := []Rule{
		{Target: roleEng, When: "'data-eng' in claims.groups"},
		{Target: roleETL, When: "'data-eng' in claims.groups &&\n  run.job == 'etl_daily'"},
		{Target: roleAdmin, When: "'x' in claims.roles"},
		{Deny: true, When: "claims.email endsWith '@contractor.example'"},
		{Target: roleEngDev, Environment: "prod"},
	}
	tests := []struct {
		name, want, golden string
		mutate             func(*Input)
	}{
		{name: "allowed", want: "etl-daily-writer", golden: "explain_allowed.golden"},
		{name: "refused", golden: "explain_refused.golden", mutate: func(in *Input) {
			in.Claims["email"] = "bob@contractor.example"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput()
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			d, _ := Evaluate(rules, in, tt.want)
			var buf bytes.Buffer
			if err := d.Explain(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, buf.Bytes())
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func BenchmarkEvaluate(b *testing.B) {
	rules := []Rule{
		{Target: roleAdmin, When: "'admins' in claims.groups"},
		{Target: roleEng, When: "'data-eng' in claims.groups"},
		{Target: roleETL, When: "'data-eng' in claims.groups && run.job == 'etl_daily'"},
		{Deny: true, When: "claims.email endsWith '@contractor.example'"},
		{Target: roleEngDev, Environment: "prod"},
	}
	in := testInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(rules, in, ""); err != nil {
			b.Fatal(err)
		}
	}
}
