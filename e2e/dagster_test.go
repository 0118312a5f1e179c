//go:build e2e && dagster

package e2e

// Real Dagster in the loop: a dagster-webserver from the venv that
// scripts/deps.sh python installs, SQLite storage in a temporary
// DAGSTER_HOME whose dagster.yaml uses the Python package's ExecRunLauncher,
// and the code location testdata/dagster/defs.py. Runs are launched through
// the webserver's GraphQL API and watched to the end; MinIO is the STS and
// S3, the sandbox the identity provider.
//
//	scripts/deps.sh python && go test -tags 'e2e dagster' -run Dagster ./e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

const (
	// dagsterLocation is the code location's name in workspace.yaml.
	dagsterLocation = "e2e"
	// dagsterStartTimeout bounds the webserver's start and its location's load.
	dagsterStartTimeout = 3 * time.Minute
	// dagsterRunTimeout bounds one run, from launch to its end.
	dagsterRunTimeout = 4 * time.Minute
	// dagsterWantKeys is how many access keys long_run must have used before
	// it is terminated: the first credentials and three renewals.
	dagsterWantKeys = 4
)

// dagsterVenv returns the venv of scripts/deps.sh python.
func dagsterVenv(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DAGSTER_OIDC_VENV")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "dagster-oidc", "venv")
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "dagster-webserver")); err != nil {
		t.Fatalf("no dagster-webserver in %s (%v): run scripts/deps.sh python (DAGSTER_OIDC_VENV overrides the directory)", dir, err)
	}
	return dir
}

// dagsterDefs is the code location's file.
func dagsterDefs(t *testing.T) string {
	t.Helper()
	defs, err := filepath.Abs(filepath.Join("testdata", "dagster", "defs.py"))
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

// startGroup starts cmd in a process group of its own (so the processes it
// starts, such as the webserver's code server, stop with it), collects its
// output, and stops the group when the test ends. The channel receives its
// exit.
func startGroup(t *testing.T, cmd *exec.Cmd, name string) (*minioLog, <-chan error) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 15 * time.Second
	logs := &minioLog{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("could not start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	waited := make(chan struct{})
	go func() { err := cmd.Wait(); exited <- err; close(waited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
		}
		ledger.addOutput(t.Name()+": "+name, logs.String(), false)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, logs.String())
		}
	})
	return logs, exited
}

// dagster is one running dagster-webserver with its instance.
type dagster struct {
	t           *testing.T
	w           *world
	venv        string
	url         string
	home        string
	progressDir string
	logs        *minioLog
	// env is what the webserver's environment adds to w's; the daemon's too.
	env []string
}

// command is the venv's program name with args, in the webserver's
// environment.
func (d *dagster) command(name string, args ...string) *exec.Cmd {
	cmd := d.w.command(context.Background(), filepath.Join(d.venv, "bin", name), args...)
	cmd.Env = append(cmd.Env, d.env...)
	return cmd
}

