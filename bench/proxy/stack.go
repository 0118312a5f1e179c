package main

import (
	"context"
	"crypto/rand"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// The contenders, in the order of the tables.
const (
	cDirect  = "direct"
	cOIDC    = "dagster-oidc proxy"
	cOAuth2  = "oauth2-proxy"
	cAuthkit = "dagster-authkit"
	// The stub group: the two proxies in front of stubUpstream.
	cStub       = "stub upstream"
	cOIDCStub   = "dagster-oidc proxy → stub"
	cOAuth2Stub = "oauth2-proxy → stub"
)

var contenderNames = []string{cDirect, cOIDC, cOAuth2, cAuthkit, cStub, cOIDCStub, cOAuth2Stub}

// baseline is the contender whose run of the same round c's added latency
// is taken against.
func baseline(c string) string {
	switch c {
	case cStub, cOIDCStub, cOAuth2Stub:
		return cStub
	}
	return cDirect
}

var allContenders = "dagster-oidc,oauth2-proxy,dagster-authkit,stub"

// benchUser is the signed-in person: a launcher in dagster-oidc's rules
// (the mutation needs viewer), admin in dagster-authkit (its bootstrap
// user), a valid email for oauth2-proxy.
var benchUser = sandbox.User{ID: "lena", Password: "lena-password", Email: "lena@example.com", EmailVerified: true,
	Name: "Lena Launcher", Groups: []string{"dagster-launchers"}}

// location is the code location's name in workspace.yaml.
const location = "bench"

// contender is one way to reach the webserver's /graphql.
type contender struct {
	Name string
	// URL is the base URL ("http://127.0.0.1:port").
	URL string
	// Headers are sent with every request (the session cookie, Origin).
	Headers http.Header
	// proc is the process whose RSS the WebSocket measurement reads: the
	// proxy, or the webserver itself for direct and dagster-authkit; nil
	// for the stub (the harness itself).
	proc *proc
}

// stack is everything one benchmark run started.
type stack struct {
	sb         *sandbox.Server
	stub       *stubUpstream
	procs      []*proc
	contenders []*contender
	versions   map[string]string
}

func (s *stack) close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
	if s.stub != nil {
		s.stub.close()
	}
	if s.sb != nil {
		s.sb.Close()
	}
}

