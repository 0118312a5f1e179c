package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/shellquote"
)

func newConfigCmd(f *Factory, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Create, check and show the profiles file",
	}
	cmd.AddCommand(newConfigInitCmd(f, g), newConfigValidateCmd(f, g), newConfigShowCmd(f, g))
	return cmd
}

// ConfigInitOptions are the options of `config init`.
type ConfigInitOptions struct {
	f           *Factory
	g           *globalOptions
	Issuer      string
	ClientID    string
	Environment string
	Force       bool
	Stdout      bool
}

func newConfigInitCmd(f *Factory, g *globalOptions) *cobra.Command {
	o := &ConfigInitOptions{f: f, g: g}
	cmd := &cobra.Command{
		Use:     "init",
		Short:   "Write a commented starter profiles file",
		Example: `  dagster-oidc config init --issuer https://example.okta.com/oauth2/default --client-id 0oa1b2c3`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Issuer == "" || o.ClientID == "" {
				return apperr.Usage(errors.New("--issuer and --client-id are required"), "")
			}
			return configInitRun(o)
		},
	}
	cmd.Flags().StringVar(&o.Issuer, "issuer", "", "OpenID issuer URL")
	cmd.Flags().StringVar(&o.ClientID, "client-id", "", "OAuth client id registered for dagster-oidc")
	cmd.Flags().StringVar(&o.Environment, "environment", "", "environment name (default: the profile name)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "overwrite an existing file")
	cmd.Flags().BoolVar(&o.Stdout, "stdout", false, "print the file instead of writing it")
	return cmd
}

func configInitRun(o *ConfigInitOptions) error {
	profile := o.g.profileName(o.f)
	if profile == "" {
		profile = "default"
	}
	data, err := config.Starter(config.StarterOptions{Profile: profile, Environment: o.Environment, Issuer: o.Issuer, ClientID: o.ClientID})
	if err != nil {
		return apperr.Usage(err, "")
	}
	if o.Stdout {
		_, err := o.f.IO.Out.Write(data)
		return err
	}
	path := o.f.ConfigPath(o.g.ConfigPath)
	if _, err := os.Stat(path); err == nil && !o.Force {
		return apperr.Usage(fmt.Errorf("%s already exists", path), "pass --force to overwrite it, or --stdout to print the starter")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("could not create the config directory: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	check := "dagster-oidc config validate"
	if o.g.ConfigPath != "" {
		check += " --config " + shellquote.Arg(absPath(path))
	}
	fmt.Fprintf(o.f.IO.ErrOut, "Wrote %s. Check it with: %s\n", path, check)
	return nil
}

// ConfigValidateOptions are the options of `config validate`.
type ConfigValidateOptions struct {
	f       *Factory
	g       *globalOptions
	Offline bool
}

func newConfigValidateCmd(f *Factory, g *globalOptions) *cobra.Command {
	o := &ConfigValidateOptions{f: f, g: g}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the profiles file and the issuer's discovery document",
		Long: `Check the profiles file (keys, types, required fields, policy rules), then
fetch the issuer's discovery document and check that its issuer matches the
profile exactly and that the endpoints the profile's flow needs exist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return configValidateRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "check the file only; do not contact the issuer")
	return cmd
}

func configValidateRun(ctx context.Context, o *ConfigValidateOptions) error {
	path := o.f.ConfigPath(o.g.ConfigPath)
	cfg, err := o.g.config(o.f)
	if err != nil {
		return apperr.Usage(err, "")
	}
	w := o.f.IO.ErrOut
	if err := credentials.CheckProfiles(cfg, cfg.ProfileNames(), w); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d profile(s), syntax and keys OK\n", path, len(cfg.Profiles))
	for _, name := range cfg.ProfileNames() {
		if cfg.Profiles[name].ClientSecretFile == "" {
			continue
		}
		secret, err := credentials.DescribeClientSecret(cfg.Profiles[name], o.f.Clock.Now())
		if err != nil {
			return fmt.Errorf("profile %s: %w", name, err)
		}
		fmt.Fprintf(w, "profile %s: client secret %s\n", name, secret)
	}
	if o.Offline {
		return nil
	}
	return credentials.CheckIssuers(ctx, cfg, o.f.httpClient(), o.f.Clock, w)
}

// ConfigShowOptions are the options of `config show`.
type ConfigShowOptions struct {
	f *Factory
	g *globalOptions
}

func newConfigShowCmd(f *Factory, g *globalOptions) *cobra.Command {
	o := &ConfigShowOptions{f: f, g: g}
	return &cobra.Command{
		Use:   "show",
		Short: "Print the resolved profile, defaults applied, secrets masked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return configShowRun(o)
		},
	}
}

func configShowRun(o *ConfigShowOptions) error {
	r, err := loadProfile(o.f, o.g, "")
	if err != nil {
		return err
	}
	data, err := config.Show(r.p)
	if err != nil {
		return err
	}
	secret := "not configured"
	if r.p.ClientSecretEnv != "" || r.p.ClientSecretFile != "" {
		if s, err := r.svc.ClientSecret(); err == nil && s != "" {
			secret = "set (****)"
		} else {
			secret = "configured but unreadable"
		}
	}
	fmt.Fprintf(o.f.IO.Out, "# file: %s\n# client secret: %s\n%s", absPath(o.f.ConfigPath(o.g.ConfigPath)), secret, data)
	return nil
}
