//go:build e2e

package e2e

// A MinIO server as the real STS (AssumeRoleWithWebIdentity) and S3 peer,
// trusting one world's sandbox OpenID provider, with a counting reverse
// proxy in front of its STS so tests can tell whether dagster-oidc called it.

import (
	"bytes"
	"context"
	"fmt"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MinIO's root account (only the fixture's probe could use it; the tests
// never do) and the start-up limits.
const (
	minioRootUser     = "minioadmin"
	minioRootPassword = "minioadmin-secret"
	minioStartTimeout = 60 * time.Second
	minioSTSTimeout   = 30 * time.Second
)

// minioServer is one MinIO process whose OpenID identity provider is a
// world's sandbox, in claim mode: the `policy` claim names the MinIO policy
// (alice readwrite, bob readonly).
type minioServer struct {
	// URL is MinIO's S3 API, which also serves STS: "http://127.0.0.1:PORT".
	URL string
	// STS is the counting proxy in front of MinIO's STS, for sts_endpoint.
	STS   string
	proxy *stsCounter
	logs  *minioLog
}

// minioBinary returns the MinIO server built by scripts/deps.sh.
func minioBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DAGSTER_OIDC_TOOLS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("could not find the home directory to locate minio: %v", err)
		}
		dir = filepath.Join(home, ".cache", "dagster-oidc", "bin")
	}
	path := filepath.Join(dir, "minio")
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("the MinIO server is missing at %s (%v): run scripts/deps.sh, which builds it there (DAGSTER_OIDC_TOOLS overrides the directory)", path, err)
	}
	return path
}

// startMinIO starts MinIO trusting w's sandbox, waits until its STS issues
// credentials, and stops it when the test ends.
func startMinIO(t *testing.T, w *world) *minioServer {
	t.Helper()
	binPath := minioBinary(t)
	addr, console := minioFreeAddr(t), minioFreeAddr(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binPath, "server", filepath.Join(dir, "data"),
		"--address", addr, "--console-address", console, "--quiet")
	cmd.Env = []string{
		"HOME=" + dir,
		"PATH=/usr/bin:/bin",
		"MINIO_ROOT_USER=" + minioRootUser,
		"MINIO_ROOT_PASSWORD=" + minioRootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + strings.TrimSuffix(w.sb.Issuer(), "/") + "/.well-known/openid-configuration",
		"MINIO_IDENTITY_OPENID_CLIENT_ID=" + w.sb.ClientID(),
		"MINIO_IDENTITY_OPENID_CLAIM_NAME=policy",
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
	start := time.Now()
	m.waitReady(t, exited)
	ready := time.Since(start)
	m.waitSTS(t, w, exited)
	t.Logf("minio %s ready in %s, STS working after %s", m.URL, ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	m.proxy = newSTSCounter(t, m.URL)
	m.STS = m.proxy.url + "/"
	return m
}

// waitReady polls MinIO's readiness probe.
func (m *minioServer) waitReady(t *testing.T, exited <-chan error) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(minioStartTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("minio exited before it was ready: %v\n%s", err, m.logs.String())
		default:
		}
		resp, err := client.Get(m.URL + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("minio was not ready within %s: %v\n%s", minioStartTimeout, last, m.logs.String())
}

// waitSTS exchanges a token minted by the sandbox until MinIO's STS accepts
// it: MinIO reports ready even before it has reached the OpenID provider.
func (m *minioServer) waitSTS(t *testing.T, w *world, exited <-chan error) {
	t.Helper()
	tok, err := w.sb.MintIDToken(map[string]any{"sub": "minio-probe", "policy": "readonly"}, 10*time.Minute)
	if err != nil {
		t.Fatalf("could not mint a probe token: %v", err)
	}
	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"RoleArn":          {minioRoleARN},
		"RoleSessionName":  {"minio-probe"},
		"DurationSeconds":  {"900"},
		"WebIdentityToken": {tok},
	}.Encode()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(minioSTSTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("minio exited while its STS was probed: %v\n%s", err, m.logs.String())
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
	t.Fatalf("minio's STS did not issue credentials within %s: last answer %s\n%s", minioSTSTimeout, last, m.logs.String())
}

// STSCalls is how many requests reached MinIO's STS through the proxy.
func (m *minioServer) STSCalls() int { return m.proxy.count() }

// minioErrorCode extracts <Code> from an error envelope (never the body,
// which could echo a token).
func minioErrorCode(body []byte) string {
	s := string(body)
	i := strings.Index(s, "<Code>")
	j := strings.Index(s, "</Code>")
	if i < 0 || j < i {
		return "no error code"
	}
	return s[i+len("<Code>") : j]
}

// minioSecretRE finds the secrets of an AssumeRoleWithWebIdentity answer.
var minioSecretRE = regexp.MustCompile(`<(SecretAccessKey|SessionToken)>([^<]+)</`)

// stsCounter is a reverse proxy on 127.0.0.1 that counts the requests it
// forwards to MinIO.
type stsCounter struct {
	url   string
	mu    sync.Mutex
	calls []string // "HTTP <status>" of each forwarded request, in order
	// sessions are the RoleSessionName of each AssumeRoleWithWebIdentity.
	sessions []string
}

func newSTSCounter(t *testing.T, target string) *stsCounter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &stsCounter{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) },
		// Record the credentials MinIO issues for the suite's leak check.
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if err != nil {
				return err
			}
			for _, m := range minioSecretRE.FindAllSubmatch(body, -1) {
				ledger.addSecrets([]sandbox.Secret{{Kind: "sts_" + strings.ToLower(string(m[1])), Value: string(m[2])}})
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "AssumeRoleWithWebIdentity" {
			c.mu.Lock()
			c.sessions = append(c.sessions, form.Get("RoleSessionName"))
			c.mu.Unlock()
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		c.mu.Lock()
		c.calls = append(c.calls, fmt.Sprintf("%s %s: HTTP %d", r.Method, r.URL.Path, rec.status))
		c.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *stsCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// SessionNames are the RoleSessionName of every AssumeRoleWithWebIdentity
// forwarded, in order.
func (c *stsCounter) SessionNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sessions...)
}

// String lists the forwarded requests, for failure messages.
func (c *stsCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d STS request(s) %v", len(c.calls), c.calls)
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// minioLog collects MinIO's output safely across goroutines.
type minioLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *minioLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *minioLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// minioFreeAddr returns a free 127.0.0.1 address for a server that must
// bind it itself.
func minioFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
