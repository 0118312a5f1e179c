package cli

import "testing"

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
