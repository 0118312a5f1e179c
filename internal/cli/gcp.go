package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/gcpconfig"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

func newGCPCmd(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gcp",
		Short: "Google Cloud credentials through workload identity federation",
	}
	cmd.AddCommand(newGCPExecutableCmd(f, g, nil), newGCPConfigCmd(f, g, nil), newGCPTokenCmd(f, g, nil), newGCPEnvCmd(f, g, nil))
	return cmd
}

// GCPExecutableOptions are the options of `gcp executable`.
type GCPExecutableOptions struct {
	IO   *iostreams.IOStreams
	Env  env.Lookup
	Open cmdutil.Opener
}

// newGCPExecutableCmd builds `gcp executable`; runF, when not nil, runs
// instead of gcpExecutableRun.
func newGCPExecutableCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *GCPExecutableOptions) error) *cobra.Command {
	o := &GCPExecutableOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g)}
	cmd := &cobra.Command{
		Use:   "executable",
		Short: "Print the ID token as a Google executable-sourced credential response",
		Long: `Print one executable-sourced credential response for Google's client
libraries: {"version":1,"success":true,"token_type":...,"id_token":...,
"expiration_time":...}. The libraries run it from the credential_source of
the file that "gcp config" writes, with GOOGLE_EXTERNAL_ACCOUNT_* set.

It writes GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE when that is set, and prints
that file's token again while it is valid. It never prompts unless
GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=1 and a terminal is attached: without
a valid login it prints {"success":false,"code":"401",...} and exits 3.`,
		Example: `  dagster-oidc gcp executable --profile prod`,
		Args:    cobra.NoArgs,
		RunE:    cmdutil.RunE(o, runF, gcpExecutableRun),
	}
	return cmd
}

// gcpExecutableRun prints the response, or on failure the success:false
// document, and returns the error so that the exit status is non-zero.
func gcpExecutableRun(ctx context.Context, o *GCPExecutableOptions) error {
	err := gcpExecutable(ctx, o)
	if err == nil {
		return nil
	}
	if werr := output.GCPExecutableFailure(o.IO.Out, err); werr != nil {
		fmt.Fprintf(o.IO.ErrOut, "warning: %v\n", werr)
	}
	return err
}

func gcpExecutable(ctx context.Context, o *GCPExecutableOptions) error {
	q, interactive := credentials.ExecutableRequestFrom(o.Env)
	return o.Open.With(cmdutil.OpenOptions{NoPrompt: !interactive}, func(r *cmdutil.Opened) error {
		res, err := r.Svc.Executable(ctx, q)
		if err != nil {
			return err
		}
		return output.GCPExecutable(o.IO.Out, *res)
	})
}

// GCPConfigOptions are the options of `gcp config`.
type GCPConfigOptions struct {
	IO         *iostreams.IOStreams
	Env        env.Lookup
	Open       cmdutil.Opener
	Executable func() (string, error)
	// Request holds the flags (Path "-" is stdout); gcpConfigRun adds the
	// command line and the run context.
	Request credentials.ExternalAccountRequest
}

