package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/proc"
)

// ExecRequest is what `exec` runs, with which credentials and streams.
type ExecRequest struct {
	// Child says which credentials the command gets; Exec fills in its
	// TempDir, GCPCommand and Identity.
	Child ChildRequest
	// Args is the command line; Args[0] is looked up in PATH.
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// GracePeriod is how long the command may take to exit after SIGTERM.
	GracePeriod time.Duration
	// StatusFile is where the ExecStatus document is kept ("" for none).
	StatusFile string
	// Executable returns this binary's path, for the GCP executable.
	Executable func() (string, error)
}

// ExitError is exec's exit code when it is not 0: the child's (128+N when
// signal N killed it), or a shell's 127/126 for a command that could not be
// started.
type ExitError struct{ Code int }

// Error names the exit code; exec prints nothing for it, the code is the
// message.
func (e *ExitError) Error() string { return fmt.Sprintf("command exited with code %d", e.Code) }

// Exec runs q.Args with the credentials q.Child asks for and keeps them
// fresh until the command exits; the status file follows it from refusal
// or start to exit. open opens the profile's use cases once the command is
// found (a command that is not there exchanges nothing); Exec closes them.
// Signals go to the child, so nothing here is cancelled by them: the
// credential endpoint must outlive the child's shutdown.
func Exec(ctx context.Context, q ExecRequest, open func() (*Service, error)) (err error) {
	st := NewExecStatus(q.StatusFile)
	started := false
	defer func() {
		if err != nil && !started {
			code := apperr.ExitCode(err)
			if ee := (*ExitError)(nil); errors.As(err, &ee) {
				code = ee.Code
			}
			_ = st.Refused(err, code)
		}
	}()
	// As a shell does: 127 for a command that is not there, 126 for one
	// that cannot be run; nothing is exchanged for either.
	if _, err := exec.LookPath(q.Args[0]); err != nil {
		return startFailure(q, err)
	}
	s, err := open()
	if err != nil {
		return err
	}
	defer s.Close()
	tmp, err := os.MkdirTemp("", "dagster-oidc-exec-")
	if err != nil {
		return fmt.Errorf("could not create a private temp directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	exe, err := q.Executable()
	if err != nil {
		return fmt.Errorf("could not find this binary's path: %w", err)
	}
	ctx = context.WithoutCancel(ctx)
	cq := q.Child
	cq.TempDir, cq.GCPCommand, cq.Identity = tmp, s.GCPCommand(exe), q.StatusFile != ""
	child, err := s.PrepareChild(ctx, cq)
	if child != nil {
		st.Identity = child.Identity
	}
	if err != nil {
		return err
	}
	defer child.Close()
	var statusErr error
	code, err := proc.Run(ctx, proc.Options{
		Path: q.Args[0], Args: q.Args[1:], Env: child.Env,
		Stdin: q.Stdin, Stdout: q.Stdout, Stderr: q.Stderr,
		GracePeriod: q.GracePeriod, Warn: q.Stderr,
		Started: func(pid int) { started = true; statusErr = st.Running(pid) },
	})
	if err != nil {
		// Found but not startable: an exec format error (no #! line, another
		// architecture) or a #! interpreter that is not there.
		return startFailure(q, err)
	}
	if statusErr == nil {
		statusErr = st.Exited(code)
	}
	if statusErr != nil {
		fmt.Fprintf(q.Stderr, "dagster-oidc: warning: %v\n", statusErr)
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// startFailure reports a child that could not be started as a shell does:
// exit 127 when the command (or its #! interpreter) is not there, 126 when
// it is there but cannot be run.
func startFailure(q ExecRequest, err error) error {
	code := 126
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = 127
	}
	fmt.Fprintf(q.Stderr, "dagster-oidc exec: %s: %v\n", q.Args[0], err)
	return &ExitError{Code: code}
}

// GCPCommand is the external_account executable's command line for the
// profile: `<exe> gcp executable --profile NAME --config ABS`. The consumer
// of the file may lack the variable or flag that chose the profiles file,
// so its absolute path is written out.
func (s *Service) GCPCommand(exe string) []string {
	cmd := []string{exe, "gcp", "executable", "--profile", s.Profile.Name}
	if s.w != nil && s.w.cfg != nil && s.w.cfg.Path != "" {
		cmd = append(cmd, "--config", absPath(s.w.cfg.Path))
	}
	return cmd
}
