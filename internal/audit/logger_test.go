package audit

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/google/go-cmp/cmp"
)

// testKey is a fixed HMAC key: bytes 0..31.
func testKey() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.UTC)

const fakeJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJl"

func newTestLogger(sinks []Sink, onErr func(string, error)) *Logger {
	return New(sinks, Options{
		Clock:       clock.Fake(testNow),
		Key:         testKey(),
		AllowClaims: []string{"groups", "email", "aud", "sub", "nonce", "https://aws.amazon.com/tags"},
		OnSinkError: onErr,
	})
}

// sampleEvents are the events of the golden files: a login, an exchange
// under exec, a denial and a verification failure.
func sampleEvents(l *Logger) []Event {
	claims := map[string]any{
		"sub":      "user-123",
		"email":    "ada@example.com",
		"groups":   []any{"data-eng", "analytics"},
		"aud":      "dagster-cli",
		"nonce":    "n-0S6_WzA2Mj",
		"at_hash":  "77QmUPtjPfzWtF2AnpK9RQ",
		"id_token": fakeJWT,
		"https://aws.amazon.com/tags": map[string]any{
			"principal_tags": map[string]any{"team": []any{"data"}},
		},
	}
	return []Event{
		{Event: EventLogin, Outcome: OutcomeOK, Profile: "dev", Environment: "dev", Source: "device",
			Issuer: "https://id.example.com", SubjectHash: l.SubjectHash("user-123", "https://id.example.com"), Claims: claims},
		{Event: EventExchange, Outcome: OutcomeOK, Profile: "prod", Environment: "prod", Source: "kubernetes",
			Issuer: "https://id.example.com", SubjectHash: l.SubjectHash("user-123", "https://id.example.com"),
			Claims: map[string]any{"groups": []string{"data-eng"}},
			Role:   "arn:aws:iam::123456789012:role/etl-daily-writer", SessionName: "dagster-run-5f2c5a3e-8d1b-4c7a-9e0f-1a2b3c4d5e6f",
			CredentialExpiry: testNow.Add(time.Hour), RunID: "5f2c5a3e-8d1b-4c7a-9e0f-1a2b3c4d5e6f", JobName: "etl_daily"},
		{Event: EventPolicyDenied, Outcome: OutcomeDenied, Profile: "prod", Environment: "prod",
			Time: testNow.Add(time.Minute), Reason: "no rule matched role etl-daily-writer for job \"adhoc\"", JobName: "adhoc"},
		{Event: EventVerificationFailed, Outcome: OutcomeError, Profile: "dev", Issuer: "https://id.example.com",
			ErrorClass: "expired_token", Reason: "token " + fakeJWT + " expired; header Authorization: Bearer abcdefghijklmnop"},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func TestGoldenLines(t *testing.T) {
	var buf bytes.Buffer
	l := newTestLogger([]Sink{NewWriterSink("stderr", &buf)}, nil)
	for _, e := range sampleEvents(l) {
		l.Log(e)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	golden(t, "events.golden", buf.Bytes())
}

func TestNoSecretOrRawSubjectReachesASink(t *testing.T) {
	var buf bytes.Buffer
	l := newTestLogger([]Sink{NewWriterSink("buf", &buf)}, nil)
	l.Log(Event{
		Event: EventTokenServed, Outcome: OutcomeOK,
		SubjectHash: "user-123", // a raw subject where a hash belongs
		Claims: map[string]any{
			"sub":           "user-123",
			"access_token":  "ya29.a0AfH6SMBx-secret-access",
			"refresh_token": "1//0gLrefresh-secret",
			"custom":        "not allow-listed",
			"groups":        []any{"g", fakeJWT, map[string]any{"deep": fakeJWT}},
			"email":         "Bearer abcdefghijklmnopqrstuvwxyz",
		},
		Reason:      "sts said: secret_access_key=wJalrXUtnFEMI/K7MDENG client_secret: hunter2-hunter2",
		SessionName: fakeJWT,
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, leak := range []string{"user-123", "ya29.", "1//0gL", "not allow-listed", "eyJ", "wJalrXUtnFEMI", "hunter2", "abcdefghijklmnop", "secret-access"} {
		if strings.Contains(out, leak) {
			t.Errorf("line contains %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, `"groups":["g","[redacted]",{"deep":"[redacted]"}]`) {
		t.Errorf("allow-listed claim not kept in redacted form:\n%s", out)
	}
}

func TestFilterClaims(t *testing.T) {
	l := newTestLogger(nil, nil)
	defer l.Close()
	many := make([]any, 100)
	for i := range many {
		many[i] = "g"
	}
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"nil", nil, nil},
		{"nothing allowed", map[string]any{"custom": "x"}, nil},
		{"never logged even if allowed", map[string]any{"sub": "s", "nonce": "n"}, nil},
		{"scalars", map[string]any{"email": "a@b", "aud": 1.5}, map[string]any{"email": "a@b", "aud": 1.5}},
		{"unsupported type dropped", map[string]any{"email": struct{}{}}, nil},
		{"bounded list", map[string]any{"groups": many}, map[string]any{"groups": many[:maxClaimItems]}},
		{"depth bounded", map[string]any{"groups": []any{[]any{[]any{[]any{"too deep"}}}}}, map[string]any{"groups": []any{[]any{[]any{}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, l.FilterClaims(tt.in)); diff != "" {
				t.Errorf("FilterClaims (-want +got):\n%s", diff)
			}
		})
	}
	var nilLogger *Logger
	if nilLogger.FilterClaims(map[string]any{"email": "x"}) != nil {
		t.Error("nil logger kept claims")
	}
}

func TestSubjectHash(t *testing.T) {
	l := newTestLogger(nil, nil)
	defer l.Close()
	// Vectors computed with Python's hmac module.
	tests := []struct{ sub, iss, want string }{
		{"user-123", "https://id.example.com", "4c10fb2f099705bf1ce473ab2e88aa45"},
		{"user-123", "https://other.example.com", "f6da93dfa4f322e8adf743167d47aaef"},
		{"", "https://id.example.com", ""},
	}
	for _, tt := range tests {
		if got := l.SubjectHash(tt.sub, tt.iss); got != tt.want {
			t.Errorf("SubjectHash(%q, %q) = %q, want %q", tt.sub, tt.iss, got, tt.want)
		}
	}
	noKey := New(nil, Options{})
	defer noKey.Close()
	if got := noKey.SubjectHash("user-123", "https://id.example.com"); got != "" {
		t.Errorf("SubjectHash without a key = %q, want empty", got)
	}
}

// failingSink fails every write.
type failingSink struct{ name string }

func (s failingSink) Name() string       { return s.name }
func (s failingSink) Write([]byte) error { return errors.New("sink down") }
func (s failingSink) Close() error       { return nil }

// blockingSink blocks every write until released.
type blockingSink struct{ release chan struct{} }

func newBlockingSink() *blockingSink       { return &blockingSink{release: make(chan struct{})} }
func (s *blockingSink) Name() string       { return "blocking" }
func (s *blockingSink) Write([]byte) error { <-s.release; return nil }
func (s *blockingSink) Close() error       { return nil }

// reports collects OnSinkError calls.
type reports struct {
	mu    sync.Mutex
	names []string
}

func (r *reports) add(name string, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
}

func (r *reports) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.names))
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFailingSinksAreReportedOnceAndSkipped(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close() // writes now fail with EPIPE
	defer pw.Close()
	syslogDown, err := NewSyslogSink("tcp", closedPort(t), "dagster-oidc", SyslogOptions{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var good bytes.Buffer
	rep := &reports{}
	l := newTestLogger([]Sink{
		NewWriterSink("closed-pipe", pw),
		syslogDown,
		failingSink{"always-failing"},
		NewWriterSink("good", &good),
	}, rep.add)
	for i := 0; i < 5; i++ {
		l.Log(Event{Event: EventCredentialServed, Outcome: OutcomeOK})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"always-failing", "closed-pipe", syslogDown.Name()}
	if diff := cmp.Diff(want, rep.sorted()); diff != "" {
		t.Errorf("OnSinkError calls (-want +got):\n%s", diff)
	}
	if n := strings.Count(good.String(), "\n"); n != 5 {
		t.Errorf("good sink got %d lines, want 5", n)
	}
}

// notifySink counts lines and signals each one.
type notifySink struct {
	mu    sync.Mutex
	lines int
	wrote chan struct{}
}

func (s *notifySink) Name() string { return "notify" }
func (s *notifySink) Write([]byte) error {
	s.mu.Lock()
	s.lines++
	s.mu.Unlock()
	s.wrote <- struct{}{}
	return nil
}
func (s *notifySink) Close() error { return nil }

func TestLogNeverBlocks(t *testing.T) {
	slow := newBlockingSink()
	defer close(slow.release)
	good := &notifySink{wrote: make(chan struct{}, 1)}
	rep := &reports{}
	l := New([]Sink{slow, good}, Options{
		Clock: clock.Fake(testNow), QueueSize: 4, FlushTimeout: 50 * time.Millisecond, OnSinkError: rep.add,
	})
	const events = 20
	for i := 0; i < events; i++ {
		logged := make(chan struct{})
		go func() {
			l.Log(Event{Event: EventCredentialServed, Outcome: OutcomeOK})
			close(logged)
		}()
		select {
		case <-logged:
		case <-time.After(10 * time.Second):
			t.Fatal("Log blocked behind a stuck sink")
		}
		<-good.wrote // the healthy sink keeps up, event by event
	}
	err := l.Close()
	if err == nil || !strings.Contains(err.Error(), "blocking") {
		t.Errorf("Close = %v, want an error naming the stuck sink", err)
	}
	if good.lines != events {
		t.Errorf("good sink got %d lines, want %d", good.lines, events)
	}
	if diff := cmp.Diff([]string{"blocking"}, rep.sorted()); diff != "" {
		t.Errorf("queue overflow reports (-want +got):\n%s", diff)
	}
	l.Log(Event{Event: EventLogin}) // after Close: discarded, no panic
}

func TestNilLogger(t *testing.T) {
	var l *Logger
	l.Log(Event{Event: EventLogin})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.SubjectHash("s", "i") != "" {
		t.Error("nil logger hashed")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	stored := bytes.Repeat([]byte{7}, 32)
	tests := []struct {
		name    string
		get     func() ([]byte, error)
		setErr  error
		wantErr bool
		wantSet bool
		want    []byte
	}{
		{"existing", func() ([]byte, error) { return stored, nil }, nil, false, false, stored},
		{"created", func() ([]byte, error) { return nil, nil }, nil, false, true, nil},
		{"read error", func() ([]byte, error) { return nil, errors.New("keyring locked") }, nil, true, false, nil},
		{"too short", func() ([]byte, error) { return []byte("short"), nil }, nil, true, false, nil},
		{"store error", func() ([]byte, error) { return nil, nil }, errors.New("read-only"), true, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var set []byte
			key, err := LoadOrCreateKey(tt.get, func(b []byte) error { set = b; return tt.setErr })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if (set != nil) != tt.wantSet {
				t.Errorf("set called = %v, want %v", set != nil, tt.wantSet)
			}
			if tt.want != nil && !bytes.Equal(key, tt.want) {
				t.Errorf("key = %x, want %x", key, tt.want)
			}
			if tt.wantSet && !tt.wantErr && (len(key) != KeySize || !bytes.Equal(key, set) || bytes.Equal(key, make([]byte, KeySize))) {
				t.Errorf("created key %x (stored %x): want %d random bytes, stored", key, set, KeySize)
			}
		})
	}
}
