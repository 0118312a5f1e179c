package flow_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestMain silences the sandbox's OpenID provider, which logs through the
// process-wide default slog logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// browserEnv is one sandbox plus what a BrowserFlow against it needs.
type browserEnv struct {
	sb       *sandbox.Server
	meta     *flow.Metadata
	verifier *flow.Verifier
	tokenReq *formRecorder
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	sb := startSandbox(t)
	d := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient}
	m, err := d.Metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	v := &flow.Verifier{Issuer: sb.Issuer(), Audience: sb.ClientID(), Keys: d.KeySet(m.JWKSURL), Clock: clock.Real{}, Skew: 30 * time.Second}
	return &browserEnv{sb: sb, meta: m, verifier: v, tokenReq: &formRecorder{}}
}

// flow returns a BrowserFlow against the sandbox whose token requests are
// recorded; the caller sets Open, Prompt and Verify.
func (e *browserEnv) flow() *flow.BrowserFlow {
	return &flow.BrowserFlow{
		ClientID: e.sb.ClientID(),
		Scopes:   []string{"openid", "email", "profile", "offline_access"},
		AuthURL:  e.meta.AuthURL,
		TokenURL: e.meta.TokenURL,
		HTTP:     &http.Client{Timeout: 10 * time.Second, Transport: e.tokenReq},
		Timeout:  20 * time.Second,
	}
}

// formRecorder is a transport that keeps the form of the last POST.
type formRecorder struct {
	mu   sync.Mutex
	last url.Values
}

