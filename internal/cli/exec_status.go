package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

// execStatusVersion is the version of the --status-file document.
const execStatusVersion = 1

// Exec states written to the --status-file, in the order they occur.
const (
	execStateRunning = "running" // the child started (pid set)
	execStateExited  = "exited"  // the child ended (exit_code set)
	execStateRefused = "refused" // exec stopped before starting the child
)

// execStatus is the machine-readable document `exec --status-file` keeps
// up to date for a launcher (the Python ExecRunLauncher): under which
// identity the child runs, its pid, and how it or exec ended. It holds no
// token or credential, only names, hashes and times.
type execStatus struct {
	V     int    `json:"v"`
	State string `json:"state"`
	// Identity is set from "running" on.
	Identity *execIdentity `json:"identity,omitempty"`
	// PID is the child's process id ("running", "exited").
	PID int `json:"pid,omitempty"`
	// ExitCode is exec's own exit code ("exited": the child's, 128+N when
	// signal N killed it; "refused": the documented exit code).
	ExitCode int `json:"exit_code"`
	// Kind, Error and Hint describe a refusal, as exec prints them.
	Kind  string `json:"kind,omitempty"`
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`

	path string
}

// execIdentity is the identity a child got.
type execIdentity struct {
	Profile     string `json:"profile"`
	Environment string `json:"environment,omitempty"`
	Source      string `json:"source"`
	Issuer      string `json:"issuer"`
	// SubjectHash is the audit trail's keyed hash of the token's subject.
	SubjectHash string    `json:"subject_hash,omitempty"`
	TokenExpiry time.Time `json:"token_expiry,omitzero"`
	AWSRole     string    `json:"aws_role,omitempty"`
	AWSSession  string    `json:"aws_session_name,omitempty"`
	// AWSExpiry is the first credentials' expiry; server mode renews them.
	AWSExpiry time.Time `json:"aws_expiry,omitzero"`
	GCP       bool      `json:"gcp,omitempty"`
	RunID     string    `json:"run_id,omitempty"`
	JobName   string    `json:"job_name,omitempty"`
	Step      string    `json:"step,omitempty"`
}

// newExecStatus returns the status writer for path ("" writes nothing).
func newExecStatus(path string) *execStatus {
	return &execStatus{V: execStatusVersion, path: path}
}

// identity fills in the identity from the profile's current token and
// the run.
func (s *execStatus) identity(r *resolved, run runctx.Run) *execIdentity {
	id := &execIdentity{Profile: r.p.Name, Environment: r.p.Environment, Source: r.svc.FlowName(), Issuer: r.p.Issuer,
		RunID: run.ID, JobName: run.Job, Step: run.Step}
	s.Identity = id
	return id
}

// subject records the token's source, subject hash and expiry.
func (id *execIdentity) subject(r *resolved, source, issuer, sub string, expiry time.Time) {
	if source != "" {
		id.Source = source
	}
	if issuer != "" {
		id.Issuer = issuer
	}
	id.TokenExpiry = expiry
	id.SubjectHash = r.svc.SubjectHash(sub, id.Issuer)
}

// running records the child's pid.
func (s *execStatus) running(pid int) error {
	s.State, s.PID = execStateRunning, pid
	return s.write()
}

// exited records the child's exit code.
func (s *execStatus) exited(code int) error {
	s.State, s.ExitCode = execStateExited, code
	return s.write()
}

// refused records why exec did not start the child, with the exit code,
// message and hint that it prints.
func (s *execStatus) refused(err error) error {
	s.State = execStateRefused
	var ee *exitError
	if errors.As(err, &ee) {
		s.ExitCode = ee.code
	} else {
		s.ExitCode = apperr.ExitCode(err)
		s.Kind = credentials.KindName(apperr.KindOf(err))
		s.Hint = apperr.HintOf(err)
	}
	s.Error = err.Error()
	return s.write()
}

func (s *execStatus) write() error {
	if s.path == "" {
		return nil
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("could not write the status file: %w", err)
	}
	return nil
}
