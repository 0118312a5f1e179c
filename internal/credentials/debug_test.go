package credentials

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
)

// TestIssue18_DebugLinesOfAnExchangeNameNoOne: the -v lines of an AWS
// exchange (rule outcomes, one quoting the email; cache decisions) hold no
// value of alice's personal claims and not the session name made of them,
// unless audit.claims allows the claim (sub: never).
func TestIssue18_DebugLinesOfAnExchangeNameNoOne(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		// kept must appear in the lines; cut must not.
		kept, cut []string
	}{
		{name: "nothing allowed", cut: []string{"alice"}, kept: []string{"int([personal])"}},
		// The fake's sub is "alice": it is cut even inside the allowed email.
		{name: "email allowed, sub never", allow: []string{"email", "sub"}, cut: []string{"alice"}, kept: []string{"int([personal]@example.com)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var buf bytes.Buffer
			h.s.Debug = debuglog.New(&buf)
			h.s.Debug.AllowClaims(tt.allow)
			h.s.Profile.AWS.SessionName = "{{email}}"
			h.s.Profile.AWS.Roles = append([]config.RoleRule{{RoleARN: "arn:aws:iam::123456789012:role/odd", When: "int(claims.email) > 0"}}, h.s.Profile.AWS.Roles...)
			if _, err := h.s.AWSCredentials(t.Context(), AWSRequest{Run: policy.Run{Job: "etl"}}); err != nil {
				t.Fatal(err)
			}
			if got := h.aws.calls[0].SessionName; got != "alice@example.com" {
				t.Fatalf("session name %q: the exchange must still get the person", got)
			}
			lines := buf.String()
			if !strings.Contains(lines, "policy role rule 1 (arn:aws:iam::123456789012:role/odd): error: invalid operation: int(") {
				t.Fatalf("no rule outcome line:\n%s", lines)
			}
			for _, v := range tt.cut {
				if strings.Contains(lines, v) {
					t.Errorf("lines hold %q:\n%s", v, lines)
				}
			}
			for _, v := range tt.kept {
				if !strings.Contains(lines, v) {
					t.Errorf("lines lack %q:\n%s", v, lines)
				}
			}
		})
	}
}
