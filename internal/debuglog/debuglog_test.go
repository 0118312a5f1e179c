package debuglog

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

func TestNilLoggerIsOff(t *testing.T) {
	var l *Logger
	l.Printf("nothing %d", 1)
	l.Secret("x")
	l.AllowClaims([]string{"email"})
	l.Claims(aliceClaims)
	l.Personal("alice")
	if _, err := l.Lock("k", func() (func() error, error) { return nil, errors.New("busy") }); err == nil {
		t.Error("a nil logger's Lock hides take's error")
	}
	if l.Transport(nil) != http.DefaultTransport {
		t.Error("a nil logger wraps the transport")
	}
	if c := (&http.Client{}); l.Client(c) != c {
		t.Error("a nil logger copies the client")
	}
}

// TestLinesNeverHoldSecrets: whatever a caller passes, a line holds no JWT,
// no registered secret and no control character.
func TestLinesNeverHoldSecrets(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	l.Secret("client-s3cret-value")
	l.Printf("refresh answer %s for %s\x1b[2J", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl", "client-s3cret-value")
	got := buf.String()
	if want := "debug: refresh answer [redacted] for [redacted][2J\n"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

func TestTransportLogsMethodAndURLWithoutQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	var buf bytes.Buffer
	base := &http.Client{Timeout: time.Minute}
	c := New(&buf).Client(base)
	if c == base || c.Timeout != time.Minute || base.Transport != nil {
		t.Errorf("Client = %+v, want a copy of %+v with a logging transport", c, base)
	}
	resp, err := c.Get(srv.URL + "/callback?code=secret-code&state=s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := buf.String()
	if !strings.HasPrefix(line, "debug: http GET "+srv.URL+"/callback -> 418 (") || strings.Contains(line, "secret-code") {
		t.Errorf("line = %q", line)
	}
}

// aliceClaims are the claims of a sandbox-like ID token for alice.
var aliceClaims = map[string]any{
	"iss": "https://idp.example", "sub": "u-7f3a91", "email": "alice@example.com", "name": "Alice Liddell",
	"preferred_username": "alice", "groups": []any{"data-eng"},
}

// TestIssue18_LinesCarryNoPersonalClaims: once a token's claims are known,
// no line holds the value of a personal claim that audit.claims does not
// allow (sub never), nor the session name made of them; other claims and
// words that merely contain a value stay.
func TestIssue18_LinesCarryNoPersonalClaims(t *testing.T) {
	tests := []struct {
		name     string
		allow    []string
		personal []string
		line     string
		want     string
	}{
		{
			name: "rule outcome quoting the email",
			line: "policy role rule 1 (arn:aws:iam::1:role/x): error: invalid operation: int(alice@example.com) (1:1)",
			want: "policy role rule 1 (arn:aws:iam::1:role/x): error: invalid operation: int([personal]) (1:1)",
		},
		{
			name: "every personal claim, groups kept",
			line: "claims sub=u-7f3a91 email=alice@example.com name=Alice Liddell user=alice groups=data-eng",
			want: "claims sub=[personal] email=[personal] name=[personal] user=[personal] groups=data-eng",
		},
		{
			name:  "allow-listed claims stay, sub is cut even when listed",
			allow: []string{"email", "preferred_username", "sub"},
			line:  "sub=u-7f3a91 email=alice@example.com name=Alice Liddell user=alice",
			want:  "sub=[personal] email=alice@example.com name=[personal] user=alice",
		},
		{
			name:  "an allowed email loses the username it holds when that is not allowed",
			allow: []string{"email"},
			line:  "email=alice@example.com",
			want:  "email=[personal]@example.com",
		},
		{
			name:     "the STS session name",
			personal: []string{"alice_at_example.com-etl"},
			line:     "exchange with session alice_at_example.com-etl",
			want:     "exchange with session [personal]",
		},
		{
			name: "a cache key or URL path naming the user",
			line: "cache token.dev.alice: ID token served; http GET https://idp.example/users/alice/keys -> 200 (3ms)",
			want: "cache token.dev.[personal]: ID token served; http GET https://idp.example/users/[personal]/keys -> 200 (3ms)",
		},
		{
			name: "a longer word is not a value",
			line: "profile malice and alicex",
			want: "profile malice and alicex",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf)
			l.AllowClaims(tt.allow)
			l.Claims(aliceClaims)
			l.Personal(tt.personal...)
			l.Printf("%s", tt.line)
			if got, want := buf.String(), Prefix+tt.want+"\n"; got != want {
				t.Errorf("line = %q, want %q", got, want)
			}
		})
	}
}

// TestIssue18_TransportLinesCarryNoPersonalClaims: a request line whose
// path names the user is cut like any other.
func TestIssue18_TransportLinesCarryNoPersonalClaims(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var buf bytes.Buffer
	l := New(&buf)
	l.Claims(aliceClaims)
	resp, err := (&http.Client{Transport: l.Transport(nil)}).Get(srv.URL + "/scim/alice@example.com?login=alice")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := buf.String()
	if !strings.HasPrefix(line, "debug: http GET "+srv.URL+"/scim/[personal] -> 200 (") || strings.Contains(line, "alice") {
		t.Errorf("line = %q", line)
	}
}

// TestLockIsTimedByTheLoggersClock: the wait is measured by the injected
// clock at both ends, and take's results come back unchanged.
func TestLockIsTimedByTheLoggersClock(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"taken", nil, "debug: lock k: taken after 1.5s\n"},
		{"not taken", errors.New("timeout"), "debug: lock k: not taken after 1.5s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			var buf bytes.Buffer
			l := New(&buf)
			l.Clock = clock.Func(func() time.Time { return now })
			unlocked := false
			unlock, err := l.Lock("k", func() (func() error, error) {
				now = now.Add(1500 * time.Millisecond)
				return func() error { unlocked = true; return nil }, tt.err
			})
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
			if err := unlock(); err != nil || !unlocked {
				t.Error("unlock is not take's")
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("line = %q, want %q", got, tt.want)
			}
		})
	}
}
