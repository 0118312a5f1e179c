//go:build e2e

package e2e

// `dagster-oidc exec` wrapping a run worker end to end: the real binary
// runs a stand-in Dagster run worker (testdata/exec/dagster, Debian's
// /usr/bin/python3 with boto3 1.26 / botocore 1.29) that writes to MinIO
// with credentials from the loopback container endpoint, across several
// re-exchanges, and is stopped with SIGTERM through the wrapper; per-job
// roles on MinIO in role mode; the STS session name at the sandbox's STS
// emulator.
//
//	go test -tags e2e -run Exec ./e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

const (
	// execWorkerExitCode is what the worker exits with after SIGTERM.
	execWorkerExitCode = 7
	// execWantKeys is how many distinct access keys the worker must have
	// used before it is stopped: the first exchange plus three
	// re-exchanges, 30 s apart.
	execWantKeys = 4
	// execReaderClientID is MinIO's second role-mode OpenID client.
	execReaderClientID = "dagster-oidc-reader"
)

// execWorkerPath is the stand-in run worker, named like Dagster's console
// script so that exec reads the run from `dagster api execute_run <json>`.
func execWorkerPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "exec", "dagster"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newRunID returns a random UUID4, the form of Dagster run ids.
func newRunID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// executeRunArg returns the ExecuteRunArgs JSON of testdata/exec/name with
// the run id and job name filled in, on one line as a launcher passes it.
func executeRunArg(t *testing.T, name, runID, job string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "exec", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("__RUN_ID__", runID, "__JOB_NAME__", job).Replace(string(raw))
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.String()
}

// execWorkerArgs is `dagster-oidc exec [flags] -- /usr/bin/python3 .../dagster api execute_run <json>`.
func execWorkerArgs(t *testing.T, flags []string, argsFile, runID, job string) []string {
	t.Helper()
	args := append([]string{"exec"}, flags...)
	return append(args, "--", awsPython, execWorkerPath(t), "api", "execute_run", executeRunArg(t, argsFile, runID, job))
}

// execPrepare sets the world's environment for a worker: no AWS config or
// instance metadata to fall back on, and planted variables that would win
// over the container endpoint if exec did not remove them (boto3 fails on
// the unknown AWS_PROFILE, MinIO refuses the static keys).
func execPrepare(w *world, worker map[string]string) {
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(w.dir, "no-aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(w.dir, "no-aws", "credentials"),
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_ACCESS_KEY_ID":                      "AKIAPLANTEDSTATICKEY",
		"AWS_SECRET_ACCESS_KEY":                  "planted-secret",
		"AWS_PROFILE":                            "planted-profile",
		"AWS_ROLE_ARN":                           "arn:aws:iam::111111111111:role/planted-irsa",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            filepath.Join(w.dir, "no-such-token"),
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/planted",
	} {
		w.env[k] = v
	}
	for k, v := range worker {
		w.env[k] = v
	}
}

// workerEvent is one JSON line of the worker's stdout (see the worker's
// docstring).
type workerEvent struct {
	Event            string   `json:"event"`
	Boto3            string   `json:"boto3"`
	Botocore         string   `json:"botocore"`
	CredentialMethod string   `json:"credential_method"`
	N                int      `json:"n"`
	Key              string   `json:"key"`
	AccessKey        string   `json:"access_key"`
	Code             string   `json:"code"`
	Op               string   `json:"op"`
	OK               bool     `json:"ok"`
	Puts             int      `json:"puts"`
	Errors           []string `json:"errors"`
	AccessKeys       []string `json:"access_keys"`
	Listed           int      `json:"listed"`
	ShutdownPut      struct {
		OK        bool   `json:"ok"`
		AccessKey string `json:"access_key"`
		Code      string `json:"code"`
	} `json:"shutdown_put"`
}

// execProc is one running `dagster-oidc exec`.
type execProc struct {
	cmd    *exec.Cmd
	events chan workerEvent
	stderr *minioLog
}

