package cli

// `dagster-oidc exec` in process, against the sandbox provider and its STS
// emulator, with /bin/sh children that print their environment: the
// loopback credential endpoint, the child's environment, exit codes, the
// token-file mode, clean-up after a crash and the refusals.
//
//	go test -run Exec ./internal/cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/proc"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

const (
	// execJob is the job the profile's rule allows; execRunID its run.
	execJob   = "etl_daily"
	execRunID = "7d1f6a3c-2b4e-4f8a-9c0d-5e6f7a8b9c0d"
	// execEnvEnd follows the environment a child prints with env.
	execEnvEnd = "__EXEC_ENV_END__"
	// execWait bounds every wait for a child.
	execWait = 30 * time.Second
)

// execPlanted are variables a pod or a developer's shell may carry that
// would make an AWS SDK ignore the credential endpoint; exec must remove
// them all from the child's environment (specs.md §1.5, §1.6).
var execPlanted = map[string]string{
	"AWS_ACCESS_KEY_ID":                      "AKIAPLANTEDSTATICKEY",
	"AWS_SECRET_ACCESS_KEY":                  "planted-secret",
	"AWS_SESSION_TOKEN":                      "planted-session-token",
	"AWS_SECURITY_TOKEN":                     "planted-security-token",
	"AWS_CREDENTIAL_EXPIRATION":              "2030-01-01T00:00:00Z",
	"AWS_PROFILE":                            "planted-profile",
	"AWS_DEFAULT_PROFILE":                    "planted-default-profile",
	"AWS_ROLE_ARN":                           "arn:aws:iam::111111111111:role/planted-irsa",
	"AWS_WEB_IDENTITY_TOKEN_FILE":            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
	"AWS_ROLE_SESSION_NAME":                  "planted-session",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/planted",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "http://169.254.170.23/v1/credentials",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN":      "planted-container-token",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
}

// execKept are variables exec must pass through unchanged.
var execKept = map[string]string{
	"PATH":                 "/usr/bin:/bin",
	"EXEC_TEST_KEEP":       "kept as is",
	"AWS_CONFIG_FILE":      "/etc/dagster/aws-config",
	"AWS_DEFAULT_REGION":   "eu-west-1",
	"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1/sts",
}

// newExecEnv starts a sandbox and writes the profile "sandbox": its aws
// section exchanges at the STS emulator for the data-eng role, for
// etl_daily runs of data-eng members only; extra (indented YAML) is appended
// to that profile. A second profile, "bare", has neither aws nor gcp.
func newExecEnv(t *testing.T, extra string) *testEnv {
	t.Helper()
	e := newTestEnv(t, sandbox.Options{})
	e.writeConfig(fmt.Sprintf(`default_profile: sandbox
profiles:
  sandbox:
    environment: dev
    issuer: %[1]s
    client_id: %[2]s
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
    aws:
      region: us-east-1
      sts_endpoint: %[3]s
      duration: 1h
      roles:
        - role_arn: %[4]s
          when: "'data-eng' in claims.groups && run.job == '%[5]s'"
%[6]s  bare:
    environment: dev
    issuer: %[1]s
    client_id: %[2]s
    flow: device
`, e.sb.Issuer(), e.sb.ClientID(), e.sb.STSEndpoint(), sandbox.DemoDataEngRoleARN, execJob, extra))
	return e
}

