package credserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/google/go-cmp/cmp"
)

var testCreds = Credentials{
	AccessKeyID:     "ASIAEXAMPLEEXAMPLE01",
	SecretAccessKey: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw",
	SessionToken:    "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////",
	Expiration:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

func fixedProvider(c Credentials) Provider {
	return func(context.Context) (*Credentials, error) { return &c, nil }
}

func start(t *testing.T, p Provider, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, u string, header map[string][]string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

func TestServesContainerCredentialsJSON(t *testing.T) {
	var served []error
	s := start(t, fixedProvider(testCreds), Options{OnServe: func(err error) { served = append(served, err) }})
	got := do(t, http.MethodGet, s.URL(), map[string][]string{"Authorization": {s.AuthToken()}})
	if got.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", got.status, got.body)
	}
	var fields map[string]any
	if err := json.Unmarshal(got.body, &fields); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	want := map[string]any{
		"AccessKeyId":     testCreds.AccessKeyID,
		"SecretAccessKey": testCreds.SecretAccessKey,
		"Token":           testCreds.SessionToken,
		"Expiration":      "2026-01-02T03:04:05Z",
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("response fields (-want +got):\n%s", diff)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := got.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if len(served) != 1 || served[0] != nil {
		t.Errorf("OnServe calls = %v, want one nil", served)
	}
}

func TestAccountIDAndTimeZone(t *testing.T) {
	c := testCreds
	c.AccountID = "123456789012"
	c.Expiration = time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600))
	s := start(t, fixedProvider(c), Options{})
	got := do(t, http.MethodGet, s.URL(), map[string][]string{"Authorization": {s.AuthToken()}})
	var r struct {
		AccountID  string `json:"AccountId"`
		Expiration string `json:"Expiration"`
	}
	if err := json.Unmarshal(got.body, &r); err != nil {
		t.Fatal(err)
	}
	if r.AccountID != "123456789012" || r.Expiration != "2026-01-02T03:04:05Z" {
		t.Errorf("got AccountId %q, Expiration %q", r.AccountID, r.Expiration)
	}
}

