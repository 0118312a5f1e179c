//go:build e2e

// Package e2e drives the built dagster-oidc binary against real peers: the
// sandbox OpenID provider, MinIO's STS and S3, Debian's awscli and boto3,
// Google's Go client library and Chromium. Run with: go test -tags e2e ./e2e
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/syslogtest"
)

// bin holds the paths of the binaries built once for the whole package:
// the front (cmd/dagster-oidc-cached) sits next to the full binary, as
// installed.
var bin struct{ cli, front, sandbox string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dagster-oidc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin.cli = filepath.Join(dir, "dagster-oidc")
	bin.front = filepath.Join(dir, "dagster-oidc-cached")
	bin.sandbox = filepath.Join(dir, "dagster-oidc-sandbox")
	for out, pkg := range map[string]string{bin.cli: "./cmd/dagster-oidc", bin.front: "./cmd/dagster-oidc-cached", bin.sandbox: "./cmd/dagster-oidc-sandbox"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = ".."
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		msg := ""
		if leaks := ledger.leaks(); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "LEAK: %d token or secret occurrences where none may be:\n%s\n", len(leaks), strings.Join(leaks, "\n"))
			code = 1
		} else {
			runs, lines := ledger.verboseCount()
			msg = fmt.Sprintf("leak check: %d issued tokens and secrets searched for in %d outputs (among them the -v debug lines of %d runs, %d lines), audit trails and syslog streams; none found where they must not be\n", ledger.secretCount(), ledger.outputCount(), runs, lines)
		}
		if line, found := personal.report(); len(found) > 0 {
			fmt.Fprintf(os.Stderr, "PERSONAL DATA: %d audit lines, syslog messages or -v debug lines hold a sandbox user's claim that audit.claims does not allow:\n%s\n", len(found), strings.Join(found, "\n"))
			code = 1
		} else {
			msg += line
		}
		if code == 0 {
			fmt.Fprint(os.Stderr, msg)
			// go test hides a passing package's output; scripts/test.sh prints this file.
			if path := os.Getenv("DAGSTER_OIDC_LEAK_REPORT"); path != "" {
				_ = os.WriteFile(path, []byte(msg), 0o644)
			}
		}
	}
	os.Exit(code)
}

// world is one sandbox provider and a private HOME for the binary. Every
// config it writes sends the audit trail, with a checkpoint after every
// line, to its syslog collector too.
type world struct {
	t      *testing.T
	sb     *sandbox.Server
	dir    string
	config string
	env    map[string]string
	syslog *syslogtest.Collector
	// allow is every claim any config of the world listed in audit.claims.
	allow []string
	// debug holds the -v lines of the world's runs, for the personal-data
	// check; runs may be concurrent.
	mu    sync.Mutex
	debug []string
}

// addVerbose hands a run's -v lines to the leak ledger and keeps them for
// the world's personal-data check.
func (w *world) addVerbose(name, text string) {
	ledger.addVerbose(name, text)
	if text == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.debug = append(w.debug, strings.Split(strings.TrimRight(text, "\n"), "\n")...)
}

func (w *world) debugLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.debug
}

// newWorld starts a sandbox and writes a config whose profile "sandbox"
// uses the device flow, plus extra (indented YAML appended to the profile).
func newWorld(t *testing.T, o sandbox.Options, extra string) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var w *world
	t.Cleanup(func() {
		ledger.addSecrets(sb.IssuedSecrets())
		trail := auditTrail(dir)
		for _, b := range trail {
			ledger.addOutput(t.Name()+": audit trail", b, false)
		}
		msgs := w.syslog.Messages()
		ledger.addOutput(t.Name()+": syslog", strings.Join(msgs, "\n"), false)
		w.verifyAuditTrail(msgs)
		personal.addWorld(t.Name(), dir, sb.Users(), w.allow, trail, msgs, w.debugLines())
		sb.Close()
	})
	w = &world{t: t, sb: sb, dir: dir, syslog: syslogtest.Start(t), env: map[string]string{
		"HOME":                   dir,
		"PATH":                   "/usr/local/bin:/usr/bin:/bin",
		"DAGSTER_OIDC_CACHE_DIR": filepath.Join(dir, "cache"),
		"DAGSTER_OIDC_STATE_DIR": filepath.Join(dir, "state"),
		"XDG_CONFIG_HOME":        filepath.Join(dir, "config"),
	}}
	w.writeConfig(w.profile(extra))
	return w
}

// profile returns the default sandbox profile YAML with extra appended.
func (w *world) profile(extra string) string {
	return fmt.Sprintf(`default_profile: sandbox
profiles:
  sandbox:
    environment: dev
    issuer: %s
    client_id: %s
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
    cache: file
%s`, w.sb.Issuer(), w.sb.ClientID(), extra)
}

