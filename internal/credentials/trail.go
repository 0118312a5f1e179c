package credentials

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/redact"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

// AuditPath is the audit file of a config, ~/ expanded.
func AuditPath(a config.Audit, stateDir, home string) string {
	path := a.File
	if path == "" {
		path = filepath.Join(stateDir, "audit.jsonl")
	}
	if strings.HasPrefix(path, "~/") {
		path = filepath.Join(home, path[2:])
	}
	return path
}

// trail is the audit Observer of a profile: it opens the configured sinks
// on first use and never fails a credential path.
type trail struct {
	cfg      config.Audit
	deps     Deps
	profile  *config.Profile
	flowName string

	once   sync.Once
	logger *audit.Logger
}

// Setup is the audit config a with its paths resolved under stateDir and
// home.
func Setup(a config.Audit, stateDir, home string) audit.Setup {
	return audit.Setup{
		File: AuditPath(a, stateDir, home), MaxBytes: a.MaxBytes, Stderr: a.Stderr, Syslog: a.Syslog,
		Claims: a.Claims, CheckpointEvery: a.CheckpointEvery,
	}
}

// Logger returns the audit logger, nil when the trail is off or failed to
// open (which was said on stderr).
func (t *trail) Logger() *audit.Logger {
	t.once.Do(func() {
		if t.cfg.Disabled {
			return
		}
		d := t.deps
		t.logger = audit.Start(Setup(t.cfg, d.StateDir, d.Home), audit.StartDeps{CacheDir: d.CacheDir, Clock: d.Clock, Stderr: d.Stderr})
	})
	return t.logger
}

// Observe writes one record to the configured sinks.
func (t *trail) Observe(rec Record) {
	l := t.Logger()
	if l == nil {
		return
	}
	p := t.profile
	run := rec.Run
	if run.ID == "" && run.Job == "" {
		rc := runctx.Parse(nil, t.deps.Env)
		run.ID, run.Job = rc.ID, rc.Job
	}
	e := audit.Event{
		Event: rec.Event, Outcome: rec.Outcome, Profile: p.Name, Environment: p.Environment,
		Source: rec.Source, Issuer: p.Issuer, Role: rec.Role, ServiceAccount: rec.ServiceAccount,
		SessionName: rec.SessionName, CredentialExpiry: rec.Expiry, RunID: run.ID, JobName: run.Job,
		Unverified: rec.Unverified,
	}
	if e.Source == "" {
		e.Source = t.flowName
	}
	if c := rec.Claims; c != nil {
		e.Issuer = c.Issuer
		e.SubjectHash = l.SubjectHash(c.Subject, c.Issuer)
		e.Claims = c.All
	} else if rec.Subject != "" {
		e.SubjectHash = l.SubjectHash(rec.Subject, p.Issuer)
	}
	if rec.Err != nil {
		e.ErrorClass, e.Reason = errorClass(rec.Err)
	}
	l.Log(e)
}

// close flushes the sinks.
func (t *trail) close() error {
	if t.logger == nil {
		return nil
	}
	return t.logger.Close()
}

// errorClass names an error for the audit trail: a verification reason, an
// STS or GCP error code, or the error kind. The reason is one line, without
// tokens (the audit package scrubs it again).
func errorClass(err error) (class, reason string) {
	var ve *flow.VerificationError
	var se *awssts.Error
	var ge *gcpsts.Error
	switch {
	case errors.As(err, &ve):
		class = ve.Reason
	case errors.As(err, &se):
		class = se.Code
	case errors.As(err, &ge):
		class = ge.Stage + ":" + ge.Code
	default:
		class = KindName(apperr.KindOf(err))
	}
	// Redacted before the cut: a JWT cut in half no longer looks like one
	// to the audit package's scrubber (issue 15.8).
	reason = redact.Text(strings.SplitN(err.Error(), "\n", 2)[0])
	if len(reason) > 300 {
		reason = reason[:300]
	}
	return class, reason
}

// KindName names an error kind for the audit trail and exec's status file.
func KindName(k apperr.Kind) string {
	switch k {
	case apperr.KindUsage:
		return "usage"
	case apperr.KindLoginRequired:
		return "login_required"
	case apperr.KindDenied:
		return "denied"
	case apperr.KindInterrupted:
		return "interrupted"
	default:
		return "error"
	}
}
