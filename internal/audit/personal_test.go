package audit

import (
	"bytes"
	"strings"
	"testing"
)

// Issue 18: the session name and personal claims reached every line.
func TestIssue18NoPersonalValueInALine(t *testing.T) {
	claims := map[string]any{
		"sub": "user-123", "email": "ada@example.com", "preferred_username": "ada", "name": "Ada Lovelace",
		"groups": []any{"data-eng"},
	}
	tests := []struct {
		name  string
		allow []string
		// kept are the values the line may hold (allow-listed claims).
		kept, gone []string
	}{
		{"nothing allow-listed", nil, nil, []string{"user-123", "ada@example.com", `"ada"`, "ada ", "Ada Lovelace"}},
		{"email allow-listed", []string{"email"}, []string{`"email":"ada@example.com"`}, []string{"user-123", "Ada Lovelace", `"ada"`}},
		{"sub allow-listed stays out", []string{"sub"}, nil, []string{"user-123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New([]Sink{NewWriterSink("buf", &buf)}, Options{Key: testKey(), AllowClaims: tt.allow})
			l.Log(Event{
				Event: EventExchange, Outcome: OutcomeError, Claims: claims,
				SubjectHash: l.SubjectHash("user-123", "https://id.example.com"),
				SessionName: "ada@example.com", RunID: "5f2c5a3e", Role: "arn:aws:iam::1:role/ada",
				Reason: "STS refused session ada@example.com for ada (Ada Lovelace, user-123); adamant",
			})
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, k := range tt.kept {
				if !strings.Contains(out, k) {
					t.Errorf("line lacks %q:\n%s", k, out)
				}
			}
			if tt.allow == nil {
				for _, g := range tt.gone {
					if strings.Contains(out, g) {
						t.Errorf("line holds %q:\n%s", g, out)
					}
				}
				if !strings.Contains(out, `"reason":"STS refused session [personal] for [personal] ([personal], [personal]); adamant"`) {
					t.Errorf("reason not redacted word by word:\n%s", out)
				}
			}
			if want := `"session_hash":"` + SessionHash(testKey(), "ada@example.com") + `"`; !strings.Contains(out, want) {
				t.Errorf("line lacks %s:\n%s", want, out)
			}
			if !strings.Contains(out, `"run_id":"5f2c5a3e"`) || !strings.Contains(out, `"role":"arn:aws:iam::1:role/ada"`) {
				t.Errorf("run id or role changed (they come from Dagster and the config):\n%s", out)
			}
		})
	}
}

func TestRedactPersonal(t *testing.T) {
	tests := []struct {
		in     string
		values []string
		want   string
	}{
		{"bob and bobcat, bob.", []string{"bob"}, "[personal] and bobcat, [personal]."},
		{"x@y.z", []string{"x@y.z"}, "[personal]"},
		{"a b", []string{"a"}, "a b"}, // too short to cut safely
		{"alice@example.com alice", []string{"alice@example.com", "alice"}, "[personal] [personal]"},
		// longest first: the session name holding the user name is cut whole
		{"session alice_at_example.com-etl", []string{"alice", "alice_at_example.com-etl"}, "session [personal]"},
		{"", []string{"bob"}, ""},
	}
	for _, tt := range tests {
		if got := RedactPersonal(tt.in, tt.values...); got != tt.want {
			t.Errorf("RedactPersonal(%q, %q) = %q, want %q", tt.in, tt.values, got, tt.want)
		}
	}
}

func TestPersonalValues(t *testing.T) {
	claims := map[string]any{"sub": "s-1", "email": "e@x", "name": "N", "groups": []any{"g"}, "iss": "https://i"}
	got := PersonalValues(claims, []string{"email", "sub"})
	if strings.Join(got, ",") != "s-1,N" {
		t.Errorf("PersonalValues = %q, want sub (never logged) and name", got)
	}
}

func TestSessionHash(t *testing.T) {
	l := New(nil, Options{Key: testKey()})
	defer l.Close()
	h := l.SessionHash("dagster-run-1")
	if !isSubjectHash(h) || h != SessionHash(testKey(), "dagster-run-1") || h == l.SubjectHash("dagster-run-1", "") {
		t.Errorf("SessionHash = %q", h)
	}
	if New(nil, Options{}).SessionHash("x") != "" || l.SessionHash("") != "" {
		t.Error("a session hash without a key or a name")
	}
}

func TestTailMatchesASession(t *testing.T) {
	var buf bytes.Buffer
	l := New([]Sink{NewWriterSink("buf", &buf)}, Options{Key: testKey(), Clock: nil})
	for _, s := range []string{"run-a", "run-b", "run-a"} {
		l.Log(Event{Event: EventCredentialServed, Outcome: OutcomeOK, SessionName: s, RunID: s})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Tail(&out, &buf, 0, SessionHash(testKey(), "run-a")); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "run=run-a"); n != 2 || strings.Contains(out.String(), "run-b") {
		t.Errorf("tail --match-session run-a:\n%s", out.String())
	}
}
