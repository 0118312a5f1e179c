// Command hotloop runs one dagster-oidc command line many times in one
// process, for `go tool pprof`: what the warm path executes after start-up
// (package initialisation and the runtime's start are not in it; the
// whole-process benchmark, bench/cmd/hotpath, covers those). It uses the
// environment it is given (DAGSTER_OIDC_CONFIG and friends) and discards
// the command's stdout.
//
//	go run ./bench/cmd/hotloop -n 2000 -cpuprofile cpu.out -- aws credential-process
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/buildinfo"
	"github.com/dagster-oidc/dagster-oidc/internal/cli"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "hotloop: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("hotloop", flag.ContinueOnError)
	n := fs.Int("n", 1000, "iterations")
	cpu := fs.String("cpuprofile", "", "write a CPU profile here")
	mem := fs.String("memprofile", "", "write an allocation profile here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: hotloop [-n N] [-cpuprofile F] [-memprofile F] -- COMMAND [ARGS...]")
	}
	if *mem != "" {
		runtime.MemProfileRate = 1
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range *n {
		f := cmdutil.NewFactory(buildinfo.Info{Version: "bench"})
		f.IO.Out = io.Discard
		if code := cli.Main(ctx, f, fs.Args()); code != 0 {
			return fmt.Errorf("iteration %d: exit code %d", i, code)
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	per := float64(*n)
	fmt.Fprintf(os.Stderr, "%d iterations: %.1f µs, %.0f allocations, %.1f KiB allocated per iteration\n", *n,
		float64(elapsed.Microseconds())/per, float64(after.Mallocs-before.Mallocs)/per, float64(after.TotalAlloc-before.TotalAlloc)/per/1024)
	if *mem != "" {
		f, err := os.Create(*mem)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	return nil
}
