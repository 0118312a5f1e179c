//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// execSignalWorld is a logged-in world whose profile serves AWS credentials.
func execSignalWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, sandbox.Options{}, "")
	w.writeConfig(w.profile(fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: %s
          when: "'data-eng' in claims.groups"
`, w.sb.STSEndpoint(), sandbox.DemoDataEngRoleARN)))
	w.login("alice")
	return w
}

// startSignalledExec starts the real `dagster-oidc exec --aws [flags] -- sh -c
// script` and returns it once the child printed "ready". Every process but
// the shell gets /dev/null, so its stdout reaches EOF when the shell exits.
func startSignalledExec(t *testing.T, w *world, flags []string, script string) (*exec.Cmd, *bufio.Reader, *strings.Builder) {
	t.Helper()
	args := append(append([]string{"exec", "--aws"}, flags...), "--", "/bin/sh", "-c", script)
	cmd := w.command(context.Background(), bin.cli, args...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = pw, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		pr.Close()
		ledger.addOutput(t.Name()+": dagster-oidc exec (stderr)", errOut.String(), false)
	})
	out := bufio.NewReader(pr)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child did not become ready: %q %v\nstderr:\n%s", line, err, errOut.String())
	}
	return cmd, out, &errOut
}

// loop keeps a shell busy for at most ~10 s, so a test whose signal never
// arrives fails instead of hanging.
const loop = `i=0; while [ $i -lt 100 ]; do sleep 0.1 </dev/null >/dev/null 2>&1 & wait $!; i=$((i+1)); done; echo orphaned`

// TestIssue16_14_ExecKilledWrapperStopsChild: SIGKILL of the real exec
// wrapper reaches its child as SIGTERM (the parent-death signal), so the
// child does not run on without its credential endpoint.
func TestIssue16_14_ExecKilledWrapperStopsChild(t *testing.T) {
	w := execSignalWorld(t)
	cmd, out, _ := startSignalledExec(t, w, nil, `trap 'echo got-SIGTERM; exit 0' TERM; echo ready; `+loop)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	rest, _ := io.ReadAll(out)
	if string(rest) != "got-SIGTERM\n" {
		t.Errorf("after the wrapper was killed the child printed %q, want it to get SIGTERM", rest)
	}
}

// TestIssue16_14_ExecGracePeriod: a child that ignores the forwarded
// SIGTERM is killed once --grace-period has passed; exec says so and exits
// 128+9.
func TestIssue16_14_ExecGracePeriod(t *testing.T) {
	w := execSignalWorld(t)
	cmd, out, errOut := startSignalledExec(t, w, []string{"--grace-period", "1s"}, `trap '' TERM; echo ready; `+loop)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 128+int(syscall.SIGKILL) {
			t.Errorf("exec ended with %v, want exit %d", err, 128+int(syscall.SIGKILL))
		}
	case <-time.After(8 * time.Second):
		t.Fatal("exec did not kill the child within its 1s grace period")
	}
	if want := "dagster-oidc: /bin/sh did not exit within 1s of SIGTERM; killed it (exec --grace-period)"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
	}
}
