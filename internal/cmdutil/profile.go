package cmdutil

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
)

// Globals are the flags every command shares, and the profiles file they
// name, read once per process.
type Globals struct {
	ConfigPath string
	Profile    string
	Verbose    bool

	cfg    *config.File
	cfgErr error
	loaded bool
}

// Path is the profiles file in use: --config, else DAGSTER_OIDC_CONFIG,
// else the default.
func (g *Globals) Path(f *Factory) string { return f.Env.ConfigPath(g.ConfigPath) }

// Config reads the profiles file on first use; every command and
// completion of the process shares that one read.
func (g *Globals) Config(f *Factory) (*config.File, error) {
	if !g.loaded {
		g.cfg, g.cfgErr = config.Load(g.Path(f))
		g.loaded = true
	}
	return g.cfg, g.cfgErr
}

// ProfileName returns --profile, else DAGSTER_OIDC_PROFILE ("" = the file's
// default).
func (g *Globals) ProfileName(f *Factory) string {
	if g.Profile != "" {
		return g.Profile
	}
	return f.Env.Get(env.Profile)
}

// Opened is the profiles file, the selected profile and its use cases.
type Opened struct {
	// Path is the profiles file as the flag or variable named it.
	Path    string
	File    *config.File
	Profile *config.Profile
	Svc     *credentials.Service
}

// Close flushes the audit trail.
func (r *Opened) Close() { r.Svc.Close() }

// AbsPath is the absolute path of the profiles file in use, for the
// commands that configure another program to call this binary: that
// program's environment may lack the variable or the flag.
func (r *Opened) AbsPath() string { return AbsPath(r.Path) }

// AbsPath resolves p against the working directory for messages.
func AbsPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// OpenOptions say how a command opens its profile: Flow is --flow, and
// NoPrompt refuses interactive logins even at a terminal.
type OpenOptions struct {
	Flow     string
	NoPrompt bool
}

// Opener opens the selected profile's use cases; a command's options hold
// one instead of the Factory and the global flags.
type Opener func(OpenOptions) (*Opened, error)

// NewOpener is the Opener of f and the global flags g.
func NewOpener(f *Factory, g *Globals) Opener {
	return func(o OpenOptions) (*Opened, error) {
		if o.NoPrompt {
			f = f.withoutTerminal()
		}
		cfg, err := loadConfig(f, g)
		if err != nil {
			return nil, err
		}
		p, err := cfg.Profile(g.ProfileName(f))
		if err != nil {
			return nil, apperr.Usage(err, "")
		}
		svc, err := credentials.Open(f.Deps(), cfg, p, o.Flow)
		if err != nil {
			return nil, err
		}
		return &Opened{Path: g.Path(f), File: cfg, Profile: svc.Profile, Svc: svc}, nil
	}
}

// withoutTerminal is a copy of f whose streams are not a terminal, so
// that nothing prompts.
func (f *Factory) withoutTerminal() *Factory {
	c := *f
	c.IO = f.IO.WithoutTerminal()
	return &c
}

// With runs fn with the profile open, opened as o says, and closes it
// after.
func (open Opener) With(o OpenOptions, fn func(*Opened) error) error {
	r, err := open(o)
	if err != nil {
		return err
	}
	defer r.Close()
	return fn(r)
}

// loadConfig reads the profiles file, with the hint for a missing or
// invalid one.
func loadConfig(f *Factory, g *Globals) (*config.File, error) {
	cfg, err := g.Config(f)
	if err != nil {
		return nil, ConfigError(err, g.Path(f), "fix the file, then run: dagster-oidc config validate")
	}
	return cfg, nil
}

// ConfigError is the usage error for err, reading the profiles file at
// path failed: a missing file gets the command that creates one, any other
// failure the hint fix ("" in config validate, which is that check).
func ConfigError(err error, path, fix string) error {
	if errors.Is(err, config.ErrNotExist) {
		return apperr.Usage(fmt.Errorf("no config file at %s", path), "run: dagster-oidc config init --issuer URL --client-id ID (or pass --config)")
	}
	return apperr.Usage(err, fix)
}
