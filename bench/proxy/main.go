// Command proxy is the side-by-side benchmark of issue 17's "Performance":
// one real dagster-webserver (a code location with jobs, a schedule, a
// sensor and assets, and a page of real runs), and in front of it, in one
// run, `dagster-oidc proxy` (signed in through the sandbox provider),
// oauth2-proxy (built from its Go module, same provider, a valid session
// cookie, no GraphQL inspection) and dagster-authkit (which wraps the
// webserver in-process: its own webserver process on the same instance and
// workspace, signed in at its login form). wrk sends the runs page's GraphQL
// query and a small mutation the role allows to each, and to the webserver
// directly, in interleaved rounds (the order rotates every round) so that
// load drift on a shared machine hits every contender alike; the added
// latency is taken within each round against that round's direct run. Then
// it opens idle graphql-ws connections through each proxy and reports the
// proxy process's RSS per connection. bench/proxy/run.sh runs it; see
// docs/performance.md. All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	CLI         string
	OAuth2Proxy string
	Venv        string
	BenchVenv   string
	Wrk         string
	Testdata    string
	Rounds      int
	Duration    time.Duration
	Connections int
	StubConns   int
	Seed        int
	WS          int
	JSON        string
	Capture     bool
	Chromium    string
	Only        string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-proxy:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	home, _ := os.UserHomeDir()
	cache := filepath.Join(home, ".cache", "dagster-oidc")
	o := &options{}
	fs := flag.NewFlagSet("bench-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.CLI, "cli", "bin/dagster-oidc", "the dagster-oidc binary")
	fs.StringVar(&o.OAuth2Proxy, "oauth2-proxy", filepath.Join(cache, "bin", "oauth2-proxy"), "the oauth2-proxy binary")
	fs.StringVar(&o.Venv, "venv", envOr("DAGSTER_OIDC_VENV", filepath.Join(cache, "venv")), "the test venv (dagster-webserver)")
	fs.StringVar(&o.BenchVenv, "bench-venv", filepath.Join(cache, "bench-venv"), "the bench's venv (dagster-authkit)")
	fs.StringVar(&o.Wrk, "wrk", "wrk", "the wrk binary")
	fs.StringVar(&o.Testdata, "testdata", "bench/proxy/testdata", "the code location, seed script, captured query and wrk script")
	fs.IntVar(&o.Rounds, "rounds", 8, "interleaved rounds (each runs every contender once per scenario)")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "wrk duration of one run")
	fs.IntVar(&o.Connections, "connections", 4, "wrk connections (one thread) to dagster-webserver and the proxies in front of it")
	fs.IntVar(&o.StubConns, "stub-connections", 1, "wrk connections to the stub upstream and the proxies in front of it")
	fs.IntVar(&o.Seed, "seed", 5, "runs of each job made before the benchmark (the runs page lists them)")
	fs.IntVar(&o.WS, "ws", 200, "idle graphql-ws connections opened through each proxy (0: none)")
	fs.StringVar(&o.JSON, "json", "", "write the results as JSON to this file")
	fs.BoolVar(&o.Capture, "capture", false, "open the runs page in headless Chromium and write the query it sends to testdata/runs-feed-root.json, then stop")
	fs.StringVar(&o.Chromium, "chromium", "/usr/bin/chromium", "Chromium, for -capture")
	fs.StringVar(&o.Only, "only", "", "comma-separated contenders to run (default all: "+allContenders+")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Rounds < 1 || o.Rounds > 50 {
		return nil, errors.New("-rounds must be 1 to 50")
	}
	if o.Duration < time.Second || o.Duration > 2*time.Minute {
		return nil, errors.New("-duration must be 1s to 2m")
	}
	if o.Connections < 1 || o.Connections > 64 || o.StubConns < 1 || o.StubConns > 64 {
		return nil, errors.New("-connections and -stub-connections must be 1 to 64")
	}
	if o.WS < 0 || o.WS > 2000 {
		return nil, errors.New("-ws must be 0 to 2000")
	}
	return o, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench-proxy: "+format+"\n", a...) }
	// A hard bound on the whole run, whatever happens.
	budget := time.Duration(o.Rounds)*time.Duration(2*len(contenderNames))*(o.Duration+3*time.Second) + 10*time.Minute
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-proxy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.Capture {
		return capture(ctx, o, dir, logf)
	}
	res, err := benchmark(ctx, o, dir, logf)
	if err != nil {
		return err
	}
	if o.JSON != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.JSON, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	report(stdout, res)
	return nil
}
