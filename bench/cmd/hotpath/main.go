//go:build linux

// Command hotpath is dagster-oidc's whole-process benchmark of the warm path.
// It starts the sandbox provider in-process, drives the built binary through
// a device login to a warm cache, stops the sandbox (so any network request
// on the warm path would fail), then times `aws credential-process` and
// `token` against a baseline Go program that prints a 2 KB file in paired
// runs (baseline and command back to back; the median of the per-pair ratios
// is the headline) and, unpaired, with hyperfine. It also measures peak RSS
// (GNU time), counts connect(2) calls (strace) and aggregates
// GODEBUG=inittrace=1 per module. bench/run.sh runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// options are the command-line flags.
type options struct {
	CLI        string
	Front      string
	Compare    string
	Baseline   string
	LinkOnly   string
	Minimal    string
	Hyperfine  string
	Cache      string
	Pairs      int
	PairWarmup int
	Warmup     int
	Runs       int
	Rounds     int
	RSSRuns    int
	InitRuns   int
	InitTop    int
	JSON       string
	Report     string
	Keep       bool
}

// command is one benchmarked dagster-oidc invocation.
type command struct {
	Name string
	Args []string
}

// benchCommands are the warm-path commands, in table order.
var benchCommands = []command{
	{Name: "aws credential-process", Args: []string{"aws", "credential-process"}},
	{Name: "token", Args: []string{"token"}},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hotpath: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("hotpath", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.CLI, "cli", "bin/dagster-oidc", "the dagster-oidc binary")
	fs.StringVar(&o.Front, "front", "bin/dagster-oidc-cached", "the warm front (cmd/dagster-oidc-cached), next to --cli; \"\" to leave it out")
	fs.StringVar(&o.Compare, "compare", "", "another dagster-oidc binary (e.g. built from an older commit) timed in the same paired runs, with its own audit log")
	fs.StringVar(&o.Baseline, "baseline", "bin/bench-baseline", "the baseline binary (bench/baseline)")
	fs.StringVar(&o.LinkOnly, "linkonly", "bin/bench-linkonly", "the link-only floor (bench/linkonly); \"\" to leave it out")
	fs.StringVar(&o.Minimal, "minimal", "bin/bench-minimal", "the warm-path-only lower bound (bench/minimal); \"\" to leave it out")
	fs.StringVar(&o.Hyperfine, "hyperfine", "hyperfine", "the hyperfine binary")
	fs.StringVar(&o.Cache, "cache", "file", "cache mode of the profile: file or keyring (keyring needs a Secret Service)")
	fs.IntVar(&o.Pairs, "pairs", 300, "paired runs (baseline and command back to back) per command: the headline ratio")
	fs.IntVar(&o.PairWarmup, "pair-warmup", 10, "warm-up runs per program before the paired runs")
	fs.IntVar(&o.Warmup, "warmup", 10, "hyperfine warm-up runs per command and round")
	fs.IntVar(&o.Runs, "runs", 100, "hyperfine runs per command and round")
	fs.IntVar(&o.Rounds, "rounds", 1, "hyperfine rounds, unpaired, for absolute times (the command order rotates each round; 0: no hyperfine)")
	fs.IntVar(&o.RSSRuns, "rss-runs", 50, "runs per command for peak RSS")
	fs.IntVar(&o.InitRuns, "init-runs", 30, "GODEBUG=inittrace=1 runs of aws credential-process (0: skip)")
	fs.IntVar(&o.InitTop, "init-top", 15, "modules listed in the inittrace table")
	fs.StringVar(&o.JSON, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.Report, "report", "", "print the tables of a --json file written before, and measure nothing")
	fs.BoolVar(&o.Keep, "keep", false, "keep the throwaway HOME and print its path")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Cache != "file" && o.Cache != "keyring" {
		return o, fmt.Errorf("--cache %q: want file or keyring", o.Cache)
	}
	if o.Pairs < 10 || o.Runs < 10 || o.Rounds < 0 || o.RSSRuns < 1 {
		return o, fmt.Errorf("--pairs and --runs must be at least 10, --rounds at least 0, --rss-runs at least 1")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.Report != "" {
		res, err := readResults(o.Report)
		if err != nil {
			return err
		}
		return res.print(stdout, o.InitTop)
	}
	for _, p := range []*string{&o.CLI, &o.Front, &o.Baseline, &o.LinkOnly, &o.Minimal, &o.Compare} {
		if *p == "" && (p == &o.Front || p == &o.LinkOnly || p == &o.Minimal || p == &o.Compare) {
			continue
		}
		if *p, err = absExisting(*p); err != nil {
			return err
		}
	}
	m := describeMachine(o.CLI, o.Hyperfine)
	fmt.Fprintf(stderr, "hotpath: warming the %s cache through the sandbox...\n", o.Cache)
	w, err := warm(ctx, o)
	if w != nil && !o.Keep {
		defer os.RemoveAll(w.Home)
	}
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintf(stderr, "hotpath: HOME kept at %s\n", w.Home)
	}
	cli := cliTargets(o.CLI)
	targets := append([]target{{Name: baselineName, Argv: []string{o.Baseline, w.DataFile}}}, cli...)
	var front []target
	if o.Front != "" {
		front = frontTargets(o.Front)
		targets = append(targets, front...)
	}
	checked := append(slices.Clone(cli), front...)
	if o.LinkOnly != "" {
		targets = append(targets, target{Name: linkOnlyName, Argv: []string{o.LinkOnly, w.DataFile}})
	}
	targets = append(targets, target{Name: versionName, Argv: []string{o.CLI, "version"}})
	if o.Minimal != "" {
		targets = append(targets, target{Name: minimalName, Argv: []string{o.Minimal, w.Config, w.AWSEntry, filepath.Join(w.Home, "state", "minimal.log")}})
	}
	if o.Compare != "" {
		for _, t := range cliTargets(o.Compare) {
			t.Name += " (--compare binary)"
			t.Env = []string{"DAGSTER_OIDC_CONFIG=" + w.CompareConfig}
			targets = append(targets, t)
		}
	}
	res := &results{Machine: m, Cache: o.Cache, WarmRequests: w.WarmRequests}
	fmt.Fprintln(stderr, "hotpath: sandbox stopped; checking that the warm path makes no connection...")
	if res.Connects, err = countConnects(ctx, w.Env, checked); err != nil {
		return err
	}
	for _, t := range front {
		if res.FrontExecs, err = countFrontExecs(ctx, w.Env, t); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "hotpath: %d paired runs (baseline, command) per command...\n", o.Pairs)
	if res.Paired, err = timePaired(ctx, o, w.Env, targets[0], targets[1:]); err != nil {
		return err
	}
	if o.Rounds > 0 {
		fmt.Fprintf(stderr, "hotpath: timing %d rounds x %d runs per command with hyperfine...\n", o.Rounds, o.Runs)
		// hyperfine gives each run a random-length variable
		// (HYPERFINE_RANDOMIZED_ENVIRONMENT_OFFSET): every run would be a
		// call the front has never seen, so it has no row there.
		unpaired := slices.DeleteFunc(slices.Clone(targets), func(t target) bool { return strings.HasSuffix(t.Name, frontSuffix) })
		if res.Timing, err = timeTargets(ctx, o, w.Env, unpaired); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "hotpath: peak RSS over %d runs per command...\n", o.RSSRuns)
	if res.RSS, err = measureRSS(ctx, w.Env, targets, o.RSSRuns); err != nil {
		return err
	}
	if o.InitRuns > 0 {
		fmt.Fprintf(stderr, "hotpath: GODEBUG=inittrace=1 over %d runs...\n", o.InitRuns)
		if res.Init, err = traceInits(ctx, w.Env, o, targets); err != nil {
			return err
		}
	}
	res.Machine.LoadAfter = loadAverage()
	if o.JSON != "" {
		if err := res.writeJSON(o.JSON); err != nil {
			return err
		}
	}
	return res.print(stdout, o.InitTop)
}

