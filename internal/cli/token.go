package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// TokenOptions are the options of `token`.
type TokenOptions struct {
	IO     *iostreams.IOStreams
	Open   cmdutil.Opener
	Format string
	Flow   string
	// Call describes this invocation for the warm front (see AWSOptions).
	Call func() *warm.Call
}

// newTokenCmd builds `token`; runF, when not nil, runs instead of tokenRun
// (tests capture the options with it).
func newTokenCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *TokenOptions) error) *cobra.Command {
	o := &TokenOptions{IO: f.IO, Open: cmdutil.NewOpener(f, g), Call: f.Call}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print the current ID token, refreshed as needed",
		Long: `Print the profile's ID token on stdout, from the cache when it has more than
refresh_margin left, else refreshed (or read again from the workload source).
Without a terminal it never starts an interactive login: it exits 3 instead.`,
		Example: `  dagster-oidc token
  dagster-oidc token --format json | jq .claims.email`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, tokenRun, oneOf("token --format", &o.Format)),
	}
	cmd.Flags().StringVar(&o.Format, "format", "raw", "raw|json (json includes expiry and claims)")
	cmd.Flags().StringVar(&o.Flow, "flow", "", "override the profile's flow: "+strings.Join(flow.FlowNames(), "|"))
	return cmd
}

func tokenRun(ctx context.Context, o *TokenOptions) error {
	return o.Open.With(cmdutil.OpenOptions{Flow: o.Flow}, func(r *cmdutil.Opened) error {
		res, err := r.Svc.IDToken(ctx)
		if err != nil {
			return err
		}
		if o.Format == "raw" {
			_, err = fmt.Fprintln(o.IO.Out, res.Entry.IDToken)
		} else {
			err = output.JSON(o.IO.Out, r.Svc.TokenDocument(res))
		}
		if call := o.Call(); err == nil && call != nil {
			// Without a record the front runs this binary: slower, not wrong.
			_ = r.Svc.RememberToken(*call, o.Format)
		}
		return err
	})
}
