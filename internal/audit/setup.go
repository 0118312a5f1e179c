package audit

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sync"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// keyName is the file-store key of the installation's audit key.
const keyName = "audit-hmac-key"

// KeyDir is where the installation's audit key is kept under the cache
// directory: its own directory, so logout --all clears the cache, not the
// installation key.
func KeyDir(cacheDir string) string { return filepath.Join(cacheDir, "audit-key") }

// InstallationKey returns the audit key of the installation whose cache
// directory is cacheDir, creating it when create is set. The key is read
// with the file store's trust checks.
func InstallationKey(cacheDir string, create bool) ([]byte, error) {
	keys := cache.FileStore{Dir: KeyDir(cacheDir)}
	get := func() ([]byte, error) {
		b, err := keys.Get(keyName)
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
			return nil, fmt.Errorf("no audit key in %s: the trail is keyed with the key of the installation that wrote it; run this as that user, with its DAGSTER_OIDC_CACHE_DIR", KeyDir(cacheDir))
		}
		return key, nil
	}
	return LoadOrCreateKey(get, func(b []byte) error { return keys.Set(keyName, b) })
}

// Setup is a configured trail with its paths resolved: what the profiles
// file's audit section says, in a form that the full binary and the warm
// front (internal/warm) open the same way.
type Setup struct {
	// File is the audit file's path.
	File string `json:"file"`
	// MaxBytes rotates the file (0: never).
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Stderr copies every line to stderr.
	Stderr bool `json:"stderr,omitempty"`
	// Syslog is tcp://HOST:PORT or udp://HOST:PORT ("": none).
	Syslog string `json:"syslog,omitempty"`
	// Claims are the claim names logged in clear.
	Claims []string `json:"claims,omitempty"`
	// CheckpointEvery sends a checkpoint to syslog every N lines (0: none).
	CheckpointEvery int64 `json:"checkpoint_every,omitempty"`
}

// StartDeps are the side effects of [Start].
type StartDeps struct {
	// CacheDir holds the installation's audit key.
	CacheDir string
	Clock    clock.Clock
	// Stderr gets the stderr sink's lines and the warnings.
	Stderr io.Writer
}

// Start opens the trail s and returns its logger. It never fails a
// credential path: what cannot be opened is said on stderr once, and the
// logger writes to the sinks that could be (nil when none could).
func Start(s Setup, d StartDeps) *Logger {
	key, err := InstallationKey(d.CacheDir, true)
	if err != nil {
		key = nil
		fmt.Fprintf(d.Stderr, "warning: no audit file and no subject hashes: %v; stderr and syslog still get the events\n", err)
	}
	sinks, err := s.sinks(key, d)
	if err != nil {
		fmt.Fprintf(d.Stderr, "warning: audit trail unavailable: %v\n", err)
		return nil
	}
	var reported sync.Map
	return New(sinks, Options{
		Clock: d.Clock, Key: key, AllowClaims: s.Claims,
		OnSinkError: func(name string, err error) {
			if _, dup := reported.LoadOrStore(name, true); !dup {
				fmt.Fprintf(d.Stderr, "warning: audit sink %s failed (%v); events still go to the other sinks\n", name, err)
			}
		},
	})
}

// sinks builds the sinks of s; key keys the file's chain, and without it
// there is no file sink.
func (s Setup) sinks(key []byte, d StartDeps) ([]Sink, error) {
	var sinks []Sink
	var syslog Sink
	if s.Syslog != "" {
		u, err := url.Parse(s.Syslog)
		if err != nil || (u.Scheme != "tcp" && u.Scheme != "udp") || u.Host == "" {
			return nil, fmt.Errorf("audit.syslog %q: want tcp://HOST:PORT or udp://HOST:PORT", s.Syslog)
		}
		ss, err := NewSyslogSink(u.Scheme, u.Host, "dagster-oidc", SyslogOptions{Clock: d.Clock})
		if err != nil {
			return nil, fmt.Errorf("audit syslog %s: %w", s.Syslog, err)
		}
		syslog = ss
	}
	if key != nil { // without it there is no chain to write
		fs, err := NewFileSink(s.File, FileSinkOptions{
			Key: key, MaxBytes: s.MaxBytes, Clock: d.Clock, Checkpoints: syslog, CheckpointEvery: s.CheckpointEvery,
		})
		if err != nil {
			return nil, fmt.Errorf("audit file %s: %w", s.File, err)
		}
		sinks = append(sinks, fs)
	}
	if s.Stderr {
		sinks = append(sinks, NewWriterSink("stderr", d.Stderr))
	}
	if syslog != nil {
		sinks = append(sinks, syslog)
	}
	return sinks, nil
}
