package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
)

// LogoutOptions are the options of `logout`.
type LogoutOptions struct {
	f      *Factory
	g      *globalOptions
	All    bool
	Revoke bool
}

func newLogoutCmd(f *Factory, g *globalOptions, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	o := &LogoutOptions{f: f, g: g}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove the cached login (and cloud credentials) of a profile",
		Long: `Remove the profile's ID token, refresh token and cached cloud credentials
from every store (all keyring chunks and files). --revoke first revokes the
refresh token at the IdP's revocation endpoint (RFC 7009) when it has one.
--all removes every dagster-oidc entry of every profile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return logoutRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "remove the entries of every profile")
	cmd.Flags().BoolVar(&o.Revoke, "revoke", false, "revoke the refresh token at the IdP first")
	return cmd
}

func logoutRun(ctx context.Context, o *LogoutOptions) error {
	r, err := loadProfile(o.f, o.g, "")
	if err != nil {
		return err
	}
	defer r.close()
	// Under the profile's locks: a refresh, login or exchange in flight
	// finishes first, and is then removed rather than written back later.
	return r.mgr.Exclusive(ctx, func() error { return logoutLocked(ctx, o, r) })
}

func logoutLocked(ctx context.Context, o *LogoutOptions, r *resolved) error {
	if o.Revoke {
		if err := r.revoke(ctx); err != nil {
			return err
		}
	}
	if o.All {
		var errs []error
		for _, s := range []cache.Store{r.mgr.Fast, r.secrets} {
			if s2, ok := underlying(s).(cache.Clearer); ok {
				if err := s2.Clear(); err != nil {
					errs = append(errs, fmt.Errorf("%s store: %w", s.Name(), err))
				}
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("could not remove every entry: %w", err)
		}
		fmt.Fprintln(o.f.IO.ErrOut, "Removed every cached login and credential.")
		return nil
	}
	if err := r.mgr.Remove(r.credentialKeys()...); err != nil {
		return fmt.Errorf("could not remove the cached login: %w", err)
	}
	fmt.Fprintf(o.f.IO.ErrOut, "Logged out of profile %s.\n", r.p.Name)
	return nil
}

func underlying(s cache.Store) cache.Store {
	if l, ok := s.(*lazyStore); ok {
		if u, err := l.get(); err == nil {
			return u
		}
	}
	return s
}

func (r *resolved) revoke(ctx context.Context) error {
	rt := r.mgr.RefreshToken()
	if rt == "" {
		fmt.Fprintln(r.f.IO.ErrOut, "No refresh token stored; nothing to revoke.")
		return nil
	}
	m, err := r.metadata(ctx)
	if err != nil {
		return err
	}
	if m.RevocationURL == "" {
		fmt.Fprintf(r.f.IO.ErrOut, "The issuer advertises no revocation_endpoint; the refresh token is removed locally only.\n")
		return nil
	}
	ref, err := r.refresher(ctx)
	if err != nil {
		return err
	}
	if err := ref.Revoke(ctx, m.RevocationURL, rt); err != nil {
		return fmt.Errorf("could not revoke the refresh token (nothing was removed; retry, or run logout without --revoke): %w", err)
	}
	fmt.Fprintln(r.f.IO.ErrOut, "Revoked the refresh token at the identity provider.")
	return nil
}