// startExec starts dagster-oidc with args and streams the worker's events.
func startExec(t *testing.T, w *world, timeout time.Duration, args []string) *execProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := w.command(ctx, bin.cli, args...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &execProc{cmd: cmd, events: make(chan workerEvent, 256), stderr: &minioLog{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev workerEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = workerEvent{Event: "text", Code: sc.Text()}
			}
			p.events <- ev
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	return p
}

// wait collects the remaining events and returns the exit code.
func (p *execProc) wait(t *testing.T) ([]workerEvent, int) {
	t.Helper()
	var evs []workerEvent
	for ev := range p.events {
		evs = append(evs, ev)
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return evs, 0
	case errors.As(err, &ee) && ee.Exited():
		return evs, ee.ExitCode()
	default:
		t.Fatalf("dagster-oidc exec did not exit normally: %v\nstderr:\n%s", err, p.stderr)
		return nil, 0
	}
}

// runExec runs dagster-oidc exec to the end.
func runExec(t *testing.T, w *world, args []string) ([]workerEvent, string, int) {
	t.Helper()
	p := startExec(t, w, 2*time.Minute, args)
	evs, code := p.wait(t)
	return evs, p.stderr.String(), code
}

// execAuditLine is one audit line, the fields these tests read.
type execAuditLine struct {
	Event       string `json:"event"`
	Outcome     string `json:"outcome"`
	Role        string `json:"role"`
	SessionHash string `json:"session_hash"`
	RunID       string `json:"run_id"`
	JobName     string `json:"job_name"`
}

// execAudit reads $DAGSTER_OIDC_STATE_DIR/audit.jsonl, by event name.
func execAudit(t *testing.T, w *world) map[string][]execAuditLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(w.env["DAGSTER_OIDC_STATE_DIR"], "audit.jsonl"))
	if err != nil {
		t.Fatalf("no audit trail: %v", err)
	}
	out := map[string][]execAuditLine{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var a execAuditLine
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("audit line is not JSON: %v: %s", err, line)
		}
		out[a.Event] = append(out[a.Event], a)
	}
	return out
}

