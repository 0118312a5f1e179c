package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/shellquote"
)

func newConfigCmd(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Create, check and show the profiles file",
	}
	cmd.AddCommand(newConfigInitCmd(f, g, nil), newConfigValidateCmd(f, g, nil), newConfigShowCmd(f, g, nil))
	return cmd
}

// configFile locates and reads the profiles file for the config commands,
// once the global flags are parsed: Path is the file in use, Given says
// --config named it, Read reads it (once per process) and Profile is
// --profile, else DAGSTER_OIDC_PROFILE.
type configFile struct {
	Path    func() string
	Given   func() bool
	Read    func() (*config.File, error)
	Profile func() string
}

// newConfigFile is the configFile of f and the global flags g.
func newConfigFile(f *cmdutil.Factory, g *cmdutil.Globals) configFile {
	return configFile{
		Path:    func() string { return g.Path(f) },
		Given:   func() bool { return g.ConfigPath != "" },
		Read:    func() (*config.File, error) { return g.Config(f) },
		Profile: func() string { return g.ProfileName(f) },
	}
}

// ConfigInitOptions are the options of `config init`.
type ConfigInitOptions struct {
	IO   *iostreams.IOStreams
	File configFile
	// Request holds the flags; configInitRun adds the profile and the path.
	Request credentials.InitConfigRequest
	Stdout  bool
}

// newConfigInitCmd builds `config init`; runF, when not nil, runs instead
// of configInitRun.
func newConfigInitCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *ConfigInitOptions) error) *cobra.Command {
	o := &ConfigInitOptions{IO: f.IO, File: newConfigFile(f, g)}
	cmd := &cobra.Command{
		Use:     "init",
		Short:   "Write a commented starter profiles file",
		Example: `  dagster-oidc config init --issuer https://example.okta.com/oauth2/default --client-id 0oa1b2c3`,
		Args:    cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, configInitRun, func() error {
			if o.Request.Starter.Issuer == "" || o.Request.Starter.ClientID == "" {
				return apperr.Usage(errors.New("--issuer and --client-id are required"), "")
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&o.Request.Starter.Issuer, "issuer", "", "OpenID issuer URL")
	cmd.Flags().StringVar(&o.Request.Starter.ClientID, "client-id", "", "OAuth client id registered for dagster-oidc")
	cmd.Flags().StringVar(&o.Request.Starter.Environment, "environment", "", "environment name (default: the profile name)")
	cmd.Flags().BoolVar(&o.Request.Force, "force", false, "overwrite an existing file")
	cmd.Flags().BoolVar(&o.Stdout, "stdout", false, "print the file instead of writing it")
	return cmd
}

func configInitRun(_ context.Context, o *ConfigInitOptions) error {
	q := o.Request
	q.Starter.Profile = o.File.Profile()
	if !o.Stdout {
		q.Path = o.File.Path()
	}
	data, err := credentials.InitConfig(q)
	if err != nil || o.Stdout {
		if err == nil {
			_, err = o.IO.Out.Write(data)
		}
		return err
	}
	check := "dagster-oidc config validate"
	if o.File.Given() {
		check += " --config " + shellquote.Arg(cmdutil.AbsPath(q.Path))
	}
	fmt.Fprintf(o.IO.ErrOut, "Wrote %s. Check it with: %s\n", q.Path, check)
	return nil
}

// ConfigValidateOptions are the options of `config validate`.
type ConfigValidateOptions struct {
	IO    *iostreams.IOStreams
	File  configFile
	Clock clock.Clock
	// HTTPClient is the client for the issuers' discovery documents.
	HTTPClient func() *http.Client
	Offline    bool
}

// newConfigValidateCmd builds `config validate`; runF, when not nil, runs
// instead of configValidateRun.
func newConfigValidateCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *ConfigValidateOptions) error) *cobra.Command {
	o := &ConfigValidateOptions{IO: f.IO, File: newConfigFile(f, g), Clock: f.Clock, HTTPClient: f.HTTP}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the profiles file and the issuer's discovery document",
		Long: `Check the profiles file (keys, types, required fields, policy rules), then
fetch the issuer's discovery document and check that its issuer matches the
profile exactly and that the endpoints the profile's flow needs exist.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(o, runF, configValidateRun),
	}
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "check the file only; do not contact the issuer")
	return cmd
}

func configValidateRun(ctx context.Context, o *ConfigValidateOptions) error {
	cfg, err := o.File.Read()
	if err != nil {
		return cmdutil.ConfigError(err, o.File.Path(), "")
	}
	return credentials.ValidateConfig(ctx, credentials.ValidateConfigRequest{File: cfg, Offline: o.Offline, HTTP: o.HTTPClient, Clock: o.Clock}, o.IO.ErrOut)
}

// ConfigShowOptions are the options of `config show`.
type ConfigShowOptions struct {
	IO   *iostreams.IOStreams
	Open cmdutil.Opener
}

// newConfigShowCmd builds `config show`; runF, when not nil, runs instead
// of configShowRun.
func newConfigShowCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *ConfigShowOptions) error) *cobra.Command {
	o := &ConfigShowOptions{IO: f.IO, Open: cmdutil.NewOpener(f, g)}
	return &cobra.Command{
		Use:   "show",
		Short: "Print the resolved profile, defaults applied, secrets masked",
		Args:  cobra.NoArgs,
		RunE:  cmdutil.RunE(o, runF, configShowRun),
	}
}

func configShowRun(_ context.Context, o *ConfigShowOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		data, err := r.Svc.ShowConfig()
		if err == nil {
			_, err = o.IO.Out.Write(data)
		}
		return err
	})
}
