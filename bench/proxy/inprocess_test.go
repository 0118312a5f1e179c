package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/cookie"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/signin"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// inProcessProxy is dagster-oidc proxy's handler as `dagster-oidc proxy`
// builds it (sealed cookies, the sandbox as issuer, the role rules of the
// benchmark's profile, a keyed audit file), in front of the stub upstream
// that answers the benchmark's bodies; signed in as benchUser.
type inProcessProxy struct {
	handler http.Handler
	cookie  string
	origin  string
	stub    *stubUpstream
}

func newInProcessProxy(tb testing.TB) *inProcessProxy {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Users: []sandbox.User{benchUser}, IDTokenLifetime: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sb.Close() })
	stub, err := startStub()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stub.close)
	for _, sc := range scenarios {
		body, err := os.ReadFile(filepath.Join("testdata", sc.File))
		if err != nil {
			tb.Fatal(err)
		}
		stub.record(body, []byte(`{"data":{}}`))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ext, _ := url.Parse("http://" + ln.Addr().String())
	up, _ := url.Parse(stub.URL)
	sealer, err := cookie.NewSealer([][]byte{bytes.Repeat([]byte{7}, cookie.KeySize)}, 13*time.Hour, nil)
	if err != nil {
		tb.Fatal(err)
	}
	key := bytes.Repeat([]byte{9}, 32)
	sink, err := audit.NewFileSink(filepath.Join(tb.TempDir(), "audit.jsonl"), audit.FileSinkOptions{Key: key})
	if err != nil {
		tb.Fatal(err)
	}
	trail := audit.New([]audit.Sink{sink}, audit.Options{Key: key})
	tb.Cleanup(func() { trail.Close() })
	iss := &signin.Issuer{URL: sb.Issuer(), Audience: sb.ClientID(), HTTP: http.DefaultClient, Skew: 30 * time.Second}
	h, err := proxy.New(proxy.Options{
		Profile: "ui", ExternalURL: ext, Upstream: up,
		SignIn: &signin.Client{Issuer: iss, ClientID: sb.ClientID(), RedirectURL: ext.String() + proxy.CallbackPath,
			Scopes: []string{"openid", "email", "groups", "offline_access"}},
		Bearer: &signin.Bearer{Issuers: []*signin.Issuer{iss}},
		Rules: []authz.Rule{
			{Role: authz.Admin, When: "'dagster-admins' in claims.groups"},
			{Role: authz.Editor, When: "'dagster-editors' in claims.groups"},
			{Role: authz.Launcher, When: "'dagster-launchers' in claims.groups", Locations: []string{location}},
			{Role: authz.Viewer, When: "claims.email endsWith '@example.com' && claims.email_verified == true"},
		},
		Sealer: sealer, Audit: trail, ErrorLog: tb.Logf,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	st := &stack{sb: sb}
	ck, err := st.idpSignIn(ext.String()+"/", ext.String())
	if err != nil {
		tb.Fatal(err)
	}
	return &inProcessProxy{handler: h, cookie: ck, origin: ext.String(), stub: stub}
}

func (p *inProcessProxy) serve(body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", p.cookie)
	req.Header.Set("Origin", p.origin)
	rec := httptest.NewRecorder()
	p.handler.ServeHTTP(rec, req)
	return rec
}

// TestInProcessProxyPassesTheBodies checks the benchmark below measures
// what it says: both bodies pass the proxy's checks and reach the stub.
func TestInProcessProxyPassesTheBodies(t *testing.T) {
	p := newInProcessProxy(t)
	for _, sc := range scenarios {
		body, err := os.ReadFile(filepath.Join("testdata", sc.File))
		if err != nil {
			t.Fatal(err)
		}
		if rec := p.serve(body); rec.Code != http.StatusOK || rec.Body.String() != `{"data":{}}` {
			t.Errorf("%s: HTTP %d %q", sc.Name, rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkInProcessProxy is the proxy's own work per request (cookie open,
// GraphQL parse and checks, audit line for the mutation, reverse proxy to
// the stub) without process or network noise from wrk, for pprof:
//
//	go test -run '^$' -bench InProcessProxy -benchmem -cpuprofile cpu.out ./bench/proxy
//	go tool pprof -top bench/proxy/proxy.test cpu.out
func BenchmarkInProcessProxy(b *testing.B) {
	p := newInProcessProxy(b)
	for _, sc := range scenarios {
		body, err := os.ReadFile(filepath.Join("testdata", sc.File))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(sc.File, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rec := p.serve(body); rec.Code != http.StatusOK {
					b.Fatalf("HTTP %d: %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
