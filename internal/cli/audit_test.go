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

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/syslogtest"
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
	if code != 0 || !strings.Contains(out, "keyed chain intact from its genesis record") {
		t.Errorf("audit verify: exit %d %s %s", code, out, stderr)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines[2] = strings.Replace(lines[2], `"outcome":"ok"`, `"outcome":"error"`, 1)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = e.run("audit", "verify")
	if code != 4 || !strings.Contains(stderr, "audit.jsonl: line 3: its MAC does not match") {
		t.Errorf("edited trail: exit %d, stderr %q (want line 3 named: its MAC no longer matches)", code, stderr)
	}
}

// auditSessionHash is the session_hash e's trail holds for name.
func auditSessionHash(t *testing.T, e *testEnv, name string) string {
	t.Helper()
	key, err := audit.InstallationKey(e.env["DAGSTER_OIDC_CACHE_DIR"], false)
	if err != nil {
		t.Fatalf("audit key: %v", err)
	}
	return audit.SessionHash(key, name)
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
	auditHash  = regexp.MustCompile(`"(prev|mac|subject_hash|session_hash)":"[0-9a-f]+"`)
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

// issue15Trail logs alice in and serves tokens until the audit file,
// rotating at maxBytes, has rotated at least once (maxBytes > 0), and
// returns the live file's path.
func issue15Trail(t *testing.T, maxBytes int) (*testEnv, string) {
	t.Helper()
	e := newTestEnv(t, sandbox.Options{})
	cfg := readFile(t, e.config)
	e.writeConfig(strings.Replace(cfg, "default_profile: sandbox\n", fmt.Sprintf("default_profile: sandbox\naudit:\n  max_bytes: %d\n", maxBytes), 1))
	e.login("alice")
	path := filepath.Join(e.dir, "state", "audit.jsonl")
	for i := 0; i < 3 || (maxBytes > 0 && !fileExists(path+".1")); i++ {
		mustRun(t, e, "token")
		if i > 50 {
			t.Fatal("the audit file never rotated")
		}
	}
	if out, stderr, code := e.run("audit", "verify"); code != 0 {
		t.Fatalf("audit verify of the intact trail: exit %d: %s%s", code, out, stderr)
	}
	return e, path
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// dropFirstLine removes the first line of path.
func dropFirstLine(t *testing.T, path string) {
	t.Helper()
	_, rest, _ := strings.Cut(readFile(t, path), "\n")
	if err := os.WriteFile(path, []byte(rest), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue 15.3: `audit verify` passed a trail whose first line was removed.
func TestIssue15AuditVerifyCommandFailsWithoutFirstLine(t *testing.T) {
	e, path := issue15Trail(t, 0)
	dropFirstLine(t, path)
	_, stderr, code := e.run("audit", "verify")
	if code != 4 || !strings.Contains(stderr, "line 1: the trail does not start with its genesis or continuation record: its first lines were removed") {
		t.Errorf("audit verify: exit %d, stderr %q; want 4 and line 1 named", code, stderr)
	}
}

// Issue 15.3: `audit verify` passed a rotated trail whose continuation
// record was removed.
func TestIssue15AuditVerifyCommandFailsWithoutContinuationRecord(t *testing.T) {
	e, path := issue15Trail(t, 2000)
	if !strings.HasPrefix(readFile(t, path), `{"v":2,"time":`) || !strings.Contains(strings.SplitN(readFile(t, path), "\n", 2)[0], `"event":"audit_continued"`) {
		t.Fatalf("the live file does not start with a continuation record:\n%s", readFile(t, path))
	}
	dropFirstLine(t, path)
	_, stderr, code := e.run("audit", "verify")
	if code != 4 || !strings.Contains(stderr, "audit.jsonl: line 1: does not start with a continuation record of "+path+".1") {
		t.Errorf("audit verify: exit %d, stderr %q; want 4 and the missing continuation named", code, stderr)
	}
}

// Issue 15.3: an edited last line passed `audit verify`, and so did a
// trail whose links were all recomputed.
func TestIssue15AuditVerifyCommandFailsOnEditedLine(t *testing.T) {
	e, path := issue15Trail(t, 0)
	lines := strings.SplitAfter(readFile(t, path), "\n")
	last := len(lines) - 2 // lines ends with ""
	lines[last] = strings.Replace(lines[last], `"outcome":"ok"`, `"outcome":"error"`, 1)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := e.run("audit", "verify")
	if code != 4 || !strings.Contains(stderr, fmt.Sprintf("audit.jsonl: line %d: its MAC does not match", last+1)) {
		t.Errorf("audit verify: exit %d, stderr %q; want 4 and line %d named", code, stderr, last+1)
	}
}

// Issue 18: a session name seen in CloudTrail (here: recorded by the
// sandbox's STS emulator) is matched back to its audit lines with the
// command docs/audit.md gives, while the trail holds no personal value.
func TestIssue18MatchSessionFindsTheExchange(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.addDataEngAWS()
	e.login("alice")
	mustRun(t, e, "aws", "credential-process")
	mustRun(t, e, "aws", "credential-process") // served from the cache
	sessions := e.sb.Stats().STSSessions
	if len(sessions) != 1 {
		t.Fatalf("STS sessions %+v, want one", sessions)
	}
	name := sessions[0].RoleSessionName
	if name != "alice@example.com" {
		t.Errorf("session name %q: outside a run the default names the person (docs/aws.md)", name)
	}
	trail := readFile(t, filepath.Join(e.dir, "state", "audit.jsonl"))
	for _, v := range []string{"alice@example.com", `"alice"`, "Alice Example"} {
		if strings.Contains(trail, v) {
			t.Errorf("the trail holds %s:\n%s", v, trail)
		}
	}
	out := mustRun(t, e, "audit", "tail", "-n", "0", "--match-session", name)
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != 3 || !strings.Contains(got[0], " exchange ok ") || !strings.Contains(got[1], " credential_served ok ") || !strings.Contains(got[2], " credential_served ok ") {
		t.Errorf("audit tail --match-session %s:\n%s\nwant the exchange and the two credentials served", name, out)
	}
	if out := mustRun(t, e, "audit", "tail", "--match-session", "bob@example.com"); out != "" {
		t.Errorf("another session matched:\n%s", out)
	}
}

// Issue 18 (docs/audit.md): --match-session searches the rotated files
// too, so an exchange logged before a rotation is still found.
func TestIssue18MatchSessionSearchesRotatedFiles(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.addDataEngAWS()
	e.writeConfig(strings.Replace(readFile(t, e.config), "default_profile: sandbox\n", "default_profile: sandbox\naudit:\n  max_bytes: 2000\n", 1))
	e.login("alice")
	mustRun(t, e, "aws", "credential-process")
	path := filepath.Join(e.dir, "state", "audit.jsonl")
	for i := 0; !strings.Contains(readFile(t, path), `"event":"audit_continued"`) || strings.Contains(readFile(t, path), `"event":"exchange"`); i++ {
		mustRun(t, e, "token")
		if i > 50 {
			t.Fatal("the exchange never rotated out of the live file")
		}
	}
	out := mustRun(t, e, "audit", "tail", "-n", "0", "--match-session", "alice@example.com")
	if got := strings.Split(strings.TrimSpace(out), "\n"); len(got) != 2 || !strings.Contains(got[0], " exchange ok ") || !strings.Contains(got[1], " credential_served ok ") {
		t.Errorf("audit tail --match-session after a rotation:\n%s\nwant the exchange and the credential served", out)
	}
}

// docs/audit.md: checkpoints sent to a syslog collector let `audit verify
// --checkpoints` catch lines cut off the end of the trail.
func TestAuditVerifyCheckpointsCatchACutTrail(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	collector := syslogtest.Start(t)
	cfg := readFile(t, e.config)
	e.writeConfig(strings.Replace(cfg, "default_profile: sandbox\n", "default_profile: sandbox\naudit:\n  syslog: tcp://"+collector.Addr()+"\n  checkpoint_every: 1\n", 1))
	e.login("alice")
	mustRun(t, e, "token")
	mustRun(t, e, "token")
	path := filepath.Join(e.dir, "state", "audit.jsonl")
	lines := strings.SplitAfter(readFile(t, path), "\n")
	lines = lines[:len(lines)-1]
	// Each event line is sent, then its checkpoint; the genesis record is not.
	msgs := collector.WaitFor(t, 2*(len(lines)-1), 10*time.Second)
	cpFile := filepath.Join(e.dir, "checkpoints.log")
	if err := os.WriteFile(cpFile, []byte(strings.Join(msgs, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, e, "audit", "verify", "--checkpoints", cpFile)
	if want := fmt.Sprintf("%d of %d checkpoints matched", len(lines)-1, len(lines)-1); !strings.Contains(out, want) {
		t.Errorf("audit verify --checkpoints: %s; want %q", out, want)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines[:len(lines)-1], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := e.run("audit", "verify"); code != 0 {
		t.Errorf("without checkpoints a cut end cannot be seen, yet audit verify: exit %d %s", code, stderr)
	}
	_, stderr, code := e.run("audit", "verify", "--checkpoints", cpFile)
	if code != 4 || !strings.Contains(stderr, "the end of the trail was cut off") {
		t.Errorf("audit verify --checkpoints of the cut trail: exit %d, %s", code, stderr)
	}
}

// Without the audit key there is no chain to write: the command still
// works, says so once, and syslog still gets the event.
func TestAuditWithoutKeyStillReachesSyslog(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	collector := syslogtest.Start(t)
	cfg := readFile(t, e.config)
	e.writeConfig(strings.Replace(cfg, "default_profile: sandbox\n", "default_profile: sandbox\naudit:\n  syslog: tcp://"+collector.Addr()+"\n", 1))
	// A file where the key's directory belongs: the key cannot be stored.
	if err := os.MkdirAll(e.env["DAGSTER_OIDC_CACHE_DIR"], 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.env["DAGSTER_OIDC_CACHE_DIR"], "audit-key"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.login("alice")
	_, stderr, code := e.run("token")
	if code != 0 || strings.Count(stderr, "warning: no audit file and no subject hashes: ") != 1 || !strings.Contains(stderr, "stderr and syslog still get the events") {
		t.Errorf("token: exit %d, stderr %q; want 0 and one warning", code, stderr)
	}
	// The login's events may be all that has arrived when the token
	// command returns: wait for the token's own.
	collector.WaitUntil(t, "the token_served event", func(msgs []string) bool {
		return strings.Contains(strings.Join(msgs, "\n"), `"event":"token_served"`)
	}, 10*time.Second)
	if fileExists(filepath.Join(e.dir, "state", "audit.jsonl")) {
		t.Error("an audit file was written without a key")
	}
}
