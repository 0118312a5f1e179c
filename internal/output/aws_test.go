package output

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"

	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

// awsGolden compares got with testdata/NAME, rewriting it under -update.
func awsGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

// awsTestCreds are plain STS-shaped credentials; the expiry is deliberately
// not UTC to check the conversion.
var awsTestCreds = AWSCredentials{
	AccessKeyID:     "ASIAIOSFODNN7EXAMPLE",
	SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
	SessionToken:    "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE==",
	Expiration:      time.Date(2026, 1, 2, 4, 4, 5, 999_000_000, time.FixedZone("CET", 3600)),
}

// awsHostileCreds have values that try to break out of every quoting style.
var awsHostileCreds = AWSCredentials{
	AccessKeyID:     `AKIA'; touch pwned; echo '`,
	SecretAccessKey: `s$(id)"\` + "`x`" + `\'`,
	SessionToken:    "tok ‘curly’ ‛quotes‚ and\nnewline",
	Expiration:      awsTestCreds.Expiration,
}

func TestCredentialProcess(t *testing.T) {
	tests := []struct {
		name, golden string
		creds        AWSCredentials
	}{
		{"plain", "aws_credential_process.golden", awsTestCreds},
		{"with account id", "aws_credential_process_account.golden", func() AWSCredentials {
			c := awsTestCreds
			c.AccountID = "123456789012"
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := CredentialProcess(&buf, tt.creds); err != nil {
				t.Fatal(err)
			}
			awsGolden(t, tt.golden, buf.Bytes())
			assertOneJSONObject(t, buf.Bytes())
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got["Version"] != float64(1) || got["Expiration"] != "2026-01-02T03:04:05Z" {
				t.Errorf("Version = %v, Expiration = %v", got["Version"], got["Expiration"])
			}
			if _, ok := got["Token"]; ok {
				t.Error("credential_process output must use SessionToken, not Token")
			}
		})
	}
}

func TestContainerCredentials(t *testing.T) {
	var buf bytes.Buffer
	if err := ContainerCredentials(&buf, awsTestCreds); err != nil {
		t.Fatal(err)
	}
	awsGolden(t, "aws_container_credentials.golden", buf.Bytes())
	assertOneJSONObject(t, buf.Bytes())
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["Token"] != awsTestCreds.SessionToken || got["Expiration"] != "2026-01-02T03:04:05Z" {
		t.Errorf("Token = %v, Expiration = %v", got["Token"], got["Expiration"])
	}
	if _, ok := got["SessionToken"]; ok {
		t.Error("container credentials must use Token, not SessionToken")
	}
}

func TestAWSWritersRefuseIncompleteCredentials(t *testing.T) {
	writers := map[string]func(*bytes.Buffer, AWSCredentials) error{
		"credential_process": func(b *bytes.Buffer, c AWSCredentials) error { return CredentialProcess(b, c) },
		"container":          func(b *bytes.Buffer, c AWSCredentials) error { return ContainerCredentials(b, c) },
		"env":                func(b *bytes.Buffer, c AWSCredentials) error { return AWSEnv(b, "sh", c, "") },
	}
	tests := []struct {
		name    string
		mutate  func(*AWSCredentials)
		wantErr string
	}{
		{"no expiration", func(c *AWSCredentials) { c.Expiration = time.Time{} }, "no expiration"},
		{"no keys", func(c *AWSCredentials) { c.AccessKeyID, c.SecretAccessKey = "", "" }, "no access key id, secret access key"},
		{"no session token", func(c *AWSCredentials) { c.SessionToken = "" }, "no session token"},
	}
	for name, write := range writers {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				c := awsTestCreds
				tt.mutate(&c)
				var buf bytes.Buffer
				err := write(&buf, c)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if buf.Len() != 0 {
					t.Errorf("wrote %q before failing", buf.String())
				}
			})
		}
	}
}

func TestAWSEnvGolden(t *testing.T) {
	for _, format := range EnvFormats {
		for _, tc := range []struct {
			suffix, region string
			creds          AWSCredentials
		}{
			{"", "eu-west-1", awsTestCreds},
			{"_noregion", "", awsTestCreds},
			{"_hostile", "eu-west-1", awsHostileCreds},
		} {
			name := "aws_env_" + format + tc.suffix + ".golden"
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				err := AWSEnv(&buf, format, tc.creds, tc.region)
				if format == "dotenv" && tc.suffix == "_hostile" {
					// Quotes, backslashes and line breaks have no portable
					// dotenv form: refused, nothing written.
					if err == nil || !strings.Contains(err.Error(), "could not write AWS_ACCESS_KEY_ID in dotenv format") || buf.Len() != 0 {
						t.Fatalf("err = %v, output %q; want a refusal and no output", err, buf.String())
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				awsGolden(t, name, buf.Bytes())
			})
		}
	}
}

func TestAWSEnvDotenvQuotesUnsafeValues(t *testing.T) {
	var buf bytes.Buffer
	if err := AWSEnv(&buf, "dotenv", awsTestCreds, "eu west 1 $HOME"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nAWS_REGION='eu west 1 $HOME'\n") {
		t.Errorf("dotenv output:\n%s", buf.String())
	}
}

func TestAWSEnvUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	err := AWSEnv(&buf, "csh", awsTestCreds, "")
	if apperr.KindOf(err) != apperr.KindUsage {
		t.Fatalf("err = %v, want a usage error", err)
	}
	if hint := apperr.HintOf(err); hint != "use one of: sh, fish, pwsh, dotenv, json" {
		t.Errorf("hint = %q", hint)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q", buf.String())
	}
}

func TestAWSEnvRefusesNUL(t *testing.T) {
	c := awsTestCreds
	c.SessionToken = "a\x00b"
	if err := AWSEnv(&bytes.Buffer{}, "sh", c, ""); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("err = %v, want a NUL refusal", err)
	}
}

func TestAWSEnvJSONDecodes(t *testing.T) {
	var buf bytes.Buffer
	if err := AWSEnv(&buf, "json", awsHostileCreds, "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	assertOneJSONObject(t, buf.Bytes())
	var got map[string]string
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(awsWantVars(awsHostileCreds, "eu-west-1"), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestAWSEnvShellRoundTrip evaluates the sh output in the real dash and bash
// and reads the variables back: hostile values must arrive intact and run
// nothing.
func TestAWSEnvShellRoundTrip(t *testing.T) {
	for _, shell := range []string{"/bin/sh", "/bin/bash"} {
		t.Run(shell, func(t *testing.T) {
			var buf bytes.Buffer
			if err := AWSEnv(&buf, "sh", awsHostileCreds, "eu-west-1"); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			script := buf.String() + `for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION AWS_REGION AWS_DEFAULT_REGION; do
  eval "printf '%s=%s\\0' \"\$v\" \"\$$v\""
done
`
			cmd := exec.Command(shell, "-c", script)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", shell, err)
			}
			got := map[string]string{}
			for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			if diff := cmp.Diff(awsWantVars(awsHostileCreds, "eu-west-1"), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
				t.Error("a value ran a command")
			}
		})
	}
}

// TestQuoteRoundTrip reads fish and PowerShell single-quoted literals back
// with each language's documented rules (neither shell is installed here).
func TestQuoteRoundTrip(t *testing.T) {
	values := []string{"", "plain", "it's", `back\slash`, `\'`, "‘curly’ ‚low‛", "multi\nline", `$(id) ${HOME} $x`}
	for _, v := range values {
		if got := unquoteFish(t, fishQuote(v)); got != v {
			t.Errorf("fish: %q -> %q -> %q", v, fishQuote(v), got)
		}
		if got := unquotePwsh(t, pwshQuote(v)); got != v {
			t.Errorf("pwsh: %q -> %q -> %q", v, pwshQuote(v), got)
		}
	}
}

// unquoteFish reads one fish single-quoted string: \\ and \' are escapes, a
// lone ' ends the string.
func unquoteFish(t *testing.T, s string) string {
	t.Helper()
	r := []rune(s)
	if len(r) < 2 || r[0] != '\'' {
		t.Fatalf("fish literal %q does not start with a quote", s)
	}
	var b strings.Builder
	for i := 1; i < len(r); i++ {
		switch {
		case r[i] == '\\' && i+1 < len(r) && (r[i+1] == '\\' || r[i+1] == '\''):
			b.WriteRune(r[i+1])
			i++
		case r[i] == '\'':
			if i != len(r)-1 {
				t.Fatalf("fish literal %q ends early at %d", s, i)
			}
			return b.String()
		default:
			b.WriteRune(r[i])
		}
	}
	t.Fatalf("fish literal %q is not terminated", s)
	return ""
}

// unquotePwsh reads one PowerShell verbatim string: any of ' ‘ ’ ‚ ‛ ends it
// unless doubled.
func unquotePwsh(t *testing.T, s string) string {
	t.Helper()
	isQuote := func(r rune) bool { return strings.ContainsRune("'\u2018\u2019\u201A\u201B", r) }
	r := []rune(s)
	if len(r) < 2 || r[0] != '\'' {
		t.Fatalf("pwsh literal %q does not start with a quote", s)
	}
	var b strings.Builder
	for i := 1; i < len(r); i++ {
		if isQuote(r[i]) {
			if i+1 < len(r) && isQuote(r[i+1]) {
				b.WriteRune(r[i])
				i++
				continue
			}
			if i != len(r)-1 {
				t.Fatalf("pwsh literal %q ends early at %d", s, i)
			}
			return b.String()
		}
		b.WriteRune(r[i])
	}
	t.Fatalf("pwsh literal %q is not terminated", s)
	return ""
}

func awsWantVars(c AWSCredentials, region string) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":         c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     c.SecretAccessKey,
		"AWS_SESSION_TOKEN":         c.SessionToken,
		"AWS_CREDENTIAL_EXPIRATION": c.Expiration.UTC().Format(time.RFC3339),
		"AWS_REGION":                region,
		"AWS_DEFAULT_REGION":        region,
	}
}

// assertOneJSONObject checks that out is exactly one JSON object on one
// line, newline-terminated, with nothing after it.
func assertOneJSONObject(t *testing.T, out []byte) {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("}\n")) || bytes.Count(out, []byte("\n")) != 1 {
		t.Errorf("output is not one newline-terminated line: %q", out)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output is not a JSON object: %v", err)
	}
	if dec.More() {
		t.Error("output has more than one JSON document")
	}
}
