package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

func newAWSCmd(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "aws",
		Short: "Short-lived AWS credentials from AssumeRoleWithWebIdentity",
	}
	cmd.AddCommand(newAWSCredentialProcessCmd(f, g, nil), newAWSEnvCmd(f, g, nil), newAWSConfigureCmd(f, g, nil))
	return cmd
}

// AWSOptions are the options shared by the aws commands that print credentials.
type AWSOptions struct {
	IO   *iostreams.IOStreams
	Env  env.Lookup
	Open cmdutil.Opener
	Role string
	// CredentialProcess prints credential_process JSON instead of Format.
	CredentialProcess bool
	Format            string
	// Call describes this invocation for the warm front; nil (or a nil
	// result) saves no record.
	Call func() *warm.Call
}

// newAWSCredentialProcessCmd builds `aws credential-process`; runF, when
// not nil, runs instead of awsPrintRun.
func newAWSCredentialProcessCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *AWSOptions) error) *cobra.Command {
	o := &AWSOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g), CredentialProcess: true, Call: f.Call}
	cmd := &cobra.Command{
		Use:   "credential-process",
		Short: "Print credentials as AWS credential_process JSON",
		Long: `Print one credential_process JSON document (Version 1, AccessKeyId,
SecretAccessKey, SessionToken, Expiration) for an AWS config profile's
credential_process setting. Cached credentials are reused until they have
less than aws.refresh_margin left. It never starts an interactive login:
without a valid login it exits 3 with the command to run.`,
		Example: `  # ~/.aws/config
  [profile data]
  credential_process = /usr/local/bin/dagster-oidc aws credential-process --profile dev`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, awsPrintRun),
	}
	cmd.Flags().StringVar(&o.Role, "role", "", "role ARN to assume, among those the policy allows (default: the first allowed)")
	return cmd
}

// newAWSEnvCmd builds `aws env`; runF, when not nil, runs instead of
// awsPrintRun.
func newAWSEnvCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *AWSOptions) error) *cobra.Command {
	o := &AWSOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g)}
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print credentials as environment variables",
		Example: `  eval "$(dagster-oidc aws env)"
  dagster-oidc aws env --format fish | source
  dagster-oidc aws env --format dotenv > .env.aws`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, awsPrintRun, oneOf("aws env --format", &o.Format)),
	}
	cmd.Flags().StringVar(&o.Role, "role", "", "role ARN to assume, among those the policy allows")
	cmd.Flags().StringVar(&o.Format, "format", "sh", "sh|fish|pwsh|dotenv|json")
	return cmd
}

func awsPrintRun(ctx context.Context, o *AWSOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		q := credentials.AWSRequest{Role: o.Role, Run: credentials.RunOf(runctx.Parse(nil, o.Env))}
		res, err := r.Svc.ServeAWS(ctx, q)
		if err != nil {
			return err
		}
		c := output.AWSCredentials{
			AccessKeyID: res.Entry.AccessKeyID, SecretAccessKey: res.Entry.SecretAccessKey,
			SessionToken: res.Entry.SessionToken, Expiration: res.Entry.Expiration,
		}
		if o.CredentialProcess {
			if err := output.CredentialProcess(o.IO.Out, c); err != nil {
				return err
			}
			if call := o.Call(); call != nil {
				// Without a record the front runs this binary: slower, not wrong.
				_ = r.Svc.RememberAWS(*call, q)
			}
			return nil
		}
		return output.AWSEnv(o.IO.Out, o.Format, c, r.Profile.AWS.Region)
	})
}

// AWSConfigureOptions are the options of `aws configure`.
type AWSConfigureOptions struct {
	IO         *iostreams.IOStreams
	Open       cmdutil.Opener
	Executable func() (string, error)
	AWSProfile string
	File       string
	Role       string
}

// newAWSConfigureCmd builds `aws configure`; runF, when not nil, runs
// instead of awsConfigureRun.
func newAWSConfigureCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *AWSConfigureOptions) error) *cobra.Command {
	o := &AWSConfigureOptions{IO: f.IO, Open: cmdutil.NewOpener(f, g), Executable: f.Executable}
	cmd := &cobra.Command{
		Use:   "configure",
		Short: "Write a credential_process profile into the AWS config file",
		Long: `Write or update [profile NAME] in the AWS config file ($AWS_CONFIG_FILE or
~/.aws/config) so that the AWS CLI and SDKs call this binary for
credentials. Other profiles, lines and comments are kept; running it twice
changes nothing.`,
		Example: `  dagster-oidc aws configure --profile dev --aws-profile data
  aws s3 ls --profile data`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, awsConfigureRun),
	}
	cmd.Flags().StringVar(&o.AWSProfile, "aws-profile", "", "AWS profile name to write (default: the dagster-oidc profile name)")
	cmd.Flags().StringVar(&o.File, "file", "", "AWS config file (default $AWS_CONFIG_FILE or ~/.aws/config)")
	cmd.Flags().StringVar(&o.Role, "role", "", "pin --role in the written command")
	return cmd
}

func awsConfigureRun(_ context.Context, o *AWSConfigureOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		exe, err := o.Executable()
		if err != nil {
			return fmt.Errorf("could not find this binary's path: %w", err)
		}
		res, err := r.Svc.ConfigureAWS(credentials.AWSConfigureRequest{
			Executable: exe, ConfigPath: r.AbsPath(), Role: o.Role, AWSProfile: o.AWSProfile, File: o.File,
		})
		if err != nil {
			return err
		}
		if res.Changed {
			fmt.Fprintf(o.IO.ErrOut, "Wrote [profile %s] to %s. Try: aws sts get-caller-identity --profile %s\n", res.Profile, res.Path, res.Profile)
		} else {
			fmt.Fprintf(o.IO.ErrOut, "[profile %s] in %s is already up to date.\n", res.Profile, res.Path)
		}
		return nil
	})
}
