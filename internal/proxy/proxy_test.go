package proxy

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
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/cookie"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/signin"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// testUsers are sandbox users in each role's group, and one in none.
func testUsers() []sandbox.User {
	u := func(id string, groups ...string) sandbox.User {
		return sandbox.User{ID: id, Password: id + "-password", Email: id + "@example.com", EmailVerified: true, Name: id, Groups: groups}
	}
	return []sandbox.User{u("vera", "dagster-viewers"), u("lena", "dagster-launchers"), u("eddie", "dagster-editors"), u("ada", "dagster-admins"), u("nobody")}
}

// testRules give each group its role, and the CI workload launcher on etl.
func testRules() []authz.Rule {
	return []authz.Rule{
		{Role: authz.Admin, When: "'dagster-admins' in claims.groups"},
		{Role: authz.Editor, When: "'dagster-editors' in claims.groups"},
		{Role: authz.Launcher, When: "'dagster-launchers' in claims.groups"},
		{Role: authz.Viewer, When: "'dagster-viewers' in claims.groups"},
		{Role: authz.Launcher, When: "claims.sub == 'system:serviceaccount:ci:deployer'", Locations: []string{"etl"}},
		{Role: authz.Viewer, When: "claims.sub == 'system:serviceaccount:ci:deployer'"},
	}
}

// upstream records what reaches the "webserver".
type upstream struct {
	mu   sync.Mutex
	reqs []*http.Request
	bods []string
	ws   []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"graphql-ws"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			u.mu.Lock()
			u.ws = append(u.ws, string(data))
			u.mu.Unlock()
			_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"data","id":"x","payload":{}}`))
		}
	}
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.reqs = append(u.reqs, r)
	u.bods = append(u.bods, string(b))
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"data":{"ok":true}}`)
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

