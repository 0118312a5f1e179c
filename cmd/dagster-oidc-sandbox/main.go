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
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
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
	tokenFile       string
	githubEnv       string
}

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the provider and STS emulator until interrupted",
		Long: `Serve an OpenID provider (device code, auth code + PKCE, refresh tokens), an
AWS STS emulator (AssumeRoleWithWebIdentity, GetCallerIdentity), Google STS and
IAM Credentials emulators and a GitHub Actions-style ID token endpoint on one
loopback port. A ready dagster-oidc config goes to stdout; the demo users and
the device page URL go to stderr. The credentials it issues are valid nowhere
else.

--token-file keeps a Kubernetes-style service-account token there, rotated
at 80% of its lifetime, and adds the sandbox-k8s profile that reads it.
--github-env writes ACTIONS_ID_TOKEN_REQUEST_URL and
ACTIONS_ID_TOKEN_REQUEST_TOKEN (sh syntax) for the sandbox-github profile.`,
		Example: `  dagster-oidc-sandbox serve --addr 127.0.0.1:8555 > ~/.config/dagster-oidc/config.yaml
  dagster-oidc-sandbox serve --token-file ~/sandbox/token --github-env ~/sandbox/github.env > ~/sandbox/config.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8555", "listen address; only loopback addresses (127.0.0.1, [::1], localhost) are accepted")
	f.StringVar(&o.clientID, "client-id", sandbox.DefaultClientID, "client ID of the public client")
	f.DurationVar(&o.idTokenLifetime, "id-token-lifetime", sandbox.DefaultIDTokenLifetime, "lifetime of ID and access tokens")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every request to stderr")
	f.StringVar(&o.tokenFile, "token-file", "", "keep a rotating service-account token in this file (profile sandbox-k8s)")
	f.StringVar(&o.githubEnv, "github-env", "", "write the GitHub Actions token request variables to this file (profile sandbox-github)")
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
	if o.tokenFile != "" {
		// The printed config names the file: make the path absolute.
		if o.tokenFile, err = filepath.Abs(o.tokenFile); err != nil {
			return fmt.Errorf("could not resolve --token-file: %w", err)
		}
		tf, err := s.KeepTokenFile(ctx, sandbox.TokenFileOptions{Path: o.tokenFile})
		if err != nil {
			return err
		}
		defer tf.Close()
	}
	if o.githubEnv != "" {
		env := fmt.Sprintf("export ACTIONS_ID_TOKEN_REQUEST_URL='%s'\nexport ACTIONS_ID_TOKEN_REQUEST_TOKEN='%s'\n", s.GitHubRequestURL(), s.GitHubRequestToken())
		if err := atomicfile.Write(o.githubEnv, []byte(env), 0o600); err != nil {
			return fmt.Errorf("could not write %s: %w", o.githubEnv, err)
		}
	}
	if err := s.WriteConfig(stdout, sandbox.ConfigOptions{TokenFile: o.tokenFile}); err != nil {
		return err
	}
	if err := s.WriteInstructions(stderr); err != nil {
		return err
	}
	if o.tokenFile != "" {
		fmt.Fprintf(stderr, "Service-account token file (profile sandbox-k8s): %s, rotated at 80%% of its %s lifetime.\n", o.tokenFile, o.idTokenLifetime)
	}
	if o.githubEnv != "" {
		fmt.Fprintf(stderr, "GitHub Actions variables (profile sandbox-github): . %s\n", o.githubEnv)
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "dagster-oidc-sandbox: stopping")
	return s.Close()
}
