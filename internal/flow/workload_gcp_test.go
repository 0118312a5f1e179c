package flow

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

const wlGCPIdentityPath = "/computeMetadata/v1/instance/service-accounts/default/identity"

// wlMetadataStandIn serves the GCE metadata server's identity endpoint: 403
// without Metadata-Flavor: Google, 400 without audience or format=full, then
// the reply (the raw JWT as text/html, as the real server does) or a status.
type wlMetadataStandIn struct {
	t        *testing.T
	audience string
	status   int
	body     string
	requests atomic.Int32
}

func (s *wlMetadataStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing required header: Metadata-Flavor", http.StatusForbidden)
		return
	}
	if r.URL.Path != wlGCPIdentityPath {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("audience") != s.audience || q.Get("format") != "full" {
		s.t.Errorf("query = %s, want audience=%s and format=full", r.URL.RawQuery, s.audience)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if s.status != http.StatusOK {
		http.Error(w, "not defined", s.status)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(s.body))
}

// wlMetadataServer starts the stand-in and returns options pointing at it
// through GCE_METADATA_HOST.
func wlMetadataServer(t *testing.T, s *wlMetadataStandIn) (*httptest.Server, WorkloadOptions) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	o := wlOptions(t, map[string]string{"GCE_METADATA_HOST": srv.Listener.Addr().String()})
	o.HTTP = srv.Client()
	o.Audience = s.audience
	return srv, o
}

func TestGCPMetadataToken(t *testing.T) {
	const aud = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/gce"
	raw := wlMint(t, map[string]any{
		"iss": "https://accounts.google.com", "sub": "1234567890", "aud": aud,
		"exp": wlNow.Add(time.Hour).Unix(), "email": "pipelines@proj.iam.gserviceaccount.com",
		"google": map[string]any{"compute_engine": map[string]any{"project_id": "proj", "instance_name": "vm"}},
	})
	standIn := &wlMetadataStandIn{t: t, audience: aud, status: http.StatusOK, body: raw}
	srv, o := wlMetadataServer(t, standIn)

	// The stand-in refuses what the real server refuses.
	resp, err := srv.Client().Get(srv.URL + wlGCPIdentityPath + "?audience=x&format=full")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("stand-in answered %d without Metadata-Flavor, want 403", resp.StatusCode)
	}

	src, err := NewWorkloadSource(SourceGCPMetadata, o)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.IDToken != raw || tok.Source != SourceGCPMetadata || !tok.Expiry.Equal(wlNow.Add(time.Hour)) {
		t.Errorf("Token = %+v", *tok)
	}
}

func TestGCPMetadataBadInput(t *testing.T) {
	const aud = "https://sts.example"
	expired := wlExpired(t, aud)
	tests := []struct {
		name   string
		status int
		body   string
		want   []string
		wantIs error
		cause  WorkloadCause
	}{
		{name: "no service account", cause: CauseNoIdentity, status: http.StatusNotFound, want: []string{"gcp-metadata", "GCE_METADATA_HOST", "404 Not Found"}},
		{name: "server error", cause: CauseFailed, status: http.StatusInternalServerError, want: []string{"gcp-metadata", "GCE_METADATA_HOST", "500 Internal Server Error"}},
		{name: "not a JWT", cause: CauseRejected, status: http.StatusOK, body: "<html>secret-page</html>", want: []string{"gcp-metadata", "not a signed JWT"}, wantIs: ErrNotJWT},
		{name: "expired", cause: CauseExpired, status: http.StatusOK, body: expired, want: []string{"gcp-metadata", "GCE_METADATA_HOST", "expired"}, wantIs: ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			standIn := &wlMetadataStandIn{t: t, audience: aud, status: tt.status, body: tt.body}
			srv, o := wlMetadataServer(t, standIn)
			src, err := NewWorkloadSource(SourceGCPMetadata, o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(context.Background())
			t.Log(err)
			wlAssertFailure(t, err, append(tt.want, srv.Listener.Addr().String()), []string{expired, "secret-page"})
			wlAssertCause(t, err, tt.cause)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if n := standIn.requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestGCPMetadataTimeout points the source at a 127.0.0.1 listener that
// accepts connections and never answers.
func TestGCPMetadataTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	o := wlOptions(t, map[string]string{"GCE_METADATA_HOST": ln.Addr().String()})
	o.HTTP = &http.Client{Transport: &http.Transport{}}
	o.Audience = "aud"
	o.Timeout = 20 * time.Millisecond
	src, err := NewWorkloadSource(SourceGCPMetadata, o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(context.Background())
	t.Log(err)
	wlAssertFailure(t, err, []string{"gcp-metadata", ln.Addr().String(), "GCE_METADATA_HOST", "no answer within 20ms"}, nil)
	wlAssertCause(t, err, CauseUnreachable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not context.DeadlineExceeded", err)
	}
}

func TestGCPMetadataDefaultHost(t *testing.T) {
	var got *http.Request
	o := wlOptions(t, nil)
	o.Audience = "a b"
	o.HTTP = &http.Client{Transport: wlRoundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return nil, errors.New("unreachable in tests")
	})}
	src, err := NewWorkloadSource(SourceGCPMetadata, o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(context.Background())
	wlAssertFailure(t, err, []string{"gcp-metadata", "metadata server 169.254.169.254"}, nil)
	want := "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/identity?audience=a+b&format=full"
	if got == nil || got.URL.String() != want || got.Header.Get("Metadata-Flavor") != "Google" {
		t.Errorf("request = %v, want GET %s with Metadata-Flavor: Google", got, want)
	}
}

// wlRoundTripFunc records requests without sending them anywhere.
type wlRoundTripFunc func(*http.Request) (*http.Response, error)

func (f wlRoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestGCPMetadataNeedsAudience(t *testing.T) {
	_, err := NewWorkloadSource(SourceGCPMetadata, WorkloadOptions{})
	if err == nil || !strings.Contains(err.Error(), "audience") || apperr.ExitCode(err) != 2 {
		t.Errorf("err = %v (exit %d), want a usage error about the audience", err, apperr.ExitCode(err))
	}
}
