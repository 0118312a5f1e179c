//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// workspace is a throwaway HOME holding a warm dagster-oidc cache.
type workspace struct {
	Home     string
	Env      []string
	Config   string
	DataFile string // the 2 KB file the baseline prints
	// CompareConfig is the profile of the --compare binary: the same, but
	// with an audit log of its own, so neither binary continues a trail the
	// other one writes (their formats may differ).
	CompareConfig string
	// AWSEntry is the file store's cached AWS credentials, for bench/minimal.
	AWSEntry string
	// WarmRequests counts provider and STS requests made by warm calls
	// while the sandbox was still up (must be 0).
	WarmRequests int
}

// requestCounter counts the sandbox's request log lines.
type requestCounter struct {
	mu sync.Mutex
	n  int
}

func (c *requestCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.n += bytes.Count(p, []byte("\n"))
	c.mu.Unlock()
	return len(p), nil
}

func (c *requestCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// profileYAML is the benchmarked profile: the sandbox's, on the given store.
func profileYAML(sb *sandbox.Server, cacheMode, auditFile string) string {
	return fmt.Sprintf(`default_profile: sandbox
audit:
  file: %s
profiles:
  sandbox:
    environment: dev
    issuer: %s
    client_id: %s
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
    cache: %s
    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: arn:aws:iam::000000000000:role/data-eng
          when: "'data-eng' in claims.groups"
`, auditFile, sb.Issuer(), sb.ClientID(), cacheMode, sb.STSEndpoint())
}

// warm starts the sandbox, logs in with the device flow, fills the cache
// with an ID token and AWS credentials, checks that warm calls make no
// request, and stops the sandbox again.
func warm(ctx context.Context, o options) (*workspace, error) {
	home, err := os.MkdirTemp("", "dagster-oidc-bench-")
	if err != nil {
		return nil, err
	}
	w := &workspace{Home: home, Config: filepath.Join(home, "config.yaml"), DataFile: filepath.Join(home, "data.txt")}
	w.Env = append(benchEnv(),
		"HOME="+home,
		"DAGSTER_OIDC_CONFIG="+w.Config,
		"DAGSTER_OIDC_CACHE_DIR="+filepath.Join(home, "cache"),
		"DAGSTER_OIDC_STATE_DIR="+filepath.Join(home, "state"),
		"DAGSTER_OIDC_NO_BROWSER=1",
	)
	if err := os.WriteFile(w.DataFile, bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"), 32), 0o600); err != nil {
		return nil, err
	}
	var reqs requestCounter
	sb, err := sandbox.Start(ctx, sandbox.Options{IDTokenLifetime: 2 * time.Hour, Logger: &reqs})
	if err != nil {
		return nil, fmt.Errorf("could not start the sandbox: %w", err)
	}
	defer sb.Close()
	audit := filepath.Join(home, "state", "audit.jsonl")
	if err := os.WriteFile(w.Config, []byte(profileYAML(sb, o.Cache, audit)), 0o600); err != nil {
		return nil, err
	}
	if o.Compare != "" {
		w.CompareConfig = filepath.Join(home, "config-compare.yaml")
		if err := os.WriteFile(w.CompareConfig, []byte(profileYAML(sb, o.Cache, filepath.Join(home, "state", "audit-compare.jsonl"))), 0o600); err != nil {
			return nil, err
		}
	}
	if err := login(ctx, o.CLI, w.Env, sb); err != nil {
		return nil, err
	}
	for _, c := range benchCommands {
		if _, err := runCLI(ctx, o.CLI, w.Env, c.Args...); err != nil {
			return nil, err
		}
	}
	before := reqs.count()
	for range 3 {
		for _, c := range benchCommands {
			if _, err := runCLI(ctx, o.CLI, w.Env, c.Args...); err != nil {
				return nil, err
			}
			if o.Compare != "" {
				compare := target{Env: []string{"DAGSTER_OIDC_CONFIG=" + w.CompareConfig}}
				if _, err := runCLI(ctx, o.Compare, compare.environ(w.Env), c.Args...); err != nil {
					return nil, err
				}
			}
		}
	}
	if o.Front != "" { // the front runs the full binary once, which leaves a record
		for _, c := range benchCommands {
			if _, err := runCLI(ctx, o.Front, w.Env, c.Args...); err != nil {
				return nil, err
			}
		}
	}
	entries, err := filepath.Glob(filepath.Join(home, "cache", "aws.*.entry"))
	if err != nil || len(entries) != 1 {
		return nil, fmt.Errorf("want one cached AWS entry in the file store, found %d", len(entries))
	}
	w.AWSEntry = entries[0]
	w.WarmRequests = reqs.count() - before
	if w.WarmRequests != 0 {
		return nil, fmt.Errorf("warm calls made %d requests to the provider or STS; the cache is not warm", w.WarmRequests)
	}
	if err := sb.Close(); err != nil {
		return nil, err
	}
	return w, nil
}

// benchEnv is the environment kept from ours: PATH, and what a keyring needs.
func benchEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

var userCode = regexp.MustCompile(`the code ([A-Z0-9-]+)`)

// login runs `dagster-oidc login` and approves its device code as alice.
func login(ctx context.Context, cli string, env []string, sb *sandbox.Server) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "login")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	approved := false
	var said strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		said.WriteString(sc.Text() + "\n")
		if m := userCode.FindStringSubmatch(sc.Text()); m != nil && !approved {
			approved = true
			if err := sb.ApproveDevice(ctx, m[1], "alice"); err != nil {
				_ = cmd.Process.Kill()
				return fmt.Errorf("could not approve the device code: %w", err)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dagster-oidc login failed: %w\n%s", err, said.String())
	}
	if !approved {
		return errors.New("dagster-oidc login printed no device code")
	}
	return nil
}

// runCLI runs the CLI once and returns its stdout; it fails on a non-zero
// exit or empty output.
func runCLI(ctx context.Context, cli string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("dagster-oidc %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	if out.Len() == 0 {
		return "", fmt.Errorf("dagster-oidc %s printed nothing", strings.Join(args, " "))
	}
	return out.String(), nil
}
