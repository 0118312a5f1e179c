//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestIssue18AllowListedClaimOnly: with audit.claims: [email], the trail and
// the syslog stream carry alice's email among the claims, and still none
// of her other personal values (the suite's personal-data check searches
// this world too, allowing the email only).
func TestIssue18AllowListedClaimOnly(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	w.writeConfig(fmt.Sprintf("audit:\n  syslog: tcp://%s\n  checkpoint_every: 1\n  claims: [email]\n", w.syslog.Addr()) + w.profile(""))
	w.login("alice")
	if _, stderr, code := w.run("token"); code != 0 {
		t.Fatalf("token: exit %d\n%s", code, stderr)
	}
	var alice sandbox.User
	for _, u := range w.sb.Users() {
		if u.ID == "alice" {
			alice = u
		}
	}
	trail := strings.Join(auditTrail(w.dir), "")
	if want := `"claims":{"email":"` + alice.Email + `"}`; !strings.Contains(trail, want) {
		t.Errorf("the trail lacks %s:\n%s", want, trail)
	}
	for _, v := range []string{`"` + alice.ID + `"`, alice.Name} {
		if strings.Contains(trail, v) {
			t.Errorf("the trail holds %s, which audit.claims does not allow:\n%s", v, trail)
		}
	}
	if !strings.Contains(strings.Join(w.syslog.Messages(), "\n"), alice.Email) {
		t.Error("no syslog message carries the allow-listed email")
	}
}
