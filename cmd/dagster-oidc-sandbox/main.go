// Command dagster-oidc-sandbox runs an offline OpenID provider and AWS STS
// emulator on 127.0.0.1 for trying dagster-oidc without any real identity
// provider or cloud account.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		if hint := apperr.HintOf(err); hint != "" {
			fmt.Fprintln(stderr, hint)
		}
		return apperr.ExitCode(err)
	}
	return 0
}

// newRootCmd builds the command tree; each subcommand is one AddCommand.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "dagster-oidc-sandbox",
		Short:         "Offline OpenID provider and STS emulator for trying dagster-oidc",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return apperr.Usage(err, "run: dagster-oidc-sandbox --help")
	})
	root.AddCommand(newServeCmd(stdout, stderr), newDemoCmd(stdout, stderr))
	return root
}

type serveOptions struct {
	addr            string
	clientID        string
	idTokenLifetime time.Duration
	verbose         bool
}

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the provider and STS emulator until interrupted",
		Long: `Serve an OpenID provider (device code, auth code + PKCE, refresh tokens) and an
AWS STS AssumeRoleWithWebIdentity emulator on one loopback port. A ready
dagster-oidc config goes to stdout; the demo users and the device page URL go
to stderr. The credentials it issues are valid nowhere else.`,
		Example: "  dagster-oidc-sandbox serve --addr 127.0.0.1:8555 > ~/.config/dagster-oidc/config.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8555", "listen address; only loopback addresses (127.0.0.1, [::1], localhost) are accepted")
	f.StringVar(&o.clientID, "client-id", sandbox.DefaultClientID, "client ID of the public client")
	f.DurationVar(&o.idTokenLifetime, "id-token-lifetime", sandbox.DefaultIDTokenLifetime, "lifetime of ID and access tokens")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every request to stderr")
	return cmd
}

func runServe(ctx context.Context, o serveOptions, stdout, stderr io.Writer) error {
	opts := sandbox.Options{Addr: o.addr, ClientID: o.clientID, IDTokenLifetime: o.idTokenLifetime}
	if o.verbose {
		opts.Logger = stderr
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, nil)))
	} else {
		// The provider logs each pending device poll to the default logger.
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	s, err := sandbox.Start(ctx, opts)
	if errors.Is(err, sandbox.ErrNotLoopback) {
		return apperr.Usage(err, "run: dagster-oidc-sandbox serve --addr 127.0.0.1:8555")
	}
	if err != nil {
		return fmt.Errorf("could not start the sandbox: %w", err)
	}
	defer s.Close()
	if err := s.WriteConfig(stdout); err != nil {
		return err
	}
	if err := s.WriteInstructions(stderr); err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "dagster-oidc-sandbox: stopping")
	return s.Close()
}