func TestExecRunWorkerOnMinIOAcrossRefreshes(t *testing.T) {
	start := time.Now()
	w := newWorld(t, sandbox.Options{}, "")
	m := startMinIO(t, w)
	// 15 minutes is STS's and MinIO's minimum; a margin of 14m30s makes
	// exec exchange again 30 s after each exchange, and botocore, which
	// refreshes credentials with less than 15 minutes left, asks the
	// endpoint on every use.
	w.writeConfig(w.profile(fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      duration: 15m
      refresh_margin: 14m30s
      roles:
        - role_arn: %s
          when: "'data-eng' in claims.groups && run.job == 'etl_daily'"
`, m.STS, minioRoleARN)))
	w.login("alice")
	runID := newRunID(t)
	execPrepare(w, map[string]string{
		"WORKER_MODE":      "loop",
		"WORKER_ENDPOINT":  m.URL,
		"WORKER_BUCKET":    "etl-daily",
		"WORKER_INTERVAL":  "3",
		"WORKER_EXIT_CODE": fmt.Sprint(execWorkerExitCode),
	})

	p := startExec(t, w, 3*time.Minute, execWorkerArgs(t, nil, "execute_run.json", runID, "etl_daily"))
	keys := map[string]bool{}
	var evs []workerEvent
	var signalled time.Time
	for ev := range p.events {
		evs = append(evs, ev)
		switch ev.Event {
		case "start":
			t.Logf("worker: boto3 %s, botocore %s, credentials from %q", ev.Boto3, ev.Botocore, ev.CredentialMethod)
		case "put":
			if !keys[ev.AccessKey] {
				keys[ev.AccessKey] = true
				t.Logf("put %d at %s: access key #%d", ev.N, time.Since(start).Round(time.Second), len(keys))
			}
		case "error", "text":
			t.Errorf("worker: %+v", ev)
		}
		if len(keys) >= execWantKeys && signalled.IsZero() {
			// Kubernetes deleting the run's pod: SIGTERM to PID 1, the wrapper.
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatalf("could not send SIGTERM to dagster-oidc: %v", err)
			}
			signalled = time.Now()
		}
	}
	_, code := p.wait(t)
	if signalled.IsZero() {
		t.Fatalf("the worker ended before using %d access keys (used %d):\nstderr:\n%s\n%s", execWantKeys, len(keys), p.stderr, m.proxy)
	}
	t.Logf("exit %d %s after SIGTERM; whole test %s", code, time.Since(signalled).Round(time.Millisecond), time.Since(start).Round(time.Second))
	if s := p.stderr.String(); strings.Contains(s, "error") || strings.Contains(s, "warning") {
		t.Errorf("dagster-oidc exec complained on stderr:\n%s", s)
	}
	if code != execWorkerExitCode {
		t.Errorf("dagster-oidc exec exited %d, want the worker's %d\nstderr:\n%s", code, execWorkerExitCode, p.stderr)
	}

	if evs[0].Event != "start" || evs[0].CredentialMethod != "container-role" {
		t.Errorf("first event %+v, want boto3 credentials from the container endpoint (container-role)", evs[0])
	}
	done := evs[len(evs)-1]
	if done.Event != "done" {
		t.Fatalf("last event %+v, want the worker's summary after SIGTERM", done)
	}
	if len(done.Errors) != 0 {
		t.Errorf("the worker saw errors: %v", done.Errors)
	}
	if !done.ShutdownPut.OK {
		t.Errorf("the write during shutdown failed (%s): the endpoint must answer until the worker exits", done.ShutdownPut.Code)
	}
	if len(done.AccessKeys) < execWantKeys || done.Listed != done.Puts+1 {
		t.Errorf("summary: %d puts with %d access keys, %d objects listed; want ≥%d keys and every put listed", done.Puts, len(done.AccessKeys), done.Listed, execWantKeys)
	}

	lines := execAudit(t, w)
	ex, served := lines["exchange"], lines["credential_served"]
	if n := m.STSCalls(); n != len(ex) || n < len(done.AccessKeys) {
		t.Errorf("%s; %d exchange audit lines, %d access keys used: want one STS call per exchange and per key", m.proxy, len(ex), len(done.AccessKeys))
	}
	if len(served) < done.Puts {
		t.Errorf("%d credential_served lines for %d writes, each of which asked the endpoint", len(served), done.Puts)
	}
	for _, a := range append(ex, served...) {
		if a.Outcome != "ok" || a.RunID != runID || a.JobName != "etl_daily" || a.SessionHash != w.sessionHash(runID) || a.Role != minioRoleARN {
			t.Errorf("audit line %+v, want outcome ok, run %s, job etl_daily, session name = run id, role %s", a, runID, minioRoleARN)
		}
	}
	t.Logf("%d writes, %d access keys, %d STS calls, %d credential_served", done.Puts, len(done.AccessKeys), m.STSCalls(), len(served))
}

// TestExecSessionNameIsRunID: at the sandbox's STS emulator, which records
// RoleSessionName, the run id read from the legacy (pipeline_*) spelling of
// ExecuteRunArgs names the session, and the worker gets those credentials.
func TestExecSessionNameIsRunID(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	w.writeConfig(w.profile(fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: %s
          when: "run.job == 'etl_daily'"
`, w.sb.STSEndpoint(), sandbox.DemoDataEngRoleARN)))
	w.login("alice")
	runID := newRunID(t)
	execPrepare(w, map[string]string{"WORKER_MODE": "creds"})
	evs, stderr, code := runExec(t, w, execWorkerArgs(t, nil, "execute_run_legacy.json", runID, "etl_daily"))
	if code != 0 || len(evs) != 2 || evs[1].Event != "creds" {
		t.Fatalf("exit %d, events %+v\nstderr:\n%s", code, evs, stderr)
	}
	st := w.sb.Stats()
	if len(st.STSSessions) != 1 {
		t.Fatalf("STS sessions %+v, want one", st.STSSessions)
	}
	s := st.STSSessions[0]
	if s.RoleSessionName != runID || s.RoleARN != sandbox.DemoDataEngRoleARN || s.AccessKeyID != evs[1].AccessKey || s.Subject != "alice" {
		t.Errorf("STS session %+v; want session name %s, role %s, access key %s (the worker's), subject alice", s, runID, sandbox.DemoDataEngRoleARN, evs[1].AccessKey)
	}
	if evs[0].CredentialMethod != "container-role" {
		t.Errorf("boto3 credential method %q, want container-role", evs[0].CredentialMethod)
	}
	// docs/audit.md: a session name from CloudTrail back to its audit lines.
	out, errOut, code := w.run("audit", "tail", "-n", "0", "--match-session", s.RoleSessionName)
	got := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(got) < 2 || !strings.Contains(got[0], " exchange ok ") || !strings.Contains(out, " credential_served ok ") || !strings.Contains(out, "run="+runID) {
		t.Errorf("audit tail --match-session %s: exit %d\n%s%s\nwant the exchange and the credentials served of run %s", s.RoleSessionName, code, out, errOut, runID)
	}
}

