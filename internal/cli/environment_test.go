package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestEnvironmentSeparation: a token made for dev is never used for prod,
// even from the same IdP, and cached tokens never cross profiles.
func TestEnvironmentSeparation(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	path := filepath.Join(e.dir, "token.jwt")
	e.writeConfig(fmt.Sprintf(`profiles:
  dev:
    environment: dev
    issuer: %[1]s
    audience: dagster-dev
    flow: file
    verify: required
    workload: {path: %[2]s}
  prod:
    environment: prod
    issuer: %[1]s
    audience: dagster-prod
    flow: file
    verify: required
    workload: {path: %[2]s}
`, e.sb.Issuer(), path))
	write := func(aud any, azp ...string) string {
		claims := map[string]any{"aud": aud, "sub": "system:serviceaccount:dagster:run"}
		if len(azp) > 0 {
			// Several audiences need an azp (OpenID Connect Core §3.1.3.7).
			claims["azp"] = azp[0]
		}
		tok, err := e.sb.MintIDToken(claims, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		return tok
	}

	devTok := write("dagster-dev")
	out, stderr, code := e.run("token", "--profile", "dev")
	if code != 0 || strings.TrimSpace(out) != devTok {
		t.Fatalf("dev token: exit %d %s", code, stderr)
	}
	// The same dev token presented to prod: refused, and dev's cached token
	// is not served to prod either.
	out, stderr, code = e.run("token", "--profile", "prod")
	if code != 4 || out != "" || !strings.Contains(stderr, `does not include "dagster-prod"`) {
		t.Errorf("dev token under prod: exit %d stdout %q stderr %q", code, out, stderr)
	}
	// A token minted for both audiences is refused by prod as another environment's.
	write([]any{"dagster-prod", "dagster-dev"}, "dagster-prod")
	_, stderr, code = e.run("token", "--profile", "prod")
	if code != 4 || !strings.Contains(stderr, `its audience "dagster-dev" belongs to profile "dev" of environment "dev", not to environment "prod"`) {
		t.Errorf("two-audience token under prod: exit %d stderr %q", code, stderr)
	}
	if st, _, _ := e.run("status", "--profile", "prod", "--format", "json"); !strings.Contains(st, `"logged_in": false`) {
		t.Errorf("prod has a cached token after refusals: %s", st)
	}
	// dev reads the platform's file again (workload tokens are never
	// stored): the two-audience token is prod's as much as dev's.
	write([]any{"dagster-prod", "dagster-dev"}, "dagster-dev")
	_, stderr, code = e.run("token", "--profile", "dev")
	if code != 4 || !strings.Contains(stderr, `its audience "dagster-prod" belongs to profile "prod" of environment "prod"`) {
		t.Errorf("two-audience token under dev: exit %d stderr %q", code, stderr)
	}
}
