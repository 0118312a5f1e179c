//go:build proxy

// Package proxy_test runs `dagster-oidc proxy` in front of the real
// dagster-webserver (the venv of scripts/deps.sh python) with the sandbox as
// the identity provider: Go clients and headless Chromium on the real Dagster
// UI. Run with: go test -tags proxy ./e2e/proxy
package proxy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/cookie"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/signin"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// venv is the Python environment with dagster-webserver (scripts/deps.sh python).
func venv() string {
	if v := os.Getenv("DAGSTER_OIDC_VENV"); v != "" {
		return v
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "dagster-oidc", "venv")
}

func python() string { return filepath.Join(venv(), "bin", "python") }

// dagster is the one webserver of the package, started by TestMain.
var dagster struct {
	url string
	log *bytes.Buffer
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

// run starts dagster-webserver on a socket listening on 127.0.0.1 port 0,
// inherited as fd 3, with the etl and ml code locations.
func run(m *testing.M) (int, error) {
	if _, err := os.Stat(python()); err != nil {
		return 0, fmt.Errorf("no Dagster venv at %s (%v): run scripts/deps.sh python", venv(), err)
	}
	if u := os.Getenv("DAGSTER_OIDC_TEST_WEBSERVER"); u != "" {
		// A developer's running webserver with testdata/workspace.yaml, to
		// iterate without its start-up.
		dagster.url, dagster.log = u, &bytes.Buffer{}
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "dagster-oidc-proxy-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(home, "dagster.yaml"), []byte("telemetry:\n  enabled: false\n"), 0o600); err != nil {
		return 0, err
	}
	for _, f := range []string{"etl.py", "ml.py", "workspace.yaml", "serve.py"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			return 0, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, python(), filepath.Join(dir, "serve.py"), filepath.Join(dir, "workspace.yaml"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DAGSTER_HOME="+home, "DAGSTER_DISABLE_TELEMETRY=1")
	cmd.ExtraFiles = []*os.File{lf}
	dagster.log = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = dagster.log, dagster.log
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("could not start dagster-webserver: %w", err)
	}
	lf.Close()
	ln.Close()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	dagster.url = "http://" + ln.Addr().String()
	if err := waitForDagster(ctx, 3*time.Minute); err != nil {
		return 0, fmt.Errorf("%w\n%s", err, dagster.log.String())
	}
	return m.Run(), nil
}

// waitForDagster polls until both code locations are loaded.
func waitForDagster(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	q := `{"query":"{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename } } } } }"}`
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, "POST", dagster.url+"/graphql", strings.NewReader(q))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Count(string(b), `"RepositoryLocation"`) == 2 {
				return nil
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("dagster-webserver did not load both code locations within %s", limit)
}

// roleUsers are sandbox users in each role's group, and one in none.
func roleUsers() []sandbox.User {
	u := func(id string, groups ...string) sandbox.User {
		return sandbox.User{ID: id, Password: id + "-password", Email: id + "@example.com", EmailVerified: true, Name: id, Groups: groups}
	}
	return []sandbox.User{u("vera", "dagster-viewers"), u("lena", "dagster-launchers"), u("eddie", "dagster-editors"), u("ada", "dagster-admins"), u("nobody")}
}

// ciSubject is the workload identity of the CI deployer, launcher on etl.
const ciSubject = "system:serviceaccount:ci:deployer"

func roleRules() []authz.Rule {
	return []authz.Rule{
		{Role: authz.Admin, When: "'dagster-admins' in claims.groups"},
		{Role: authz.Editor, When: "'dagster-editors' in claims.groups"},
		{Role: authz.Launcher, When: "'dagster-launchers' in claims.groups"},
		{Role: authz.Viewer, When: "'dagster-viewers' in claims.groups"},
		{Role: authz.Launcher, When: "claims.sub == '" + ciSubject + "'", Locations: []string{"etl"}},
		{Role: authz.Viewer, When: "claims.sub == '" + ciSubject + "'"},
	}
}

// world is a sandbox IdP and a proxy in front of the package's webserver.
type world struct {
	t     *testing.T
	sb    *sandbox.Server
	url   string
	trail *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Users: roleUsers()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ext, _ := url.Parse("http://" + ln.Addr().String())
	up, _ := url.Parse(dagster.url)
	key := make([]byte, cookie.KeySize)
	copy(key, "dagster-oidc proxy e2e cookie key")
	keys, err := cookie.ParseKeys(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := cookie.NewSealer(keys, 13*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := &signin.Issuer{URL: sb.Issuer(), Audience: sb.ClientID(), HTTP: &http.Client{Timeout: 10 * time.Second}, Skew: 30 * time.Second}
	trail := &lockedBuffer{}
	logger := audit.New([]audit.Sink{audit.NewWriterSink("test", trail)}, audit.Options{Key: key})
	t.Cleanup(func() { logger.Close() })
	s, err := proxy.New(proxy.Options{
		Profile: "ui", Environment: "prod", ExternalURL: ext, Upstream: up,
		SignIn: &signin.Client{Issuer: iss, ClientID: sb.ClientID(), RedirectURL: ext.String() + proxy.CallbackPath, Scopes: []string{"openid", "email", "groups", "offline_access"}},
		Bearer: &signin.Bearer{Issuers: []*signin.Issuer{iss}}, Rules: roleRules(), Sealer: sealer, ForwardHeaders: true, Audit: logger,
		ErrorLog: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &world{t: t, sb: sb, url: ext.String(), trail: trail}
}

// token mints a sandbox ID token for the proxy's audience.
func (w *world) token(claims map[string]any, life time.Duration) string {
	w.t.Helper()
	tok, err := w.sb.MintIDToken(claims, life)
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// client signs in on the sandbox form as user and returns a browser-like
// client holding the session.
func (w *world) client(user string) *http.Client {
	w.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequest("GET", w.url+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `id="username"`) {
		w.t.Fatalf("no sign-in form: HTTP %d at %s", resp.StatusCode, resp.Request.URL)
	}
	form := url.Values{"id": {resp.Request.URL.Query().Get("authRequestID")}, "username": {user}, "password": {user + "-password"}}
	req, _ = http.NewRequest("POST", w.sb.Issuer()+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err = c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return c
}

// graphql POSTs one request body as a same-origin fetch (extra headers as
// name, value pairs) and returns the status and the decoded JSON.
func (w *world) graphql(c *http.Client, body string, hdr ...string) (int, string) {
	w.t.Helper()
	req, _ := http.NewRequest("POST", w.url+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", w.url)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// gql builds a request body.
func gql(query string, vars map[string]any) string {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return string(b)
}

// launch is the UI's launch mutation for a job of a code location.
func launch(location, job string) string {
	return gql(`mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}`, map[string]any{"executionParams": map[string]any{
		"selector": map[string]any{"repositoryLocationName": location, "repositoryName": "__repository__", "pipelineName": job},
		"mode":     "default",
	}})
}