// minioRoleFor is the role ARN MinIO derives for a role-mode OpenID
// configuration: arn:minio:iam:::role/ + base64url(SHA-1(client id))
// (minio internal/config/identity/openid, LookupConfig).
func minioRoleFor(clientID string) string {
	sum := sha1.Sum([]byte(clientID))
	return "arn:minio:iam:::role/" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// startRoleMinIO starts MinIO in role mode with two OpenID configurations
// on w's sandbox: w's client ID → policy readwrite, execReaderClientID →
// readonly. A token whose aud holds both client IDs can assume either
// role. probe is such a token, used to wait until MinIO's STS works.
func startRoleMinIO(t *testing.T, w *world, probe string) *minioServer {
	t.Helper()
	binPath := minioBinary(t)
	addr, console := minioFreeAddr(t), minioFreeAddr(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	discovery := strings.TrimSuffix(w.sb.Issuer(), "/") + "/.well-known/openid-configuration"
	cmd := exec.CommandContext(ctx, binPath, "server", filepath.Join(dir, "data"),
		"--address", addr, "--console-address", console, "--quiet")
	cmd.Env = []string{
		"HOME=" + dir,
		"PATH=/usr/bin:/bin",
		"MINIO_ROOT_USER=" + minioRootUser,
		"MINIO_ROOT_PASSWORD=" + minioRootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + discovery,
		"MINIO_IDENTITY_OPENID_CLIENT_ID=" + w.sb.ClientID(),
		"MINIO_IDENTITY_OPENID_ROLE_POLICY=readwrite",
		"MINIO_IDENTITY_OPENID_CONFIG_URL_READER=" + discovery,
		"MINIO_IDENTITY_OPENID_CLIENT_ID_READER=" + execReaderClientID,
		"MINIO_IDENTITY_OPENID_ROLE_POLICY_READER=readonly",
	}
	logs := &minioLog{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("could not start minio: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if out := logs.String(); t.Failed() && out != "" {
			t.Logf("minio output:\n%s", out)
		}
	})
	m := &minioServer{URL: "http://" + addr, logs: logs}
	m.waitReady(t, exited)
	for _, role := range []string{minioRoleFor(w.sb.ClientID()), minioRoleFor(execReaderClientID)} {
		waitRoleSTS(t, m, exited, role, probe)
	}
	m.proxy = newSTSCounter(t, m.URL)
	m.STS = m.proxy.url + "/"
	return m
}

// waitRoleSTS asks MinIO's STS for role until it issues credentials.
func waitRoleSTS(t *testing.T, m *minioServer, exited <-chan error, role, token string) {
	t.Helper()
	form := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {role},
		"RoleSessionName": {"minio-probe"}, "DurationSeconds": {"900"}, "WebIdentityToken": {token},
	}.Encode()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(minioSTSTimeout)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("minio exited while its STS was probed: %v\n%s", err, m.logs)
		default:
		}
		resp, err := client.Post(m.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("<AccessKeyId>")) {
				return
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, minioErrorCode(body))
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("minio's STS did not issue credentials for %s within %s: last answer %s\n%s", role, minioSTSTimeout, last, m.logs)
}

