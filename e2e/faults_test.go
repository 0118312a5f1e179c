//go:build e2e

package e2e

// Crash safety and faults: a process killed in the middle of a refresh, an
// identity provider that is down, failing, answering garbage or stalling,
// STS throttling, an unwritable cache directory and a skewed clock. Every
// case checks the message and that the cache is intact (or valid) after.
//
//	go test -tags e2e -run 'Crash|Fault' ./e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// upstreamAnswer is the sandbox's answer to a forwarded request.
type upstreamAnswer struct {
	status int
	header http.Header
	body   []byte
}

// proxyHook handles one request reaching the proxy. form is the parsed body
// of a token endpoint request (nil for other paths); a hook may change it
// before calling forward, which sends the request on to the sandbox.
type proxyHook func(w http.ResponseWriter, r *http.Request, form url.Values, forward func() (*upstreamAnswer, error))

// tokenProxy is a reverse proxy on 127.0.0.1 in front of the sandbox. The
// sandbox's issuer is its own listen address, so the proxy cannot stand in
// for the issuer; instead the binary's cached discovery document is
// rewritten to send the token endpoint (and the JWKS) through the proxy.
// Discovery is cached for a day, so the binary then never asks the sandbox
// for it again.
type tokenProxy struct {
	srv       *httptest.Server
	target    string
	tokenPath string
	jwksPath  string

	mu   sync.Mutex
	hook proxyHook
}

// startTokenProxy starts the proxy and routes w's binary through it; w must
// have logged in (the discovery document is cached by the login).
func startTokenProxy(t *testing.T, w *world) *tokenProxy {
	t.Helper()
	p := &tokenProxy{target: w.sb.Issuer()}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	p.tokenPath, p.jwksPath = rerouteDiscovery(t, w, p.srv.URL)
	return p
}

// rerouteDiscovery rewrites the cached discovery document so that its token
// endpoint and JWKS point at base, and returns their paths.
func rerouteDiscovery(t *testing.T, w *world, base string) (tokenPath, jwksPath string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(cacheDirOf(w), "discovery", "*.json"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		var body map[string]any
		if json.Unmarshal(raw, &doc) != nil || json.Unmarshal(doc["body"], &body) != nil || body["token_endpoint"] == nil {
			continue // the cached JWKS
		}
		paths := map[string]string{}
		for _, field := range []string{"token_endpoint", "jwks_uri"} {
			u, err := url.Parse(body[field].(string))
			if err != nil {
				t.Fatalf("cached discovery %s: %v", field, err)
			}
			paths[field] = u.Path
			body[field] = base + u.Path
		}
		if doc["body"], err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
		if raw, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return paths["token_endpoint"], paths["jwks_uri"]
	}
	t.Fatalf("no cached discovery document in %s (did the login run?)", cacheDirOf(w))
	return "", ""
}

// setHook replaces the hook; nil forwards everything unchanged.
func (p *tokenProxy) setHook(h proxyHook) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hook = h
}