// execChild is a run worker's command line for exec: /bin/sh runs script
// with $0..$3 = dagster api execute_run '<ExecuteRunArgs JSON>', the shape
// a launcher starts and exec reads the run from.
func execChild(t *testing.T, script, runID, job string) []string {
	t.Helper()
	doc := map[string]any{
		"__class__": "ExecuteRunArgs",
		"instance_ref": map[string]any{
			"__class__":                   "InstanceRef",
			"local_artifact_storage_data": map[string]any{"__class__": "ConfigurableClassData", "class_name": "LocalArtifactStorage", "config_yaml": "base_dir: /opt/dagster/dagster_home\n", "module_name": "dagster._core.storage.root"},
			"run_launcher_data":           map[string]any{"__class__": "ConfigurableClassData", "class_name": "K8sRunLauncher", "config_yaml": "job_namespace: dagster\n", "module_name": "dagster_k8s"},
			"settings":                    map[string]any{},
		},
		"job_origin": map[string]any{
			"__class__": "JobPythonOrigin",
			"job_name":  job,
			"repository_origin": map[string]any{
				"__class__":       "RepositoryPythonOrigin",
				"code_pointer":    map[string]any{"__class__": "ModuleCodePointer", "fn_name": "defs", "module": "analytics.definitions", "working_directory": "/opt/dagster/app"},
				"container_image": "registry.example.com/analytics:2026.03.1",
				"entry_point":     []string{"dagster"},
				"executable_path": "/usr/local/bin/python",
			},
		},
		"run_id":                   runID,
		"set_exit_code_on_failure": nil,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", "-c", script, "dagster", "api", "execute_run", string(b)}
}

// execResult is what one CLI run of exec left.
type execResult struct {
	stderr string
	code   int
}

// execCLI runs the CLI like testEnv.run, but with the Factory.Environ that
// exec hands to its child built from e.env, the child's stdin from in and
// its stdout to out (a buffer when nil).
func execCLI(e *testEnv, in io.Reader, out io.Writer, args ...string) execResult {
	if in == nil {
		in = strings.NewReader("")
	}
	if out == nil {
		out = &bytes.Buffer{}
	}
	environ := make([]string, 0, len(e.env))
	for k, v := range e.env {
		environ = append(environ, k+"="+v)
	}
	var errOut bytes.Buffer
	var mu sync.Mutex
	f := &cmdutil.Factory{
		IO:    &iostreams.IOStreams{In: in, Out: out, ErrOut: &lockedWriter{w: &errOut, mu: &mu}},
		Env:   func(k string) (string, bool) { v, ok := e.env[k]; return v, ok },
		Clock: e.clock,
		HTTPClient: func() *http.Client {
			return &http.Client{Transport: countingTransport{&e.reqs, &e.down}, Timeout: 10 * time.Second}
		},
		OpenBrowser: func(string) error { return fmt.Errorf("no browser in tests") },
		HasDisplay:  func() bool { return false },
		Keyring:     e.keyring,
		Executable:  func() (string, error) { return "/usr/local/bin/dagster-oidc", nil },
		Environ:     func() []string { return environ },
		Stat:        os.Stat,
		// Retries do not wait in tests.
		Sleep:          func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		KeyringTimeout: time.Second,
	}
	code := Main(context.Background(), f, args)
	mu.Lock()
	defer mu.Unlock()
	return execResult{stderr: errOut.String(), code: code}
}

// envWatcher collects a child's stdout and signals once the child has
// printed its environment followed by execEnvEnd.
type envWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	ready chan struct{}
}

func newEnvWatcher() *envWatcher { return &envWatcher{ready: make(chan struct{})} }

func (w *envWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte(execEnvEnd+"\n")) {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

// env parses the lines before execEnvEnd as KEY=value.
func (w *envWatcher) env() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	before, _, _ := strings.Cut(w.buf.String(), execEnvEnd+"\n")
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(before, "\n"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

// execAudit is one audit line, the fields these tests read.
type execAudit struct {
	Event       string `json:"event"`
	Outcome     string `json:"outcome"`
	Role        string `json:"role"`
	SessionHash string `json:"session_hash"`
	RunID       string `json:"run_id"`
	JobName     string `json:"job_name"`
	ErrorClass  string `json:"error_class"`
}

// execAuditLines reads the audit trail of e, by event name.
func execAuditLines(t *testing.T, e *testEnv) map[string][]execAudit {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.env["DAGSTER_OIDC_STATE_DIR"], "audit.jsonl"))
	if err != nil {
		t.Fatalf("no audit trail: %v", err)
	}
	out := map[string][]execAudit{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var a execAudit
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("audit line is not JSON: %v: %s", err, line)
		}
		out[a.Event] = append(out[a.Event], a)
	}
	return out
}

// setEnv adds vars to e.env (the CLI's and so the child's environment).
func setEnv(e *testEnv, vars ...map[string]string) {
	for _, m := range vars {
		for k, v := range m {
			e.env[k] = v
		}
	}
}