// TestExecPerJobLeastPrivilege: one workload identity, two rules on
// run.job. MinIO maps each role to a policy (role mode), so the reader
// job's credentials really cannot write, and a job no rule allows never
// starts.
func TestExecPerJobLeastPrivilege(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	// The pod's projected service-account token: one identity for every
	// job, valid for both MinIO clients (azp names the primary one).
	token, err := w.sb.MintIDToken(map[string]any{
		"sub": "system:serviceaccount:dagster:dagster-runs",
		"aud": []string{w.sb.ClientID(), execReaderClientID},
		"azp": w.sb.ClientID(),
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tokenPath := filepath.Join(w.dir, "sa-token")
	if err := os.WriteFile(tokenPath, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startRoleMinIO(t, w, token)
	writer, reader := minioRoleFor(w.sb.ClientID()), minioRoleFor(execReaderClientID)
	w.writeConfig(fmt.Sprintf(`default_profile: runs
profiles:
  runs:
    environment: prod
    issuer: %s
    client_id: %s
    flow: file
    cache: file
    workload: {path: %s}
    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: %s
          when: "run.job == 'writer_job'"
        - role_arn: %s
          when: "run.job == 'reader_job'"
`, w.sb.Issuer(), w.sb.ClientID(), tokenPath, m.STS, writer, reader))
	execPrepare(w, map[string]string{"WORKER_ENDPOINT": m.URL, "WORKER_BUCKET": "reports", "WORKER_MODE": "ops"})

	type opResult struct {
		Op, Key string
		OK      bool
		Code    string
	}
	ops := func(evs []workerEvent) []opResult {
		var out []opResult
		for _, ev := range evs {
			if ev.Event == "op" {
				out = append(out, opResult{ev.Op, ev.Key, ev.OK, ev.Code})
			}
		}
		return out
	}
	jobs := []struct {
		job, ops string
		role     string
		want     []opResult
	}{
		{"writer_job", "mb,put:daily.csv", writer, []opResult{{"mb", "", true, ""}, {"put", "daily.csv", true, ""}}},
		{"reader_job", "get:daily.csv,put:tampered.csv", reader, []opResult{{"get", "daily.csv", true, ""}, {"put", "tampered.csv", false, "AccessDenied"}}},
	}
	runIDs := map[string]string{}
	for _, j := range jobs {
		runID := newRunID(t)
		runIDs[j.job] = runID
		w.env["WORKER_OPS"] = j.ops
		before := m.STSCalls()
		evs, stderr, code := runExec(t, w, execWorkerArgs(t, nil, "execute_run.json", runID, j.job))
		if code != 0 {
			t.Fatalf("%s: exit %d\nstderr:\n%s\n%s", j.job, code, stderr, m.proxy)
		}
		if got := ops(evs); fmt.Sprint(got) != fmt.Sprint(j.want) {
			t.Errorf("%s: operations %+v, want %+v", j.job, got, j.want)
		}
		if n := m.STSCalls() - before; n != 1 {
			t.Errorf("%s: %d STS calls, want 1", j.job, n)
		}
	}

	marker := filepath.Join(w.dir, "other-started")
	w.env["WORKER_MARKER"] = marker
	before := m.STSCalls()
	otherRun := newRunID(t)
	_, stderr, code := runExec(t, w, execWorkerArgs(t, nil, "execute_run.json", otherRun, "billing_export"))
	if code != 4 {
		t.Errorf("billing_export: exit %d, want 4 (denied)\nstderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the worker started for a job no rule allows (marker: %v)", err)
	}
	if n := m.STSCalls() - before; n != 0 {
		t.Errorf("billing_export: %d STS calls, want 0", n)
	}

	lines := execAudit(t, w)
	for _, j := range jobs {
		found := false
		for _, a := range lines["exchange"] {
			if a.RunID == runIDs[j.job] {
				found = true
				if a.JobName != j.job || a.Role != j.role || a.SessionHash != w.sessionHash(runIDs[j.job]) || a.Outcome != "ok" {
					t.Errorf("%s: exchange line %+v, want role %s, session name = run id", j.job, a, j.role)
				}
			}
		}
		if !found {
			t.Errorf("%s: no exchange audit line with run id %s", j.job, runIDs[j.job])
		}
	}
	denied := lines["policy_denied"]
	if len(denied) != 1 || denied[0].RunID != otherRun || denied[0].JobName != "billing_export" || denied[0].Outcome != "denied" {
		t.Errorf("policy_denied lines %+v, want one for run %s of billing_export", denied, otherRun)
	}
}
