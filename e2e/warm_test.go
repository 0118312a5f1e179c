//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestWarmFrontServesTheSameCallAndRunsTheFullBinaryOtherwise drives
// dagster-oidc-cached against the sandbox and MinIO's STS: dagster-oidc
// called directly exchanges and saves no record; the front's first call
// runs it (from the cache, one record), a repeated call is
// answered by the front alone (proved by the full binary no longer being
// executable), and every change that could change the answer makes the
// front run the full binary again. The trail the two binaries write
// together verifies with its syslog checkpoints when the world ends.
func TestWarmFrontServesTheSameCallAndRunsTheFullBinaryOtherwise(t *testing.T) {
	a := newAWSWorld(t)
	a.login("alice")
	full, front := privateBinaries(t)
	call := func(env map[string]string) (string, string, int) {
		t.Helper()
		out, stderr, code := a.tool(env, front, "aws", "credential-process")
		ledger.addOutput(t.Name()+": dagster-oidc-cached (stdout)", out, true)
		ledger.addOutput(t.Name()+": dagster-oidc-cached (stderr)", stderr, false)
		return out, stderr, code
	}

	records := func() int {
		found, err := filepath.Glob(filepath.Join(a.env["DAGSTER_OIDC_CACHE_DIR"], "warm", "*.entry"))
		if err != nil {
			t.Fatal(err)
		}
		return len(found)
	}
	direct, stderr, code := a.tool(nil, full, "aws", "credential-process")
	if code != 0 {
		t.Fatalf("dagster-oidc aws credential-process: exit %d\n%s", code, stderr)
	}
	ledger.addOutput(t.Name()+": dagster-oidc (stdout)", direct, true)
	a.wantSTSCalls(1, "after the first call")
	if n := records(); n != 0 {
		t.Errorf("dagster-oidc called directly saved %d records, want none", n)
	}

	first, stderr, code := call(nil)
	if code != 0 {
		t.Fatalf("first call through the front: exit %d\n%s", code, stderr)
	}
	creds := decodeProcessCredentials(t, first)
	if first != direct {
		t.Errorf("through the front, dagster-oidc printed\n%s\ncalled directly\n%s", first, direct)
	}
	a.wantSTSCalls(1, "after the front's first call")
	if n := records(); n != 1 {
		t.Fatalf("the full binary, run by the front, left %d records, want 1", n)
	}

	if err := os.Chmod(full, 0o644); err != nil {
		t.Fatal(err)
	}
	again, stderr, code := call(nil)
	if code != 0 || stderr != "" {
		t.Fatalf("repeated call with the full binary not executable: exit %d, stderr %q; want the front to answer alone", code, stderr)
	}
	if again != first {
		t.Errorf("the front printed\n%s\nthe full binary\n%s", again, first)
	}

	for _, c := range []struct {
		name string
		env  map[string]string
		edit func()
	}{
		{name: "another Dagster run", env: map[string]string{"DAGSTER_RUN_ID": "0a1b2c3d-other"}},
		{name: "another profile variable", env: map[string]string{"DAGSTER_OIDC_PROFILE": "sandbox"}},
		{name: "the profiles file edited", edit: func() {
			f, err := os.OpenFile(a.config, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString("# edited\n"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		if c.edit != nil {
			c.edit()
		}
		if _, stderr, code := call(c.env); code == 0 || !strings.Contains(stderr, "could not run "+full) {
			t.Errorf("%s: exit %d, stderr %q; want the front to run the full binary", c.name, code, stderr)
		}
	}

	if err := os.Chmod(full, 0o755); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := call(nil)
	if code != 0 {
		t.Fatalf("after the profiles file changed: exit %d\n%s", code, stderr)
	}
	if got := decodeProcessCredentials(t, out); got.AccessKeyId != creds.AccessKeyId {
		t.Errorf("the full binary exchanged again (%s, was %s): the cached credentials still had their life", got.AccessKeyId, creds.AccessKeyId)
	}
	a.wantSTSCalls(1, "after every call")

	// The audit lines of the full binary and of the front say the same.
	served := servedLines(t, filepath.Join(a.dir, "state", "audit.jsonl"))
	if len(served) != 4 {
		t.Fatalf("%d credential_served lines, want 4 (dagster-oidc, dagster-oidc run by the front, the front, dagster-oidc run by the front)", len(served))
	}
	for _, k := range []string{"event", "outcome", "profile", "source", "issuer", "role", "session_hash", "credential_expiry"} {
		for i := 1; i < len(served); i++ {
			if served[i][k] == nil || served[i][k] != served[0][k] {
				t.Errorf("audit %s: line %d says %v, the first %v", k, i, served[i][k], served[0][k])
			}
		}
	}
}

// privateBinaries copies both binaries into a directory of the test's own,
// so that taking the full one's execute bit away touches no other test.
func privateBinaries(t *testing.T) (full, front string) {
	t.Helper()
	dir := t.TempDir()
	full, front = filepath.Join(dir, "dagster-oidc"), filepath.Join(dir, "dagster-oidc-cached")
	for src, dst := range map[string]string{bin.cli: full, bin.front: front} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return full, front
}

// TestWarmFrontServesTheIDTokenAsDagsterOIDCDoes: `token` and `token
// --format json` through the front print what dagster-oidc prints, the
// repeated call answered by the front alone, with the same token_served
// audit line.
func TestWarmFrontServesTheIDTokenAsDagsterOIDCDoes(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	w.login("alice")
	full, front := privateBinaries(t)
	run := func(bin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := w.command(ctx, bin, args...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, errOut.String())
		}
		ledger.addOutput(t.Name()+": "+filepath.Base(bin)+" "+strings.Join(args, " ")+" (stdout)", out.String(), true)
		ledger.addOutput(t.Name()+": "+filepath.Base(bin)+" "+strings.Join(args, " ")+" (stderr)", errOut.String(), false)
		return out.String()
	}
	for _, args := range [][]string{{"token"}, {"token", "--format", "json"}} {
		direct := run(full, args...)
		if first := run(front, args...); first != direct { // runs dagster-oidc, which saves a record
			t.Errorf("%v through the front:\n%s\ndagster-oidc:\n%s", args, first, direct)
		}
		if err := os.Chmod(full, 0o644); err != nil {
			t.Fatal(err)
		}
		if again := run(front, args...); again != direct {
			t.Errorf("%v answered by the front alone:\n%s\ndagster-oidc:\n%s", args, again, direct)
		}
		if err := os.Chmod(full, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	served := eventLines(t, filepath.Join(w.dir, "state", "audit.jsonl"), "token_served")
	if len(served) != 6 {
		t.Fatalf("%d token_served lines, want 6 (dagster-oidc, dagster-oidc run by the front, the front; twice)", len(served))
	}
	for _, k := range []string{"outcome", "profile", "source", "issuer", "subject_hash", "credential_expiry"} {
		for i := 1; i < len(served); i++ {
			if served[i][k] == nil || served[i][k] != served[0][k] {
				t.Errorf("audit %s: line %d says %v, the first %v", k, i, served[i][k], served[0][k])
			}
		}
	}
}

// servedLines are the credential_served lines of the audit file at path.
func servedLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	return eventLines(t, path, "credential_served")
}

// eventLines are the lines of the audit file at path of one event.
func eventLines(t *testing.T, path, event string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		if m["event"] == event {
			out = append(out, m)
		}
	}
	return out
}
