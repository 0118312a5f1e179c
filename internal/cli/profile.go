package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
)

// resolved is the loaded config, the selected profile and its use cases.
type resolved struct {
	cfgPath string
	cfg     *config.File
	p       *config.Profile
	svc     *credentials.Service
}

// openOptions say how a command opens its profile: Flow is --flow, and
// NoPrompt refuses interactive logins even at a terminal.
type openOptions struct {
	Flow     string
	NoPrompt bool
}

// profileOpener opens the selected profile's use cases; a command's options
// hold one instead of the Factory and the global flags.
type profileOpener func(openOptions) (*resolved, error)

// opener is the profileOpener of f and the global flags g.
func opener(f *Factory, g *globalOptions) profileOpener {
	return func(o openOptions) (*resolved, error) {
		if o.NoPrompt {
			f = withoutTerminal(f)
		}
		return loadProfile(f, g, o.Flow)
	}
}

// withoutTerminal returns a copy of f whose streams are not a terminal, so
// that nothing prompts.
func withoutTerminal(f *Factory) *Factory {
	c := *f
	c.IO = f.IO.WithoutTerminal()
	return &c
}

// loadConfig reads the profiles file.
func loadConfig(f *Factory, g *globalOptions) (*config.File, error) {
	path := f.Env.ConfigPath(g.ConfigPath)
	cfg, err := g.config(f)
	if err != nil {
		if errors.Is(err, config.ErrNotExist) {
			return nil, apperr.Usage(fmt.Errorf("no config file at %s", path), "run: dagster-oidc config init --issuer URL --client-id ID (or pass --config)")
		}
		return nil, apperr.Usage(err, "fix the file, then run: dagster-oidc config validate")
	}
	return cfg, nil
}

// loadProfile reads the config, selects the profile and opens its use
// cases; flowOverride is --flow.
func loadProfile(f *Factory, g *globalOptions, flowOverride string) (*resolved, error) {
	cfg, err := loadConfig(f, g)
	if err != nil {
		return nil, err
	}
	p, err := cfg.Profile(g.profileName(f))
	if err != nil {
		return nil, apperr.Usage(err, "")
	}
	svc, err := credentials.Open(f.deps(), cfg, p, flowOverride)
	if err != nil {
		return nil, err
	}
	return &resolved{cfgPath: f.Env.ConfigPath(g.ConfigPath), cfg: cfg, p: svc.Profile, svc: svc}, nil
}

// close flushes the audit trail.
func (r *resolved) close() { r.svc.Close() }

// configPath is the absolute path of the profiles file in use (--config,
// DAGSTER_OIDC_CONFIG or the default), for the commands that configure
// another program to call this binary: that program's environment may lack
// the variable or the flag.
func (r *resolved) configPath() string { return absPath(r.cfgPath) }

// absPath resolves p against the working directory for messages.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// orRun is runF when a test gave one, else the command's run.
func orRun[O any](runF, run func(context.Context, *O) error) func(context.Context, *O) error {
	if runF != nil {
		return runF
	}
	return run
}
