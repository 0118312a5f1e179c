package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scrubWithRegexps is scrub without the mayHoldSecret short cut.
func scrubWithRegexps(s string) string {
	for _, p := range secretPatterns() {
		s = p.ReplaceAllString(s, Redacted)
	}
	if len(s) > maxString {
		s = s[:maxString] + "…"
	}
	return s
}

var scrubCases = []string{
	"", "credential_served", "arn:aws:iam::000000000000:role/data-eng", "https://id.example.com",
	"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "Bearer abcdefgh12345678", "BASIC dXNlcjpwYXNz",
	"SecretAccessKey=wJalrXUtnFEMI/K7MDENG", `"session_token": "IQoJb3JpZ2luX2Vj"`, "refresh-token=x",
	"ſecret_access_key=abc", "client_\u212Aey", "token", "a=b", strings.Repeat("x", 600),
	"token_served", "Bearer\tabcdefgh12345678", "bearer\fabcdefgh12345678", "id_token:eyJx", "access_token = abc",
	"secret", "a basic question", "x-client-secret: hunter22",
}

// The warm path's fixed strings (event names, outcomes, sources) hold no
// secret-looking text, so writing them compiles no regular expression.
func TestEventNamesCompileNoPattern(t *testing.T) {
	for _, s := range []string{EventLogin, EventRefresh, EventTokenServed, EventExchange, EventCredentialServed,
		EventVerificationFailed, EventPolicyDenied, EventLoginRequired, EventGenesis, EventContinued, EventCheckpoint,
		OutcomeOK, OutcomeError, OutcomeDenied, "device", "browser", "kubernetes", "github-actions", "https://id.example.com"} {
		if mayHoldSecret(s) {
			t.Errorf("mayHoldSecret(%q) = true: every audit line with it would compile the scrubbing patterns", s)
		}
	}
}

// scrub must give what the regular expressions alone give.
func TestScrubShortCutChangesNothing(t *testing.T) {
	for _, s := range scrubCases {
		t.Run(s, func(t *testing.T) {
			if got, want := scrub(s), scrubWithRegexps(s); got != want {
				t.Errorf("scrub(%q) = %q, the regular expressions give %q", s, got, want)
			}
		})
	}
}

func FuzzScrubShortCutChangesNothing(f *testing.F) {
	for _, s := range scrubCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := scrub(s), scrubWithRegexps(s); got != want {
			t.Errorf("scrub(%q) = %q, the regular expressions give %q", s, got, want)
		}
	})
}

func TestIsSubjectHashMatchesPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, s := range []string{"", "0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789abcdef",
		"0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0", "0123456789abcdef0123456789abcdeg", "alice"} {
		t.Run(s, func(t *testing.T) {
			if got, want := isSubjectHash(s), pattern.MatchString(s); got != want {
				t.Errorf("isSubjectHash(%q) = %v, the pattern says %v", s, got, want)
			}
		})
	}
}

// lastLineWhole is the last line found by reading the last maxLine bytes
// at once, as the sink did before it read only the tail.
func lastLineWhole(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	buf := data[len(data)-min(len(data), maxLine):]
	buf = bytes.TrimRight(buf, "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	return string(buf)
}

func TestLastLineReadsOnlyTheTail(t *testing.T) {
	line := `{"v":1,"event":"credential_served"}`
	cases := map[string]string{
		"empty":                         "",
		"one line":                      line + "\n",
		"no final newline":              line + "\n" + line + "x",
		"blank lines at the end":        line + "\n\n\n",
		"only newlines":                 strings.Repeat("\n", 3*tailChunk),
		"many lines":                    strings.Repeat(line+"\n", 5000),
		"last line of tailChunk":        line + "\n" + strings.Repeat("y", tailChunk-1) + "\n",
		"last line longer than a chunk": line + "\n" + strings.Repeat("z", 3*tailChunk+7) + "\n",
		"line longer than maxLine":      strings.Repeat("w", maxLine+10),
		"newline just past maxLine":     "a\n" + strings.Repeat("w", maxLine-1) + "\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, size, err := lastLine(f)
			if err != nil {
				t.Fatal(err)
			}
			if want := lastLineWhole([]byte(content)); string(got) != want {
				t.Errorf("last line %.80q, reading the whole tail gives %.80q", got, want)
			}
			if size != int64(len(content)) {
				t.Errorf("size %d, want %d", size, len(content))
			}
		})
	}
}