func (w *world) writeConfig(s string) {
	w.t.Helper()
	if !strings.HasPrefix(s, "audit:") && !strings.Contains(s, "\naudit:") {
		s = fmt.Sprintf("audit:\n  syslog: tcp://%s\n  checkpoint_every: 1\n", w.syslog.Addr()) + s
	}
	w.config = filepath.Join(w.dir, "config.yaml")
	if err := os.WriteFile(w.config, []byte(s), 0o600); err != nil {
		w.t.Fatal(err)
	}
	w.env["DAGSTER_OIDC_CONFIG"] = w.config
	for _, c := range auditClaims(w.config) {
		if !slices.Contains(w.allow, c) {
			w.allow = append(w.allow, c)
		}
	}
}

// verifyAuditTrail runs `audit verify --checkpoints` on the world's trail
// with the checkpoints its collector received.
func (w *world) verifyAuditTrail(msgs []string) {
	w.t.Helper()
	if _, err := os.Stat(filepath.Join(w.dir, "state", "audit.jsonl")); err != nil {
		return
	}
	cps := filepath.Join(w.dir, "syslog-checkpoints.log")
	if err := os.WriteFile(cps, []byte(strings.Join(msgs, "\n")+"\n"), 0o600); err != nil {
		w.t.Fatal(err)
	}
	out, errOut, code := w.run("audit", "verify", "--checkpoints", cps)
	personal.verified(code == 0)
	if code != 0 && code != 4 {
		w.t.Logf("audit verify could not check the trail: %s", errOut)
	}
	if code == 4 {
		w.t.Errorf("audit verify --checkpoints of the world's trail: %s%s", out, errOut)
	}
}

// sessionHash is the session_hash the world's audit trail holds for an STS
// session name (audit.SessionHash with the installation's key).
func (w *world) sessionHash(name string) string {
	w.t.Helper()
	key, err := cache.FileStore{Dir: filepath.Join(w.env["DAGSTER_OIDC_CACHE_DIR"], "audit-key")}.Get("audit-hmac-key")
	if err != nil {
		w.t.Fatalf("audit key: %v", err)
	}
	return audit.SessionHash(key, name)
}

func (w *world) environ() []string {
	out := make([]string, 0, len(w.env))
	for k, v := range w.env {
		out = append(out, k+"="+v)
	}
	return out
}

// command prepares the binary with the world's environment and no terminal.
func (w *world) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = w.environ()
	cmd.Dir = w.dir
	return cmd
}

// run runs dagster-oidc with DAGSTER_OIDC_VERBOSE=1 and returns stdout,
// stderr without the debug lines, and the exit code. The debug lines go to
// the leak ledger on their own, so every verbose run of the suite is
// searched for every secret the sandboxes issued (issue 15), and to the
// world's personal-data check (issue 18).
func (w *world) run(args ...string) (string, string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := w.command(ctx, bin.cli, args...)
	cmd.Env = append(cmd.Env, "DAGSTER_OIDC_VERBOSE=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("running dagster-oidc %v: %v", args, err)
	}
	name := w.t.Name() + ": dagster-oidc " + strings.Join(args, " ")
	stderr, verbose := splitDebug(errOut.String())
	ledger.addOutput(name+" (stdout)", out.String(), printsCredentials(args))
	ledger.addOutput(name+" (stderr)", stderr, false)
	w.addVerbose(name+" (verbose)", verbose)
	return out.String(), stderr, code
}

// splitDebug separates the "debug: " lines of -v from the rest of stderr.
func splitDebug(stderr string) (rest, debug string) {
	var r, d strings.Builder
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if strings.HasPrefix(l, "debug: ") {
			d.WriteString(l)
		} else {
			r.WriteString(l)
		}
	}
	return r.String(), d.String()
}

var userCode = regexp.MustCompile(`the code ([A-Z0-9-]+)`)

// login runs `dagster-oidc login` and approves its device code as user.
func (w *world) login(user string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := w.command(ctx, bin.cli, "login")
	cmd.Env = append(cmd.Env, "DAGSTER_OIDC_VERBOSE=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	var seen strings.Builder
	sc := bufio.NewScanner(stderr)
	approved := false
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if m := userCode.FindStringSubmatch(sc.Text()); m != nil && !approved {
			if err := w.sb.ApproveDevice(ctx, m[1], user); err != nil {
				w.t.Fatalf("approve: %v", err)
			}
			approved = true
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	rest, verbose := splitDebug(seen.String())
	ledger.addOutput(w.t.Name()+": dagster-oidc login (stderr)", rest, false)
	w.addVerbose(w.t.Name()+": dagster-oidc login (verbose)", verbose)
	if err := cmd.Wait(); err != nil {
		w.t.Fatalf("login: %v\n%s", err, seen.String())
	}
}
