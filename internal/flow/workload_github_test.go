package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/redirect"
)

const (
	wlGitHubPath         = "/_apis/distributedtask/hubs/Actions/plans/p1/jobs/j1/idtoken"
	wlGitHubRequestToken = "ghs_requestTokenSecret0123456789"
)

// wlGitHubReply answers one request of the stand-in.
type wlGitHubReply func(w http.ResponseWriter)

// wlGitHubJSON answers with status and body.
func wlGitHubJSON(status int, body string) wlGitHubReply {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// wlGitHubDrop closes the connection without an answer: a transport error.
func wlGitHubDrop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// wlGitHubStandIn serves the Actions runtime's ID token endpoint: it refuses
// requests without the request token as a bearer token, requires
// api-version=2.0, checks the audience and answers with replies in turn (the
// last one repeats).
type wlGitHubStandIn struct {
	t        *testing.T
	audience string // "" when no audience must be sent
	replies  []wlGitHubReply

	requests atomic.Int32
}

func (s *wlGitHubStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.requests.Add(1)) - 1
	if r.Method != http.MethodGet || r.URL.Path != wlGitHubPath {
		s.t.Errorf("request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); got != "bearer "+wlGitHubRequestToken {
		s.t.Errorf("Authorization header is wrong")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	if got := q.Get("api-version"); got != "2.0" {
		s.t.Errorf("api-version = %q, want 2.0 (kept from the request URL)", got)
	}
	if got, has := q.Get("audience"), q.Has("audience"); got != s.audience || has != (s.audience != "") {
		s.t.Errorf("audience = %q (present %v), want %q", got, has, s.audience)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.replies[min(n, len(s.replies)-1)](w)
}

// wlGitHubEnv is the environment of a job with `permissions: id-token: write`.
func wlGitHubEnv(serverURL string) map[string]string {
	return map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   serverURL + wlGitHubPath + "?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": wlGitHubRequestToken,
	}
}

func TestGitHubActionsToken(t *testing.T) {
	tests := []struct {
		name     string
		audience string
	}{
		{"sts audience", "sts.amazonaws.com"},
		{"gcp provider audience", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/gh"},
		{"no audience", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := wlValid(t, "repo:octo/pipelines:ref:refs/heads/main", tt.audience)
			standIn := &wlGitHubStandIn{t: t, audience: tt.audience,
				replies: []wlGitHubReply{wlGitHubJSON(200, `{"count":1,"value":"`+raw+`"}`)}}
			srv := httptest.NewServer(standIn)
			defer srv.Close()
			o := wlOptions(t, wlGitHubEnv(srv.URL))
			o.HTTP = srv.Client()
			o.Audience = tt.audience
			src, err := NewWorkloadSource(SourceGitHubActions, o)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.IDToken != raw || tok.Source != SourceGitHubActions || !tok.Expiry.Equal(wlNow.Add(time.Hour)) {
				t.Errorf("Token = %+v", *tok)
			}
			if standIn.requests.Load() != 1 {
				t.Errorf("%d requests, want 1", standIn.requests.Load())
			}
		})
	}
}

func TestGitHubTokenURL(t *testing.T) {
	tests := []struct {
		reqURL, audience, want string
	}{
		{"https://r.actions.githubusercontent.com/x/idtoken?api-version=2.0", "sts.amazonaws.com",
			"https://r.actions.githubusercontent.com/x/idtoken?api-version=2.0&audience=sts.amazonaws.com"},
		{"https://r.example/x/idtoken", "//iam.googleapis.com/p?a=b&c",
			"https://r.example/x/idtoken?audience=%2F%2Fiam.googleapis.com%2Fp%3Fa%3Db%26c"},
		{"https://r.example/x/idtoken?", "a b", "https://r.example/x/idtoken?audience=a+b"},
		{"https://r.example/x/idtoken?api-version=2.0", "", "https://r.example/x/idtoken?api-version=2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.reqURL+" "+tt.audience, func(t *testing.T) {
			if got := gitHubTokenURL(tt.reqURL, tt.audience); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestGitHubActionsRetries(t *testing.T) {
	tests := []struct {
		name       string
		replies    []wlGitHubReply
		wantSleeps []time.Duration
		wantErr    []string // nil when a token is expected
	}{
		{name: "5xx then ok", wantSleeps: []time.Duration{time.Second, 2 * time.Second},
			replies: []wlGitHubReply{wlGitHubJSON(500, "{}"), wlGitHubJSON(503, "unavailable"), nil}},
		{name: "transport error then ok", wantSleeps: []time.Duration{time.Second},
			replies: []wlGitHubReply{wlGitHubDrop, nil}},
		{name: "always 500", wantSleeps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
			replies: []wlGitHubReply{wlGitHubJSON(500, `{"message":"boom"}`)},
			wantErr: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL", "gave up after 5 attempts", "500 Internal Server Error"}},
		{name: "always dropped",
			wantSleeps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
			replies:    []wlGitHubReply{wlGitHubDrop},
			wantErr:    []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL", "gave up after 5 attempts", "could not reach the endpoint"}},
		{name: "4xx is not retried", replies: []wlGitHubReply{wlGitHubJSON(403, `{"message":"forbidden"}`)},
			wantErr: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL", "403 Forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := wlValid(t, "repo:octo/pipelines", "sts.amazonaws.com")
			for i, r := range tt.replies {
				if r == nil {
					tt.replies[i] = wlGitHubJSON(200, `{"value":"`+raw+`"}`)
				}
			}
			standIn := &wlGitHubStandIn{t: t, audience: "sts.amazonaws.com", replies: tt.replies}
			srv := httptest.NewServer(standIn)
			defer srv.Close()
			o := wlOptions(t, wlGitHubEnv(srv.URL))
			o.HTTP = srv.Client()
			o.Audience = "sts.amazonaws.com"
			var sleeps []time.Duration
			o.Sleep = func(ctx context.Context, d time.Duration) error {
				sleeps = append(sleeps, d)
				return nil
			}
			src, err := NewWorkloadSource(SourceGitHubActions, o)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(context.Background())
			if tt.wantErr == nil {
				if err != nil || tok.IDToken != raw {
					t.Fatalf("Token: %v", err)
				}
			} else {
				t.Log(err)
				wlAssertFailure(t, err, tt.wantErr, []string{wlGitHubRequestToken, raw})
			}
			if fmt.Sprint(sleeps) != fmt.Sprint(tt.wantSleeps) {
				t.Errorf("sleeps = %v, want %v", sleeps, tt.wantSleeps)
			}
			if want := len(tt.wantSleeps) + 1; int(standIn.requests.Load()) != want {
				t.Errorf("%d requests, want %d", standIn.requests.Load(), want)
			}
		})
	}
}

func TestGitHubActionsBadInput(t *testing.T) {
	readFixture := func(name string) string {
		b, err := os.ReadFile("testdata/workload/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	expired := wlExpired(t, "sts.amazonaws.com")
	other := wlValid(t, "repo:octo/pipelines", "someone-else")
	tests := []struct {
		name    string
		env     func(url string) map[string]string
		reply   wlGitHubReply
		want    []string
		wantIs  error
		secrets []string
		cause   WorkloadCause
	}{
		{name: "no permission", cause: CauseUnset, env: func(string) map[string]string { return map[string]string{"GITHUB_ACTIONS": "true"} },
			want: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL is not set"}},
		{name: "request token missing", cause: CauseUnset, env: func(u string) map[string]string {
			e := wlGitHubEnv(u)
			delete(e, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
			return e
		}, want: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"}},
		{name: "not JSON", cause: CauseFailed, reply: wlGitHubJSON(200, readFixture("github-error.html")),
			want: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL", "not the expected JSON"}},
		{name: "no value", cause: CauseFailed, reply: wlGitHubJSON(200, readFixture("github-no-value.json")),
			want: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL", `no "value"`}},
		{name: "value not a JWT", cause: CauseRejected, reply: wlGitHubJSON(200, `{"value":"opaque-secret-value"}`),
			want: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL", "not a signed JWT"}, wantIs: ErrNotJWT, secrets: []string{"opaque-secret-value"}},
		{name: "expired", cause: CauseExpired, reply: wlGitHubJSON(200, `{"value":"`+expired+`"}`),
			want: []string{"github-actions", "ACTIONS_ID_TOKEN_REQUEST_URL", "expired"}, wantIs: ErrTokenExpired, secrets: []string{expired}},
		{name: "wrong audience", cause: CauseRejected, reply: wlGitHubJSON(200, `{"value":"`+other+`"}`),
			want: []string{"github-actions", `does not include "sts.amazonaws.com"`}, secrets: []string{other}},
		{name: "body over 1 MiB", cause: CauseFailed, reply: wlGitHubJSON(200, `{"value":"`+strings.Repeat("a", workloadMaxBody)+`"}`),
			want: []string{"github-actions", "larger than 1 MiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			standIn := &wlGitHubStandIn{t: t, audience: "sts.amazonaws.com", replies: []wlGitHubReply{tt.reply}}
			srv := httptest.NewServer(standIn)
			defer srv.Close()
			env := wlGitHubEnv(srv.URL)
			if tt.env != nil {
				env = tt.env(srv.URL)
			}
			o := wlOptions(t, env)
			o.HTTP = srv.Client()
			o.Audience = "sts.amazonaws.com"
			src, err := NewWorkloadSource(SourceGitHubActions, o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(context.Background())
			t.Log(err)
			wlAssertFailure(t, err, tt.want, append(tt.secrets, wlGitHubRequestToken))
			wlAssertCause(t, err, tt.cause)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}

func TestGitHubActionsInterrupted(t *testing.T) {
	standIn := &wlGitHubStandIn{t: t, audience: "aud", replies: []wlGitHubReply{wlGitHubJSON(502, "")}}
	srv := httptest.NewServer(standIn)
	defer srv.Close()
	o := wlOptions(t, wlGitHubEnv(srv.URL))
	o.HTTP = srv.Client()
	o.Audience = "aud"
	ctx, cancel := context.WithCancel(context.Background())
	o.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel() // Ctrl-C during the back-off
		return ctx.Err()
	}
	src, err := NewWorkloadSource(SourceGitHubActions, o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if standIn.requests.Load() != 1 {
		t.Errorf("%d requests after the interruption, want 1", standIn.requests.Load())
	}
}

// TestFinding5_GitHubActionsTokenRequestNotRedirected is issue 15.5 for
// the GitHub Actions token endpoint: a redirect would hand the request
// token (a bearer header) to another server.
func TestFinding5_GitHubActionsTokenRequestNotRedirected(t *testing.T) {
	p := redirect.New(t)
	o := wlOptions(t, wlGitHubEnv(p.First))
	o.HTTP = &http.Client{}
	src, err := NewWorkloadSource(SourceGitHubActions, o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(context.Background())
	var re *safehttp.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RedirectError", err)
	}
	if p.Hits() != 0 {
		t.Errorf("%d requests reached the redirect target", p.Hits())
	}
}
