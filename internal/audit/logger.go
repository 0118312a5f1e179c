package audit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// Sink receives finished lines (one JSON object, no trailing newline).
// Writes to one sink are never concurrent.
type Sink interface {
	// Name identifies the sink in error reports, e.g. "file:/path".
	Name() string
	// Write stores one line.
	Write(line []byte) error
	// Close releases the sink.
	Close() error
}

// Options configure a Logger.
type Options struct {
	// Clock stamps events without a Time; clock.Real{} when nil.
	Clock clock.Clock
	// Key is the per-installation HMAC key for SubjectHash (see
	// LoadOrCreateKey). Without it no subject hash is written.
	Key []byte
	// AllowClaims are the claim names FilterClaims keeps.
	AllowClaims []string
	// OnSinkError is called at most once per sink, with the sink's name and
	// its first error. It is called from the sink's goroutine.
	OnSinkError func(name string, err error)
	// QueueSize is the number of lines buffered per sink (default 256);
	// when a sink falls that far behind, new lines to it are dropped.
	QueueSize int
	// FlushTimeout bounds Close (default 2 s).
	FlushTimeout time.Duration
}

// Logger fans events out to sinks. Log never blocks and never fails: each
// sink has its own queue and goroutine, so a slow or failing sink delays
// no credential and costs the other sinks nothing. A nil *Logger discards
// events.
type Logger struct {
	clock       clock.Clock
	key         []byte
	sessionKey  []byte
	allow       map[string]bool
	allowList   []string
	onSinkError func(string, error)
	timeout     time.Duration

	mu        sync.RWMutex // guards closed against Log's sends
	closed    bool
	workers   []*worker
	reporters sync.WaitGroup // queue-overflow reports in flight
}

// worker drains one sink's queue.
type worker struct {
	sink     Sink
	queue    chan []byte
	done     chan struct{}
	report   sync.Once
	onReport func(string, error)
	// overflowed is set at the first dropped line.
	overflowed atomic.Bool
}

// errQueueFull is reported when a sink cannot keep up.
var errQueueFull = errors.New("the audit queue is full; events were dropped")

// New starts a Logger writing to sinks.
func New(sinks []Sink, opts Options) *Logger {
	l := &Logger{
		clock:       opts.Clock,
		key:         append([]byte(nil), opts.Key...),
		sessionKey:  deriveKey(opts.Key, labelSession),
		allow:       map[string]bool{},
		allowList:   append([]string(nil), opts.AllowClaims...),
		onSinkError: opts.OnSinkError,
		timeout:     opts.FlushTimeout,
	}
	if l.clock == nil {
		l.clock = clock.Real{}
	}
	if l.timeout <= 0 {
		l.timeout = 2 * time.Second
	}
	for _, c := range opts.AllowClaims {
		l.allow[c] = true
	}
	size := opts.QueueSize
	if size <= 0 {
		size = 256
	}
	for _, s := range sinks {
		if s == nil {
			continue
		}
		w := &worker{sink: s, queue: make(chan []byte, size), done: make(chan struct{}), onReport: opts.OnSinkError}
		l.workers = append(l.workers, w)
		go w.run()
	}
	return l
}

func (w *worker) run() {
	defer close(w.done)
	for line := range w.queue {
		if err := w.sink.Write(line); err != nil {
			w.fail(err)
		}
	}
}

// fail reports the sink's first error.
func (w *worker) fail(err error) {
	w.report.Do(func() {
		if w.onReport != nil {
			w.onReport(w.sink.Name(), err)
		}
	})
}

// Log records e. Claims go through FilterClaims, a SubjectHash that is not
// one is dropped, the session name is replaced by its SessionHash, the
// values of personal claims not in audit.claims (and e.Personal, and the
// session name) are cut out of the reason and error class, and strings are
// scrubbed of anything token-like. Log returns at once; lines reach the
// sinks in order, asynchronously (see Close).
func (l *Logger) Log(e Event) {
	if l == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = l.clock.Now()
	}
	personal := append(l.Personal(e.Claims), e.Personal...)
	if e.SessionName != "" && e.SessionName != e.RunID {
		personal = append(personal, e.SessionName) // a run id names no one
	}
	if len(personal) > 0 {
		// Only the free text: the other fields come from the configuration
		// and Dagster, and a role named like a user must stay readable.
		e.ErrorClass = RedactPersonal(e.ErrorClass, personal...)
		e.Reason = RedactPersonal(e.Reason, personal...)
	}
	e.Claims = l.FilterClaims(e.Claims)
	if !isSubjectHash(e.SubjectHash) {
		e.SubjectHash = ""
	}
	session := l.SessionHash(e.SessionName)
	line, err := marshal(e, session)
	if err != nil {
		// Only unsupported claim values could cause this; FilterClaims
		// keeps none, so it does not happen. Record the event without them.
		e.Claims = nil
		if line, err = marshal(e, session); err != nil {
			return
		}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return
	}
	for _, w := range l.workers {
		select {
		case w.queue <- line:
		default:
			if w.overflowed.CompareAndSwap(false, true) {
				l.reporters.Go(func() { w.fail(errQueueFull) })
			}
		}
	}
}

// Close writes out queued lines, waiting at most FlushTimeout in all, and
// closes the sinks. Sinks still busy at the deadline are abandoned (a
// process about to exit loses their last lines) and reported in the error.
// Log after Close discards events.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	for _, w := range l.workers {
		close(w.queue)
	}
	l.mu.Unlock()

	expired := make(chan struct{})
	t := time.AfterFunc(l.timeout, func() { close(expired) })
	defer t.Stop()
	var errs []error
	for _, w := range l.workers {
		select {
		case <-w.done:
		case <-expired:
			select {
			case <-w.done:
			default:
				errs = append(errs, fmt.Errorf("could not flush the audit sink %s in %s", w.sink.Name(), l.timeout))
				continue
			}
		}
		if err := w.sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("could not close the audit sink %s: %w", w.sink.Name(), err))
		}
	}
	reported := make(chan struct{})
	go func() { l.reporters.Wait(); close(reported) }()
	select {
	case <-reported:
	case <-expired:
	}
	return errors.Join(errs...)
}