func TestExecServesCredentialsOnLoopback(t *testing.T) {
	e := newExecEnv(t, "")
	e.login("alice")
	setEnv(e, execPlanted, execKept)

	stdin, release := io.Pipe()
	t.Cleanup(func() { release.Close() })
	watch := newEnvWatcher()
	done := make(chan execResult, 1)
	args := append([]string{"exec", "--"}, execChild(t, "env; echo "+execEnvEnd+"; read line; exit 0", execRunID, execJob)...)
	go func() { done <- execCLI(e, stdin, watch, args...) }()
	select {
	case <-watch.ready:
	case r := <-done:
		t.Fatalf("exec ended (exit %d) before its child printed its environment:\n%s", r.code, r.stderr)
	case <-time.After(execWait):
		t.Fatal("the child did not print its environment in time")
	}
	child := watch.env()

	t.Run("environment", func(t *testing.T) {
		for _, k := range proc.ScrubbedAWSVars {
			if k == "AWS_CONTAINER_CREDENTIALS_FULL_URI" || k == "AWS_CONTAINER_AUTHORIZATION_TOKEN" {
				if child[k] == "" || child[k] == execPlanted[k] {
					t.Errorf("child's %s = %q, want exec's own value", k, child[k])
				}
				continue
			}
			if v, ok := child[k]; ok {
				t.Errorf("child's environment still has %s=%q", k, v)
			}
		}
		for k, v := range execKept {
			if child[k] != v {
				t.Errorf("child's %s = %q, want %q kept", k, child[k], v)
			}
		}
		want := map[string]string{
			"AWS_REGION":           "us-east-1", // from the profile; AWS_DEFAULT_REGION was set already
			"DAGSTER_RUN_ID":       execRunID,
			"DAGSTER_RUN_JOB_NAME": execJob,
		}
		for k, v := range want {
			if child[k] != v {
				t.Errorf("child's %s = %q, want %q", k, child[k], v)
			}
		}
		if v, ok := child["GOOGLE_APPLICATION_CREDENTIALS"]; ok {
			t.Errorf("profile without gcp, but the child has GOOGLE_APPLICATION_CREDENTIALS=%q", v)
		}
	})

	uri, token := child["AWS_CONTAINER_CREDENTIALS_FULL_URI"], child["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || len(u.Path) < 10 {
		t.Fatalf("AWS_CONTAINER_CREDENTIALS_FULL_URI = %q (%v), want http://127.0.0.1:PORT/<random path>", uri, err)
	}
	if strings.ContainsAny(token, "\r\n") || len(token) < 32 {
		t.Fatalf("AWS_CONTAINER_AUTHORIZATION_TOKEN has %d characters or a line break; want a random header value", len(token))
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	get := func(target string, auth *string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != nil {
			req.Header.Set("Authorization", *auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET the credential endpoint: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	str := func(s string) *string { return &s }

	t.Run("authorization", func(t *testing.T) {
		tests := []struct {
			name   string
			target string
			auth   *string
			want   int
		}{
			{"no Authorization header", uri, nil, http.StatusForbidden},
			{"empty token", uri, str(""), http.StatusForbidden},
			{"wrong token", uri, str("not-the-token"), http.StatusForbidden},
			{"the planted token of another endpoint", uri, str(execPlanted["AWS_CONTAINER_AUTHORIZATION_TOKEN"]), http.StatusForbidden},
			{"Bearer prefix (SDKs send the value verbatim)", uri, str("Bearer " + token), http.StatusForbidden},
			{"token with a suffix", uri, str(token + "x"), http.StatusForbidden},
			{"token prefix", uri, str(token[:len(token)-1]), http.StatusForbidden},
			{"right token, other path", "http://" + u.Host + "/", str(token), http.StatusNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, body := get(tt.target, tt.auth)
				if code != tt.want {
					t.Errorf("HTTP %d, want %d: %s", code, tt.want, body)
				}
				if bytes.Contains(body, []byte("AccessKeyId")) {
					t.Errorf("a refused request got credentials: %s", body)
				}
			})
		}
	})

	var served struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      string
	}
	t.Run("credentials", func(t *testing.T) {
		code, body := get(uri, &token)
		if code != http.StatusOK {
			t.Fatalf("HTTP %d with the right token: %s", code, body)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&served); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		exp, err := time.Parse(time.RFC3339, served.Expiration)
		if served.AccessKeyID == "" || served.SecretAccessKey == "" || served.Token == "" || err != nil {
			t.Fatalf("incomplete container credentials: AccessKeyId %q, secret %t, Token %t, Expiration %q (%v)",
				served.AccessKeyID, served.SecretAccessKey != "", served.Token != "", served.Expiration, err)
		}
		if left := time.Until(exp); left < 50*time.Minute || left > time.Hour+time.Minute {
			t.Errorf("credentials expire in %s, want about the profile's 1h", left)
		}
		st := e.sb.Stats()
		if st.STSCalls != 1 || len(st.STSSessions) != 1 {
			t.Fatalf("STS calls %d, sessions %+v; want one exchange, before the child started", st.STSCalls, st.STSSessions)
		}
		s := st.STSSessions[0]
		if s.RoleSessionName != execRunID || s.RoleARN != sandbox.DemoDataEngRoleARN || s.AccessKeyID != served.AccessKeyID {
			t.Errorf("STS session %+v; want session name %s, role %s, access key %s", s, execRunID, sandbox.DemoDataEngRoleARN, served.AccessKeyID)
		}
	})

	t.Run("loopback only", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(u.Host)
		addrs := []string{net.JoinHostPort("127.0.0.2", port), net.JoinHostPort("::1", port)}
		ifaddrs, err := net.InterfaceAddrs()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range ifaddrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				addrs = append(addrs, net.JoinHostPort(ipn.IP.String(), port))
			}
		}
		for _, addr := range addrs {
			if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
				c.Close()
				t.Errorf("the credential endpoint accepts connections on %s", addr)
			}
		}
		t.Logf("refused on %v", addrs)
	})

	release.Close()
	var r execResult
	select {
	case r = <-done:
	case <-time.After(execWait):
		t.Fatal("exec did not return after its child was released")
	}
	if r.code != 0 || strings.Contains(r.stderr, "error") {
		t.Errorf("exit %d, want 0 and no error:\n%s", r.code, r.stderr)
	}
	if c, err := net.DialTimeout("tcp", u.Host, 2*time.Second); err == nil {
		c.Close()
		t.Errorf("the credential endpoint %s still listens after exec returned", u.Host)
	}

	t.Run("audit", func(t *testing.T) {
		lines := execAuditLines(t, e)
		ex, cs := lines["exchange"], lines["credential_served"]
		if len(ex) != 1 {
			t.Fatalf("exchange lines %+v, want one", ex)
		}
		if len(cs) != 1 {
			t.Errorf("credential_served lines %+v, want one (one authorised request)", cs)
		}
		for _, a := range append(ex, cs...) {
			want := execAudit{Event: a.Event, Outcome: "ok", Role: sandbox.DemoDataEngRoleARN, SessionHash: auditSessionHash(t, e, execRunID), RunID: execRunID, JobName: execJob}
			if a != want {
				t.Errorf("audit line %+v, want %+v", a, want)
			}
		}
	})
}

