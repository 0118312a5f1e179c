package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestAuditTrailGolden runs a login, a refresh, an exchange, a policy
// denial and a verification failure, and pins the audit lines they leave.
func TestAuditTrailGolden(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{RotateRefreshTokens: true})
	tokenPath := filepath.Join(e.dir, "forged.jwt")
	config := func(margin string) string {
		return fmt.Sprintf(`default_profile: sandbox
audit:
  claims: [email]
profiles:
  sandbox:
    environment: dev
    issuer: %[1]s
    client_id: %[2]s
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
    refresh_margin: %[3]s
    aws:
      region: us-east-1
      sts_endpoint: %[1]s/sts
      session_name: "{{run_id}}"
      roles:
        - role_arn: arn:aws:iam::000000000000:role/data-eng
          when: "'data-eng' in claims.groups"
  forged:
    environment: dev
    issuer: %[1]s
    audience: %[2]s
    flow: file
    verify: required
    workload: {path: %[4]s}
`, e.sb.Issuer(), e.sb.ClientID(), margin, tokenPath)
	}
	e.writeConfig(config("2m"))
	e.env["DAGSTER_RUN_ID"] = "8b6c2f3e-0d2a-4f6e-9c1b-5a7d3e2f1a00"
	e.env["DAGSTER_RUN_JOB_NAME"] = "etl_daily"

	e.login("alice")                           // login
	e.writeConfig(config("24h"))               // make the cached token due
	mustRun(t, e, "token")                     // refresh, token_served
	e.writeConfig(config("2m"))                //
	mustRun(t, e, "aws", "credential-process") // exchange, credential_served
	if _, _, code := e.run("aws", "credential-process", "--role", "arn:aws:iam::000000000000:role/admin"); code != 4 {
		t.Fatalf("policy denial exit %d", code) // policy_denied
	}
	forged, err := e.sb.MintIDToken(map[string]any{"aud": "someone-else"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenPath, []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, code := e.run("token", "--profile", "forged"); code != 4 { // login error (refused token)
		t.Fatalf("forged token exit %d", code)
	}

	path := filepath.Join(e.dir, "state", "audit.jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v, want 0600", fi.Mode().Perm())
	}
	// Subject hashes: one person, one hash.
	hashes := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if h, ok := m["subject_hash"].(string); ok {
			hashes[h] = true
		}
	}
	if len(hashes) != 1 {
		t.Errorf("alice has %d subject hashes: %v", len(hashes), hashes)
	}
	golden(t, "audit/trail.jsonl", strings.ReplaceAll(normalizeAudit(string(data), e.sb.Issuer()), e.dir, "$DIR"))

	// No token or secret of the run in the trail.
	for _, secret := range []string{forged, strings.Split(forged, ".")[1]} {
		if strings.Contains(string(data), secret) {
			t.Error("the audit trail holds a token")
		}
	}

	out, stderr, code := e.run("audit", "verify")
	if code != 0 || !strings.Contains(out, "hash chain intact") {
		t.Errorf("audit verify: exit %d %s %s", code, out, stderr)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines[2] = strings.Replace(lines[2], `"outcome":"ok"`, `"outcome":"error"`, 1)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = e.run("audit", "verify")
	if code != 4 || !strings.Contains(stderr, "line 4") {
		t.Errorf("edited trail: exit %d, stderr %q (want line 4 named: its prev no longer matches line 3)", code, stderr)
	}
}

func mustRun(t *testing.T, e *testEnv, args ...string) string {
	t.Helper()
	out, stderr, code := e.run(args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return out
}

var (
	auditTime  = regexp.MustCompile(`"(time|credential_expiry)":"[^"]+"`)
	auditHash  = regexp.MustCompile(`"(prev|subject_hash)":"[0-9a-f]+"`)
	auditKeyID = regexp.MustCompile(`ASIA[A-Z0-9]{16}`)
)

// normalizeAudit replaces what changes from run to run.
func normalizeAudit(s, issuer string) string {
	s = strings.ReplaceAll(s, issuer, "ISSUER")
	s = auditTime.ReplaceAllString(s, `"$1":"T"`)
	s = auditHash.ReplaceAllString(s, `"$1":"H"`)
	return auditKeyID.ReplaceAllString(s, "ASIA…")
}

// TestAuditSinkDownStillServes: with the syslog collector unreachable, the
// credential path still works, the file sink still gets the event, and the
// failure is reported once on stderr.
func TestAuditSinkDownStillServes(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.login("alice")
	cfg := readFile(t, e.config)
	e.writeConfig(strings.Replace(cfg, "default_profile: sandbox\n", "default_profile: sandbox\naudit:\n  syslog: tcp://127.0.0.1:1\n", 1))
	start := time.Now()
	out, stderr, code := e.run("token")
	if code != 0 || strings.Count(out, ".") != 2 {
		t.Fatalf("token with syslog down: exit %d %s", code, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a down syslog collector slowed the token by %s", d)
	}
	if n := strings.Count(stderr, "audit sink syslog"); n != 1 {
		t.Errorf("failure reported %d times:\n%s", n, stderr)
	}
	trail := readFile(t, filepath.Join(e.dir, "state", "audit.jsonl"))
	if !strings.Contains(trail, `"event":"token_served"`) {
		t.Errorf("the file sink lost the event:\n%s", trail)
	}
}
