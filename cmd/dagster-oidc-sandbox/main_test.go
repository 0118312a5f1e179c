package main

import (
	"bytes"
	"testing"
)

// TestIssue16_19_ServeRefusesNonLoopback: serve --addr 0.0.0.0:PORT is a
// usage error with one line saying what to use instead, and prints no config.
func TestIssue16_19_ServeRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		t.Run(addr, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"serve", "--addr", addr}, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit code = %d, want 2; stderr: %s", code, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			want := "error: the sandbox listens only on a loopback address, not \"" + addr + "\" (use 127.0.0.1:PORT)\nrun: dagster-oidc-sandbox serve --addr 127.0.0.1:8555\n"
			if stderr.String() != want {
				t.Errorf("stderr = %q, want %q", stderr.String(), want)
			}
		})
	}
}
