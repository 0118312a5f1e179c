//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestIssue16_9_FIFOConfigDoesNotHang runs the built binary with a named
// pipe as its config, as a fault run did: it must answer at once (before,
// it blocked in open(2) forever, deaf to SIGTERM and SIGINT).
func TestIssue16_9_FIFOConfigDoesNotHang(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	fifo := filepath.Join(w.dir, "config.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	w.env["DAGSTER_OIDC_CONFIG"] = fifo
	out, stderr, code := w.run("aws", "credential-process")
	if code != 2 || out != "" || !strings.Contains(stderr, fifo+": not a regular file") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and a not-a-regular-file error", code, out, stderr)
	}
}

// TestIssue16_2_MisspeltSubcommandBinary: what a credential_process line
// with a typo gets from the binary: exit 2, nothing on stdout.
func TestIssue16_2_MisspeltSubcommandBinary(t *testing.T) {
	w := newWorld(t, sandbox.Options{}, "")
	for _, args := range [][]string{{"aws", "credential-proces"}, {"gcp", "executabel"}} {
		out, stderr, code := w.run(args...)
		if code != 2 || out != "" || !strings.Contains(stderr, "unknown command") || !strings.Contains(stderr, "did you mean") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
}
