package cli

import (
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestIssue16_10_ExplainChecksAsValidate: explain refuses what config
// validate refuses, with the same message, before it reads a token, and
// both warn about a list claim compared with a string.
func TestIssue16_10_ExplainChecksAsValidate(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	tests := []struct {
		name, aws, want string
	}{
		{"duration under STS's minimum", "      duration: 5m\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n",
			"profiles.sandbox.aws.duration: session duration 5m0s is outside STS's limits of 15m0s to 12h0m0s"},
		{"rule that is not a bool", "      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n          when: \"nil\"\n",
			`profiles.sandbox.aws.roles: rule 1: condition "nil" yields unknown, not bool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.writeConfig("profiles:\n  sandbox:\n    issuer: " + e.sb.Issuer() + "\n    client_id: " + e.sb.ClientID() + "\n    flow: device\n    aws:\n      region: us-east-1\n" + tt.aws)
			for _, args := range [][]string{{"config", "validate", "--offline"}, {"explain"}} {
				out, stderr, code := e.run(args...)
				if code != 2 || !strings.Contains(stderr, tt.want) || out != "" {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out, stderr, tt.want)
				}
			}
		})
	}
	e.writeConfig("profiles:\n  sandbox:\n    issuer: " + e.sb.Issuer() + "\n    client_id: " + e.sb.ClientID() + "\n    flow: device\n    scopes: [openid, email, groups, offline_access]\n    aws:\n      region: us-east-1\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n          when: \"claims.groups == 'data-eng'\"\n")
	const warning = "warning: profiles.sandbox.aws.roles: rule 1: claims.groups == 'data-eng' compares a list claim with a string and is never true for a list; write: 'data-eng' in claims.groups"
	if _, stderr, code := e.run("config", "validate", "--offline"); code != 0 || !strings.Contains(stderr, warning) {
		t.Errorf("validate: exit %d, stderr %q; want the warning %q", code, stderr, warning)
	}
	e.login("alice")
	if _, stderr, _ := e.run("explain"); !strings.Contains(stderr, warning) {
		t.Errorf("explain: stderr %q; want the warning %q", stderr, warning)
	}
}

// TestIssue16_8_HTTPTimeoutRefused: a DAGSTER_OIDC_HTTP_TIMEOUT that is not
// a duration in range stops every command with exit 2, before any request.
func TestIssue16_8_HTTPTimeoutRefused(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	for _, v := range []string{"banana", "0", "-1s"} {
		e.env["DAGSTER_OIDC_HTTP_TIMEOUT"] = v
		out, stderr, code := e.run("token")
		if code != 2 || out != "" || !strings.HasPrefix(stderr, "error: DAGSTER_OIDC_HTTP_TIMEOUT=") || !strings.Contains(stderr, "fix or unset the variable") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", v, code, out, stderr)
		}
	}
	if n := e.reqs.Load(); n != 0 {
		t.Errorf("%d requests made with a bad timeout", n)
	}
}
