package proc

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestIssue16_14_GracePeriodKillsAChildIgnoringSIGTERM: a child that
// ignores the forwarded SIGTERM is killed once the grace period (a timer the
// test fires) has passed, with one line saying so; the exit code is 128+9.
func TestIssue16_14_GracePeriodKillsAChildIgnoringSIGTERM(t *testing.T) {
	sigs := &fakeSignals{}
	r, w := io.Pipe()
	armed := make(chan time.Duration, 1)
	fire := make(chan time.Time)
	var warn bytes.Buffer
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		code, err := Run(context.Background(), Options{
			Path: "sh", Args: []string{"-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`}, Stdout: w,
			Notify: sigs.notify, Stop: sigs.stop, Warn: &warn, GracePeriod: 7 * time.Second,
			After: func(d time.Duration) <-chan time.Time { armed <- d; return fire },
		})
		w.Close()
		res <- result{code, err}
	}()
	if line, err := bufio.NewReader(r).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child did not become ready: %q %v", line, err)
	}
	go io.Copy(io.Discard, r)
	sigs.send(syscall.SIGTERM)
	if d := <-armed; d != 7*time.Second {
		t.Errorf("grace period = %s, want 7s", d)
	}
	sigs.send(syscall.SIGTERM) // a second SIGTERM does not restart the timer
	fire <- time.Now()
	got := <-res
	if got.err != nil || got.code != 128+int(syscall.SIGKILL) {
		t.Fatalf("Run = %d, %v; want %d", got.code, got.err, 128+int(syscall.SIGKILL))
	}
	if want := "dagster-oidc: sh did not exit within 7s of SIGTERM; killed it (exec --grace-period)\n"; warn.String() != want {
		t.Errorf("warning = %q, want %q", warn.String(), want)
	}
	if len(armed) != 0 {
		t.Error("the second SIGTERM armed another timer")
	}
}

// TestIssue16_14_SIGINTDoesNotStartTheGracePeriod: Ctrl-C reaches an
// interactive child (a Python REPL survives it); only SIGTERM means "stop".
func TestIssue16_14_SIGINTDoesNotStartTheGracePeriod(t *testing.T) {
	sigs := &fakeSignals{}
	r, w := io.Pipe()
	stdin, feed := io.Pipe()
	res := make(chan int, 1)
	go func() {
		code, _ := Run(context.Background(), Options{
			Path: "sh", Args: []string{"-c", `trap "echo int" INT; echo ready; read line; read line; exit 3`}, Stdout: w, Stdin: stdin,
			Notify: sigs.notify, Stop: sigs.stop,
			After: func(time.Duration) <-chan time.Time { t.Error("SIGINT armed the grace period"); return nil },
		})
		w.Close()
		res <- code
	}()
	out := bufio.NewReader(r)
	if line, _ := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("child did not become ready: %q", line)
	}
	sigs.send(syscall.SIGINT)
	if line, _ := out.ReadString('\n'); line != "int\n" {
		t.Fatalf("child did not handle SIGINT: %q", line)
	}
	go io.Copy(io.Discard, out)
	_, _ = io.WriteString(feed, "a\nb\n")
	_ = feed.Close()
	if code := <-res; code != 3 {
		t.Errorf("exit code = %d, want 3", code)
	}
}

const helperEnv = "DAGSTER_OIDC_PROC_TEST_WRAPPER"

// TestHelperWrapper is not a test: run by TestIssue16_14_WrapperSIGKILLTerminatesChild
// as the wrapper process that gets SIGKILLed.
func TestHelperWrapper(t *testing.T) {
	script, ok := os.LookupEnv(helperEnv)
	if !ok {
		t.Skip("helper process only")
	}
	_, _ = Run(context.Background(), Options{Path: "sh", Args: []string{"-c", script}, Stdout: os.Stdout, Stderr: os.Stderr})
}

// TestIssue16_14_WrapperSIGKILLTerminatesChild: a real wrapper process runs
// a real child, the wrapper is SIGKILLed, and the child gets SIGTERM from
// the kernel (parent-death signal) instead of running on without its
// credential endpoint. The child gives up by itself after ~10 s, so on a
// system without the signal the test fails instead of hanging.
func TestIssue16_14_WrapperSIGKILLTerminatesChild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux only")
	}
	// Every process but the shell gets /dev/null, so the pipe reaches EOF
	// exactly when the shell exits.
	script := `trap 'echo got-SIGTERM; exit 0' TERM; echo ready; i=0; while [ $i -lt 100 ]; do sleep 0.1 </dev/null >/dev/null 2>&1 & wait $!; i=$((i+1)); done; echo orphaned`
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := exec.Command(os.Args[0], "-test.run=^TestHelperWrapper$", "-test.count=1")
	wrapper.Env = append(os.Environ(), helperEnv+"="+script)
	wrapper.Stdout = pw
	if err := wrapper.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	out := bufio.NewReader(pr)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child did not become ready: %q %v", line, err)
	}
	if err := wrapper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = wrapper.Wait()
	rest, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "got-SIGTERM\n" {
		t.Errorf("after the wrapper was killed the child printed %q, want it to get SIGTERM", rest)
	}
}