func TestExecPropagatesExitCodes(t *testing.T) {
	e := newExecEnv(t, "")
	e.login("alice")
	setEnv(e, execKept)
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"success", "exit 0", 0},
		{"failure", "exit 1", 1},
		{"other code", "exit 42", 42},
		{"killed by SIGKILL", "kill -KILL $$", 128 + 9},
		{"killed by SIGTERM", "kill -TERM $$", 128 + 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execCLI(e, nil, nil, append([]string{"exec", "--"}, execChild(t, tt.script, execRunID, execJob)...)...)
			if r.code != tt.want {
				t.Errorf("exit %d, want %d\n%s", r.code, tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, "error") {
				t.Errorf("exec printed an error for its child's own exit status:\n%s", r.stderr)
			}
		})
	}
	if n := e.sb.Stats().STSCalls; n != 1 {
		t.Errorf("%d STS calls for %d runs of one job, want 1 (cached credentials)", n, len(tests))
	}
}

func TestExecTokenFileModeAndCleanupAfterCrash(t *testing.T) {
	e := newExecEnv(t, fmt.Sprintf(`    gcp:
      audience: %s
      service_account: %s
`, gcpTestAudience, gcpTestSA))
	e.login("alice")
	copies := t.TempDir()
	setEnv(e, execPlanted, execKept, map[string]string{"EXEC_COPY": copies})
	// The child copies what it was given, then crashes.
	script := `env; echo ` + execEnvEnd + `
cp "$AWS_WEB_IDENTITY_TOKEN_FILE" "$EXEC_COPY/token"
cp "$GOOGLE_APPLICATION_CREDENTIALS" "$EXEC_COPY/gcp.json"
stat -c %a "$AWS_WEB_IDENTITY_TOKEN_FILE" "$GOOGLE_APPLICATION_CREDENTIALS" "$(dirname "$AWS_WEB_IDENTITY_TOKEN_FILE")" > "$EXEC_COPY/modes"
kill -KILL $$`
	watch := newEnvWatcher()
	r := execCLI(e, nil, watch, append([]string{"exec", "--aws", "--aws-mode", "token-file", "--gcp", "--"}, execChild(t, script, execRunID, execJob)...)...)
	if r.code != 137 {
		t.Fatalf("exit %d, want 137 (child killed by SIGKILL)\n%s", r.code, r.stderr)
	}
	child := watch.env()

	tokenFile, gcpFile := child["AWS_WEB_IDENTITY_TOKEN_FILE"], child["GOOGLE_APPLICATION_CREDENTIALS"]
	if tokenFile == "" || tokenFile == execPlanted["AWS_WEB_IDENTITY_TOKEN_FILE"] || gcpFile == "" {
		t.Fatalf("AWS_WEB_IDENTITY_TOKEN_FILE %q, GOOGLE_APPLICATION_CREDENTIALS %q: want exec's own files", tokenFile, gcpFile)
	}
	dir := filepath.Dir(tokenFile)
	if filepath.Dir(gcpFile) != dir {
		t.Errorf("token file %s and external_account file %s are not in one private directory", tokenFile, gcpFile)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the temp directory %s survived the child's crash (stat: %v)", dir, err)
	}
	if got := readFile(t, filepath.Join(copies, "modes")); got != "600\n600\n700\n" {
		t.Errorf("modes of token file, external_account file, directory: %q, want 600, 600, 700", got)
	}

	want := map[string]string{
		"AWS_ROLE_ARN":          sandbox.DemoDataEngRoleARN,
		"AWS_ROLE_SESSION_NAME": execRunID,
		"AWS_REGION":            "us-east-1",
		"GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES": "1",
		"DAGSTER_RUN_ID":       execRunID,
		"DAGSTER_RUN_JOB_NAME": execJob,
	}
	for k, v := range want {
		if child[k] != v {
			t.Errorf("child's %s = %q, want %q", k, child[k], v)
		}
	}
	for _, k := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"} {
		if v, ok := child[k]; ok {
			t.Errorf("token-file mode, but the child has %s=%q", k, v)
		}
	}

	raw := strings.TrimSpace(readFile(t, filepath.Join(copies, "token")))
	t.Run("the token file holds a valid ID token", func(t *testing.T) {
		provider, err := oidc.NewProvider(t.Context(), e.sb.Issuer())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := provider.Verifier(&oidc.Config{ClientID: e.sb.ClientID()}).Verify(t.Context(), raw)
		if err != nil {
			t.Fatalf("the web-identity token does not verify: %v", err)
		}
		if tok.Subject != "alice" {
			t.Errorf("token subject %q, want alice", tok.Subject)
		}
	})
	t.Run("an SDK can exchange it with the role and session name given", func(t *testing.T) {
		before := e.sb.Stats().STSCalls
		form := url.Values{
			"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
			"RoleArn": {child["AWS_ROLE_ARN"]}, "RoleSessionName": {child["AWS_ROLE_SESSION_NAME"]},
			"WebIdentityToken": {raw},
		}
		resp, err := http.PostForm(e.sb.STSEndpoint(), form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("<AccessKeyId>")) {
			t.Fatalf("AssumeRoleWithWebIdentity with the file's token: HTTP %d", resp.StatusCode)
		}
		st := e.sb.Stats()
		last := st.STSSessions[len(st.STSSessions)-1]
		if st.STSCalls != before+1 || last.RoleSessionName != execRunID || last.RoleARN != sandbox.DemoDataEngRoleARN {
			t.Errorf("STS session %+v", last)
		}
	})

	var ea struct {
		Type             string `json:"type"`
		Audience         string `json:"audience"`
		CredentialSource struct {
			Executable struct {
				Command string `json:"command"`
			} `json:"executable"`
		} `json:"credential_source"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(copies, "gcp.json"))), &ea); err != nil {
		t.Fatalf("external_account file: %v", err)
	}
	if ea.Type != "external_account" || ea.Audience != gcpTestAudience || !strings.HasPrefix(ea.CredentialSource.Executable.Command, "/usr/local/bin/dagster-oidc gcp executable") {
		t.Errorf("external_account file: %+v", ea)
	}
}

func TestExecJobNoRuleAllowsNeverStarts(t *testing.T) {
	e := newExecEnv(t, "")
	e.login("alice")
	marker := filepath.Join(t.TempDir(), "started")
	setEnv(e, execKept, map[string]string{"EXEC_MARKER": marker})
	r := execCLI(e, nil, nil, append([]string{"exec", "--"}, execChild(t, `touch "$EXEC_MARKER"`, execRunID, "nightly_export")...)...)
	if r.code != 4 || !strings.Contains(r.stderr, "explain") {
		t.Errorf("exit %d, want 4 with a hint to explain:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the child started for a job no rule allows (marker: %v)", err)
	}
	if n := e.sb.Stats().STSCalls; n != 0 {
		t.Errorf("%d STS calls for a denied job, want 0", n)
	}
	denied := execAuditLines(t, e)["policy_denied"]
	if len(denied) != 1 || denied[0].RunID != execRunID || denied[0].JobName != "nightly_export" || denied[0].Outcome != "denied" {
		t.Errorf("policy_denied lines %+v, want one with the run id and job name", denied)
	}
}

func TestExecUsageErrors(t *testing.T) {
	e := newExecEnv(t, "")
	marker := filepath.Join(t.TempDir(), "started")
	setEnv(e, execKept, map[string]string{"EXEC_MARKER": marker})
	child := execChild(t, `touch "$EXEC_MARKER"`, execRunID, execJob)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no -- before the command", []string{"exec", "/usr/bin/touch", marker}, "put the command after --"},
		{"flags but no --", []string{"exec", "--aws", "/usr/bin/touch", marker}, "put the command after --"},
		{"no -- and the command's own flags", append([]string{"exec"}, child...), "unknown shorthand flag: 'c'"},
		{"nothing after --", []string{"exec", "--"}, "no command to run: dagster-oidc exec [flags] -- CMD [ARGS...]"},
		{"no command at all", []string{"exec"}, "no command to run"},
		{"unknown --aws-mode", append([]string{"exec", "--aws-mode", "imds", "--"}, child...), `unknown --aws-mode "imds"`},
		{"zero grace period", append([]string{"exec", "--grace-period", "0s", "--"}, child...), "--grace-period must be positive, got 0s"},
		{"negative grace period", append([]string{"exec", "--grace-period=-5s", "--"}, child...), "--grace-period must be positive, got -5s"},
		{"profile with neither aws nor gcp", append([]string{"exec", "--profile", "bare", "--"}, child...), `profile "bare" has neither an aws nor a gcp section`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execCLI(e, nil, nil, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want 2 with %q:\n%s", r.code, tt.want, r.stderr)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Fatalf("the child started (marker: %v)", err)
			}
		})
	}
	if n := e.sb.Stats().STSCalls; n != 0 {
		t.Errorf("%d STS calls for usage errors, want 0", n)
	}
}

// TestAlso_ExecDropsClientSecretEnv (issue 15, "Also"): the variable that
// client_secret_env names does not reach the child.
func TestAlso_ExecDropsClientSecretEnv(t *testing.T) {
	e := newExecEnv(t, "")
	// The sandbox's client is public: log in without the secret, then name
	// it in the profile, as a confidential client's profile would.
	e.login("alice")
	e.writeConfig(strings.Replace(readFile(t, e.config), "    flow: device\n    aws:", "    flow: device\n    client_secret_env: EXEC_TEST_CLIENT_SECRET\n    aws:", 1))
	if !strings.Contains(readFile(t, e.config), "client_secret_env") {
		t.Fatal("the profile does not name the secret variable")
	}
	e.env["EXEC_TEST_CLIENT_SECRET"] = "s3cret-of-the-oidc-client"
	e.env["EXEC_TEST_KEEP"] = "kept as is"
	var out bytes.Buffer
	args := append([]string{"exec", "--"}, execChild(t, "env", execRunID, execJob)...)
	if r := execCLI(e, nil, &out, args...); r.code != 0 {
		t.Fatalf("exec: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(out.String(), "EXEC_TEST_CLIENT_SECRET") || strings.Contains(out.String(), "s3cret-of-the-oidc-client") {
		t.Errorf("the child saw the client secret variable:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "EXEC_TEST_KEEP=kept as is") {
		t.Errorf("the child's environment lost other variables:\n%s", out.String())
	}
}