func (u *upstream) last() (*http.Request, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reqs[len(u.reqs)-1], u.bods[len(u.bods)-1]
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harness struct {
	t *testing.T
	// skew moves the proxy's clock (not the sandbox's) forward.
	skew  *atomicDuration
	sb    *sandbox.Server
	url   string
	up    *upstream
	trail *lockedBuf
	log   *audit.Logger
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, cookie.KeySize) }

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Users: testUsers()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	up := &upstream{}
	ups := httptest.NewServer(up)
	t.Cleanup(ups.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ext, _ := url.Parse("http://" + ln.Addr().String())
	upURL, _ := url.Parse(ups.URL)
	sealer, err := cookie.NewSealer([][]byte{key(1)}, 24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := &signin.Issuer{URL: sb.Issuer(), Audience: sb.ClientID(), HTTP: http.DefaultClient, Skew: 30 * time.Second}
	skew := &atomicDuration{}
	trail := &lockedBuf{}
	logger := audit.New([]audit.Sink{audit.NewWriterSink("test", trail)}, audit.Options{Key: key(9)})
	s, err := New(Options{
		Profile: "ui", Environment: "prod", ExternalURL: ext, Upstream: upURL,
		SignIn: &signin.Client{Issuer: iss, ClientID: sb.ClientID(), RedirectURL: ext.String() + CallbackPath, Scopes: []string{"openid", "email", "groups", "offline_access"}},
		Bearer: &signin.Bearer{Issuers: []*signin.Issuer{iss}},
		Rules:  testRules(), Sealer: sealer, ForwardHeaders: true, Audit: logger,
		ErrorLog: t.Logf, Clock: clock.Func(func() time.Time { return time.Now().Add(skew.get()) }),
		SessionLifetime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &harness{t: t, skew: skew, sb: sb, url: ext.String(), up: up, trail: trail, log: logger}
}

type atomicDuration struct {
	mu sync.Mutex
	d  time.Duration
}

func (a *atomicDuration) get() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.d
}

func (a *atomicDuration) set(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.d = d
}

// browser is an HTTP client with a cookie jar that signs in at the sandbox
// form when the proxy sends it there.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// signIn opens path as a navigation, signs in as user on the sandbox form,
// and returns the response after the redirects back.
func (h *harness) signIn(c *http.Client, user, path string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+path, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `id="username"`) {
		h.t.Fatalf("%s did not lead to the sign-in form (HTTP %d at %s): %.300s", path, resp.StatusCode, resp.Request.URL, page)
	}
	form := url.Values{"id": {resp.Request.URL.Query().Get("authRequestID")}, "username": {user}, "password": {user + "-password"}}
	req, _ = http.NewRequest("POST", h.sb.Issuer()+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html") // kept on the redirects, as a browser's navigation
	resp, err = c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// post sends a GraphQL body as the Dagster UI does (same-origin fetch).
func (h *harness) post(c *http.Client, body string, hdr ...string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.url+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", h.url)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dialWS opens the proxy's GraphQL WebSocket (graphql-ws) with c's session
// cookie from the proxy's own origin; it returns the handshake's headers too.
func (h *harness) dialWS(ctx context.Context, c *http.Client) (*websocket.Conn, http.Header) {
	h.t.Helper()
	u, _ := url.Parse(h.url)
	hdr := http.Header{"Origin": {h.url}}
	for _, ck := range c.Jar.Cookies(u) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.url, "http")+"/graphql", &websocket.DialOptions{HTTPHeader: hdr, Subprotocols: []string{"graphql-ws"}})
	if err != nil {
		h.t.Fatal(err)
	}
	return ws, hdr
}

func (h *harness) auditLines() []map[string]any {
	h.t.Helper()
	var out []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		out = out[:0]
		for _, l := range strings.Split(strings.TrimSpace(h.trail.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil {
				out = append(out, m)
			}
		}
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const launchEtl = `{"query":"mutation Launch($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) { __typename } }","operationName":"Launch","variables":{"p":{"selector":{"repositoryLocationName":"etl","repositoryName":"__repository__","pipelineName":"etl_daily"}}}}`

func launchIn(loc string) string { return strings.Replace(launchEtl, `"etl"`, `"`+loc+`"`, 1) }

func TestSignInRestoresDeepLinkAndForwardsIdentity(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	resp := h.signIn(c, "vera", "/runs/abc?tab=logs")
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.RequestURI() != "/runs/abc?tab=logs" {
		t.Fatalf("after sign-in: HTTP %d at %s, want the deep link /runs/abc?tab=logs", resp.StatusCode, resp.Request.URL)
	}
	r, _ := h.up.last()
	if r.URL.RequestURI() != "/runs/abc?tab=logs" || r.Header.Get("X-Forwarded-User") != "vera" || r.Header.Get("X-Forwarded-Email") != "vera@example.com" || r.Header.Get("X-Forwarded-Groups") != "dagster-viewers" {
		t.Errorf("upstream got %s with identity headers %q %q %q", r.URL, r.Header.Get("X-Forwarded-User"), r.Header.Get("X-Forwarded-Email"), r.Header.Get("X-Forwarded-Groups"))
	}
	if ck := r.Header.Get("Cookie"); strings.Contains(ck, "dagster-oidc") {
		t.Errorf("the session cookie reached the upstream: %q", ck)
	}
	u, _ := url.Parse(h.url)
	var sess *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "dagster-oidc" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	for _, forbidden := range []string{"vera", "example.com"} {
		raw, _ := base64.URLEncoding.DecodeString(sess.Value)
		if strings.Contains(sess.Value, forbidden) || bytes.Contains(raw, []byte(forbidden)) {
			t.Errorf("the session cookie shows %q", forbidden)
		}
	}

	// Identity headers from the client never reach the upstream.
	req, _ := http.NewRequest("GET", h.url+"/overview", nil)
	req.Header.Set("X-Forwarded-User", "ada")
	req.Header.Set("X-Forwarded-Groups", "dagster-admins")
	req.Header.Set("Remote-User", "ada")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r, _ = h.up.last()
	if r.Header.Get("X-Forwarded-User") != "vera" || r.Header.Get("X-Forwarded-Groups") != "dagster-viewers" || r.Header.Get("Remote-User") != "" {
		t.Errorf("forged identity headers reached the upstream: %v", r.Header)
	}

	lines := h.auditLines()
	if len(lines) == 0 || lines[0]["event"] != "proxy_sign_in" || lines[0]["outcome"] != "ok" || lines[0]["role"] != "viewer" || lines[0]["subject_hash"] == nil {
		t.Errorf("first audit line = %v, want a proxy_sign_in ok viewer with a subject hash", lines)
	}
	if strings.Contains(h.trail.String(), "vera") {
		t.Errorf("the audit trail names the user: %s", h.trail.String())
	}
}

func TestRolesOnGraphQL(t *testing.T) {
	h := newHarness(t)
	viewer, launcher, editor, admin := h.browser(), h.browser(), h.browser(), h.browser()
	for c, u := range map[*http.Client]string{viewer: "vera", launcher: "lena", editor: "eddie", admin: "ada"} {
		h.signIn(c, u, "/").Body.Close()
	}
	wipe := `{"query":"mutation { wipeAssets(assetPartitionRanges: [{assetKey: {path: [\"raw\"]}}]) { __typename } }"}`
	schedule := `{"query":"mutation { startSchedule(scheduleSelector: {repositoryLocationName: \"etl\", repositoryName: \"r\", scheduleName: \"daily\"}) { __typename } }"}`
	tests := []struct {
		name    string
		c       *http.Client
		body    string
		allowed bool
		msg     string
	}{
		{"viewer queries", viewer, `{"query":"query Runs { runsOrError { __typename } }"}`, true, ""},
		{"viewer launches", viewer, launchEtl, false, `{"data":{"launchPipelineExecution":{"__typename":"PythonError","cause":null,"className":null,"errorChain":[],"message":"dagster-oidc: launchPipelineExecution needs the launcher role on code location etl; vera@example.com has viewer","stack":[]}}}`},
		{"launcher launches", launcher, launchEtl, true, ""},
		{"launcher turns a schedule on", launcher, schedule, false, "dagster-oidc: startSchedule needs the editor role on code location etl; lena@example.com has launcher"},
		{"editor turns a schedule on", editor, schedule, true, ""},
		{"editor wipes", editor, wipe, false, `{"data":{"wipeAssets":{"__typename":"PythonError","cause":null,"className":null,"errorChain":[],"message":"dagster-oidc: wipeAssets needs the admin role on every code location; eddie@example.com has editor","stack":[]}}}`},
		{"aliased refusal keeps the alias", viewer, `{"query":"mutation { a: setAutoMaterializePaused(paused: true) }"}`, false, `"errors":[{"extensions":{"code":"FORBIDDEN","field":"setAutoMaterializePaused","requiredRole":"admin","user":"vera@example.com"}`},
		{"a refused alias", editor, `{"query":"mutation { gone: wipeAssets(assetPartitionRanges: []) { __typename } }"}`, false, `{"data":{"gone":{"__typename":"PythonError"`},
		{"admin wipes", admin, wipe, true, ""},
		{"batch with a mutation inside", viewer, `[{"query":"{ version }"},` + launchEtl + `]`, false, "needs the launcher role"},
		{"mutation behind a query's operationName", viewer, `{"query":"query Q { version } mutation W { wipeAssets(assetPartitionRanges: []) { __typename } }","operationName":"Q"}`, false, "wipeAssets needs the admin role"},
		{"several operations, no operationName", admin, `{"query":"query A { a } query B { b }"}`, false, "the request names none"},
		{"does not parse", admin, `{"query":"mutation { wipeAssets( }"}`, false, "does not parse"},
		{"persisted query without text", admin, `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`, false, "persisted-query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.up.count()
			status, body := h.post(tt.c, tt.body)
			reached := h.up.count() > before
			if reached != tt.allowed {
				t.Fatalf("reached upstream = %v, want %v (HTTP %d %s)", reached, tt.allowed, status, body)
			}
			if !tt.allowed && !strings.Contains(body, tt.msg) {
				t.Errorf("refusal = HTTP %d %s, want it to say %q", status, body, tt.msg)
			}
			// A mutation is refused in its result type (PythonError),
			// anything else with GraphQL errors.
			if !tt.allowed && !strings.Contains(body, `"errors":[{`) && !strings.Contains(body, `"__typename":"PythonError"`) {
				t.Errorf("refusal is neither a GraphQL error nor a refusal type: %s", body)
			}
		})
	}
	// The logger writes asynchronously: close it so every line of the
	// requests above is in the trail before counting.
	if err := h.log.Close(); err != nil {
		t.Fatal(err)
	}
	var refused, allowed int
	for _, l := range h.auditLines() {
		switch l["event"] {
		case "proxy_refused":
			refused++
		case "proxy_mutation":
			allowed++
			if r, _ := l["reason"].(string); strings.Contains(r, "launchPipelineExecution") && !strings.Contains(r, "locations=etl") {
				t.Errorf("mutation line without its code location: %v", l)
			}
		}
	}
	if refused < 7 || allowed != 3 {
		t.Errorf("audit: %d refusals and %d allowed mutations, want ≥7 and 3:\n%s", refused, allowed, h.trail.String())
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	h.signIn(c, "ada", "/").Body.Close()
	before := h.up.count()
	for name, hdr := range map[string][]string{
		"no Origin":        {"Origin", ""},
		"another Origin":   {"Origin", "https://evil.example"},
		"cross-site fetch": {"Origin", "", "Sec-Fetch-Site", "cross-site"},
	} {
		status, body := h.post(c, launchEtl, hdr...)
		if status != http.StatusForbidden || !strings.Contains(body, "cross-site request refused") {
			t.Errorf("%s: HTTP %d %s, want 403 cross-site", name, status, body)
		}
	}
	// A mutation in a GET (a link another site could make) with the cookie.
	resp, err := c.Get(h.url + "/graphql?query=" + url.QueryEscape(`mutation { wipeAssets(assetPartitionRanges: []) { __typename } }`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET mutation with the cookie: HTTP %d, want 403", resp.StatusCode)
	}
	if h.up.count() != before {
		t.Error("a cross-site request reached the upstream")
	}
	if status, _ := h.post(c, launchEtl, "Origin", "", "Sec-Fetch-Site", "same-origin"); status != 200 || h.up.count() != before+1 {
		t.Errorf("same-origin fetch without Origin: HTTP %d, want it through", status)
	}
}

func TestBearerTokens(t *testing.T) {
	h := newHarness(t)
	c := &http.Client{Timeout: 10 * time.Second}
	mint := func(claims map[string]any, life time.Duration) string {
		tok, err := h.sb.MintIDToken(claims, life)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ci := mint(map[string]any{"sub": "system:serviceaccount:ci:deployer"}, time.Hour)
	tamper := []byte(ci)
	tamper[len(tamper)-5] ^= 0x01
	tests := []struct {
		name    string
		token   string
		body    string
		status  int
		allowed bool
		msg     string
	}{
		{"workload launches in its code location", ci, launchEtl, 200, true, ""},
		{"workload launches outside it", ci, launchIn("ml"), 200, false, "launchPipelineExecution needs the launcher role on code location ml; system:serviceaccount:ci:deployer has launcher on etl; viewer"},
		{"forged signature", string(tamper), launchEtl, 401, false, "signature"},
		{"expired", mint(map[string]any{"sub": "system:serviceaccount:ci:deployer"}, -time.Hour), launchEtl, 401, false, "expired"},
		{"other audience", mint(map[string]any{"sub": "system:serviceaccount:ci:deployer", "aud": "someone-else"}, time.Hour), launchEtl, 401, false, "audience"},
		{"untrusted issuer", mint(map[string]any{"sub": "system:serviceaccount:ci:deployer", "iss": "https://elsewhere.example"}, time.Hour), launchEtl, 401, false, "not trusted"},
		{"not a JWT", "abc", launchEtl, 401, false, "not a signed JWT"},
		{"no role", mint(map[string]any{"sub": "someone"}, time.Hour), `{"query":"{ version }"}`, 403, false, "has no role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.up.count()
			// No Origin: an API client; bearer requests need no CSRF check.
			status, body := h.post(c, tt.body, "Authorization", "Bearer "+tt.token, "Origin", "")
			if reached := h.up.count() > before; reached != tt.allowed || status != tt.status {
				t.Fatalf("HTTP %d reached=%v, want %d reached=%v: %s", status, reached, tt.status, tt.allowed, body)
			}
			if tt.msg != "" && !strings.Contains(body, tt.msg) {
				t.Errorf("body %s, want %q", body, tt.msg)
			}
			if strings.Contains(body, tt.token) {
				t.Error("the response echoes the token")
			}
		})
	}
	r, _ := h.up.last()
	if r.Header.Get("Authorization") != "" {
		t.Error("the bearer token reached the upstream")
	}
	if strings.Contains(h.trail.String(), "eyJ") {
		t.Error("a token reached the audit trail")
	}
}

func TestCookieFromAnotherKeyAndNoRole(t *testing.T) {
	h := newHarness(t)
	other, _ := cookie.NewSealer([][]byte{key(2)}, time.Hour, nil)
	forged, err := other.Seal("dagster-oidc", sessionData{Subject: "ada", Issuer: h.sb.Issuer(), Name: "ada", Grants: authz.Grants{{Role: authz.Admin}}, Expiry: time.Now().Add(time.Hour).Unix(), SignedIn: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", h.url+"/graphql", strings.NewReader(launchEtl))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", h.url)
	req.AddCookie(&http.Cookie{Name: "dagster-oidc", Value: forged})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || h.up.count() != 0 {
		t.Errorf("a cookie sealed with another key: HTTP %d %s, reached upstream %d times", resp.StatusCode, b, h.up.count())
	}

	c := h.browser()
	resp = h.signIn(c, "nobody", "/runs/x")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(page), "No access to Dagster") || !strings.Contains(string(page), "nobody@example.com") || !strings.Contains(string(page), "viewer") {
		t.Errorf("no-role user: HTTP %d %s", resp.StatusCode, page)
	}
	if h.up.count() != 0 {
		t.Error("a user without a role reached the upstream")
	}
}

func TestWebSocketOperationsAreChecked(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	h.signIn(c, "vera", "/").Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, hdr := h.dialWS(ctx, c)
	defer ws.CloseNow()
	if ws.Subprotocol() != "graphql-ws" {
		t.Errorf("subprotocol %q", ws.Subprotocol())
	}
	send := func(m string) string {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	sub := `{"id":"1","type":"start","payload":{"query":"subscription Logs { pipelineRunLogs(runId: \"r\") { __typename } }","operation_name":"Logs"}}`
	if got := send(sub); !strings.Contains(got, `"type":"data"`) {
		t.Errorf("a subscription: %s, want it relayed", got)
	}
	mut := `{"id":"2","type":"start","payload":{"query":"mutation { wipeAssets(assetPartitionRanges: []) { __typename } }"}}`
	if got := send(mut); !strings.Contains(got, `"type":"error"`) || !strings.Contains(got, `"id":"2"`) || !strings.Contains(got, "wipeAssets needs the admin role") {
		t.Errorf("a mutation over the WebSocket: %s, want an error for id 2", got)
	}
	h.up.mu.Lock()
	relayed := strings.Join(h.up.ws, "\n")
	h.up.mu.Unlock()
	if !strings.Contains(relayed, "pipelineRunLogs") || strings.Contains(relayed, "wipeAssets") {
		t.Errorf("upstream WebSocket saw: %s", relayed)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"execute","payload":{"query":"mutation { x }"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("an unknown message type: %v, want close 1008", err)
	}

	// Another site's page cannot open the socket with the cookie.
	hdr.Set("Origin", "https://evil.example")
	if _, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.url, "http")+"/graphql", &websocket.DialOptions{HTTPHeader: hdr}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("cross-site WebSocket: %v, want 403", err)
	}
}

func TestHealthAndSignOut(t *testing.T) {
	h := newHarness(t)
	resp, err := http.Get(h.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok\n" || h.up.count() != 0 {
		t.Errorf("/healthz: %d %q", resp.StatusCode, b)
	}
	c := h.browser()
	h.signIn(c, "vera", "/").Body.Close()
	resp, err = c.Get(h.url + SignOutPath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	// RP-initiated logout: through the sandbox's end_session_endpoint and back.
	if resp.Request.URL.Path != SignedOutPath || !strings.Contains(string(b), "You are signed out") {
		t.Errorf("sign-out ended at %s: %.200s", resp.Request.URL, b)
	}
	u, _ := url.Parse(h.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "dagster-oidc" {
			t.Error("the session cookie survived sign-out")
		}
	}
	if status, _ := h.post(c, `{"query":"{ version }"}`); status != 401 {
		t.Errorf("after sign-out: HTTP %d, want 401", status)
	}
}

func TestSessionRenewedByRefreshTokenWithinItsLifetime(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	h.signIn(c, "lena", "/").Body.Close()
	u, _ := url.Parse(h.url)
	sessionValue := func() string {
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == "dagster-oidc" {
				return ck.Value
			}
		}
		return ""
	}
	first := sessionValue()
	// Past the ID token's expiry (10 minutes): the refresh token renews it.
	h.skew.set(11 * time.Minute)
	if status, body := h.post(c, launchEtl); status != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("after the ID token expired: HTTP %d %s, want a renewed session", status, body)
	}
	if v := sessionValue(); v == "" || v == first {
		t.Error("the renewed session was not sealed into a new cookie")
	}
	// Past the session's lifetime (1 hour from sign-in): sign in again.
	h.skew.set(61 * time.Minute)
	if status, _ := h.post(c, launchEtl); status != 401 {
		t.Errorf("after the session lifetime: HTTP %d, want 401", status)
	}
}

func TestWebSocketClosesAtTheCredentialsEnd(t *testing.T) {
	h := newHarness(t)
	tok, err := h.sb.MintIDToken(map[string]any{"sub": "system:serviceaccount:ci:deployer"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy's clock is past the token's expiry (the verifier's is not):
	// the socket opens and is closed at once.
	h.skew.set(2 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.url, "http")+"/graphql", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}, Subprotocols: []string{"graphql-ws"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "the session ended") {
		t.Errorf("read after the token's end: %v, want close 1008 the session ended", err)
	}
}

func TestRoutesOutsideGraphQL(t *testing.T) {
	h := newHarness(t)
	viewer, editor := h.browser(), h.browser()
	h.signIn(viewer, "vera", "/").Body.Close()
	h.signIn(editor, "eddie", "/").Body.Close()
	report := func(c *http.Client, origin string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", h.url+"/report_asset_materialization/raw_orders", strings.NewReader(`{}`))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	before := h.up.count()
	if got := report(viewer, h.url); got != 403 {
		t.Errorf("viewer reports a materialization: HTTP %d, want 403", got)
	}
	if got := report(editor, "https://evil.example"); got != 403 {
		t.Errorf("editor, cross-site: HTTP %d, want 403", got)
	}
	if h.up.count() != before {
		t.Fatal("a refused route request reached the upstream")
	}
	if got := report(editor, h.url); got != 200 || h.up.count() != before+1 {
		t.Errorf("editor reports a materialization: HTTP %d", got)
	}
	resp, err := viewer.Get(h.url + "/logs/run/compute.out")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || h.up.count() != before+2 {
		t.Errorf("viewer downloads logs: HTTP %d", resp.StatusCode)
	}
	if !strings.Contains(h.trail.String(), "route /report_asset_materialization/{asset_key:path} needs=editor") {
		t.Errorf("no refusal line for the route:\n%s", h.trail.String())
	}
}

// TestRequestAndMessageLimits: a GraphQL body over max_body_bytes gets 413
// in Dagster's error shape and a WebSocket message over max_message_bytes
// closes the socket (1009); neither reaches the webserver.
func TestRequestAndMessageLimits(t *testing.T) {
	h := newHarness(t)
	c := h.browser()
	h.signIn(c, "vera", "/").Body.Close()
	before := h.up.count()
	pad := strings.Repeat(" ", DefaultMaxBodyBytes)
	status, body := h.post(c, `{"query":"{ version }`+pad+`"}`)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"code":"TOO_LARGE"`) {
		t.Errorf("a body over the limit: HTTP %d %.200s, want 413 TOO_LARGE", status, body)
	}
	if h.up.count() != before {
		t.Errorf("the oversized body reached the webserver")
	}
	// Just under the limit still passes.
	if status, body := h.post(c, `{"query":"{ version }`+pad[:DefaultMaxBodyBytes-len(`{"query":"{ version }"}`)]+`"}`); status != http.StatusOK {
		t.Errorf("a body at the limit: HTTP %d %.200s, want it relayed", status, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _ := h.dialWS(ctx, c)
	defer ws.CloseNow()
	big := `{"id":"1","type":"start","payload":{"query":"subscription Logs { pipelineRunLogs(runId: \"r\") { __typename } }` + strings.Repeat(" ", DefaultMaxMessageBytes) + `"}}`
	if err := ws.Write(ctx, websocket.MessageText, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("a message over the limit: %v, want close 1009", err)
	}
	h.up.mu.Lock()
	relayed := strings.Join(h.up.ws, "\n")
	h.up.mu.Unlock()
	if strings.Contains(relayed, "pipelineRunLogs") {
		t.Errorf("the oversized message reached the webserver")
	}
}
