package credentials

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/redact"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

// auditKeyName is the file-store key of the installation's audit key.
const auditKeyName = "audit-hmac-key"

// AuditKeyDir is where the audit key is kept: its own directory, so
// logout --all clears the cache, not the installation key.
func AuditKeyDir(cacheDir string) string { return filepath.Join(cacheDir, "audit-key") }

// AuditKey returns the installation's audit key, creating it when create
// is set.
func AuditKey(cacheDir string, create bool) ([]byte, error) {
	keys := cache.FileStore{Dir: AuditKeyDir(cacheDir)}
	get := func() ([]byte, error) {
		b, err := keys.Get(auditKeyName)
		if errors.Is(err, cache.ErrNotFound) {
			return nil, nil
		}
		return b, err
	}
	if !create {
		key, err := get()
		if err != nil {
			return nil, fmt.Errorf("could not read the audit key: %w", err)
		}
		if len(key) == 0 {
			return nil, fmt.Errorf("no audit key in %s: the trail is keyed with the key of the installation that wrote it; run this as that user, with its DAGSTER_OIDC_CACHE_DIR", AuditKeyDir(cacheDir))
		}
		return key, nil
	}
	return audit.LoadOrCreateKey(get, func(b []byte) error { return keys.Set(auditKeyName, b) })
}

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

// sinks builds the sinks of the audit config; key keys the file's chain,
// and without it there is no file sink. The file sink defaults to
// $XDG_STATE_HOME/dagster-oidc/audit.jsonl.
func (t *trail) sinks(key []byte) ([]audit.Sink, error) {
	a, d := t.cfg, t.deps
	var sinks []audit.Sink
	var syslog audit.Sink
	if a.Syslog != "" {
		u, err := url.Parse(a.Syslog)
		if err != nil || (u.Scheme != "tcp" && u.Scheme != "udp") || u.Host == "" {
			return nil, fmt.Errorf("audit.syslog %q: want tcp://HOST:PORT or udp://HOST:PORT", a.Syslog)
		}
		s, err := audit.NewSyslogSink(u.Scheme, u.Host, "dagster-oidc", audit.SyslogOptions{Clock: d.Clock})
		if err != nil {
			return nil, fmt.Errorf("audit syslog %s: %w", a.Syslog, err)
		}
		syslog = s
	}
	if key != nil { // without it there is no chain to write
		path := AuditPath(a, d.StateDir, d.Home)
		fs, err := audit.NewFileSink(path, audit.FileSinkOptions{
			Key: key, MaxBytes: a.MaxBytes, Clock: d.Clock, Checkpoints: syslog, CheckpointEvery: a.CheckpointEvery,
		})
		if err != nil {
			return nil, fmt.Errorf("audit file %s: %w", path, err)
		}
		sinks = append(sinks, fs)
	}
	if a.Stderr {
		sinks = append(sinks, audit.NewWriterSink("stderr", d.Stderr))
	}
	if syslog != nil {
		sinks = append(sinks, syslog)
	}
	return sinks, nil
}

// Logger returns the audit logger, nil when the trail is off or failed to
// open (which was said on stderr).
func (t *trail) Logger() *audit.Logger {
	t.once.Do(func() {
		if t.cfg.Disabled {
			return
		}
		stderr := t.deps.Stderr
		key, err := AuditKey(t.deps.CacheDir, true)
		if err != nil {
			key = nil
			fmt.Fprintf(stderr, "warning: no audit file and no subject hashes: %v; stderr and syslog still get the events\n", err)
		}
		sinks, err := t.sinks(key)
		if err != nil {
			fmt.Fprintf(stderr, "warning: audit trail unavailable: %v\n", err)
			return
		}
		var reported sync.Map
		t.logger = audit.New(sinks, audit.Options{
			Clock: t.deps.Clock, Key: key, AllowClaims: t.cfg.Claims,
			OnSinkError: func(name string, err error) {
				if _, dup := reported.LoadOrStore(name, true); !dup {
					fmt.Fprintf(stderr, "warning: audit sink %s failed (%v); events still go to the other sinks\n", name, err)
				}
			},
		})
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
