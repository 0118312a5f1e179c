package cli

import (
	"strings"
	"testing"
)

func TestTargetCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"aws", "credential-process"}, "aws"},
		{[]string{"--profile", "prod", "aws", "credential-process"}, "aws"},
		{[]string{"-p", "prod", "token"}, "token"},
		{[]string{"-pprod", "token"}, "token"},
		{[]string{"--config=/x.yaml", "-v", "status"}, "status"},
		{[]string{"--config", "/x.yaml", "exec", "--", "dagster"}, "exec"},
		{[]string{"--help"}, ""},
		{[]string{"help", "token"}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"__complete", "aws", ""}, ""},
		{[]string{"nosuch"}, ""},
		{[]string{"--unknown-flag", "token"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := targetCommand(tt.args); got != tt.want {
			t.Errorf("targetCommand(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
	// The help and completion paths still see the whole tree.
	e := newTestEnv(t, sandboxOptions())
	out, _, code := e.run("--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, c := range topCommands {
		if !containsLine(out, c.name) {
			t.Errorf("--help lacks %s", c.name)
		}
	}
	if out, _, code := e.run("completion", "bash"); code != 0 || len(out) < 1000 {
		t.Errorf("completion bash: exit %d, %d bytes", code, len(out))
	}
}

// TestUsageErrorsPointAtTheirCommandsHelp: cobra's own usage errors (a bad
// flag, a missing value, extra arguments) name the help of the command they
// were given to, at every level.
func TestUsageErrorsPointAtTheirCommandsHelp(t *testing.T) {
	e := newTestEnv(t, sandboxOptions())
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--nope"}, "error: unknown flag: --nope\nsee dagster-oidc --help\n"},
		{[]string{"--profile"}, "error: flag needs an argument: --profile\nsee dagster-oidc --help\n"},
		{[]string{"token", "--rol", "x"}, "error: unknown flag: --rol\nsee dagster-oidc token --help\n"},
		{[]string{"aws", "credential-process", "--role"}, "error: flag needs an argument: --role\nsee dagster-oidc aws credential-process --help\n"},
		{[]string{"gcp", "executable", "extra"}, "error: unknown command \"extra\" for \"dagster-oidc gcp executable\"\nsee dagster-oidc gcp executable --help\n"},
		{[]string{"audit", "tail", "a", "b"}, "error: accepts at most 1 arg(s), received 2\nsee dagster-oidc audit tail --help\n"},
		{[]string{"aws", "credential-proces"}, "error: unknown command \"credential-proces\" for \"dagster-oidc aws\"; did you mean credential-process?\nsee dagster-oidc aws --help\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, stderr, code := e.run(tt.args...)
			if code != 2 || out != "" || stderr != tt.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, out, stderr, tt.want)
			}
		})
	}
}
