// Package debuglog writes the debug lines of `-v` / DAGSTER_OIDC_VERBOSE=1
// to stderr: the requests made (method and URL, never a query, a header or
// a body), cache decisions, lock waits and rule outcomes.
//
// It never prints a token, a code or a secret: callers pass only names,
// keys, URLs and outcomes, and every line is still run through
// redact.Text (which removes anything JWT-like and every value given to
// [Logger.Secret]) and termsafe.Clean before it is written. Nor does it
// print personal data (issue 18): the values of the personal claims of
// every token seen ([Logger.Claims]) that audit.claims does not allow, and
// the STS session names derived from them ([Logger.Personal]), are cut out
// of every line by audit.RedactPersonal, the audit trail's own rule. A nil
// *Logger is off, so code can log without checking.
package debuglog

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/redact"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// Prefix starts every line.
const Prefix = "debug: "

// Logger writes debug lines to one writer.
type Logger struct {
	mu      sync.Mutex
	w       io.Writer
	secrets []string
	// allow is audit.claims; personal the values cut from every line.
	allow, personal []string
	// Clock times locks and requests; nil is the system clock.
	Clock clock.Clock
}

func (l *Logger) now() time.Time {
	if l.Clock == nil {
		return clock.Real{}.Now()
	}
	return l.Clock.Now()
}

// New returns a logger writing to w.
func New(w io.Writer) *Logger { return &Logger{w: w} }

// Secret adds values that must never appear in a line (a client secret),
// on top of the JWT-like strings every line is cleared of.
func (l *Logger) Secret(values ...string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, values...)
}

// AllowClaims sets the claims whose values may appear in lines: the
// configuration's audit.claims, as the audit trail reads it (sub is cut
// even when listed). It applies to the claims given to Claims afterwards.
func (l *Logger) AllowClaims(names []string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.allow = append([]string(nil), names...)
}

// Claims cuts the values of the personal claims in claims (email, name,
// preferred_username, sub, …) that audit.claims does not allow out of every
// later line: call it wherever a token's claims become known.
func (l *Logger) Claims(claims map[string]any) {
	if l == nil || len(claims) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(audit.PersonalValues(claims, l.allow))
}

// Personal cuts values that name the person outside the claims (an STS
// session name expanded from them) out of every later line.
func (l *Logger) Personal(values ...string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(values)
}

// add records values not yet cut; l.mu is held.
func (l *Logger) add(values []string) {
	for _, v := range values {
		if v != "" && !slices.Contains(l.personal, v) {
			l.personal = append(l.personal, v)
		}
	}
}

// Printf writes one line: Prefix, then the formatted text without personal
// values, redacted and without control characters.
func (l *Logger) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	line := audit.RedactPersonal(fmt.Sprintf(format, args...), l.personal...)
	line = termsafe.Clean(redact.Text(line, l.secrets...))
	fmt.Fprintln(l.w, Prefix+line)
}

// Lock calls take, which takes the lock named key, and logs how long it
// took by the logger's clock; it returns take's results.
func (l *Logger) Lock(key string, take func() (unlock func() error, err error)) (func() error, error) {
	if l == nil {
		return take()
	}
	start := l.now()
	unlock, err := take()
	took := l.now().Sub(start).Round(time.Millisecond)
	if err != nil {
		l.Printf("lock %s: not taken after %s", key, took)
	} else {
		l.Printf("lock %s: taken after %s", key, took)
	}
	return unlock, err
}

// Transport returns base (http.DefaultTransport when nil) logging each
// request as "http GET https://host/path -> 200 (12ms)"; query, fragment
// and user information are never shown.
func (l *Logger) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if l == nil {
		return base
	}
	return &transport{l: l, base: base}
}

// Client returns c itself when l is nil, else a copy of c whose transport
// logs each request (see Transport).
func (l *Logger) Client(c *http.Client) *http.Client {
	if l == nil {
		return c
	}
	cp := *c
	cp.Transport = l.Transport(c.Transport)
	return &cp
}

type transport struct {
	l    *Logger
	base http.RoundTripper
}

// RoundTrip logs the request's method and redacted URL with the outcome.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := t.l.now()
	resp, err := t.base.RoundTrip(r)
	took := t.l.now().Sub(start).Round(time.Millisecond)
	if err != nil {
		t.l.Printf("http %s %s -> failed after %s", r.Method, safehttp.Redact(r.URL), took)
		return resp, err
	}
	t.l.Printf("http %s %s -> %d (%s)", r.Method, safehttp.Redact(r.URL), resp.StatusCode, took)
	return resp, nil
}
