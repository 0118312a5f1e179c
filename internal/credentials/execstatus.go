package credentials

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
)

// execStatusVersion is the version of the --status-file document.
const execStatusVersion = 1

// Exec states written to the --status-file, in the order they occur.
const (
	ExecStateRunning = "running" // the child started (pid set)
	ExecStateExited  = "exited"  // the child ended (exit_code set)
	ExecStateRefused = "refused" // exec stopped before starting the child
)

// ExecStatus is the machine-readable document `exec --status-file` keeps
// up to date for a launcher (the Python ExecRunLauncher): under which
// identity the child runs, its pid, and how it or exec ended. It holds no
// token or credential, only names, hashes and times.
type ExecStatus struct {
	V     int    `json:"v"`
	State string `json:"state"`
	// Identity is set from "running" on.
	Identity *ExecIdentity `json:"identity,omitempty"`
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

// ExecIdentity is the identity a child got.
type ExecIdentity struct {
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
	// GCPServiceAccount is the impersonated service account, if any.
	GCPServiceAccount string `json:"gcp_service_account,omitempty"`
	RunID             string `json:"run_id,omitempty"`
	JobName           string `json:"job_name,omitempty"`
	Step              string `json:"step,omitempty"`
}

// NewExecStatus returns the status writer for path ("" writes nothing).
func NewExecStatus(path string) *ExecStatus {
	return &ExecStatus{V: execStatusVersion, path: path}
}

// subject records the token's source, subject hash and expiry.
func (id *ExecIdentity) subject(s *Service, source, issuer, sub string, expiry time.Time) {
	if source != "" {
		id.Source = source
	}
	if issuer != "" {
		id.Issuer = issuer
	}
	id.TokenExpiry = expiry
	id.SubjectHash = s.SubjectHash(sub, id.Issuer)
}

// Running records the child's pid.
func (s *ExecStatus) Running(pid int) error {
	s.State, s.PID = ExecStateRunning, pid
	return s.write()
}

// Exited records the child's exit code.
func (s *ExecStatus) Exited(code int) error {
	s.State, s.ExitCode = ExecStateExited, code
	return s.write()
}

// Refused records why exec did not start the child, with the exit code,
// message and hint that it prints.
func (s *ExecStatus) Refused(err error, code int) error {
	s.State, s.ExitCode, s.Error = ExecStateRefused, code, err.Error()
	if apperr.ExitCode(err) == code {
		s.Kind = KindName(apperr.KindOf(err))
		s.Hint = apperr.HintOf(err)
	}
	return s.write()
}

func (s *ExecStatus) write() error {
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
