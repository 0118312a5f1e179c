package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// testEnv is a sandbox provider plus a Factory wired to buffers, a counting
// transport, an in-memory keyring and a recording sleeper.
type testEnv struct {
	t       *testing.T
	sb      *sandbox.Server
	dir     string
	config  string
	env     map[string]string
	keyring *memKeyring
	reqs    atomic.Int64
	// down makes every request of the CLI fail.
	down   atomic.Bool
	mu     sync.Mutex
	sleeps []time.Duration
	// onSleep runs at each poll wait, with the stderr written so far.
	onSleep  func(stderr string) error
	tty      bool
	clock    clock.Clock
	lastErr  string
	browsers []string
}

func newTestEnv(t *testing.T, o sandbox.Options) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	dir := t.TempDir()
	e := &testEnv{t: t, sb: sb, dir: dir, keyring: newMemKeyring(), tty: true, clock: clock.Real{}}
	e.env = map[string]string{
		"HOME":                   dir,
		"DAGSTER_OIDC_CACHE_DIR": filepath.Join(dir, "cache"),
		"DAGSTER_OIDC_STATE_DIR": filepath.Join(dir, "state"),
	}
	e.writeConfig(fmt.Sprintf(`default_profile: sandbox
profiles:
  sandbox:
    environment: dev
    issuer: %s
    client_id: %s
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
`, sb.Issuer(), sb.ClientID()))
	return e
}

func (e *testEnv) writeConfig(s string) {
	e.t.Helper()
	e.config = filepath.Join(e.dir, "config.yaml")
	if err := os.WriteFile(e.config, []byte(s), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.env["DAGSTER_OIDC_CONFIG"] = e.config
}

// countingTransport counts requests; while down is set, every one fails
// as if the network were unreachable.
type countingTransport struct {
	n    *atomic.Int64
	down *atomic.Bool
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	if c.down != nil && c.down.Load() {
		return nil, errors.New("network is unreachable")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// run executes the CLI once and returns stdout, stderr and the exit code.
func (e *testEnv) run(args ...string) (string, string, int) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	var errMu sync.Mutex
	f := e.factory(&out, &errOut, &errMu)
	code := Main(context.Background(), f, args)
	return out.String(), errOut.String(), code
}

// factory is the Factory run uses, writing to out and (under errMu) errOut.
func (e *testEnv) factory(out, errOut *bytes.Buffer, errMu *sync.Mutex) *cmdutil.Factory {
	stderr := &lockedWriter{w: errOut, mu: errMu}
	return &cmdutil.Factory{
		IO:    &iostreams.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: stderr, StdinTTY: e.tty, StderrTTY: e.tty},
		Env:   func(k string) (string, bool) { v, ok := e.env[k]; return v, ok },
		Clock: e.clock,
		HTTPClient: func() *http.Client {
			return &http.Client{Transport: countingTransport{&e.reqs, &e.down}, Timeout: 10 * time.Second}
		},
		OpenBrowser: func(u string) error { e.browsers = append(e.browsers, u); return errors.New("no browser in tests") },
		HasDisplay:  func() bool { return false },
		Keyring:     e.keyring,
		Executable:  func() (string, error) { return "/usr/local/bin/dagster-oidc", nil },
		Environ:     func() []string { return nil },
		Stat:        os.Stat,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.sleeps = append(e.sleeps, d)
			e.mu.Unlock()
			if e.onSleep != nil {
				errMu.Lock()
				s := errOut.String()
				errMu.Unlock()
				return e.onSleep(s)
			}
			return nil
		},
		KeyringTimeout: time.Second,
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var userCodeRE = regexp.MustCompile(`the code ([A-Z0-9-]+)`)

// approveAs returns an onSleep hook that approves the printed user code as user.
func (e *testEnv) approveAs(user string) func(string) error {
	return func(stderr string) error {
		m := userCodeRE.FindStringSubmatch(stderr)
		if m == nil {
			return fmt.Errorf("no user code in stderr: %q", stderr)
		}
		// Approving twice is harmless for later polls.
		_ = e.sb.ApproveDevice(context.Background(), m[1], user)
		return nil
	}
}

// login runs a device login approved as user and fails the test otherwise.
func (e *testEnv) login(user string) {
	e.t.Helper()
	e.onSleep = e.approveAs(user)
	defer func() { e.onSleep = nil }()
	_, stderr, code := e.run("login")
	if code != 0 {
		e.t.Fatalf("login exit %d: %s", code, stderr)
	}
}

// memKeyring is an in-memory cache.Keyring.
type memKeyring struct {
	mu    sync.Mutex
	items map[string]string
	fail  error
}

func newMemKeyring() *memKeyring { return &memKeyring{items: map[string]string{}} }

func (m *memKeyring) Get(service, user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return "", m.fail
	}
	v, ok := m.items[service+"\x00"+user]
	if !ok {
		return "", cache.ErrNotFound
	}
	return v, nil
}

func (m *memKeyring) Set(service, user, password string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.items[service+"\x00"+user] = password
	return nil
}

func (m *memKeyring) Delete(service, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.items[service+"\x00"+user]; !ok {
		return cache.ErrNotFound
	}
	delete(m.items, service+"\x00"+user)
	return nil
}

func (m *memKeyring) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// DeleteAll removes every item of service, as go-keyring's DeleteAll does.
func (m *memKeyring) DeleteAll(service string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.items {
		if strings.HasPrefix(k, service+"\x00") {
			delete(m.items, k)
		}
	}
	return nil
}
