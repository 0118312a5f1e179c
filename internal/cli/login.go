package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// LoginOptions are the options of `login`.
type LoginOptions struct {
	IO   *iostreams.IOStreams
	Open cmdutil.Opener
	Flow string
}

// newLoginCmd builds `login`; runF, when not nil, runs instead of loginRun.
func newLoginCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	o := &LoginOptions{IO: f.IO, Open: cmdutil.NewOpener(f, g)}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in and cache a verified ID token",
		Long: `Log in to the profile's OpenID provider and cache the verified ID token
(and the refresh token, in the OS keyring where one exists).

--flow auto picks an ambient workload identity when one is detected, the
browser on an interactive terminal with a display, and the device code flow
otherwise.`,
		Example: `  dagster-oidc login
  dagster-oidc login --profile prod --flow device`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, loginRun),
	}
	cmd.Flags().StringVar(&o.Flow, "flow", "", strings.Join(flow.FlowNames(), "|")+" (default: the profile's)")
	return cmd
}

func loginRun(ctx context.Context, o *LoginOptions) error {
	return o.Open.With(cmdutil.OpenOptions{Flow: o.Flow}, func(r *cmdutil.Opened) error {
		res, err := r.Svc.Login(ctx)
		if err != nil {
			return err
		}
		e := res.Entry
		who := e.Subject
		if res.Claims.Email != "" {
			who = res.Claims.Email
		}
		// The IdP chose who: no terminal controls (issue 15.4).
		fmt.Fprintf(o.IO.ErrOut, "Logged in as %s (profile %s, environment %s) via %s; token valid until %s.\n",
			termsafe.Clean(who), r.Profile.Name, r.Profile.Environment, e.Source, e.Expiry.UTC().Format(time.RFC3339))
		return nil
	})
}
