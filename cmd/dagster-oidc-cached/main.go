// Command dagster-oidc-cached is the warm front of dagster-oidc: it answers
// a repeated `aws credential-process` or `token` call from the cache, as the
// full binary would, and runs dagster-oidc from its own directory with the
// same arguments and environment for everything else.
//
// It links the cache, the audit trail and the output formats only, so an
// AWS SDK that starts it for every client pays a small binary's start-up
// (docs/performance.md). Point credential_process at it:
//
//	credential_process = /usr/local/bin/dagster-oidc-cached aws credential-process --profile dev
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// Set like dagster-oidc's, through -ldflags -X: a record is served only
// to the build that made it.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	os.Exit(run())
}

func run() int {
	full, err := fullBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		fmt.Fprintf(os.Stderr, "install %s and dagster-oidc side by side (both are in the release archive)\n", warm.FrontName)
		return 2
	}
	call, ok := warm.ThisCall(warm.Version(version, commit, date), full, os.Args[1:])
	if ok {
		served, err := warm.Serve(call, warm.Deps{
			CacheDir: env.Lookup(os.LookupEnv).CacheDir(), Clock: clock.Real{}, Stdout: os.Stdout, Stderr: os.Stderr,
		})
		if served {
			if err != nil {
				fmt.Fprintf(os.Stderr, "error: %v\n", err)
				return 1
			}
			return 0
		}
	}
	if err := runFull(full, os.Args[1:], warm.Asking(call.Environ)); err != nil {
		fmt.Fprintf(os.Stderr, "error: could not run %s: %v\n", full, err)
		return 1
	}
	return 0
}

// fullBinary is dagster-oidc in the front's own directory.
func fullBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("could not find this binary's path: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	full := filepath.Join(filepath.Dir(exe), fullName)
	if fi, err := os.Stat(full); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("no dagster-oidc next to %s", exe)
	}
	return full, nil
}