// newGCPConfigCmd builds `gcp config`; runF, when not nil, runs instead of
// gcpConfigRun.
func newGCPConfigCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *GCPConfigOptions) error) *cobra.Command {
	o := &GCPConfigOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g), Executable: f.Executable}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write the external_account credential configuration for Google's client libraries",
		Long: `Write an external_account JSON file whose credential source is
"<this binary> gcp executable --profile NAME": point
GOOGLE_APPLICATION_CREDENTIALS at it and set
GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 in the consumer's environment.

The impersonated service account is --service-account, else the one the
profile's service_accounts rules choose (this needs a login), else the
profile's service_account, else none. Google's libraries split the command
on whitespace, so paths with spaces are refused.`,
		Example: `  dagster-oidc gcp config --profile prod --output ~/.config/gcloud/dagster-oidc.json
  export GOOGLE_APPLICATION_CREDENTIALS=~/.config/gcloud/dagster-oidc.json GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, gcpConfigRun),
	}
	cmd.Flags().StringVarP(&o.Request.Path, "output", "o", "", "write the JSON to FILE (mode 0600) instead of stdout")
	cmd.Flags().StringVar(&o.Request.OutputFile, "output-file", "", "the executable's output_file: a cache Google's libraries read before running it")
	cmd.Flags().StringVar(&o.Request.ServiceAccount, "service-account", "", "service account email to impersonate (default: the policy's choice)")
	cmd.Flags().DurationVar(&o.Request.Timeout, "timeout", time.Duration(gcpconfig.DefaultTimeoutMillis)*time.Millisecond, "the executable's timeout, 5s to 120s")
	return cmd
}

func gcpConfigRun(ctx context.Context, o *GCPConfigOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		exe, err := o.Executable()
		if err != nil {
			return fmt.Errorf("could not find this binary's path: %w", err)
		}
		q := o.Request
		q.Command, q.Run = r.Svc.GCPCommand(exe), credentials.RunOf(runctx.Parse(nil, o.Env))
		if q.Path == "-" {
			q.Path = ""
		}
		data, path, err := r.Svc.ExternalAccount(ctx, q)
		if err != nil || path == "" {
			if err == nil {
				_, err = o.IO.Out.Write(data)
			}
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "Wrote %s. Use it with:\n  export GOOGLE_APPLICATION_CREDENTIALS=%s %s=1\n", path, path, credentials.GCPEnvAllowExecutables)
		return nil
	})
}

// GCPTokenOptions are the options of `gcp token` and `gcp env`.
type GCPTokenOptions struct {
	IO             *iostreams.IOStreams
	Env            env.Lookup
	Open           cmdutil.Opener
	ServiceAccount string
	Format         string
}

// newGCPTokenCmd builds `gcp token`; runF, when not nil, runs instead of
// gcpTokenRun.
func newGCPTokenCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *GCPTokenOptions) error) *cobra.Command {
	o := &GCPTokenOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g)}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a Google Cloud access token",
		Long: `Exchange the ID token at Google STS (then impersonate the service account
the policy chooses, if any) and print the access token. It is cached until
5 minutes before it expires.`,
		Example: `  curl -H "Authorization: Bearer $(dagster-oidc gcp token)" https://storage.googleapis.com/storage/v1/b/my-bucket/o
  dagster-oidc gcp token --format json`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, gcpTokenRun, oneOf("gcp token --format", &o.Format)),
	}
	cmd.Flags().StringVar(&o.ServiceAccount, "service-account", "", "service account to impersonate, among those the policy allows (default: the first allowed)")
	cmd.Flags().StringVar(&o.Format, "format", output.GCPFormatRaw, "raw|json")
	return cmd
}

// newGCPEnvCmd builds `gcp env`; runF, when not nil, runs instead of
// gcpTokenRun.
func newGCPEnvCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *GCPTokenOptions) error) *cobra.Command {
	o := &GCPTokenOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g), Format: output.GCPFormatEnv}
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print a Google Cloud access token as sh export lines",
		Long: `Print CLOUDSDK_AUTH_ACCESS_TOKEN (gcloud) and GOOGLE_OAUTH_ACCESS_TOKEN
(Terraform's google provider) as sh export lines. Their consumers cannot
refresh them: prefer "gcp config" for long-running work.`,
		Example: `  eval "$(dagster-oidc gcp env --profile prod)"`,
		Args:    cobra.NoArgs,
		RunE:    cmdutil.RunE(o, runF, gcpTokenRun),
	}
	cmd.Flags().StringVar(&o.ServiceAccount, "service-account", "", "service account to impersonate, among those the policy allows")
	return cmd
}

func gcpTokenRun(ctx context.Context, o *GCPTokenOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		res, err := r.Svc.ServeGCP(ctx, credentials.GCPRequest{ServiceAccount: o.ServiceAccount, Run: credentials.RunOf(runctx.Parse(nil, o.Env))})
		if err != nil {
			return err
		}
		return output.GCPAccessToken(o.IO.Out, o.Format, output.GCPToken{
			AccessToken: res.Entry.AccessToken, Expiry: res.Entry.Expiry, ServiceAccount: res.Entry.ServiceAccount,
		})
	})
}