// ServeHTTP forwards a request, through the hook when one is set.
func (p *tokenProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var form url.Values
	if r.URL.Path == p.tokenPath {
		if form, err = url.ParseQuery(string(body)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	forward := func() (*upstreamAnswer, error) {
		out := body
		if form != nil {
			out = []byte(form.Encode())
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(out))
		if err != nil {
			return nil, err
		}
		for _, h := range []string{"Content-Type", "Accept", "Authorization"} {
			if v := r.Header.Get(h); v != "" {
				req.Header.Set(h, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		return &upstreamAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
	}
	p.mu.Lock()
	hook := p.hook
	p.mu.Unlock()
	if hook == nil {
		p.pass(w, forward)
		return
	}
	hook(w, r, form, forward)
}

// pass forwards and writes the sandbox's answer unchanged.
func (p *tokenProxy) pass(w http.ResponseWriter, forward func() (*upstreamAnswer, error)) {
	a, err := forward()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	writeAnswer(w, a)
}

func writeAnswer(w http.ResponseWriter, a *upstreamAnswer) {
	for _, h := range []string{"Content-Type", "Cache-Control", "Pragma"} {
		if v := a.header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// isRefresh reports whether form is a refresh_token grant.
func isRefresh(form url.Values) bool { return form.Get("grant_type") == "refresh_token" }

const sandboxLoginHint = "run: dagster-oidc login --profile sandbox"

func TestCrashDuringRefresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		// window: "answer" kills the process while it reads the provider's
		// refresh answer (the refresh token is spent, nothing is stored);
		// "verify" kills it after it read the answer, while it fetches the
		// keys to verify the new ID token (a rotated refresh token must be
		// stored by then).
		window string
		rotate bool
		// wantCode is the exit code of the next `token` run.
		wantCode int
	}{
		{name: "answer in flight, rotation and reuse revocation", window: "answer", rotate: true, wantCode: 3},
		{name: "answer in flight, no rotation", window: "answer", rotate: false, wantCode: 0},
		{name: "verifying the new token, rotation and reuse revocation", window: "verify", rotate: true, wantCode: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, sandbox.Options{RotateRefreshTokens: tc.rotate, RevokeOnRefreshReuse: tc.rotate}, "")
			w.login("alice")
			old := expireLogin(t, w)
			oldRefresh := readEntry[cache.RefreshEntry](t, w, cache.KindRefresh).RefreshToken
			p := startTokenProxy(t, w)

			inWindow := make(chan struct{})
			var once sync.Once
			signal := func() { once.Do(func() { close(inWindow) }) }
			p.setHook(func(rw http.ResponseWriter, r *http.Request, form url.Values, forward func() (*upstreamAnswer, error)) {
				switch {
				case tc.window == "answer" && isRefresh(form):
					a, err := forward() // the provider has answered: the refresh token is spent
					if err != nil || a.status != http.StatusOK {
						t.Errorf("the sandbox did not refresh: %v %v", err, a)
						p.pass(rw, func() (*upstreamAnswer, error) { return a, err })
						return
					}
					rw.Header().Set("Content-Type", "application/json")
					rw.Header().Set("Content-Length", fmt.Sprint(len(a.body)))
					rw.WriteHeader(http.StatusOK)
					_, _ = rw.Write(a.body[:len(a.body)/2])
					rw.(http.Flusher).Flush()
				case tc.window == "verify" && r.URL.Path == p.jwksPath:
				default:
					p.pass(rw, forward)
					return
				}
				signal()
				<-r.Context().Done()
			})

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := w.command(ctx, bin.cli, "token")
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-inWindow:
			case err := <-exited:
				t.Fatalf("the process ended (%v) before reaching the window\n%s", err, errOut.String())
			case <-ctx.Done():
				t.Fatal("the process never reached the window")
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			err := <-exited
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the process was not killed in the window: %v\n%s", err, errOut.String())
			}
			p.setHook(nil)

			// The state left behind reads back whole.
			if kinds := cacheDecodes(t, w); kinds[cache.KindToken] != 1 || kinds[cache.KindRefresh] != 1 {
				t.Errorf("after the kill the cache holds %v, want one token and one refresh entry", kinds)
			}
			if st := statusOf(t, w); !st.LoggedIn || st.Valid || !st.Store.RefreshToken {
				t.Errorf("after the kill status says %+v, want the expired login and its refresh token", st)
			}
			if got := readEntry[cache.TokenEntry](t, w, cache.KindToken).IDToken; got != old {
				t.Error("the killed process stored a new ID token, so the kill missed the window")
			}
			rt := readEntry[cache.RefreshEntry](t, w, cache.KindRefresh).RefreshToken
			switch {
			case tc.window == "answer" && rt != oldRefresh:
				t.Error("the refresh token changed although the process died reading the answer")
			case tc.window == "verify" && tc.rotate && rt == oldRefresh:
				t.Error("the rotated refresh token was not stored before the new ID token was verified")
			}

			// The next run refreshes, or asks for a login with a clear message.
			out, stderr, code := w.run("token")
			t.Logf("next run: exit %d\n%s", code, stderr)
			if code != tc.wantCode {
				t.Fatalf("next `token`: exit %d, want %d\n%s", code, tc.wantCode, stderr)
			}
			stats := w.sb.Stats()
			if code == 0 {
				if tok := strings.TrimSpace(out); tok == "" || tok == old {
					t.Errorf("next `token` printed %q, want a refreshed token", tok)
				}
				if stats.RefreshReuses != 0 {
					t.Errorf("%d refresh tokens were reused", stats.RefreshReuses)
				}
			} else {
				if !strings.Contains(stderr, sandboxLoginHint) {
					t.Errorf("next `token` does not say %q:\n%s", sandboxLoginHint, stderr)
				}
				if stats.RefreshReuses != 1 || stats.GrantsRevoked != 1 {
					t.Errorf("reuses %d, grants revoked %d; want the spent token's reuse to revoke the grant once", stats.RefreshReuses, stats.GrantsRevoked)
				}
				if st := statusOf(t, w); st.Store.RefreshToken {
					t.Error("the rejected refresh token is still stored")
				}
			}
			cacheDecodes(t, w)
		})
	}
}

// wantFailure runs dagster-oidc, expecting a non-zero exit and every one of
// want in its stderr.
func wantFailure(t *testing.T, w *world, wantCode int, want []string, args ...string) string {
	t.Helper()
	out, stderr, code := w.run(args...)
	t.Logf("%s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	if code != wantCode {
		t.Errorf("%s: exit %d, want %d\nstdout: %s", strings.Join(args, " "), code, wantCode, out)
	}
	if out != "" {
		t.Errorf("%s printed on stdout on failure: %q", strings.Join(args, " "), out)
	}
	for _, s := range want {
		if !strings.Contains(stderr, s) {
			t.Errorf("%s: stderr does not say %q", strings.Join(args, " "), s)
		}
	}
	return stderr
}

// wantToken runs `token` and returns the token it printed.
func wantToken(t *testing.T, w *world) (string, string) {
	t.Helper()
	out, stderr, code := w.run("token")
	if code != 0 {
		t.Fatalf("token: exit %d\n%s", code, stderr)
	}
	return strings.TrimSpace(out), stderr
}

func TestFaultIdPDown(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	w.login("alice")
	cached := readEntry[cache.TokenEntry](t, w, cache.KindToken).IDToken
	if err := w.sb.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("valid token is served from the cache", func(t *testing.T) {
		before := cacheSnapshot(t, w)
		tok, stderr := wantToken(t, w)
		if tok != cached {
			t.Error("served another token than the cached one")
		}
		if stderr != "" {
			t.Errorf("a fresh cached token was served with messages: %s", stderr)
		}
		sameCache(t, w, before, "after serving a cached token")
	})

	t.Run("token due for refresh but unexpired is served with a warning", func(t *testing.T) {
		// refresh_margin longer than the token's 10 minutes: a refresh is due.
		w.writeConfig(w.profile("    refresh_margin: 15m\n"))
		defer w.writeConfig(w.profile(""))
		before := cacheSnapshot(t, w)
		tok, stderr := wantToken(t, w)
		if tok != cached {
			t.Error("served another token than the cached one")
		}
		for _, s := range []string{"could not refresh", "serving the cached token"} {
			if !strings.Contains(stderr, s) {
				t.Errorf("stderr does not say %q:\n%s", s, stderr)
			}
		}
		sameCache(t, w, before, "after serving a stale token")
	})

	t.Run("expired token is a clear error and the login is kept", func(t *testing.T) {
		expireLogin(t, w)
		before := cacheSnapshot(t, w)
		wantFailure(t, w, 1, []string{`could not refresh the login of profile "sandbox"`, "connection refused"}, "token")
		sameCache(t, w, before, "after the failed refresh")
		if st := statusOf(t, w); !st.Store.RefreshToken {
			t.Error("the refresh token was dropped although the provider never rejected it")
		}
	})
}

func TestFaultTokenEndpointAnswers(t *testing.T) {
	w := newWorld(t, sandbox.Options{RotateRefreshTokens: true, RevokeOnRefreshReuse: true}, "")
	w.login("alice")
	expireLogin(t, w)
	p := startTokenProxy(t, w)
	w.env["DAGSTER_OIDC_HTTP_TIMEOUT"] = "1s"

	for _, tc := range []struct {
		name string
		// answer writes the proxy's answer to a refresh without asking the
		// provider.
		answer func(w http.ResponseWriter, r *http.Request)
		want   []string
		// timeout: the answer never comes, and stderr must say it timed out.
		timeout bool
	}{
		{name: "HTTP 500 with an HTML page", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<html><body>Internal Server Error</body></html>")
		}, want: []string{"HTTP 500", "not JSON"}},
		{name: "HTTP 500 with an OAuth server_error", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":"server_error","error_description":"database unavailable"}`)
		}, want: []string{"server_error", "database unavailable"}},
		{name: "HTTP 200 with garbage", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "\x00\x01garbage{")
		}, want: []string{"HTTP 200", "not JSON"}},
		{name: "stalled answer beyond the client timeout", answer: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		}, want: []string{"could not reach"}, timeout: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var refreshes atomic.Int32
			p.setHook(func(rw http.ResponseWriter, r *http.Request, form url.Values, forward func() (*upstreamAnswer, error)) {
				if !isRefresh(form) {
					p.pass(rw, forward)
					return
				}
				refreshes.Add(1)
				tc.answer(rw, r)
			})
			before := cacheSnapshot(t, w)
			start := time.Now()
			stderr := wantFailure(t, w, 1, append([]string{`could not refresh the login of profile "sandbox"`}, tc.want...), "token")
			// Whichever fires first, the HTTP client's timeout or the
			// refresh's deadline, the line says it timed out, in one wording.
			if tc.timeout && !strings.Contains(stderr, "timed out waiting for an answer") {
				t.Errorf("token: stderr does not say it timed out:\n%s", stderr)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the failure took %s; DAGSTER_OIDC_HTTP_TIMEOUT is 1s", took.Round(time.Millisecond))
			}
			if n := refreshes.Load(); n != 1 {
				t.Errorf("%d refresh requests reached the proxy, want 1", n)
			}
			sameCache(t, w, before, "after the failed refresh")
		})
	}

	// The login survived all of that: a working provider refreshes it.
	p.setHook(nil)
	tok, _ := wantToken(t, w)
	if tok == "" {
		t.Error("no token after the provider recovered")
	}
	if s := w.sb.Stats(); s.TokenRequests["refresh_token"] != 1 || s.RefreshReuses != 0 {
		t.Errorf("the provider saw %d refreshes and %d reuses, want 1 and 0", s.TokenRequests["refresh_token"], s.RefreshReuses)
	}
}

