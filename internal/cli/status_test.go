package cli

import (
	"fmt"
	"os"
	"path/filepath"
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
	golden(t, "status/logged-out.txt", norm(out))

	if _, stderr, code := e.run("token"); code != 0 {
		t.Fatalf("token exit %d: %s", code, stderr)
	}
	out, _, _ = e.run("status")
	golden(t, "status/logged-in.txt", norm(out))
	out, _, _ = e.run("status", "--output", "json")
	golden(t, "status/logged-in.json", norm(out))
}
