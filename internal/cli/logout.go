package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
)

// LogoutOptions are the options of `logout`.
type LogoutOptions struct {
	IO   *iostreams.IOStreams
	Open cmdutil.Opener
	// Request holds --all and --revoke.
	Request credentials.LogoutRequest
}

// newLogoutCmd builds `logout`; runF, when not nil, runs instead of logoutRun.
func newLogoutCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	o := &LogoutOptions{IO: f.IO, Open: cmdutil.NewOpener(f, g)}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove the cached login (and cloud credentials) of a profile",
		Long: `Remove the profile's ID token, refresh token and cached cloud credentials
from every store (all keyring chunks and files). --revoke first revokes the
refresh token at the IdP's revocation endpoint (RFC 7009) when it has one.
--all removes every dagster-oidc entry of every profile.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, logoutRun),
	}
	cmd.Flags().BoolVar(&o.Request.All, "all", false, "remove the entries of every profile")
	cmd.Flags().BoolVar(&o.Request.Revoke, "revoke", false, "revoke the refresh token at the IdP first")
	return cmd
}

func logoutRun(ctx context.Context, o *LogoutOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		notes, err := r.Svc.Logout(ctx, o.Request)
		for _, n := range notes {
			fmt.Fprintln(o.IO.ErrOut, n)
		}
		return err
	})
}
