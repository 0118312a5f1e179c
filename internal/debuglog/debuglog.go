// Package debuglog writes the debug lines of `-v` / DAGSTER_OIDC_VERBOSE=1
// to stderr: the requests made (method and URL, never a query, a header or
// a body), cache decisions, lock waits and rule outcomes.
//
// It never prints a token, a code or a secret: callers pass only names,
// keys, URLs and outcomes, and every line is still run through
// redact.Text (which removes anything JWT-like and every value given to
// [Logger.Secret]) and termsafe.Clean before it is written. A nil *Logger
// is off, so code can log without checking.
package debuglog

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

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
	// Clock times locks and requests; nil is the system clock.
	Clock clock.Clock
}

func (l *Logger) now() time.Time {
	if l.Clock == nil {
		return time.Now()
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

// Printf writes one line: Prefix, then the formatted text, redacted and
// without control characters.
func (l *Logger) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	line := termsafe.Clean(redact.Text(fmt.Sprintf(format, args...), l.secrets...))
	fmt.Fprintln(l.w, Prefix+line)
}

// Lock logs how long taking the lock named key took, from start; err is
// the lock's error, if any.
func (l *Logger) Lock(key string, start time.Time, err error) {
	if l == nil {
		return
	}
	took := l.now().Sub(start).Round(time.Millisecond)
	if err != nil {
		l.Printf("lock %s: not taken after %s", key, took)
		return
	}
	l.Printf("lock %s: taken after %s", key, took)
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