// awsWorldAt is a sandbox world whose profile exchanges at the sandbox's STS.
func awsWorldAt(t *testing.T, o sandbox.Options) *world {
	t.Helper()
	w := newWorld(t, o, "")
	w.writeConfig(w.profile(fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: %s
          when: "'data-eng' in claims.groups"
`, w.sb.STSEndpoint(), sandbox.DemoDataEngRoleARN)))
	w.login("alice")
	return w
}

func TestFaultSTSThrottling(t *testing.T) {
	t.Run("persistent throttling gives up after bounded retries", func(t *testing.T) {
		w := awsWorldAt(t, sandbox.Options{STSThrottle: 10})
		start := time.Now()
		wantFailure(t, w, 1, []string{"throttling", sandbox.DemoDataEngRoleARN}, "aws", "credential-process")
		t.Logf("gave up after %s", time.Since(start).Round(time.Millisecond))
		if got := w.sb.Stats().STSCalls; got != awssts.DefaultMaxAttempts {
			t.Errorf("STS got %d calls, want %d (bounded retries)", got, awssts.DefaultMaxAttempts)
		}
		if kinds := cacheDecodes(t, w); kinds[cache.KindAWS] != 0 {
			t.Error("failed exchanges left cached AWS credentials")
		}
		if st := statusOf(t, w); !st.Valid {
			t.Error("the login is no longer valid after STS throttling")
		}
	})
	t.Run("throttling that stops succeeds after retries", func(t *testing.T) {
		w := awsWorldAt(t, sandbox.Options{STSThrottle: 2})
		out, stderr, code := w.run("aws", "credential-process")
		if code != 0 {
			t.Fatalf("credential-process: exit %d\n%s", code, stderr)
		}
		accessKeyID(t, out)
		if got := w.sb.Stats().STSCalls; got != 3 {
			t.Errorf("STS got %d calls, want 3 (two throttled, one success)", got)
		}
		if kinds := cacheDecodes(t, w); kinds[cache.KindAWS] != 1 {
			t.Error("the credentials were not cached")
		}
	})
}

// readOnlyRun runs dagster-oidc with the cache directory read-only. As
// root, where permissions do not stop writes, the directory is bind-mounted
// read-only in a private mount namespace of the child alone (nothing
// outside the child sees the mount); otherwise it is chmod 0500 for the run.
func readOnlyRun(t *testing.T, w *world, args ...string) (string, string, int) {
	t.Helper()
	dir := cacheDirOf(w)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		const script = `mount --bind -o ro "$0" "$0" && exec "$@"`
		cmd = w.command(ctx, "unshare", append([]string{"-m", "sh", "-c", script, dir, bin.cli}, args...)...)
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o700)
		cmd = w.command(ctx, bin.cli, args...)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v with a read-only cache: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

func TestFaultCacheDirectoryUnwritable(t *testing.T) {
	t.Run("a valid cached token is still served", func(t *testing.T) {
		w := newWorld(t, sandbox.Options{}, "")
		w.login("alice")
		cached := readEntry[cache.TokenEntry](t, w, cache.KindToken).IDToken
		before := cacheSnapshot(t, w)
		out, stderr, code := readOnlyRun(t, w, "token")
		if code != 0 || strings.TrimSpace(out) != cached {
			t.Errorf("token with a read-only cache: exit %d, served the cached token: %v\n%s", code, strings.TrimSpace(out) == cached, stderr)
		}
		sameCache(t, w, before, "after a read-only run")
	})

	t.Run("an expired login fails clearly and keeps its rotating refresh token", func(t *testing.T) {
		w := newWorld(t, sandbox.Options{RotateRefreshTokens: true, RevokeOnRefreshReuse: true}, "")
		w.login("alice")
		old := expireLogin(t, w)
		before := cacheSnapshot(t, w)
		out, stderr, code := readOnlyRun(t, w, "token")
		t.Logf("token with a read-only cache: exit %d\n%s", code, stderr)
		if code == 0 || out != "" {
			t.Errorf("token with a read-only cache and an expired login: exit %d, stdout %q", code, out)
		}
		if !strings.Contains(stderr, "not writable") {
			t.Errorf("the error does not say the cache directory is not writable:\n%s", stderr)
		}
		sameCache(t, w, before, "after the failed run")
		cacheDecodes(t, w)
		// A rotated refresh token that cannot be stored is lost: the
		// provider must not be asked before the store is known writable.
		if got := w.sb.Stats().TokenRequests["refresh_token"]; got != 0 {
			t.Errorf("%d refresh requests spent the rotating refresh token although its successor could not be stored", got)
		}
		// Writable again, the login still works.
		out, stderr, code = w.run("token")
		if code != 0 || strings.TrimSpace(out) == old {
			t.Errorf("token once the cache is writable again: exit %d\n%s", code, stderr)
		}
		cacheDecodes(t, w)
	})
}

func TestFaultClockSkew(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	tokenFile := filepath.Join(w.dir, "workload-token")
	w.writeConfig(fmt.Sprintf(`default_profile: sandbox
profiles:
  sandbox:
    environment: dev
    issuer: %s
    client_id: %s
    flow: file
    workload: {path: %s}
    verify: required
    clock_skew: 30s
    cache: file
`, w.sb.Issuer(), w.sb.ClientID(), tokenFile))
	now := time.Now()
	for _, tc := range []struct {
		name     string
		claims   map[string]any
		wantCode int
		want     []string
	}{
		{name: "issued in the future (local clock 3 minutes behind)",
			claims: map[string]any{"iat": now.Add(3 * time.Minute).Unix(), "exp": now.Add(13 * time.Minute).Unix()}},
		{name: "expired 10s ago, within the 30s skew (local clock ahead)",
			claims: map[string]any{"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(-10 * time.Second).Unix()}},
		{name: "expired 3 minutes ago, beyond the skew",
			claims:   map[string]any{"iat": now.Add(-13 * time.Minute).Unix(), "exp": now.Add(-3 * time.Minute).Unix()},
			wantCode: 4, want: []string{"expired at"}},
		{name: "not valid before 10 minutes from now",
			claims:   map[string]any{"nbf": now.Add(10 * time.Minute).Unix(), "exp": now.Add(20 * time.Minute).Unix()},
			wantCode: 4, want: []string{"clock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A cache of its own per case: a fresh token would be served
			// from the cache without reading the file again.
			w.env["DAGSTER_OIDC_CACHE_DIR"] = t.TempDir()
			raw, err := w.sb.MintIDToken(tc.claims, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tokenFile, []byte(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.wantCode == 0 {
				if tok, _ := wantToken(t, w); tok != raw {
					t.Error("token printed another token than the workload's")
				}
				return
			}
			if stderr := wantFailure(t, w, tc.wantCode, tc.want, "token"); strings.Contains(stderr, "signature") {
				t.Error("a token refused for its times is reported as a bad signature")
			}
			if kinds := cacheDecodes(t, w); kinds[cache.KindToken] != 0 {
				t.Error("a refused token was cached")
			}
		})
	}
}
