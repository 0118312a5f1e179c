package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// proxyConfig is a profile with a proxy block in front of upstream.
func proxyConfig(e *testEnv, upstream, keysFile string) string {
	return fmt.Sprintf(`default_profile: ui
profiles:
  ui:
    environment: prod
    issuer: %s
    client_id: %s
    scopes: [openid, email, groups, offline_access]
    proxy:
      url: http://127.0.0.1:8080
      listen: 127.0.0.1:0
      upstream: %s
      cookie_keys_file: %s
      roles:
        - role: launcher
          when: "'data-eng' in claims.groups"
          locations: [etl]
        - role: viewer
          when: "claims.email endsWith '@example.com'"
`, e.sb.Issuer(), e.sb.ClientID(), upstream, keysFile)
}

func writeKeys(t *testing.T, dir string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, "cookie-keys")
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if err := os.WriteFile(path, []byte("# current\n"+key+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProxyCommandServes(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	var upstreamHits sync.Map
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamHits.Store(r.URL.Path, r.Header.Get("Authorization"))
		fmt.Fprint(w, `{"data":{"version":"1.13.27"}}`)
	}))
	defer up.Close()
	e.writeConfig(proxyConfig(e, up.URL, writeKeys(t, e.dir, 0o600)))

	var out, errOut bytes.Buffer
	var mu sync.Mutex
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		f := e.factory(&out, &errOut, &mu)
		done <- proxyRun(ctx, &ProxyOptions{IO: f.IO, Open: cmdutil.NewOpener(f, &cmdutil.Globals{}), ready: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("proxy exited: %v\n%s", err, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not start")
	}
	base := "http://" + addr
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	// A navigation without a session goes to sign-in, keeping the deep link.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", base+"/runs/abc", nil)
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || loc != "/_dagster-oidc/sign_in?rd=%2Fruns%2Fabc" {
		t.Errorf("navigation: %d to %q", resp.StatusCode, loc)
	}
	// The IdP's authorization URL: PKCE S256, state, nonce, our callback.
	resp, err = noRedirect.Get(base + "/_dagster-oidc/sign_in?rd=%2Fruns%2Fabc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	for _, want := range []string{e.sb.Issuer() + "/authorize?", "code_challenge_method=S256", "state=", "nonce=", "redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2F_dagster-oidc%2Fcallback"} {
		if !strings.Contains(loc, want) {
			t.Errorf("authorization URL %q lacks %q", loc, want)
		}
	}
	// A bearer ID token from the profile's issuer (what `dagster-oidc token` prints).
	tok, err := e.sb.MintIDToken(map[string]any{"sub": "alice", "email": "alice@example.com", "groups": []string{"data-eng"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"query":"mutation { launchRun(executionParams: {selector: {repositoryLocationName: \"etl\", repositoryName: \"r\", jobName: \"j\"}}) { __typename } }"}`
	req, _ = http.NewRequest("POST", base+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if auth, ok := upstreamHits.Load("/graphql"); resp.StatusCode != 200 || !ok || auth != "" {
		t.Errorf("bearer launch: HTTP %d %s; upstream saw it: %v (Authorization %q)", resp.StatusCode, b, ok, auth)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("proxy returned %v", err)
	}
	if !strings.Contains(errOut.String(), "dagster-oidc proxy: serving "+up.URL) {
		t.Errorf("stderr: %s", errOut.String())
	}
}

func TestProxyCommandErrors(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	if _, stderr, code := e.run("proxy"); code != 2 || !strings.Contains(stderr, "profile sandbox has no proxy block") {
		t.Errorf("no proxy block: exit %d %s", code, stderr)
	}
	e.writeConfig(proxyConfig(e, "http://127.0.0.1:3000", writeKeys(t, e.dir, 0o644)))
	if _, stderr, code := e.run("proxy"); code != 2 || !strings.Contains(stderr, "is readable by others") || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("world-readable keys: exit %d %s", code, stderr)
	}
}

func TestExplainProxy(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.writeConfig(proxyConfig(e, "http://127.0.0.1:3000", writeKeys(t, e.dir, 0o600)) + "    flow: device\n")
	e.login("alice")
	stdout, stderr, code := e.run("explain", "--proxy")
	if code != 0 {
		t.Fatalf("explain --proxy: exit %d %s", code, stderr)
	}
	for _, want := range []string{"Proxy roles:", "launcher", "matched", "Proxy grants: launcher on etl; viewer"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("explain --proxy lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "AWS roles") {
		t.Errorf("explain --proxy shows the cloud rules:\n%s", stdout)
	}
	e.writeConfig(strings.Replace(proxyConfig(e, "http://127.0.0.1:3000", writeKeys(t, e.dir, 0o600)), "          when: \"'data-eng' in claims.groups\"", "          when: \"'nobody-group' in claims.groups\"", 1) + "    flow: device\n")
	stdout, _, code = e.run("explain", "--proxy")
	if code != 0 || !strings.Contains(stdout, "Proxy grants: viewer") {
		t.Errorf("without the group: exit %d\n%s", code, stdout)
	}
}
