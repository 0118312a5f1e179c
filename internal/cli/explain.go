package cli

import (
	"cmp"
	"context"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

// ExplainOptions are the options of `explain`.
type ExplainOptions struct {
	IO   *iostreams.IOStreams
	Env  env.Lookup
	Open cmdutil.Opener
	// Request holds the flags; a run field they leave empty comes from
	// the environment.
	Request credentials.ExplainRequest
}

// newExplainCmd builds `explain`; runF, when not nil, runs instead of explainRun.
func newExplainCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *ExplainOptions) error) *cobra.Command {
	o := &ExplainOptions{IO: f.IO, Env: f.Env, Open: cmdutil.NewOpener(f, g)}
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Show the token's source, claims and each policy rule's outcome, without calling out",
		Long: `Show which source the profile's token comes from (and why), its claims
(minus private_claims), each AWS role and GCP service-account rule with its
outcome, and the chosen role. It calls no STS and, for a login, uses only
the cached token (expired or not: the rules read its claims) unless
--refresh is given; a workload token is read from the platform. It exits 4
when no rule allows the identity, as credential-process would.`,
		Example: `  dagster-oidc explain
  dagster-oidc explain --job etl_daily --role arn:aws:iam::123456789012:role/etl`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, explainRun),
	}
	cmd.Flags().StringVar(&o.Request.Role, "role", "", "the role (or service account) you would ask for")
	cmd.Flags().StringVar(&o.Request.Run.Job, "job", "", "evaluate as the Dagster job NAME (run.job)")
	cmd.Flags().StringVar(&o.Request.Run.Location, "location", "", "evaluate as the Dagster code location NAME (run.location)")
	cmd.Flags().StringVar(&o.Request.Run.ID, "run-id", "", "evaluate as the Dagster run ID (run.id)")
	cmd.Flags().BoolVar(&o.Request.Proxy, "proxy", false, "evaluate the proxy block's role rules (viewer, launcher, editor, admin) instead of the cloud ones")
	cmd.Flags().BoolVar(&o.Request.Refresh, "refresh", false, "refresh (or log in) when the cached token is not valid; without it explain uses only what is cached")
	return cmd
}

func explainRun(ctx context.Context, o *ExplainOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		if err := credentials.CheckProfiles(r.File, []string{r.Profile.Name}, o.IO.ErrOut); err != nil {
			return err
		}
		q, env := o.Request, credentials.RunOf(runctx.Parse(nil, o.Env))
		q.Run.ID, q.Run.Job, q.Run.Location = cmp.Or(q.Run.ID, env.ID), cmp.Or(q.Run.Job, env.Job), cmp.Or(q.Run.Location, env.Location)
		x, err := r.Svc.Explain(ctx, q)
		if werr := output.WriteExplanation(o.IO.Out, r.Svc.ExplainDocument(q, x)); werr != nil {
			return werr
		}
		if x == nil || err != nil {
			return err
		}
		return x.Denied
	})
}
