package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

// ExplainOptions are the options of `explain`.
type ExplainOptions struct {
	IO       *IOStreams
	Env      env.Lookup
	Clock    clock.Clock
	Open     profileOpener
	Role     string
	Job      string
	Location string
	Run      string
	Refresh  bool
	Proxy    bool
}

// newExplainCmd builds `explain`; runF, when not nil, runs instead of explainRun.
func newExplainCmd(f *Factory, g *globalOptions, runF func(context.Context, *ExplainOptions) error) *cobra.Command {
	o := &ExplainOptions{IO: f.IO, Env: f.Env, Clock: f.Clock, Open: opener(f, g)}
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			return orRun(runF, explainRun)(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Role, "role", "", "the role (or service account) you would ask for")
	cmd.Flags().StringVar(&o.Job, "job", "", "evaluate as the Dagster job NAME (run.job)")
	cmd.Flags().StringVar(&o.Location, "location", "", "evaluate as the Dagster code location NAME (run.location)")
	cmd.Flags().StringVar(&o.Run, "run-id", "", "evaluate as the Dagster run ID (run.id)")
	cmd.Flags().BoolVar(&o.Proxy, "proxy", false, "evaluate the proxy block's role rules (viewer, launcher, editor, admin) instead of the cloud ones")
	cmd.Flags().BoolVar(&o.Refresh, "refresh", false, "refresh (or log in) when the cached token is not valid; without it explain uses only what is cached")
	return cmd
}

func explainRun(ctx context.Context, o *ExplainOptions) error {
	r, err := o.Open(openOptions{})
	if err != nil {
		return err
	}
	defer r.close()
	if err := credentials.CheckProfiles(r.cfg, []string{r.p.Name}, o.IO.ErrOut); err != nil {
		return err
	}
	w := o.IO.Out
	src := r.svc.Source()
	fmt.Fprintf(w, "Profile:      %s (environment %s)\n", r.p.Name, r.p.Environment)
	fmt.Fprintf(w, "Source:       %s (%s)\n", src.Chosen, src.Reason)
	for _, c := range src.Candidates {
		fmt.Fprintf(w, "  - %-18s %s\n", c.Name, c.Reason)
	}
	run := runctx.Parse(nil, o.Env)
	if o.Job != "" {
		run.Job = o.Job
	}
	if o.Location != "" {
		run.Location = o.Location
	}
	if o.Run != "" {
		run.ID = o.Run
	}
	q := credentials.ExplainRequest{Role: o.Role, Run: credentials.RunOf(run), Refresh: o.Refresh, Proxy: o.Proxy}
	x, err := r.svc.Explain(ctx, q)
	if x == nil {
		return err
	}
	tok := x.Token
	expires := "expires"
	if !tok.Entry.Expiry.After(o.Clock.Now()) {
		expires = "expired (the cached claims are used; --refresh gets a current token)"
	}
	fmt.Fprintf(w, "Token:        from %s, %s %s\n", tok.Entry.Source, expires, tok.Entry.Expiry.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Fprintln(w, "Claims:")
	output.Claims(w, r.svc.VisibleClaims(tok.Claims.All))
	if run.Job != "" || run.ID != "" || run.Location != "" {
		fmt.Fprintf(w, "Run:          id %q, job %q, location %q\n", run.ID, run.Job, run.Location)
	}
	for _, sec := range x.Sections {
		fmt.Fprintf(w, "\n%s:\n", sec.Name)
		if sec.Decision != nil {
			if xerr := sec.Decision.Explain(w); xerr != nil {
				return xerr
			}
		}
	}
	if o.Proxy {
		fmt.Fprintf(w, "\nProxy grants: %s\n", x.ProxyGrants)
	}
	if err != nil {
		return err
	}
	return x.Denied
}
