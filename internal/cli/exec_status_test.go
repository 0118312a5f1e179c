package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// readExecStatus decodes a --status-file document.
func readExecStatus(t *testing.T, data []byte) credentials.ExecStatus {
	t.Helper()
	var st credentials.ExecStatus
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("status file is not JSON: %v: %s", err, data)
	}
	return st
}

// TestExecStatusFile: what a run launcher reads from `exec --status-file`:
// while the child runs, its pid and the identity it got; then its exit
// code; or, when exec refused to start it, the exit code, kind, message and
// hint exec printed.
func TestExecStatusFile(t *testing.T) {
	// exec writes the running state once the child has started, so the
	// child waits for it (exec's own timeout bounds the wait).
	const waitRunning = `until grep -q '"state":"running"' "$EXEC_STATUS" 2>/dev/null; do sleep 0.01; done; `
	tests := []struct {
		name      string
		login     bool
		script    string
		job       string
		program   string
		wantCode  int
		wantState string
		wantKind  string
		wantErr   string
		gcp       bool // --gcp only, with the profile's gcp section
	}{
		{name: "success", login: true, script: waitRunning + `cat "$EXEC_STATUS"; echo "pid=$$"`, job: execJob, wantCode: 0, wantState: credentials.ExecStateExited},
		{name: "child fails", login: true, script: waitRunning + `cat "$EXEC_STATUS"; echo "pid=$$"; exit 42`, job: execJob, wantCode: 42, wantState: credentials.ExecStateExited},
		{name: "child killed", login: true, script: waitRunning + `cat "$EXEC_STATUS"; echo "pid=$$"; kill -TERM $$`, job: execJob, wantCode: 128 + 15, wantState: credentials.ExecStateExited},
		{name: "job no rule allows", login: true, script: "exit 0", job: "nightly_export", wantCode: 4, wantState: credentials.ExecStateRefused, wantKind: "denied", wantErr: "no rule grants"},
		{name: "gcp only", login: true, gcp: true, script: waitRunning + `cat "$EXEC_STATUS"; echo "pid=$$"`, job: execJob, wantCode: 0, wantState: credentials.ExecStateExited},
		{name: "not logged in", script: "exit 0", job: execJob, wantCode: 3, wantState: credentials.ExecStateRefused, wantKind: "login_required"},
		{name: "command not found", login: true, program: "/nonexistent/dagster", job: execJob, wantCode: 127, wantState: credentials.ExecStateRefused, wantErr: "command exited with code 127"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := []string{"exec"}
			extra := ""
			if tt.gcp {
				flags = append(flags, "--gcp")
				extra = fmt.Sprintf("    gcp:\n      audience: %s\n      service_account: %s\n", gcpTestAudience, gcpTestSA)
			}
			e := newExecEnv(t, extra)
			if tt.login {
				e.login("alice")
			}
			status := filepath.Join(t.TempDir(), "run", "status.json")
			setEnv(e, execKept, map[string]string{"EXEC_STATUS": status})
			child := execChild(t, tt.script, execRunID, tt.job)
			if tt.program != "" {
				child[0] = tt.program
			}
			var out bytes.Buffer
			r := execCLI(e, nil, &out, append(append(flags, "--status-file", status, "--"), child...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.wantCode, r.stderr)
			}
			data, err := os.ReadFile(status)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(status); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("status file mode %v (%v), want 0600", fi.Mode(), err)
			}
			for _, secret := range e.sb.IssuedSecrets() {
				if strings.Contains(string(data), secret.Value) {
					t.Fatalf("the status file holds a %s", secret.Kind)
				}
			}
			st := readExecStatus(t, data)
			if st.V != 1 || st.State != tt.wantState || st.ExitCode != tt.wantCode || st.Kind != tt.wantKind {
				t.Errorf("status %s; want state %s, exit_code %d, kind %q", data, tt.wantState, tt.wantCode, tt.wantKind)
			}
			if tt.wantState == credentials.ExecStateRefused {
				if !strings.Contains(st.Error, tt.wantErr) || st.PID != 0 {
					t.Errorf("refusal %s, want an error naming %q and no pid", data, tt.wantErr)
				}
				return
			}
			// While it ran, the child saw the running state with its own pid.
			before, pidLine, _ := strings.Cut(out.String(), "pid=")
			running := readExecStatus(t, []byte(before))
			pid, _ := strconv.Atoi(strings.TrimSpace(pidLine))
			if running.State != credentials.ExecStateRunning || running.PID != pid || pid == 0 || st.PID != pid {
				t.Errorf("the child saw %s as pid %d; final %s", before, pid, data)
			}
			id := st.Identity
			if id == nil {
				t.Fatalf("no identity in %s", data)
			}
			if id.Profile != "sandbox" || id.Source != "device" || id.Issuer != e.sb.Issuer() || len(id.SubjectHash) != 32 ||
				id.TokenExpiry.IsZero() || id.RunID != execRunID || id.JobName != execJob {
				t.Errorf("identity %+v; want profile sandbox, source device, the issuer, a subject hash, the token's expiry, run %s of %s", id, execRunID, execJob)
			}
			if tt.gcp {
				if !id.GCP || id.GCPServiceAccount != gcpTestSA || id.AWSRole != "" {
					t.Errorf("identity %+v; want GCP as %s and no AWS role", id, gcpTestSA)
				}
			} else if id.AWSRole != sandbox.DemoDataEngRoleARN || id.AWSSession == "" || id.AWSExpiry.IsZero() || id.GCP {
				t.Errorf("identity %+v; want the data-eng role, a session and its expiry, no GCP", id)
			}
			if strings.Contains(string(data), "alice") {
				t.Errorf("the status file names the subject instead of its hash: %s", data)
			}
		})
	}
}
