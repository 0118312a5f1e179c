package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
)

// resolved is the loaded config, the selected profile and its use cases.
type resolved struct {
	f   *Factory
	g   *globalOptions
	cfg *config.File
	p   *config.Profile
	svc *credentials.Service
}

// loadConfig reads the profiles file.
func loadConfig(f *Factory, g *globalOptions) (*config.File, error) {
	path := f.ConfigPath(g.ConfigPath)
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
	return &resolved{f: f, g: g, cfg: cfg, p: svc.Profile, svc: svc}, nil
}

// close flushes the audit trail.
func (r *resolved) close() { r.svc.Close() }

// configPath is the absolute path of the profiles file in use (--config,
// DAGSTER_OIDC_CONFIG or the default), for the commands that configure
// another program to call this binary: that program's environment may lack
// the variable or the flag.
func (r *resolved) configPath() string { return absPath(r.f.ConfigPath(r.g.ConfigPath)) }

// absPath resolves p against the working directory for messages.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