func TestRefusals(t *testing.T) {
	s := start(t, fixedProvider(testCreds), Options{})
	u, _ := url.Parse(s.URL())
	good := map[string][]string{"Authorization": {s.AuthToken()}}
	tests := []struct {
		name     string
		method   string
		url      string
		header   map[string][]string
		status   int
		wantCode string
	}{
		{"missing authorization", http.MethodGet, s.URL(), nil, 403, "AccessDenied"},
		{"wrong token", http.MethodGet, s.URL(), map[string][]string{"Authorization": {"nope"}}, 403, "AccessDenied"},
		{"bearer prefix", http.MethodGet, s.URL(), map[string][]string{"Authorization": {"Bearer " + s.AuthToken()}}, 403, "AccessDenied"},
		{"token prefix only", http.MethodGet, s.URL(), map[string][]string{"Authorization": {s.AuthToken()[:20]}}, 403, "AccessDenied"},
		{"token twice", http.MethodGet, s.URL(), map[string][]string{"Authorization": {s.AuthToken(), s.AuthToken()}}, 403, "AccessDenied"},
		{"empty authorization", http.MethodGet, s.URL(), map[string][]string{"Authorization": {""}}, 403, "AccessDenied"},
		{"other path", http.MethodGet, "http://" + u.Host + "/", good, 404, "NotFound"},
		{"path prefix", http.MethodGet, s.URL() + "/x", good, 404, "NotFound"},
		{"query", http.MethodGet, s.URL() + "?a=b", good, 404, "NotFound"},
		{"post", http.MethodPost, s.URL(), good, 405, "MethodNotAllowed"},
		{"put without auth", http.MethodPut, s.URL(), nil, 405, "MethodNotAllowed"},
		{"foreign host", http.MethodGet, s.URL(), map[string][]string{"Authorization": {s.AuthToken()}, "Host": {"evil.example:80"}}, 403, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.header {
				if k == "Host" {
					req.Host = vs[0]
					continue
				}
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var e errorBody
			if err := json.Unmarshal(body, &e); err != nil || e.Code != tt.wantCode || e.Message == "" {
				t.Errorf("body %s, want code %q and a message", body, tt.wantCode)
			}
			if bytes.Contains(body, []byte(testCreds.SecretAccessKey)) || bytes.Contains(body, []byte(s.AuthToken())) {
				t.Error("refusal leaks a secret")
			}
			if tt.status == 405 && resp.Header.Get("Allow") != "GET" {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestProviderFailure(t *testing.T) {
	secret := "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln"
	tests := []struct {
		name      string
		err       error
		creds     *Credentials
		wantCode  string
		wantInMsg string
	}{
		{"login required", apperr.LoginRequired(fmt.Errorf("could not refresh token %s", secret), "run: dagster-oidc login --profile dev"), nil, "LoginRequired", "run: dagster-oidc login --profile dev"},
		{"denied", apperr.Denied(errors.New("no rule matched "+secret), ""), nil, "AccessDenied", "denied"},
		{"other", errors.New("sts said " + secret), nil, "InternalError", "could not get credentials"},
		{"nil credentials", nil, nil, "InternalError", "could not get credentials"},
		{"incomplete credentials", nil, &Credentials{AccessKeyID: "A"}, "InternalError", "could not get credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var served []error
			s := start(t, func(context.Context) (*Credentials, error) { return tt.creds, tt.err },
				Options{OnServe: func(err error) { served = append(served, err) }})
			got := do(t, http.MethodGet, s.URL(), map[string][]string{"Authorization": {s.AuthToken()}})
			if got.status != http.StatusInternalServerError {
				t.Errorf("status = %d", got.status)
			}
			var e errorBody
			if err := json.Unmarshal(got.body, &e); err != nil {
				t.Fatalf("body %s: %v", got.body, err)
			}
			if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantInMsg) {
				t.Errorf("got %+v, want code %q and message containing %q", e, tt.wantCode, tt.wantInMsg)
			}
			if bytes.Contains(got.body, []byte(secret)) {
				t.Error("error body leaks the provider's error text")
			}
			if len(served) != 1 || served[0] == nil {
				t.Errorf("OnServe calls = %v, want one error", served)
			}
		})
	}
}

func TestListensOnLoopbackOnly(t *testing.T) {
	s := start(t, fixedProvider(testCreds), Options{})
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok || !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) || addr.Port == 0 {
		t.Errorf("listening on %v, want 127.0.0.1:<port>", s.Addr())
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || len(u.Path) < 20 {
		t.Errorf("URL %q: want http://127.0.0.1:<port>/<random path>", s.URL())
	}
	tok := s.AuthToken()
	if len(tok) != 43 || strings.ContainsAny(tok, "\r\n=+/ ") {
		t.Errorf("auth token %q: want 43 base64url characters", tok)
	}
	other := start(t, fixedProvider(testCreds), Options{})
	if other.AuthToken() == tok || other.URL() == s.URL() {
		t.Error("two servers share a token or URL")
	}
}

func TestRequestHeaderCap(t *testing.T) {
	s := start(t, fixedProvider(testCreds), Options{})
	got := do(t, http.MethodGet, s.URL(), map[string][]string{
		"Authorization": {s.AuthToken()},
		"X-Padding":     {strings.Repeat("a", 2*maxHeaderBytes)},
	})
	if got.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status = %d, want 431", got.status)
	}
}

func TestCloseAndContextStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, fixedProvider(testCreds), Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestProviderCallsAreSerialised(t *testing.T) {
	var inFlight, maxInFlight atomic.Int32
	p := func(context.Context) (*Credentials, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		c := testCreds
		return &c, nil
	}
	s := start(t, p, Options{})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL(), nil)
			req.Header.Set("Authorization", s.AuthToken())
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("%d provider calls ran at once, want 1", m)
	}
}

func TestRandFailure(t *testing.T) {
	_, err := Start(context.Background(), fixedProvider(testCreds), Options{Rand: strings.NewReader("short")})
	if err == nil {
		t.Fatal("Start succeeded without randomness")
	}
	if _, err := Start(context.Background(), nil, Options{}); err == nil {
		t.Fatal("Start succeeded without a provider")
	}
}

// TestIssue16_14_CloseWaitsForARefreshInFlight: when exec shuts down (its
// child exited on SIGTERM) while a credential request is refreshing the
// login, Close lets the provider finish with an uncancelled context and the
// client gets its credentials, so a rotated refresh token is stored rather
// than lost.
func TestIssue16_14_CloseWaitsForARefreshInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	providerErr := make(chan error, 1)
	s := start(t, func(ctx context.Context) (*Credentials, error) {
		close(entered)
		<-release
		providerErr <- ctx.Err()
		c := testCreds
		return &c, nil
	}, Options{})
	got := make(chan reply, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL(), nil)
		req.Header.Set("Authorization", s.AuthToken())
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			got <- reply{body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		got <- reply{status: resp.StatusCode, body: body}
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close has begun once the listener refuses connections.
	for {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			break
		}
		c.Close()
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a provider call was in flight", err)
	default:
	}
	close(release)
	if r := <-got; r.status != http.StatusOK || !strings.Contains(string(r.body), testCreds.AccessKeyID) {
		t.Errorf("client got HTTP %d %q, want the credentials", r.status, r.body)
	}
	if err := <-providerErr; err != nil {
		t.Errorf("the provider's context ended during Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}
