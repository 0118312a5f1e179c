package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
)

// StatusOptions are the options of `status`.
type StatusOptions struct {
	IO     *iostreams.IOStreams
	Open   cmdutil.Opener
	Format string
	Flow   string
}

// newStatusCmd builds `status`; runF, when not nil, runs instead of statusRun.
func newStatusCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	o := &StatusOptions{IO: f.IO, Open: cmdutil.NewOpener(f, g)}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show who you are logged in as, from which source, and where it is stored",
		Long: `Show the cached login of the profile: subject, issuer, audience, expiry,
the source that obtained it (and, for flow: auto, why each other source was
not chosen), and which store holds the tokens and why. It makes no network
request and never logs in.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, statusRun, oneOf("status --format", &o.Format)),
	}
	cmd.Flags().StringVar(&o.Format, "format", "text", "text|json")
	// --output/-o was the format here, while -o names an output file
	// elsewhere (gcp config): kept for old scripts, hidden, with a notice.
	cmd.Flags().StringVarP(&o.Format, "output", "o", "text", "text|json")
	_ = cmd.Flags().MarkDeprecated("output", "use --format")
	cmd.Flags().StringVar(&o.Flow, "flow", "", "override the profile's flow: "+strings.Join(flow.FlowNames(), "|"))
	return cmd
}

func statusRun(_ context.Context, o *StatusOptions) error {
	return o.Open.With(cmdutil.OpenOptions{Flow: o.Flow}, func(r *cmdutil.Opened) error {
		st, err := r.Svc.Status()
		if err != nil {
			return err
		}
		if o.Format == "json" {
			return output.JSON(o.IO.Out, st)
		}
		output.WriteStatus(o.IO.Out, st)
		return nil
	})
}