// Names of the reference rows.
const (
	baselineName = "baseline (read + print 2 KB)"
	linkOnlyName = "link-only floor (baseline + every package dagster-oidc links)"
	// versionName is the product binary doing no credential work: its
	// start-up, cobra, and printing one line.
	versionName = "dagster-oidc version (start-up, no credential work)"
	// frontSuffix ends the names of the warm front's rows: the front
	// answering from its record and the cache alone (cmd/dagster-oidc-cached).
	frontSuffix = " (the warm front)"
	// minimalName is bench/minimal: the warm path's work in a binary that
	// links nothing else, a lower bound for a separate helper.
	minimalName = "warm-path-only lower bound (bench/minimal)"
)

// frontTargets are the benchmarked commands through the warm front.
func frontTargets(front string) []target {
	var ts []target
	for _, c := range benchCommands {
		ts = append(ts, target{Name: "dagster-oidc-cached " + c.Name + frontSuffix, Argv: append([]string{front}, c.Args...)})
	}
	return ts
}

// cliTargets are the benchmarked dagster-oidc commands.
func cliTargets(cli string) []target {
	var ts []target
	for _, c := range benchCommands {
		ts = append(ts, target{Name: c.Name, Argv: append([]string{cli}, c.Args...)})
	}
	return ts
}
