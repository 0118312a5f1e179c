// Command dagster-oidc logs in with OpenID Connect and prints short-lived
// AWS and GCP credentials for Dagster pipelines.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/dagster-oidc/dagster-oidc/internal/cli"
)

// Set by goreleaser through -ldflags -X.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.NewFactory(cli.BuildInfo{Version: version, Commit: commit, Date: date}), os.Args[1:])
	stop()
	os.Exit(code)
}