// startDaemon starts dagster-daemon on the webserver's instance and
// workspace, and waits until its run monitoring daemon has sent a heartbeat.
func (d *dagster) startDaemon() {
	d.t.Helper()
	logs, exited := startGroup(d.t, d.command("dagster-daemon", "run", "-w", filepath.Join(d.home, "workspace.yaml")), "dagster-daemon")
	start := time.Now()
	for deadline := start.Add(dagsterStartTimeout); ; time.Sleep(500 * time.Millisecond) {
		select {
		case err := <-exited:
			d.t.Fatalf("dagster-daemon exited: %v\n%s", err, logs)
		default:
		}
		var resp struct {
			Instance struct {
				DaemonHealth struct {
					DaemonStatus struct{ Healthy bool }
				}
			}
		}
		if err := d.tryGraphQL(`{ instance { daemonHealth { daemonStatus(daemonType: "MONITORING") { healthy } } } }`, nil, &resp); err == nil &&
			resp.Instance.DaemonHealth.DaemonStatus.Healthy {
			d.t.Logf("dagster-daemon: run monitoring healthy after %s", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("dagster-daemon's run monitoring not healthy within %s:\n%s", dagsterStartTimeout, logs)
		}
	}
}

// startDagster writes DAGSTER_HOME and the workspace (workspace, or one
// that loads testdata/dagster/defs.py when empty), starts dagster-webserver
// with w's environment plus extra, and waits until the code location has
// loaded.
func startDagster(t *testing.T, w *world, venv, launcherConfig, instanceExtra, workspace string, extra map[string]string) *dagster {
	t.Helper()
	home := filepath.Join(w.dir, "dagster-home")
	progress := filepath.Join(w.dir, "progress")
	for _, d := range []string{home, progress} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	instance := fmt.Sprintf(`run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: dagster_oidc
  class: ExecRunLauncher
  config:
%s
telemetry:
  enabled: false
%s`, launcherConfig, instanceExtra)
	if workspace == "" {
		workspace = fmt.Sprintf(`load_from:
  - python_file:
      relative_path: %s
      location_name: %s
      executable_path: %s
`, dagsterDefs(t), dagsterLocation, filepath.Join(venv, "bin", "python"))
	}
	for name, data := range map[string]string{"dagster.yaml": instance, "workspace.yaml": workspace} {
		if err := os.WriteFile(filepath.Join(home, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := minioFreeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	d := &dagster{t: t, w: w, venv: venv, url: "http://" + addr, home: home, progressDir: progress}
	d.env = []string{"DAGSTER_HOME=" + home, "PATH=" + filepath.Join(venv, "bin") + ":/usr/local/bin:/usr/bin:/bin", "E2E_PROGRESS_DIR=" + progress}
	for k, v := range extra {
		d.env = append(d.env, k+"="+v)
	}
	cmd := d.command("dagster-webserver", "-h", host, "-p", port, "-w", filepath.Join(home, "workspace.yaml"))
	logs, exited := startGroup(t, cmd, "dagster-webserver")
	d.logs = logs
	// What the launcher and the step workers' wrappers leave (status files,
	// exec's and the workers' output) joins the leak check.
	t.Cleanup(func() {
		for _, pattern := range []string{filepath.Join(home, "dagster-oidc", "runs", "*", "*"), filepath.Join(progress, "*")} {
			files, _ := filepath.Glob(pattern)
			for _, f := range files {
				if b, err := os.ReadFile(f); err == nil {
					ledger.addOutput(t.Name()+": "+f, string(b), false)
				}
			}
		}
	})
	start := time.Now()
	deadline := start.Add(dagsterStartTimeout)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("dagster-webserver exited: %v\n%s", err, logs.String())
		default:
		}
		var resp struct {
			WorkspaceOrError struct {
				LocationEntries []struct {
					Name                string
					LoadStatus          string
					LocationOrLoadError struct {
						Typename string `json:"__typename"`
						Message  string
					}
				}
			}
		}
		err := d.tryGraphQL(`{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
			locationOrLoadError { __typename ... on PythonError { message } } } } } }`, nil, &resp)
		if err == nil {
			for _, e := range resp.WorkspaceOrError.LocationEntries {
				if e.Name == dagsterLocation && e.LoadStatus == "LOADED" {
					if e.LocationOrLoadError.Typename == "PythonError" {
						t.Fatalf("the code location did not load: %s", e.LocationOrLoadError.Message)
					}
					t.Logf("dagster-webserver %s: location %s loaded after %s", d.url, dagsterLocation, time.Since(start).Round(time.Millisecond))
					return d
				}
			}
			last = fmt.Sprintf("%+v", resp.WorkspaceOrError.LocationEntries)
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("dagster-webserver did not load the location within %s: %s\n%s", dagsterStartTimeout, last, logs.String())
	return nil
}

// tryGraphQL posts one GraphQL request and decodes its data into out.
func (d *dagster) tryGraphQL(query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(d.url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	var doc struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("HTTP %d, not JSON: %.200s", resp.StatusCode, raw)
	}
	if len(doc.Errors) > 0 {
		return fmt.Errorf("GraphQL errors: %+v", doc.Errors)
	}
	return json.Unmarshal(doc.Data, out)
}

func (d *dagster) graphQL(query string, vars map[string]any, out any) {
	d.t.Helper()
	if err := d.tryGraphQL(query, vars, out); err != nil {
		d.t.Fatal(err)
	}
}

// launch starts a run of job through launchRun and returns its id.
func (d *dagster) launch(job string) string {
	d.t.Helper()
	var resp struct {
		LaunchRun struct {
			Typename string `json:"__typename"`
			Message  string
			Run      struct{ RunID string }
		}
	}
	d.graphQL(`mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
		... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on Error { message } } }`,
		map[string]any{"p": map[string]any{
			"selector":      map[string]any{"repositoryLocationName": dagsterLocation, "repositoryName": "__repository__", "jobName": job},
			"runConfigData": map[string]any{},
		}}, &resp)
	if resp.LaunchRun.Typename != "LaunchRunSuccess" {
		d.t.Fatalf("launchRun %s: %s %s", job, resp.LaunchRun.Typename, resp.LaunchRun.Message)
	}
	return resp.LaunchRun.Run.RunID
}

// dagsterRun is a run as GraphQL shows it.
type dagsterRun struct {
	RunID   string
	JobName string
	Status  string
	Tags    []struct{ Key, Value string }
}

func (r dagsterRun) tag(key string) string {
	for _, t := range r.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func (d *dagster) run(id string) dagsterRun {
	d.t.Helper()
	var resp struct{ RunOrError dagsterRun }
	d.graphQL(`query($id: ID!) { runOrError(runId: $id) { ... on Run { runId jobName status tags { key value } } } }`,
		map[string]any{"id": id}, &resp)
	return resp.RunOrError
}

// wait polls the run until it has one of the statuses.
func (d *dagster) wait(id string, statuses ...string) dagsterRun {
	d.t.Helper()
	deadline := time.Now().Add(dagsterRunTimeout)
	for {
		r := d.run(id)
		if slices.Contains(statuses, r.Status) {
			return r
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("run %s (%s) is %s after %s, want %v\nevents:\n%s", id, r.JobName, r.Status, dagsterRunTimeout, statuses, strings.Join(d.events(id), "\n"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// events returns the run's event log as "Type: message" lines.
func (d *dagster) events(id string) []string {
	d.t.Helper()
	var resp struct {
		LogsForRun struct {
			Events []struct {
				Typename string `json:"__typename"`
				Message  string
			}
		}
	}
	d.graphQL(`query($id: ID!) { logsForRun(runId: $id, limit: 10000) { ... on EventConnection {
		events { __typename ... on MessageEvent { message } } } } }`, map[string]any{"id": id}, &resp)
	var out []string
	for _, e := range resp.LogsForRun.Events {
		out = append(out, e.Typename+": "+e.Message)
	}
	return out
}

// eventWith returns the first event line containing all of parts, or "".
func eventWith(events []string, parts ...string) string {
	for _, e := range events {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(e, p)
		}
		if ok {
			return e
		}
	}
	return ""
}

// exitEventRE matches the launcher's engine event about the wrapper's exit.
var exitEventRE = regexp.MustCompile(`dagster-oidc exec exited (\d+): the run worker \(pid \d+\) exited (\d+)`)

// exitCodes waits for the launcher's exit event, which its watcher reports
// once the wrapper is reaped (after the run's own end), and returns the
// wrapper's and the worker's exit codes.
func (d *dagster) exitCodes(runID string) (execCode, workerCode int) {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		events := d.events(runID)
		if m := exitEventRE.FindStringSubmatch(strings.Join(events, "\n")); m != nil {
			execCode, _ = strconv.Atoi(m[1])
			workerCode, _ = strconv.Atoi(m[2])
			return execCode, workerCode
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no exit event for run %s:\n%s", runID, strings.Join(events, "\n"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// progressEvent is one line of long_run's progress file.
type progressEvent struct {
	Event     string `json:"event"`
	N         int    `json:"n"`
	AccessKey string `json:"access_key"`
	Code      string `json:"code"`
	Name      string `json:"name"`
}

func (d *dagster) progress(runID string) []progressEvent {
	d.t.Helper()
	f, err := os.Open(filepath.Join(d.progressDir, runID+".jsonl"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	var out []progressEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev progressEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// writeRunsProfile writes the profile the run workers use, as in
// docs/dagster.md: a workload's identity from a service-account token file
// that the sandbox rotates as the kubelet does, read with flow: kubernetes
// and the profile's workload.audience, which may assume MinIO's role for
// the jobs named.
func writeRunsProfile(t *testing.T, w *world, m *minioServer, jobs ...string) {
	t.Helper()
	tokens, err := w.sb.KeepTokenFile(context.Background(), sandbox.TokenFileOptions{
		Path:    filepath.Join(w.dir, "tokens", "dagster-oidc"),
		Subject: "system:serviceaccount:dagster:dagster-runs",
		Claims:  map[string]any{"policy": "readwrite"}, // MinIO's claim mode
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tokens.Close)
	// A margin of 14m30s on MinIO's minimum of 15 minutes: exec exchanges
	// again every 30 s, and botocore, which renews credentials with less
	// than 15 minutes left, asks the endpoint on every call.
	w.writeConfig(fmt.Sprintf(`default_profile: runs
profiles:
  runs:
    environment: prod
    issuer: %s
    flow: kubernetes
    workload:
      path: %s
      audience: %s
    aws:
      region: us-east-1
      sts_endpoint: %s
      duration: 15m
      refresh_margin: 14m30s
      session_name: "{{job}}-{{run_id}}"
      roles:
        - role_arn: %s
          when: "claims.sub == 'system:serviceaccount:dagster:dagster-runs' && run.job in ['%s']"
`, w.sb.Issuer(), tokens.Path(), w.sb.ClientID(), m.STS, minioRoleARN, strings.Join(jobs, "', '")))
}

// TestDagsterExecRunLauncher: etl_daily succeeds and writes to MinIO under
// a session named after its run; adhoc, which no rule grants, fails with
// the policy refusal in its event log; long_run outlives several
// credential lifetimes and is terminated through GraphQL.
func TestDagsterExecRunLauncher(t *testing.T) {
	start := time.Now()
	venv := dagsterVenv(t)
	w := newWorld(t, sandbox.Options{}, "")
	m := startMinIO(t, w)
	writeRunsProfile(t, w, m, "etl_daily", "long_run")
	d := startDagster(t, w, venv, fmt.Sprintf("    binary: %s\n    aws: true\n    start_timeout: 60\n", bin.cli), "", "",
		map[string]string{"E2E_S3_ENDPOINT": m.URL, "E2E_DAGSTER_OIDC": bin.cli, "AWS_EC2_METADATA_DISABLED": "true"})

	long := d.launch("long_run")
	etl := d.launch("etl_daily")
	adhoc := d.launch("adhoc")

	t.Run("etl_daily", func(t *testing.T) {
		r := d.wait(etl, "SUCCESS", "FAILURE", "CANCELED")
		events := d.events(etl)
		if r.Status != "SUCCESS" {
			t.Fatalf("etl_daily %s:\n%s", r.Status, strings.Join(events, "\n"))
		}
		if e := eventWith(events, "wrote s3://etl-daily/orders/"+etl, "container-role"); e == "" {
			t.Errorf("no event says the op wrote with the container endpoint's credentials:\n%s", strings.Join(events, "\n"))
		}
		if e := eventWith(events, "OIDCIdentity: token of 3 parts, subject system:serviceaccount:dagster:dagster-runs", "credentials from dagster-oidc"); e == "" {
			t.Errorf("no event from the op using the OIDCIdentity resource:\n%s", strings.Join(events, "\n"))
		}
		// The object, read back by another process with its own credentials.
		w.env["DAGSTER_RUN_JOB_NAME"] = "etl_daily"
		w.env["E2E_S3_ENDPOINT"] = m.URL
		s3get, err := filepath.Abs(filepath.Join("testdata", "dagster", "s3get.py"))
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, code := w.run("exec", "--aws", "--", filepath.Join(venv, "bin", "python"), s3get, "etl-daily", "orders/"+etl+".json")
		delete(w.env, "DAGSTER_RUN_JOB_NAME")
		if code != 0 || !strings.Contains(out, etl) {
			t.Errorf("reading the object back: exit %d, %q\n%s", code, out, stderr)
		}
		session := "etl_daily-" + etl
		if !slices.Contains(m.proxy.SessionNames(), session) {
			t.Errorf("STS sessions %v, want one named %s", m.proxy.SessionNames(), session)
		}
		found := false
		for _, a := range execAudit(t, w)["exchange"] {
			if a.RunID == etl {
				found = true
				if a.JobName != "etl_daily" || a.SessionHash != w.sessionHash(session) || a.Outcome != "ok" || a.Role != minioRoleARN {
					t.Errorf("exchange audit line %+v, want job etl_daily, the hash of session %s, role %s", a, session, minioRoleARN)
				}
			}
		}
		if !found {
			t.Errorf("no exchange audit line for run %s", etl)
		}
		// The identity, as run tags and as an engine event.
		if r.tag("dagster-oidc/aws-role") != minioRoleARN || r.tag("dagster-oidc/source") != "kubernetes" ||
			len(r.tag("dagster-oidc/subject-hash")) != 32 || r.tag("dagster-oidc/token-expiry") == "" || r.tag("dagster-oidc/aws-expiry") == "" {
			t.Errorf("run tags %+v, want the role, source, subject hash and expiries", r.Tags)
		}
		if e := eventWith(events, "started by dagster-oidc exec with identity", minioRoleARN, "subject "+r.tag("dagster-oidc/subject-hash")); e == "" {
			t.Errorf("no identity engine event:\n%s", strings.Join(events, "\n"))
		}
		if exec, worker := d.exitCodes(etl); exec != 0 || worker != 0 {
			t.Errorf("dagster-oidc exec exited %d, the worker %d, want 0 and 0", exec, worker)
		}
	})

	t.Run("adhoc", func(t *testing.T) {
		r := d.wait(adhoc, "SUCCESS", "FAILURE", "CANCELED")
		events := d.events(adhoc)
		if r.Status != "FAILURE" {
			t.Fatalf("adhoc %s, want FAILURE:\n%s", r.Status, strings.Join(events, "\n"))
		}
		e := eventWith(events, "RunFailureEvent", "refused", "job adhoc", "exit 4", "no rule grants", "dagster-oidc explain")
		if e == "" {
			t.Errorf("no run failure with the policy refusal:\n%s", strings.Join(events, "\n"))
		}
		t.Logf("adhoc's failure: %s", e)
		if eventWith(events, "adhoc ran") != "" {
			t.Errorf("adhoc's op ran")
		}
		for _, s := range m.proxy.SessionNames() {
			if strings.Contains(s, adhoc) {
				t.Errorf("an STS session for the refused run: %s", s)
			}
		}
	})

	t.Run("long_run", func(t *testing.T) {
		keys := map[string]bool{}
		deadline := time.Now().Add(dagsterRunTimeout)
		var evs []progressEvent
		for len(keys) < dagsterWantKeys {
			if time.Now().After(deadline) {
				t.Fatalf("long_run used %d access keys in %s, want %d: %+v\n%s", len(keys), dagsterRunTimeout, dagsterWantKeys, evs, m.proxy)
			}
			if r := d.run(long); r.Status != "STARTED" && r.Status != "STARTING" {
				t.Fatalf("long_run is %s before it was terminated:\n%s", r.Status, strings.Join(d.events(long), "\n"))
			}
			evs = d.progress(long)
			for _, ev := range evs {
				if ev.Event == "put" && ev.AccessKey != "" && !keys[ev.AccessKey] {
					keys[ev.AccessKey] = true
					t.Logf("put %d at %s: access key #%d", ev.N, time.Since(start).Round(time.Second), len(keys))
				}
			}
			time.Sleep(time.Second)
		}
		var resp struct {
			TerminateRun struct {
				Typename string `json:"__typename"`
				Message  string
			}
		}
		d.graphQL(`mutation($id: String!) { terminateRun(runId: $id) { __typename ... on TerminateRunFailure { message } ... on PythonError { message } } }`,
			map[string]any{"id": long}, &resp)
		if resp.TerminateRun.Typename != "TerminateRunSuccess" {
			t.Fatalf("terminateRun: %s %s", resp.TerminateRun.Typename, resp.TerminateRun.Message)
		}
		terminated := time.Now()
		r := d.wait(long, "CANCELED", "FAILURE", "SUCCESS")
		t.Logf("long_run %s %s after terminateRun", r.Status, time.Since(terminated).Round(time.Millisecond))
		events := d.events(long)
		if r.Status != "CANCELED" {
			t.Errorf("long_run %s, want CANCELED:\n%s", r.Status, strings.Join(events, "\n"))
		}
		evs = d.progress(long)
		puts, signalled := 0, false
		for _, ev := range evs {
			switch ev.Event {
			case "put":
				puts++
			case "error":
				t.Errorf("long_run write %d failed: %s", ev.N, ev.Code)
			case "signal":
				signalled = signalled || ev.Name == "SIGTERM"
			}
		}
		if !signalled {
			t.Errorf("the run worker did not see SIGTERM: %+v", evs)
		}
		execCode, workerCode := d.exitCodes(long)
		if execCode != workerCode || execCode >= 128 {
			t.Errorf("dagster-oidc exec exited %d, the worker %d: want the worker's own code, not a signal's", execCode, workerCode)
		}
		t.Logf("long_run: %d writes with %d access keys, no ExpiredToken; worker and wrapper exited %d; %d STS calls; whole test %s",
			puts, len(keys), workerCode, m.STSCalls(), time.Since(start).Round(time.Second))
	})
}

// execStatusDoc is the part of `exec --status-file` these tests read.
type execStatusDoc struct {
	State    string `json:"state"`
	ExitCode int    `json:"exit_code"`
	Identity struct {
		AWSRole    string `json:"aws_role"`
		AWSSession string `json:"aws_session_name"`
		RunID      string `json:"run_id"`
		JobName    string `json:"job_name"`
		Step       string `json:"step"`
	} `json:"identity"`
}

func readExecStatus(t *testing.T, path string) execStatusDoc {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st execStatusDoc
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("%s: %v: %s", path, err, raw)
	}
	return st
}

// dagsterCodeServerRole is the role of processes with no run (the rule
// `run.job == ”`); MinIO in claim mode ignores the ARN, the policy and the
// audit trail do not.
const dagsterCodeServerRole = "arn:minio:iam:::role/code-server"

// TestDagsterCodeServerAndStepWorkers: a code server image's ENTRYPOINT
// (`dagster-oidc exec -- dagster api grpc`) runs the code server with the
// profile's identity and no run context; step workers (`dagster api
// execute_step`, started per step as the k8s_job_executor does) each get
// their run's id, job and step.
func TestDagsterCodeServerAndStepWorkers(t *testing.T) {
	venv := dagsterVenv(t)
	w := newWorld(t, sandbox.Options{}, "")
	m := startMinIO(t, w)
	w.writeConfig(w.profile(fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      session_name: "{{job}}-{{run_id}}"
      roles:
        - role_arn: %s
          when: "'data-eng' in claims.groups && run.job == 'etl_steps'"
        - role_arn: %s
          when: "run.job == ''"
`, m.STS, minioRoleARN, dagsterCodeServerRole)))
	w.login("alice")

	addr := minioFreeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	status := filepath.Join(w.dir, "code-server.status.json")
	marker := filepath.Join(w.dir, "code-server.json")
	cs := w.command(context.Background(), bin.cli, "exec", "--aws", "--status-file", status, "--",
		filepath.Join(venv, "bin", "dagster"), "api", "grpc", "-h", host, "-p", port, "-f", dagsterDefs(t), "--location-name", dagsterLocation)
	cs.Env = append(cs.Env, "PATH="+filepath.Join(venv, "bin")+":/usr/bin:/bin", "E2E_S3_ENDPOINT="+m.URL, "E2E_CODE_SERVER_MARKER="+marker)
	csLogs, csExited := startGroup(t, cs, "code server")
	// The code server listens once it has loaded the definitions.
	for deadline := time.Now().Add(dagsterStartTimeout); ; time.Sleep(250 * time.Millisecond) {
		select {
		case err := <-csExited:
			t.Fatalf("the code server exited: %v\n%s", err, csLogs)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the code server did not listen within %s:\n%s", dagsterStartTimeout, csLogs)
		}
	}

	st := readExecStatus(t, status)
	if st.State != "running" || st.Identity.RunID != "" || st.Identity.JobName != "" || st.Identity.AWSRole != dagsterCodeServerRole {
		t.Errorf("code server status %+v, want running with the no-run role %s and no run", st, dagsterCodeServerRole)
	}
	var loaded struct {
		CredentialMethod string `json:"credential_method"`
		Buckets          int
		RunID            string `json:"run_id"`
		JobName          string `json:"job_name"`
	}
	raw, err := os.ReadFile(marker)
	if err != nil || json.Unmarshal(raw, &loaded) != nil || loaded.CredentialMethod != "container-role" || loaded.RunID != "" || loaded.JobName != "" {
		t.Errorf("the code server's load-time S3 call: %s (%v); want container-role credentials and no run", raw, err)
	}

	workspace := fmt.Sprintf("load_from:\n  - grpc_server: {host: %s, port: %s, location_name: %s}\n", host, port, dagsterLocation)
	d := startDagster(t, w, venv, fmt.Sprintf("    binary: %s\n    aws: true\n", bin.cli), "", workspace,
		map[string]string{"E2E_S3_ENDPOINT": m.URL, "E2E_DAGSTER_OIDC": bin.cli, "AWS_EC2_METADATA_DISABLED": "true"})
	id := d.launch("etl_steps")
	r := d.wait(id, "SUCCESS", "FAILURE", "CANCELED")
	events := d.events(id)
	if r.Status != "SUCCESS" {
		t.Fatalf("etl_steps %s:\n%s", r.Status, strings.Join(events, "\n"))
	}
	for _, step := range []string{"extract", "load"} {
		// The run can end before the last step's wrapper has seen its worker exit.
		path := filepath.Join(d.progressDir, id+"-"+step+".status.json")
		st := readExecStatus(t, path)
		for deadline := time.Now().Add(30 * time.Second); st.State == "running" && time.Now().Before(deadline); st = readExecStatus(t, path) {
			time.Sleep(100 * time.Millisecond)
		}
		if st.State != "exited" || st.ExitCode != 0 || st.Identity.RunID != id || st.Identity.JobName != "etl_steps" ||
			st.Identity.Step != step || st.Identity.AWSRole != minioRoleARN || st.Identity.AWSSession != "etl_steps-"+id {
			t.Errorf("step %s: exec status %+v, want exited 0 with run %s, job etl_steps, step %s, session etl_steps-%s", step, st, id, step, id)
		}
		if e := eventWith(events, "step "+step+", pid", "run "+id); e == "" {
			t.Errorf("no event from step %s with its run id:\n%s", step, strings.Join(events, "\n"))
		}
	}
	var codeServer, steps int
	for _, a := range execAudit(t, w)["exchange"] {
		switch {
		case a.Role == dagsterCodeServerRole && a.RunID == "" && a.JobName == "":
			codeServer++
		case a.RunID == id && a.JobName == "etl_steps" && a.Role == minioRoleARN:
			steps++
		default:
			t.Errorf("unexpected exchange audit line %+v", a)
		}
	}
	if codeServer != 1 || steps < 1 {
		t.Errorf("%d code-server and %d etl_steps exchanges, want 1 and at least 1", codeServer, steps)
	}
}

// TestDagsterRunMonitoringResumesADeadWorker: with run monitoring resuming
// runs (max_resume_run_attempts: 1) and dagster-daemon running, the worker of
// resumable dies of SIGKILL; the launcher leaves the run STARTED, the
// monitoring daemon's health check (ExecRunLauncher.check_run_worker_health)
// finds the worker dead and resumes the run through the launcher, as
// `dagster-oidc exec -- dagster api resume_run`, and the second worker
// finishes with the wrapper's credentials. always_dies, whose workers all
// die, is resumed once and then failed by the daemon.
func TestDagsterRunMonitoringResumesADeadWorker(t *testing.T) {
	venv := dagsterVenv(t)
	w := newWorld(t, sandbox.Options{}, "")
	m := startMinIO(t, w)
	writeRunsProfile(t, w, m, "resumable", "always_dies")
	// The run_monitoring block of docs/dagster.md, as written there.
	monitoring := ""
	for _, b := range pageBlocks(t, filepath.Join("..", "docs", "dagster.md")) {
		if len(b.lines) > 0 && b.lines[0] == "run_monitoring:" {
			monitoring = strings.Join(b.lines, "\n") + "\n"
		}
	}
	if !strings.Contains(monitoring, "max_resume_run_attempts: 1") {
		t.Fatalf("docs/dagster.md has no run_monitoring block resuming runs: %q", monitoring)
	}
	d := startDagster(t, w, venv, fmt.Sprintf("    binary: %s\n    aws: true\n    start_timeout: 60\n", bin.cli), monitoring, "",
		map[string]string{"E2E_S3_ENDPOINT": m.URL, "E2E_DAGSTER_OIDC": bin.cli, "AWS_EC2_METADATA_DISABLED": "true"})
	d.startDaemon()

	id := d.launch("resumable")
	dies := d.launch("always_dies")
	r := d.wait(id, "SUCCESS", "FAILURE", "CANCELED")
	events := d.events(id)
	if r.Status != "SUCCESS" {
		t.Fatalf("resumable %s, want SUCCESS after a resume:\n%s", r.Status, strings.Join(events, "\n"))
	}
	for _, want := range [][]string{
		{"The run worker exited 137 before the run finished", "Left to run monitoring: it resumes the run while attempts remain (max_resume_run_attempts: 1)"},
		{"Launching a new run worker to resume run"},
		{"finished on attempt 2", "with credentials from container-role"},
	} {
		if eventWith(events, want...) == "" {
			t.Errorf("no event with %q:\n%s", want, strings.Join(events, "\n"))
		}
	}
	raw, err := os.ReadFile(filepath.Join(d.progressDir, id+"-attempts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	type attempt struct {
		Attempt          int    `json:"attempt"`
		PID              int    `json:"pid"`
		CredentialMethod string `json:"credential_method"`
	}
	var attempts []attempt
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var a attempt
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("attempts file: %v: %s", err, line)
		}
		attempts = append(attempts, a)
	}
	if len(attempts) != 2 || attempts[0].PID == attempts[1].PID {
		t.Fatalf("attempts %+v, want two workers", attempts)
	}
	for _, a := range attempts {
		if a.CredentialMethod != "container-role" {
			t.Errorf("attempt %d got credentials from %q, want exec's endpoint (container-role)", a.Attempt, a.CredentialMethod)
		}
	}
	// The resumed worker ran under its own wrapper, with the run's identity.
	st := readExecStatus(t, filepath.Join(d.home, "dagster-oidc", "runs", id, "status-1.json"))
	for deadline := time.Now().Add(30 * time.Second); st.State == "running" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st = readExecStatus(t, filepath.Join(d.home, "dagster-oidc", "runs", id, "status-1.json"))
	}
	if st.State != "exited" || st.ExitCode != 0 || st.Identity.RunID != id || st.Identity.JobName != "resumable" || st.Identity.AWSRole != minioRoleARN {
		t.Errorf("resumed wrapper's status %+v, want exited 0 with run %s, job resumable, role %s", st, id, minioRoleARN)
	}
	if !slices.Contains(m.proxy.SessionNames(), "resumable-"+id) {
		t.Errorf("STS sessions %v, want one named resumable-%s", m.proxy.SessionNames(), id)
	}

	r = d.wait(dies, "SUCCESS", "FAILURE", "CANCELED")
	events = d.events(dies)
	if r.Status != "FAILURE" || eventWith(events, "Launching a new run worker to resume run") == "" ||
		eventWith(events, "surpassed the configured maximum attempts to resume the run: 1") == "" {
		t.Errorf("always_dies %s, want FAILURE after one resume:\n%s", r.Status, strings.Join(events, "\n"))
	}
}
