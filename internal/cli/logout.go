package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
)

// LogoutOptions are the options of `logout`.
type LogoutOptions struct {
	IO   *IOStreams
	Open profileOpener
	// Request holds --all and --revoke.
	Request credentials.LogoutRequest
}

// newLogoutCmd builds `logout`; runF, when not nil, runs instead of logoutRun.
func newLogoutCmd(f *Factory, g *globalOptions, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	o := &LogoutOptions{IO: f.IO, Open: opener(f, g)}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove the cached login (and cloud credentials) of a profile",
		Long: `Remove the profile's ID token, refresh token and cached cloud credentials
from every store (all keyring chunks and files). --revoke first revokes the
refresh token at the IdP's revocation endpoint (RFC 7009) when it has one.
--all removes every dagster-oidc entry of every profile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return orRun(runF, logoutRun)(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Request.All, "all", false, "remove the entries of every profile")
	cmd.Flags().BoolVar(&o.Request.Revoke, "revoke", false, "revoke the refresh token at the IdP first")
	return cmd
}

func logoutRun(ctx context.Context, o *LogoutOptions) error {
	r, err := o.Open(openOptions{})
	if err != nil {
		return err
	}
	defer r.close()
	notes, err := r.svc.Logout(ctx, o.Request)
	for _, n := range notes {
		fmt.Fprintln(o.IO.ErrOut, n)
	}
	return err
}
