package session

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
)

// TestIssue18_TokenClaimsReachTheDebugLogger: whether a token comes from a
// login or from the cache, its personal claims are cut from every later
// debug line (a rule outcome quoting the subject, here).
func TestIssue18_TokenClaimsReachTheDebugLogger(t *testing.T) {
	tests := []struct {
		name string
		// warm serves the second Token call, from the cache, to a fresh logger.
		warm bool
	}{
		{name: "login"},
		{name: "cache hit", warm: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			var buf bytes.Buffer
			h.m.Debug = debuglog.New(&buf)
			if _, err := h.m.Token(t.Context()); err != nil {
				t.Fatal(err)
			}
			if tt.warm {
				buf.Reset()
				h.m.Debug = debuglog.New(&buf)
				res, err := h.m.Token(t.Context())
				if err != nil || !res.FromCache {
					t.Fatalf("second Token: %+v %v", res, err)
				}
			}
			h.m.Debug.Printf("policy role rule 1 (x): error: invalid operation: int(alice) (1:1)")
			lines := buf.String()
			if !strings.Contains(lines, "int([personal])") || strings.Contains(lines, "alice") {
				t.Errorf("lines:\n%s", lines)
			}
		})
	}
}
