// Package proc runs the child command of `dagster-oidc exec`: no shell, argv
// passed byte for byte, the signals this process receives forwarded to the
// child, and the child's exit status returned as this process's exit code.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// DefaultGracePeriod is how long a child may take to exit after a forwarded
// SIGTERM before it is killed: under the 30 s that Kubernetes and ECS wait
// before they kill the whole container, so this process still has time to
// finish a refresh and write its status.
const DefaultGracePeriod = 20 * time.Second

// DefaultSignals are forwarded to the child when Options.Signals is empty.
// Dagster's run worker maps SIGTERM to SIGINT and shuts down cleanly on
// either (specs.md §5.4), so both must reach it.
var DefaultSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// Options describes the child process and how signals reach it.
type Options struct {
	// Path is the program to run. A name without a slash is looked up in
	// this process's PATH. It is also the child's argv[0].
	Path string
	// Args are the child's arguments after argv[0], passed unchanged.
	Args []string
	// Env is the child's whole environment ("KEY=value" entries).
	Env []string
	// Dir is the child's working directory; empty means this process's.
	Dir string
	// Stdin, Stdout and Stderr are the child's standard streams; a nil
	// stream is connected to the null device.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals are the signals forwarded to the child (DefaultSignals when
	// empty).
	Signals []os.Signal
	// Notify subscribes a channel to signals; signal.Notify when nil. Tests
	// inject a function that keeps the channel and send on it themselves.
	Notify func(c chan<- os.Signal, sig ...os.Signal)
	// Stop unsubscribes the channel; signal.Stop when nil.
	Stop func(c chan<- os.Signal)
	// Started, when set, is called with the child's pid once it runs.
	Started func(pid int)
	// GracePeriod is how long the child may take to exit after the first
	// forwarded SIGTERM before it is sent SIGKILL; 0 means
	// DefaultGracePeriod.
	GracePeriod time.Duration
	// After starts the grace period's timer; time.After when nil. Tests
	// inject a channel they fire themselves.
	After func(d time.Duration) <-chan time.Time
	// Warn receives the line saying the child was killed; nil drops it.
	Warn io.Writer
}

// Run starts the child, forwards the signals this process receives to it
// until it exits, and returns its exit code: the code it exited with, or
// 128+N when signal N killed it.
//
// The child stays in this process's process group, so an interactive child
// keeps the terminal; in a terminal, Ctrl-C therefore reaches the child both
// directly and forwarded. Signals go to the child's pid only; the child
// relays them to its own children (Dagster does).
//
// ctx only guards the start: once the child runs, its lifetime is governed
// by its own exit and the forwarded signals, never by ctx, so that a context
// cancelled by a signal handler elsewhere cannot kill the child before it has
// shut down cleanly. err is non-nil only when the child could not be started
// or waited for; a non-zero exit is reported through exitCode alone.
func Run(ctx context.Context, o Options) (exitCode int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if o.Path == "" {
		return 0, errors.New("could not run the command: no program given")
	}
	path, err := exec.LookPath(o.Path)
	if err != nil {
		return 0, fmt.Errorf("could not find the program %q: %w", o.Path, err)
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   append([]string{o.Path}, o.Args...),
		Env:    o.Env,
		Dir:    o.Dir,
		Stdin:  o.Stdin,
		Stdout: o.Stdout,
		Stderr: o.Stderr,

		SysProcAttr: sysProcAttr(),
	}
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would mean "inherit"; the caller decides
	}

	sigs := o.Signals
	if len(sigs) == 0 {
		sigs = DefaultSignals
	}
	notify, stop := o.Notify, o.Stop
	if notify == nil {
		notify = signal.Notify
	}
	if stop == nil {
		stop = signal.Stop
	}
	// Subscribe before starting so a signal arriving during the start is
	// buffered and forwarded rather than killing this process.
	ch := make(chan os.Signal, 8)
	notify(ch, sigs...)
	defer stop(ch)

	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("could not start %q: %w", o.Path, err)
	}
	if o.Started != nil {
		o.Started(cmd.Process.Pid)
	}

	grace := o.GracePeriod
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	after := o.After
	if after == nil {
		after = time.After
	}
	done := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		var kill <-chan time.Time // armed by the first SIGTERM
		for {
			select {
			case s := <-ch:
				// An error here means the child has already exited; Wait
				// reports its status.
				_ = cmd.Process.Signal(s)
				if s == syscall.SIGTERM && kill == nil {
					kill = after(grace)
				}
			case <-kill:
				kill = nil
				if cmd.Process.Kill() == nil && o.Warn != nil {
					fmt.Fprintf(o.Warn, "dagster-oidc: %s did not exit within %s of SIGTERM; killed it (exec --grace-period)\n", o.Path, grace)
				}
			case <-done:
				return
			}
		}
	}()

	waitErr := cmd.Wait()
	close(done)
	<-forwarded
	return exitStatus(cmd, waitErr)
}

// exitStatus turns the result of Wait into an exit code.
func exitStatus(cmd *exec.Cmd, waitErr error) (int, error) {
	st := cmd.ProcessState
	if st == nil {
		return 0, fmt.Errorf("could not wait for the command: %w", waitErr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		// The child ran, but copying its output failed.
		return st.ExitCode(), fmt.Errorf("could not copy the command's output: %w", waitErr)
	}
	return st.ExitCode(), nil
}
