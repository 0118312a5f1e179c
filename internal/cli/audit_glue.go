package cli

import (
	"errors"
	"fmt"
	"net/url"
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
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// auditTrail opens the configured sinks on first use.
type auditTrail struct {
	once   sync.Once
	logger *audit.Logger
}

// auditSinks builds the sinks of an audit config; key keys the file's
// chain, and without it there is no file sink. The file sink defaults to
// $XDG_STATE_HOME/dagster-oidc/audit.jsonl.
func auditSinks(f *Factory, a config.Audit, key []byte) ([]audit.Sink, error) {
	if a.Disabled {
		return nil, nil
	}
	var sinks []audit.Sink
	var syslog audit.Sink
	if a.Syslog != "" {
		u, err := url.Parse(a.Syslog)
		if err != nil || (u.Scheme != "tcp" && u.Scheme != "udp") || u.Host == "" {
			return nil, fmt.Errorf("audit.syslog %q: want tcp://HOST:PORT or udp://HOST:PORT", a.Syslog)
		}
		s, err := audit.NewSyslogSink(u.Scheme, u.Host, "dagster-oidc", audit.SyslogOptions{Clock: f.Clock})
		if err != nil {
			return nil, fmt.Errorf("audit syslog %s: %w", a.Syslog, err)
		}
		syslog = s
	}
	if key != nil { // without it there is no chain to write
		path := auditPath(f, a)
		fs, err := audit.NewFileSink(path, audit.FileSinkOptions{
			Key: key, MaxBytes: a.MaxBytes, Clock: f.Clock, Checkpoints: syslog, CheckpointEvery: a.CheckpointEvery,
		})
		if err != nil {
			return nil, fmt.Errorf("audit file %s: %w", path, err)
		}
		sinks = append(sinks, fs)
	}
	if a.Stderr {
		sinks = append(sinks, audit.NewWriterSink("stderr", f.IO.ErrOut))
	}
	if syslog != nil {
		sinks = append(sinks, syslog)
	}
	return sinks, nil
}

func (r *resolved) auditLogger() *audit.Logger {
	r.trail.once.Do(func() {
		if r.cfg.Audit.Disabled {
			return
		}
		key, err := auditKey(r.f, true)
		if err != nil {
			key = nil
			fmt.Fprintf(r.f.IO.ErrOut, "warning: no audit file and no subject hashes: %v; stderr and syslog still get the events\n", err)
		}
		sinks, err := auditSinks(r.f, r.cfg.Audit, key)
		if err != nil {
			fmt.Fprintf(r.f.IO.ErrOut, "warning: audit trail unavailable: %v\n", err)
			return
		}
		var reported sync.Map
		r.trail.logger = audit.New(sinks, audit.Options{
			Clock: r.f.Clock, Key: key, AllowClaims: r.cfg.Audit.Claims,
			OnSinkError: func(name string, err error) {
				if _, dup := reported.LoadOrStore(name, true); !dup {
					fmt.Fprintf(r.f.IO.ErrOut, "warning: audit sink %s failed (%v); events still go to the other sinks\n", name, err)
				}
			},
		})
	})
	return r.trail.logger
}

// audit writes one record to the configured sinks; it never fails the
// credential path.
func (r *resolved) audit(rec auditRecord) {
	l := r.auditLogger()
	if l == nil {
		return
	}
	run := rec.Run
	if run.ID == "" && run.Job == "" {
		rc := runctx.Parse(nil, r.f.Env)
		run.ID, run.Job = rc.ID, rc.Job
	}
	e := audit.Event{
		Event: rec.Event, Outcome: rec.Outcome, Profile: r.p.Name, Environment: r.p.Environment,
		Source: rec.Source, Issuer: r.p.Issuer, Role: rec.Role, ServiceAccount: rec.ServiceAccount,
		SessionName: rec.SessionName, CredentialExpiry: rec.Expiry, RunID: run.ID, JobName: run.Job,
		Unverified: rec.Unverified,
	}
	if e.Source == "" {
		e.Source = r.flowName
	}
	if c := rec.Claims; c != nil {
		e.Issuer = c.Issuer
		e.SubjectHash = l.SubjectHash(c.Subject, c.Issuer)
		e.Claims = c.All
	} else if rec.Subject != "" {
		e.SubjectHash = l.SubjectHash(rec.Subject, r.p.Issuer)
	}
	if rec.Err != nil {
		e.ErrorClass, e.Reason = errorClass(rec.Err)
	}
	l.Log(e)
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
		class = map[apperr.Kind]string{apperr.KindError: "error", apperr.KindUsage: "usage", apperr.KindLoginRequired: "login_required", apperr.KindDenied: "denied", apperr.KindInterrupted: "interrupted"}[apperr.KindOf(err)]
	}
	// Redacted before the cut: a JWT cut in half no longer looks like one
	// to the audit package's scrubber (issue 15.8).
	reason = redact.Text(strings.SplitN(err.Error(), "\n", 2)[0])
	if len(reason) > 300 {
		reason = reason[:300]
	}
	return class, reason
}

// observe maps the token use case's events to audit records.
func (r *resolved) observe(ev session.Event) {
	r.audit(auditRecord{Event: ev.Name, Outcome: ev.Outcome, Source: ev.Source, Claims: ev.Claims, Expiry: ev.Expiry, Err: ev.Err, Unverified: ev.Unverified != ""})
}

// close flushes the audit sinks.
func (r *resolved) close() {
	if r.trail.logger != nil {
		if err := r.trail.logger.Close(); err != nil {
			fmt.Fprintf(r.f.IO.ErrOut, "warning: %v\n", err)
		}
	}
}
