package config

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// profileWith is a valid device profile with extra lines appended under it.
func profileWith(name, extra string) string {
	return "profiles:\n  " + name + ":\n    issuer: https://id.example.com\n    client_id: dagster-cli\n" + extra
}

// awsWith is profileWith and an aws section with one role.
func awsWith(aws string) string {
	return profileWith("dev", "    aws:\n      region: us-east-1\n"+aws+"      roles:\n        - role_arn: arn:aws:iam::123456789012:role/data-eng\n")
}

// parseErrorCase is a file and a text its Parse error must contain.
type parseErrorCase struct{ name, in, want string }

func wantParseErrors(t *testing.T, tests []parseErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestIssue16_8_DurationRanges: every duration is checked against its
// range; a negative refresh_margin no longer serves expired tokens.
func TestIssue16_8_DurationRanges(t *testing.T) {
	tests := []parseErrorCase{
		{"negative refresh_margin", profileWith("dev", "    refresh_margin: -5m\n"), "profiles.dev.refresh_margin: -5m0s is outside 1s..24h0m0s"},
		{"huge refresh_margin", profileWith("dev", "    refresh_margin: 25h\n"), "profiles.dev.refresh_margin: 25h0m0s is outside 1s..24h0m0s"},
		{"negative browser timeout", profileWith("dev", "    browser:\n      timeout: -1s\n"), "profiles.dev.browser.timeout: -1s is outside 10s..1h0m0s"},
		{"aws duration under STS's minimum", awsWith("      duration: 5m\n"), "profiles.dev.aws.duration: session duration 5m0s is outside STS's limits"},
		{"negative aws refresh margin", awsWith("      refresh_margin: -1m\n"), "profiles.dev.aws.refresh_margin: refresh margin -1m0s is negative"},
		{"gcp lifetime too long", profileWith("dev", "    gcp:\n      audience: //iam.googleapis.com/x\n      lifetime: 13h\n"), "profiles.dev.gcp.lifetime: 13h0m0s is outside 1s..12h0m0s"},
		{"negative gcp lifetime", profileWith("dev", "    gcp:\n      audience: //iam.googleapis.com/x\n      lifetime: -1h\n"), "profiles.dev.gcp.lifetime: -1h0m0s is outside"},
	}
	wantParseErrors(t, tests)
	if _, err := Parse("c.yaml", []byte(profileWith("dev", "    refresh_margin: 5m\n    browser:\n      timeout: 2m\n"))); err != nil {
		t.Errorf("in-range durations refused: %v", err)
	}
}

// TestIssue16_9_NonRegularConfig: a named pipe given as the config is
// refused at once instead of blocking the process.
func TestIssue16_9_NonRegularConfig(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no named pipes in the file system on Windows")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := Load(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), fifo+": not a regular file") {
			t.Errorf("Load(fifo) = %v, want a not-a-regular-file error", err)
		}
	case <-ctx.Done():
		// Unblock the open so the goroutine ends, then fail.
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("Load blocked on a named pipe")
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(directory) = %v", err)
	}
}

// TestIssue16_10_OneValidation: what the docs forbid is refused by the
// validation every command runs when it loads the file.
func TestIssue16_10_OneValidation(t *testing.T) {
	tests := []parseErrorCase{
		{"metadata sts endpoint", awsWith("      sts_endpoint: http://169.254.169.254/sts\n"), "profiles.dev.aws.sts_endpoint: STS endpoint \"http://169.254.169.254/sts\" is a link-local or metadata address"},
		{"metadata sts endpoint over https", awsWith("      sts_endpoint: https://169.254.169.254/sts\n"), "is a link-local or metadata address"},
		{"gcp metadata host", awsWith("      sts_endpoint: https://metadata.google.internal/sts\n"), "is a link-local or metadata address"},
		{"ipv6 link-local", awsWith("      sts_endpoint: https://[fe80::1]/sts\n"), "is a link-local or metadata address"},
		{"http sts endpoint off loopback", awsWith("      sts_endpoint: http://sts.example.com/\n"), "endpoint must use https (plain http only on a loopback address)"},
		{"malformed role arn", profileWith("dev", "    aws:\n      region: us-east-1\n      roles:\n        - role_arn: arn:aws:iam::0000:role/\n"), "profiles.dev.aws.roles[0].role_arn: \"arn:aws:iam::0000:role/\" is not a role ARN"},
		{"short account", profileWith("dev", "    aws:\n      region: us-east-1\n      roles:\n        - role_arn: arn:aws:iam::0000:role/x\n"), "the account \"0000\" is not 12 digits"},
		{"NUL in client_id", "profiles:\n  dev:\n    issuer: https://id.example.com\n    client_id: \"dagster\\0cli\"\n", "profiles.dev.client_id: contains the control character U+0000"},
		{"newline in scope", profileWith("dev", "    scopes: [\"openid\\nemail\"]\n"), "profiles.dev.scopes[0]: contains the control character U+000A"},
		{"ftp issuer", "profiles:\n  dev:\n    issuer: ftp://127.0.0.1/x\n    client_id: c\n", "profiles.dev.issuer: must be an https URL"},
		{"issuer with a query", "profiles:\n  dev:\n    issuer: https://id.example.com/?tenant=1\n    client_id: c\n", "an issuer URL has no query, fragment or user info"},
		{"session_name parse error", awsWith("      session_name: '{{run_id'\n"), "profiles.dev.aws.session_name: session name template \"{{run_id\" has an unterminated \"{{\""},
		{"session_name unknown variable", awsWith("      session_name: '{{ runid }}'\n"), "uses unknown variable \"runid\""},
		{"profile named like a path", profileWith("../../../x", ""), "profiles.../../../x: profile name \"../../../x\" must be letters, digits"},
		{"aws region with a host", profileWith("dev", "    aws:\n      region: evil.com/x\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/x\n"), "profiles.dev.aws.region: AWS region \"evil.com/x\" is not a region name"},
	}
	wantParseErrors(t, tests)
	for _, ok := range []string{
		awsWith("      sts_endpoint: http://127.0.0.1:9000\n      session_name: 'dagster-{{ job }}-{{run_id}}'\n"),
		profileWith("dev", "    aws:\n      sts_endpoint: http://localhost:9000\n      roles:\n        - role_arn: arn:minio:iam:::role/dagster\n"),
		profileWith("prod.eu-1_a", "    aws:\n      region: us-gov-west-1\n      roles:\n        - role_arn: arn:aws-us-gov:iam::123456789012:role/path/to/etl\n"),
	} {
		if _, err := Parse("c.yaml", []byte(ok)); err != nil {
			t.Errorf("valid file refused: %v\n%s", err, ok)
		}
	}
}