func (s *stack) get(name string) *contender {
	for _, c := range s.contenders {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func wanted(only, name string) bool {
	if only == "" || name == cDirect {
		return true
	}
	short := strings.TrimSuffix(strings.TrimSuffix(name, " → stub"), " proxy")
	if name == cStub {
		short = "stub"
	}
	list := strings.Split(only, ",")
	if baseline(name) == cStub && !slices.Contains(list, "stub") {
		return false
	}
	return slices.Contains(list, short)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dagsterHome writes the instance (SQLite under dir, telemetry off) and the
// workspace of the benchmark's code location, and seeds it with runs.
func dagsterHome(ctx context.Context, o *options, dir string, logf func(string, ...any)) (home, workspace string, err error) {
	home = filepath.Join(dir, "dagster-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", "", err
	}
	defs, err := filepath.Abs(filepath.Join(o.Testdata, "defs.py"))
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(home, "dagster.yaml"), []byte("telemetry:\n  enabled: false\n"), 0o600); err != nil {
		return "", "", err
	}
	workspace = filepath.Join(home, "workspace.yaml")
	ws := fmt.Sprintf("load_from:\n  - python_file:\n      relative_path: %s\n      location_name: %s\n", defs, location)
	if err := os.WriteFile(workspace, []byte(ws), 0o600); err != nil {
		return "", "", err
	}
	if o.Seed > 0 {
		start := time.Now()
		cmd := exec.CommandContext(ctx, filepath.Join(o.Venv, "bin", "python"), "seed.py", fmt.Sprint(o.Seed))
		cmd.Dir = o.Testdata
		cmd.Env = pythonEnv(o.Venv, home, dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("seeding runs: %v\n%s", err, tail(string(out), 4000))
		}
		logf("seeded %d runs of each job in %s", o.Seed, time.Since(start).Round(time.Millisecond))
	}
	return home, workspace, nil
}

func pythonEnv(venv, home, dir string) []string {
	return []string{
		"PATH=" + filepath.Join(venv, "bin") + ":/usr/local/bin:/usr/bin:/bin",
		"DAGSTER_HOME=" + home, "HOME=" + dir, "LANG=C.UTF-8", "PYTHONUNBUFFERED=1",
	}
}

// workspaceLoaded checks that the code location has loaded, through c.
func workspaceLoaded(c *contender) func() error {
	return func() error {
		var resp struct {
			Data struct {
				WorkspaceOrError struct {
					LocationEntries []struct {
						Name       string
						LoadStatus string
					}
				}
			}
		}
		body := `{"query":"{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"}`
		if err := postJSON(c, body, &resp); err != nil {
			return err
		}
		for _, e := range resp.Data.WorkspaceOrError.LocationEntries {
			if e.Name == location && e.LoadStatus == "LOADED" {
				return nil
			}
		}
		return fmt.Errorf("location %s not loaded yet: %+v", location, resp.Data.WorkspaceOrError.LocationEntries)
	}
}

// postJSON POSTs a GraphQL body to c's /graphql with its headers.
func postJSON(c *contender, body string, into any) error {
	req, err := http.NewRequest("POST", c.URL+"/graphql", strings.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range c.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: POST /graphql: HTTP %d", c.Name, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// start brings up the sandbox, the webserver and every wanted contender,
// signed in.
func start(ctx context.Context, o *options, dir string, logf func(string, ...any)) (_ *stack, err error) {
	s := &stack{versions: map[string]string{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.sb, err = sandbox.Start(ctx, sandbox.Options{Users: []sandbox.User{benchUser}, IDTokenLifetime: 6 * time.Hour})
	if err != nil {
		return nil, err
	}
	home, workspace, err := dagsterHome(ctx, o, dir, logf)
	if err != nil {
		return nil, err
	}

	// The webserver every proxy is in front of.
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := strings.Cut(addr, ":")
	web, err := startProc("dagster-webserver", dir, pythonEnv(o.Venv, home, dir),
		filepath.Join(o.Venv, "bin", "dagster-webserver"), "-h", host, "-p", port, "-w", workspace)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, web)
	direct := &contender{Name: cDirect, URL: "http://" + addr, Headers: http.Header{}, proc: web}
	if err := waitFor(ctx, web, 3*time.Minute, workspaceLoaded(direct)); err != nil {
		return nil, err
	}
	s.contenders = append(s.contenders, direct)
	logf("dagster-webserver on %s", direct.URL)

	if wanted(o.Only, cOIDC) {
		c, err := s.startOIDCProxy(ctx, o, dir, cOIDC, direct.URL)
		if err != nil {
			return nil, err
		}
		s.contenders = append(s.contenders, c)
	}
	if wanted(o.Only, cOAuth2) {
		c, err := s.startOAuth2Proxy(ctx, o, dir, cOAuth2, direct.URL)
		if err != nil {
			return nil, err
		}
		s.contenders = append(s.contenders, c)
	}
	if wanted(o.Only, cAuthkit) {
		c, err := s.startAuthkit(ctx, o, dir, home, workspace)
		if err != nil {
			return nil, err
		}
		s.contenders = append(s.contenders, c)
	}
	if wanted(o.Only, cStub) {
		if err := s.startStubGroup(ctx, o, dir, direct); err != nil {
			return nil, err
		}
	}
	s.collectVersions(o)
	return s, nil
}

// startStubGroup starts the stub upstream, teaches it the real webserver's
// answer to each benchmark body, and puts a second dagster-oidc proxy and
// oauth2-proxy in front of it.
func (s *stack) startStubGroup(ctx context.Context, o *options, dir string, direct *contender) error {
	var err error
	if s.stub, err = startStub(); err != nil {
		return err
	}
	for _, sc := range scenarios {
		body, err := os.ReadFile(filepath.Join(o.Testdata, sc.File))
		if err != nil {
			return err
		}
		answer, err := post(direct, body)
		if err != nil {
			return fmt.Errorf("recording the answer to %s: %w", sc.Name, err)
		}
		s.stub.record(body, answer)
	}
	s.contenders = append(s.contenders, &contender{Name: cStub, URL: s.stub.URL, Headers: http.Header{}})
	if wanted(o.Only, cOIDCStub) {
		c, err := s.startOIDCProxy(ctx, o, dir, cOIDCStub, s.stub.URL)
		if err != nil {
			return err
		}
		s.contenders = append(s.contenders, c)
	}
	if wanted(o.Only, cOAuth2Stub) {
		c, err := s.startOAuth2Proxy(ctx, o, dir, cOAuth2Stub, s.stub.URL)
		if err != nil {
			return err
		}
		s.contenders = append(s.contenders, c)
	}
	return nil
}

// startOIDCProxy runs `dagster-oidc proxy` with a profile for the sandbox
// and signs benchUser in through the authorization code flow.
func (s *stack) startOIDCProxy(ctx context.Context, o *options, dir, name, upstream string) (*contender, error) {
	pdir := filepath.Join(dir, fmt.Sprintf("dagster-oidc-%d", len(s.procs)))
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	keys := filepath.Join(pdir, "cookie-keys")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.WriteFile(keys, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`default_profile: ui
profiles:
  ui:
    issuer: %s
    client_id: %s
    scopes: [openid, email, groups, offline_access]
    proxy:
      url: http://%s
      listen: %s
      upstream: %s
      cookie_keys_file: %s
      roles:
        - role: admin
          when: "'dagster-admins' in claims.groups"
        - role: editor
          when: "'dagster-editors' in claims.groups"
        - role: launcher
          when: "'dagster-launchers' in claims.groups"
          locations: [%s]
        - role: viewer
          when: "claims.email endsWith '@example.com' && claims.email_verified == true"
`, s.sb.Issuer(), s.sb.ClientID(), addr, addr, upstream, keys, location)
	cfgPath := filepath.Join(pdir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	cli, err := filepath.Abs(o.CLI)
	if err != nil {
		return nil, err
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + pdir, "XDG_CONFIG_HOME=" + pdir + "/config",
		"XDG_STATE_HOME=" + pdir + "/state", "XDG_CACHE_HOME=" + pdir + "/cache"}
	p, err := startProc(name, pdir, env, cli, "--config", cfgPath, "proxy")
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	base := "http://" + addr
	if err := waitFor(ctx, p, 30*time.Second, httpOK(base+"/healthz")); err != nil {
		return nil, err
	}
	jar, err := s.idpSignIn(base+"/", base)
	if err != nil {
		return nil, fmt.Errorf("%s sign-in: %w", name, err)
	}
	return &contender{Name: name, URL: base, Headers: http.Header{"Cookie": {jar}, "Origin": {base}}, proc: p}, nil
}

// startOAuth2Proxy runs oauth2-proxy against the same sandbox (OIDC
// discovery, PKCE: the sandbox's client is public, so the secret is a
// placeholder it never checks) and signs benchUser in.
func (s *stack) startOAuth2Proxy(ctx context.Context, o *options, dir, name, upstream string) (*contender, error) {
	pdir := filepath.Join(dir, fmt.Sprintf("oauth2-proxy-%d", len(s.procs)))
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	secretFile := filepath.Join(pdir, "client-secret")
	if err := os.WriteFile(secretFile, []byte("public-client-with-pkce"), 0o600); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`provider = "oidc"
oidc_issuer_url = %q
client_id = %q
client_secret_file = %q
code_challenge_method = "S256"
cookie_secret = %q
cookie_secure = false
cookie_expire = "6h"
email_domains = ["*"]
upstreams = [%q]
http_address = %q
redirect_url = %q
skip_provider_button = true
scope = "openid email profile groups"
request_logging = false
`, s.sb.Issuer(), s.sb.ClientID(), secretFile, randomHex(16), upstream, addr, base+"/oauth2/callback")
	cfgPath := filepath.Join(pdir, "oauth2-proxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	p, err := startProc(name, pdir, []string{"PATH=/usr/bin:/bin", "HOME=" + pdir}, o.OAuth2Proxy, "--config", cfgPath)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	if err := waitFor(ctx, p, 30*time.Second, httpOK(base+"/ping")); err != nil {
		return nil, err
	}
	jar, err := s.idpSignIn(base+"/oauth2/start?rd=%2F", base)
	if err != nil {
		return nil, fmt.Errorf("%s sign-in: %w", name, err)
	}
	return &contender{Name: name, URL: base, Headers: http.Header{"Cookie": {jar}, "Origin": {base}}, proc: p}, nil
}

// startAuthkit runs dagster-authkit (its own webserver process on the same
// instance and workspace; SQL backend with its bootstrap admin) and signs
// in at its form.
func (s *stack) startAuthkit(ctx context.Context, o *options, dir, home, workspace string) (*contender, error) {
	pdir := filepath.Join(dir, "authkit")
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := strings.Cut(addr, ":")
	password := randomHex(12)
	env := append(pythonEnv(o.BenchVenv, home, pdir),
		"DAGSTER_AUTH_SECRET_KEY="+randomHex(32), "DAGSTER_AUTH_BACKEND=sql",
		"DAGSTER_AUTH_DB="+filepath.Join(pdir, "auth.db"), "DAGSTER_AUTH_ADMIN_USER=admin",
		"DAGSTER_AUTH_ADMIN_PASSWORD="+password, "DAGSTER_AUTH_COOKIE_SECURE=false")
	p, err := startProc(cAuthkit, pdir, env, filepath.Join(o.BenchVenv, "bin", "dagster-authkit"),
		"-h", host, "-p", port, "-w", workspace)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	base := "http://" + addr
	if err := waitFor(ctx, p, 3*time.Minute, httpOK(base+"/auth/health")); err != nil {
		return nil, err
	}
	cookies, err := authkitSignIn(base, "admin", password)
	if err != nil {
		return nil, fmt.Errorf("%s sign-in: %w\n%s", cAuthkit, err, tail(p.logs.String(), 3000))
	}
	c := &contender{Name: cAuthkit, URL: base, Headers: http.Header{"Cookie": {cookies}, "Origin": {base}}, proc: p}
	if err := waitFor(ctx, p, 3*time.Minute, workspaceLoaded(c)); err != nil {
		return nil, err
	}
	return c, nil
}

// collectVersions records what was measured.
func (s *stack) collectVersions(o *options) {
	out := func(argv ...string) string {
		b, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	s.versions["dagster-webserver"] = out(filepath.Join(o.Venv, "bin", "dagster-webserver"), "--version")
	s.versions["dagster-oidc"] = out(o.CLI, "version")
	if bi, err := buildinfo.ReadFile(o.OAuth2Proxy); err == nil {
		s.versions["oauth2-proxy"] = fmt.Sprintf("%s %s (%s)", bi.Main.Path, bi.Main.Version, bi.GoVersion)
	}
	s.versions["dagster-authkit"] = out(filepath.Join(o.BenchVenv, "bin", "python"), "-c",
		"import importlib.metadata as m; print('dagster-authkit', m.version('dagster-authkit'), 'dagster-webserver', m.version('dagster-webserver'))")
	s.versions["wrk"] = out(o.Wrk, "-v")
	s.versions["kernel"] = out("uname", "-r")
	s.versions["nproc"] = out("nproc")
}

// cookieHeader is the Cookie header a browser would send to base.
func cookieHeader(jar http.CookieJar, base string) string {
	u, _ := url.Parse(base + "/")
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}