func (f *formRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.last = form
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (f *formRecorder) form() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// scriptedBrowser plays the user's browser: it opens the authorization URL,
// signs in on the sandbox's login form and follows the redirects to the
// loopback callback, which it optionally tampers with first.
type scriptedBrowser struct {
	t        *testing.T
	sb       *sandbox.Server
	user     string
	password string
	// tamper rewrites the callback URL before the browser loads it.
	tamper func(*url.URL)
	// after runs once the callback page was loaded, while the flow still
	// listens.
	after func(callback *url.URL)
	// fail cancels the flow when the script itself fails, so the test does
	// not wait for the flow's timeout.
	fail context.CancelFunc

	authURL *url.URL
	status  int
	page    string
}

// Open is a BrowserFlow.Open that runs the whole script synchronously.
func (b *scriptedBrowser) Open(raw string) error {
	if err := b.run(raw); err != nil {
		b.t.Errorf("scripted browser: %v", err)
		if b.fail != nil {
			b.fail()
		}
	}
	return nil
}

func (b *scriptedBrowser) run(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	b.authURL = u
	callback, err := signIn(b.t.Context(), b.sb, raw, b.user, b.password)
	if err != nil {
		return err
	}
	if b.tamper != nil {
		b.tamper(callback)
	}
	b.status, b.page, err = load(b.t.Context(), callback.String())
	if err != nil {
		return err
	}
	if b.after != nil {
		b.after(callback)
	}
	return nil
}

// signIn loads authURL with a cookie-jar client, posts the sandbox login form
// and returns the URL the provider finally redirects to off the sandbox.
func signIn(ctx context.Context, sb *sandbox.Server, authURL, user, password string) (*url.URL, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	sbHost := strings.TrimPrefix(sb.Issuer(), "http://")
	var away *url.URL
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != sbHost {
			away = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if away != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="username"`) {
		return nil, fmt.Errorf("authorize did not show the login form (HTTP %d, redirect %v): %.300s", resp.StatusCode, away, page)
	}
	form := url.Values{"id": {resp.Request.URL.Query().Get("authRequestID")}, "username": {user}, "password": {password}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, sb.Issuer()+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if away == nil {
		return nil, fmt.Errorf("the login form answered HTTP %d without sending the browser back", resp.StatusCode)
	}
	return away, nil
}

// load GETs u like a browser tab and returns the status and page.
func load(ctx context.Context, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// nonceRecorder is a Verify func over the sandbox's keys that records the
// nonce it was asked to check and the claims it verified.
type nonceRecorder struct {
	v      *flow.Verifier
	nonce  string
	claims *flow.Claims
}

func (n *nonceRecorder) verify(ctx context.Context, raw, nonce string) error {
	n.nonce = nonce
	c, err := n.v.Verify(ctx, raw, nonce)
	n.claims = c
	return err
}

func TestBrowserFlowLogsIn(t *testing.T) {
	e := newBrowserEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	second, other := 0, 0
	br := &scriptedBrowser{t: t, sb: e.sb, user: "alice", password: "alice-password", fail: cancel,
		after: func(cb *url.URL) {
			var err error
			if second, _, err = load(ctx, cb.String()); err != nil {
				t.Errorf("second callback: %v", err)
			}
			elsewhere := *cb
			elsewhere.Path = "/favicon.ico"
			if other, _, err = load(ctx, elsewhere.String()); err != nil {
				t.Errorf("other path: %v", err)
			}
		}}
	rec := &nonceRecorder{v: e.verifier}
	var prompt bytes.Buffer
	b := e.flow()
	b.Open, b.Prompt, b.Verify = br.Open, &prompt, rec.verify

	tok, err := b.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v\nprompt:\n%s", err, prompt.String())
	}
	q := br.authURL.Query()

	t.Run("token verified with the nonce sent", func(t *testing.T) {
		if tok.Source != "browser" || tok.IDToken == "" || tok.RefreshToken == "" {
			t.Errorf("token = source %q, id token %t, refresh token %t", tok.Source, tok.IDToken != "", tok.RefreshToken != "")
		}
		if rec.nonce == "" || rec.nonce != q.Get("nonce") {
			t.Errorf("Verify got nonce %q, the request sent %q", rec.nonce, q.Get("nonce"))
		}
		if rec.claims == nil || rec.claims.Subject != "alice" || rec.claims.Email != "alice@example.com" {
			t.Errorf("claims = %+v", rec.claims)
		}
	})
	t.Run("authorization request", func(t *testing.T) {
		b64url := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
		for _, name := range []string{"code_challenge", "state", "nonce"} {
			if v := q.Get(name); len(v) < 43 || !b64url.MatchString(v) {
				t.Errorf("%s = %q, want 43+ base64url characters", name, v)
			}
		}
		want := map[string]string{"code_challenge_method": "S256", "response_type": "code", "client_id": e.sb.ClientID()}
		for k, v := range want {
			if q.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, q.Get(k), v)
			}
		}
		if q.Get("state") == q.Get("nonce") {
			t.Error("state and nonce are the same value")
		}
		ru, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || ru.Scheme != "http" || ru.Hostname() != "127.0.0.1" || ru.Port() == "" || ru.Path != "/callback" {
			t.Errorf("redirect_uri = %q, want http://127.0.0.1:PORT/callback", q.Get("redirect_uri"))
		}
	})
	t.Run("token request proves PKCE", func(t *testing.T) {
		form := e.tokenReq.form()
		if form.Get("grant_type") != "authorization_code" || form.Get("redirect_uri") != q.Get("redirect_uri") {
			t.Errorf("token request form = grant_type %q redirect_uri %q", form.Get("grant_type"), form.Get("redirect_uri"))
		}
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != q.Get("code_challenge") {
			t.Errorf("S256(code_verifier) = %q, code_challenge = %q", got, q.Get("code_challenge"))
		}
	})
	t.Run("success page", func(t *testing.T) {
		if br.status != http.StatusOK || !strings.Contains(br.page, "Logged in") {
			t.Errorf("callback page = HTTP %d %q", br.status, br.page)
		}
	})
	t.Run("one callback only", func(t *testing.T) {
		if second != http.StatusNotFound {
			t.Errorf("second callback got HTTP %d, want 404", second)
		}
		if other != http.StatusNotFound {
			t.Errorf("another path got HTTP %d, want 404", other)
		}
	})
	t.Run("prompt", func(t *testing.T) {
		if !strings.Contains(prompt.String(), "Opened a browser") || !strings.Contains(prompt.String(), br.authURL.String()) {
			t.Errorf("prompt = %q", prompt.String())
		}
	})
}

// TestFinding7_WrongStateAnsweredAndLoginContinues is issue 15.7: a request
// to the callback with a state that is not this login's (a forged CSRF
// callback, a stale tab, a port scanner) gets HTTP 400 and does not end the
// login; the real callback that follows completes it.
func TestFinding7_WrongStateAnsweredAndLoginContinues(t *testing.T) {
	e := newBrowserEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	br := &scriptedBrowser{t: t, sb: e.sb, user: "alice", password: "alice-password", fail: cancel}
	var forged int
	var forgedPage string
	var prompt bytes.Buffer
	b := e.flow()
	b.Prompt = &prompt
	b.Open = func(raw string) error {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		cb := u.Query().Get("redirect_uri") + "?" + url.Values{"state": {"attacker-state"}, "code": {"attacker-code"}}.Encode()
		if forged, forgedPage, err = load(ctx, cb); err != nil {
			t.Errorf("forged callback: %v", err)
		}
		return br.Open(raw)
	}
	tok, err := b.Token(ctx)
	if err != nil {
		t.Fatalf("the real callback after a forged one: %v", err)
	}
	if tok.IDToken == "" {
		t.Error("no ID token")
	}
	if forged != http.StatusBadRequest || !strings.Contains(forgedPage, "does not match") {
		t.Errorf("forged callback page = HTTP %d %q, want 400", forged, forgedPage)
	}
	if got := e.tokenReq.form().Get("code"); got == "attacker-code" {
		t.Error("the forged code was redeemed")
	}
	if !strings.Contains(prompt.String(), "ignored a login callback whose state is not this login's") {
		t.Errorf("prompt does not mention the ignored callback: %q", prompt.String())
	}
}

// TestAlso_RFC9207IssOnCallback: the callback's iss must name the profile's
// issuer when present, and be present when the issuer advertises
// authorization_response_iss_parameter_supported.
func TestAlso_RFC9207IssOnCallback(t *testing.T) {
	tests := []struct {
		name    string
		require bool
		iss     []string // nil: no iss parameter
		ok      bool
	}{
		{"absent, not advertised", false, nil, true},
		{"absent, advertised", true, nil, false},
		{"right issuer", true, []string{"ISSUER"}, true},
		{"other issuer", false, []string{"https://evil.example.com"}, false},
		{"twice", true, []string{"ISSUER", "https://evil.example.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBrowserEnv(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			br := &scriptedBrowser{t: t, sb: e.sb, user: "alice", password: "alice-password", fail: cancel,
				tamper: func(cb *url.URL) {
					q := cb.Query()
					for _, v := range tt.iss {
						q.Add("iss", strings.ReplaceAll(v, "ISSUER", e.sb.Issuer()))
					}
					cb.RawQuery = q.Encode()
				}}
			b := e.flow()
			b.Open = br.Open
			b.Issuer, b.RequireIss = e.sb.Issuer(), tt.require
			tok, err := b.Token(ctx)
			if tt.ok {
				if err != nil || tok == nil {
					t.Fatalf("Token: %v", err)
				}
				return
			}
			if !errors.Is(err, flow.ErrIssuerMismatch) || tok != nil {
				t.Fatalf("err = %v, want ErrIssuerMismatch", err)
			}
			if code := apperr.ExitCode(err); code != 4 {
				t.Errorf("exit code %d, want 4", code)
			}
			if e.tokenReq.form() != nil {
				t.Error("the code was redeemed despite the iss mismatch")
			}
		})
	}
}

func TestBrowserFlowRefusesWrongNonce(t *testing.T) {
	e := newBrowserEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	br := &scriptedBrowser{t: t, sb: e.sb, user: "alice", password: "alice-password", fail: cancel}
	b := e.flow()
	b.Open = br.Open
	// An ID token is bound to this login's nonce: checked against any other
	// nonce (a replayed or mixed-up response), the Verifier refuses it.
	b.Verify = func(ctx context.Context, raw, nonce string) error {
		_, err := e.verifier.Verify(ctx, raw, nonce+"-from-another-login")
		return err
	}
	tok, err := b.Token(ctx)
	if tok != nil {
		t.Error("a token was returned despite the nonce mismatch")
	}
	var ve *flow.VerificationError
	if !errors.As(err, &ve) || ve.Reason != flow.ReasonNonce {
		t.Fatalf("err = %v, want a VerificationError with reason %s", err, flow.ReasonNonce)
	}
	if code := apperr.ExitCode(err); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
}

func TestBrowserFlowAccessDenied(t *testing.T) {
	e := newBrowserEnv(t)
	var status int
	var page string
	b := e.flow()
	// The IdP sends the browser back with an error (RFC 6749 §4.1.2.1).
	b.Open = func(raw string) error {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		q := u.Query()
		cb := q.Get("redirect_uri") + "?" + url.Values{
			"error":             {"access_denied"},
			"error_description": {"user alice may not use <this> client"},
			"state":             {q.Get("state")},
		}.Encode()
		status, page, err = load(t.Context(), cb)
		if err != nil {
			t.Errorf("callback: %v", err)
		}
		return nil
	}
	tok, err := b.Token(t.Context())
	if tok != nil {
		t.Error("a token was returned after access_denied")
	}
	var ce *flow.CallbackError
	if !errors.As(err, &ce) || ce.Code != "access_denied" || ce.Description != "user alice may not use <this> client" {
		t.Fatalf("err = %v, want CallbackError access_denied", err)
	}
	if want := "access_denied: user alice may not use <this> client"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err.Error(), want)
	}
	if code := apperr.ExitCode(err); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
	if status != http.StatusBadRequest || !strings.Contains(page, "Login failed") || !strings.Contains(page, "may not use &lt;this&gt; client") {
		t.Errorf("failure page = HTTP %d %q (description must be shown, HTML-escaped)", status, page)
	}
}

func TestBrowserFlowFixedPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	b := &flow.BrowserFlow{ClientID: "c", AuthURL: "http://127.0.0.1:1/authorize", TokenURL: "http://127.0.0.1:1/token", Port: port,
		Open: func(string) error {
			t.Error("the browser was opened although the listener failed")
			return nil
		}}
	tok, err := b.Token(t.Context())
	if tok != nil || err == nil {
		t.Fatalf("Token = %v, %v; want an error", tok, err)
	}
	if !strings.Contains(err.Error(), "port "+strconv.Itoa(port)) {
		t.Errorf("err = %q, want it to name port %d", err.Error(), port)
	}
}

func TestBrowserFlowTimeout(t *testing.T) {
	var prompt bytes.Buffer
	b := &flow.BrowserFlow{ClientID: "c", AuthURL: "http://127.0.0.1:1/authorize", TokenURL: "http://127.0.0.1:1/token",
		Timeout: 50 * time.Millisecond, Prompt: &prompt}
	start := time.Now()
	tok, err := b.Token(t.Context())
	if tok != nil || err == nil {
		t.Fatalf("Token = %v, %v; want a timeout error", tok, err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Token took %s with a 50ms timeout", elapsed)
	}
	if !strings.Contains(err.Error(), "within 50ms") || !strings.Contains(err.Error(), "browser.timeout") {
		t.Errorf("err = %q, want it to name the 50ms timeout and browser.timeout", err.Error())
	}
	m := regexp.MustCompile(`redirect_uri=([^&\s]+)`).FindStringSubmatch(prompt.String())
	if m == nil {
		t.Fatalf("no redirect_uri in the prompt %q", prompt.String())
	}
	ru, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ru)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Fatalf("the callback port is still held after the timeout: %v", err)
	}
	ln.Close()
}

func TestBrowserFlowIPv6Loopback(t *testing.T) {
	probe, v6err := net.Listen("tcp", "[::1]:0")
	if v6err == nil {
		probe.Close()
	}
	e := newBrowserEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	br := &scriptedBrowser{t: t, sb: e.sb, user: "bob", password: "bob-password", fail: cancel}
	rec := &nonceRecorder{v: e.verifier}
	b := e.flow()
	b.Host, b.Path, b.Open, b.Verify = "[::1]", "/oidc/done", br.Open, rec.verify
	tok, err := b.Token(ctx)
	if v6err != nil {
		// No IPv6 loopback on this machine: the error must say what failed.
		if tok != nil || err == nil || !strings.Contains(err.Error(), "[::1]") || !strings.Contains(err.Error(), "loopback listener") {
			t.Fatalf("without IPv6 loopback: Token = %v, %v; want an error naming [::1]", tok, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Token over [::1]: %v", err)
	}
	ru, _ := url.Parse(br.authURL.Query().Get("redirect_uri"))
	if ru == nil || ru.Host == "" || !strings.HasPrefix(ru.Host, "[::1]:") || ru.Path != "/oidc/done" {
		t.Errorf("redirect_uri = %q, want http://[::1]:PORT/oidc/done", br.authURL.Query().Get("redirect_uri"))
	}
	if rec.claims == nil || rec.claims.Subject != "bob" {
		t.Errorf("claims = %+v, want bob's", rec.claims)
	}
}

// linePrompt is a Prompt writer that hands the first printed URL to a
// channel, as a person copying it from the terminal would.
type linePrompt struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	urls chan string
	sent bool
}

func (p *linePrompt) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	if !p.sent {
		for _, line := range strings.Split(p.buf.String(), "\n") {
			if strings.HasPrefix(line, "http://") {
				p.urls <- line
				p.sent = true
				break
			}
		}
	}
	return len(b), nil
}

func (p *linePrompt) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

func TestBrowserFlowPrintsURLWhenOpenFails(t *testing.T) {
	e := newBrowserEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	prompt := &linePrompt{urls: make(chan string, 1)}
	br := &scriptedBrowser{t: t, sb: e.sb, user: "alice", password: "alice-password", fail: cancel}
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case u := <-prompt.urls:
			_ = br.Open(u)
		case <-ctx.Done():
		}
	}()
	rec := &nonceRecorder{v: e.verifier}
	b := e.flow()
	b.Prompt, b.Verify = prompt, rec.verify
	var opened string
	b.Open = func(u string) error {
		opened = u
		return errors.New("xdg-open: no method available")
	}
	tok, err := b.Token(ctx)
	<-done
	if err != nil {
		t.Fatalf("Token: %v\nprompt:\n%s", err, prompt.String())
	}
	if tok.IDToken == "" || rec.claims == nil || rec.claims.Subject != "alice" {
		t.Errorf("token %t, claims %+v", tok.IDToken != "", rec.claims)
	}
	if want := "Open this URL in a browser to log in:\n" + opened + "\n"; opened == "" || !strings.Contains(prompt.String(), want) {
		t.Errorf("prompt = %q, want it to contain %q", prompt.String(), want)
	}
	if br.status != http.StatusOK || !strings.Contains(br.page, "Logged in") {
		t.Errorf("callback page = HTTP %d %q", br.status, br.page)
	}
}
