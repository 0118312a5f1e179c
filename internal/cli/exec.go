package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/proc"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

// ExecOptions are the options of `exec`.
type ExecOptions struct {
	IO         *iostreams.IOStreams
	Env        env.Lookup
	Open       cmdutil.Opener
	Executable func() (string, error)
	// Environ is the environment the child inherits (scrubbed).
	Environ func() []string
	// Request holds the flags and the command line; execRun adds the
	// streams, the run context and the environment.
	Request credentials.ExecRequest
}

// newExecCmd builds `exec`; runF, when not nil, runs instead of execRun.
func newExecCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *ExecOptions) error) *cobra.Command {
	o := &ExecOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g), Executable: f.Executable, Environ: f.Environ}
	cmd := &cobra.Command{
		Use:   "exec [--aws] [--gcp] -- CMD [ARGS...]",
		Short: "Run a command (a Dagster run worker) with credentials kept fresh for its whole life",
		Long: `Run CMD with short-lived cloud credentials that stay fresh however long it
runs: the run-launcher entrypoint wrapper (ENTRYPOINT ["dagster-oidc", "exec", "--aws", "--"]).

AWS (--aws): a credential endpoint on 127.0.0.1 that the AWS SDKs' container
provider calls (AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN are set in the child; variables that would
win over them are removed). --aws-mode token-file instead keeps a web-identity
token file fresh and sets AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and
AWS_ROLE_SESSION_NAME, for SDKs that should call STS themselves.

GCP (--gcp): a private external_account file whose executable is this binary
(GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1).

The Dagster run id and job name are read from 'dagster api execute_run' /
'execute_step' arguments (or DAGSTER_RUN_ID / DAGSTER_RUN_JOB_NAME); rules see
them as run.id and run.job, and they label the STS session and every audit
line. A job no rule allows never starts (exit 4). Signals are forwarded; the
exit code is the child's (128+signal when it was killed), 127 for a command
that is not found and 126 for one that cannot be run, as in a shell. With
--aws, AWS_REGION and AWS_DEFAULT_REGION are set from aws.region unless the
environment already has them.

A child still running --grace-period (default 20s) after a SIGTERM is killed
with SIGKILL; on Linux the child also gets SIGTERM if this wrapper dies, even
by SIGKILL, so it never runs on without its credentials. A credential request
in flight (perhaps refreshing the login) finishes before the wrapper exits.`,
		Example: `  dagster-oidc exec -- dagster api execute_run '{"__class__": "ExecuteRunArgs", ...}'
  dagster-oidc exec --aws --gcp --profile prod -- python pipeline.py`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return apperr.Usage(errors.New("no command to run: dagster-oidc exec [flags] -- CMD [ARGS...]"), "")
			}
			if cmd.ArgsLenAtDash() != 0 {
				return apperr.Usage(errors.New("put the command after --: dagster-oidc exec [flags] -- CMD [ARGS...]"), "")
			}
			q := &o.Request
			if err := checkValue("exec --aws-mode", q.Child.AWSMode); err != nil {
				return err
			}
			if q.GracePeriod <= 0 {
				return apperr.Usage(fmt.Errorf("--grace-period must be positive, got %s", q.GracePeriod), "e.g. --grace-period 20s")
			}
			if cmd.Flags().Changed("aws-mode") {
				q.Child.AWS = true
			}
			q.Args = args
			return cmdutil.RunE(o, runF, execRun)(cmd, args)
		},
	}
	cmd.Flags().BoolVar(&o.Request.Child.AWS, "aws", false, "provide AWS credentials (default: when the profile has an aws section)")
	cmd.Flags().BoolVar(&o.Request.Child.GCP, "gcp", false, "provide GCP credentials (default: when the profile has a gcp section)")
	cmd.Flags().StringVar(&o.Request.Child.AWSMode, "aws-mode", "server", "server (loopback credential endpoint) or token-file (web-identity token file)")
	cmd.Flags().StringVar(&o.Request.Child.Role, "role", "", "role ARN, among those the policy allows")
	cmd.Flags().StringVar(&o.Request.Child.ServiceAccount, "service-account", "", "GCP service account, among those the policy allows")
	cmd.Flags().DurationVar(&o.Request.GracePeriod, "grace-period", proc.DefaultGracePeriod, "how long the command may take to exit after SIGTERM before it is killed")
	cmd.Flags().StringVar(&o.Request.StatusFile, "status-file", "", "keep a JSON status document here (identity, child pid, exit code or refusal), for run launchers")
	return cmd
}

func execRun(ctx context.Context, o *ExecOptions) error {
	q := o.Request
	q.Child.Run, q.Child.Environ = runctx.Parse(q.Args, o.Env), o.Environ()
	q.Stdin, q.Stdout, q.Stderr, q.Executable = o.IO.In, o.IO.Out, o.IO.ErrOut, o.Executable
	return credentials.Exec(ctx, q, func() (*credentials.Service, error) {
		r, err := o.Open(cmdutil.OpenOptions{})
		if err != nil {
			return nil, err
		}
		return r.Svc, nil
	})
}
