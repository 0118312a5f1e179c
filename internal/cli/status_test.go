package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), []byte(got))
}

func TestStatusGolden(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := newTestEnv(t, sandbox.Options{Clock: clock.Fake(now)})
	e.clock = clock.Fake(now.Add(10 * time.Minute))
	tok, err := e.sb.MintIDToken(map[string]any{
		"iss": "https://id.example.com", "aud": "dagster-cli", "sub": "00u1abcd",
		"email": "alice@example.com", "groups": []string{"data-eng"},
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, "token.jwt")
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig(fmt.Sprintf(`profiles:
  k8s:
    environment: prod
    issuer: https://id.example.com
    audience: dagster-cli
    flow: file
    verify: "off"
    workload: {path: %s}
`, path))
	norm := func(s string) string { return strings.ReplaceAll(s, e.dir, "$DIR") }

	out, stderr, code := e.run("status")
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, stderr)
	}
	golden(t, "status/workload.txt", norm(out))
	out, _, _ = e.run("status", "--format", "json")
	golden(t, "status/workload.json", norm(out))

	// A person's login, from the sandbox.
	e.writeConfig(fmt.Sprintf(`profiles:
  dev:
    issuer: %s
    client_id: %s
    flow: device
    cache: file
`, e.sb.Issuer(), e.sb.ClientID()))
	// The sandbox's logins are stamped with the real time.
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|\d+h\d+m\d+s`)
	norm = func(s string) string {
		s = strings.NewReplacer(e.dir, "$DIR", e.sb.Issuer(), "$ISSUER", e.sb.ClientID(), "$CLIENT").Replace(s)
		return stamp.ReplaceAllString(s, "$$TIME")
	}
	out, _, _ = e.run("status")
	golden(t, "status/logged-out.txt", norm(out))
	e.login("alice")
	out, _, _ = e.run("status")
	golden(t, "status/logged-in.txt", norm(out))
	out, _, _ = e.run("status", "--format", "json")
	golden(t, "status/logged-in.json", norm(out))
}
