// Command dagster-oidc logs in with OpenID Connect and prints short-lived
// AWS and GCP credentials for Dagster pipelines.
package main

import (
	"context"
	"os"
	"syscall"

	"github.com/dagster-oidc/dagster-oidc/internal/buildinfo"
	"github.com/dagster-oidc/dagster-oidc/internal/cli"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/interrupt"
)

// Set by goreleaser through -ldflags -X.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	// Signals are subscribed to only once something waits on ctx: the warm
	// credential path never does, and saves signal.Notify's thread.
	ctx, stop := interrupt.Context(context.Background(), interrupt.OS, os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cmdutil.NewFactory(buildinfo.Info{Version: version, Commit: commit, Date: date}), os.Args[1:])
	stop()
	os.Exit(code)
}
