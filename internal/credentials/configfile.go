package credentials

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
)

// InitConfigRequest is `config init`: the starter's settings and where to
// write it.
type InitConfigRequest struct {
	// Starter is the profile to write (Profile "" is "default").
	Starter config.StarterOptions
	// Path is the profiles file to create ("": only build the starter).
	Path string
	// Force replaces an existing file.
	Force bool
}

// InitConfig builds the commented starter profiles file and, when q.Path is
// set, writes it there (0600, in a 0700 directory), refusing to replace a
// file without q.Force.
func InitConfig(q InitConfigRequest) ([]byte, error) {
	data, err := config.Starter(q.Starter)
	if err != nil {
		return nil, apperr.Usage(err, "")
	}
	if q.Path == "" {
		return data, nil
	}
	if _, err := os.Stat(q.Path); err == nil && !q.Force {
		return nil, apperr.Usage(fmt.Errorf("%s already exists", q.Path), "pass --force to overwrite it, or --stdout to print the starter")
	}
	if err := os.MkdirAll(filepath.Dir(q.Path), 0o700); err != nil {
		return nil, fmt.Errorf("could not create the config directory: %w", err)
	}
	if err := os.WriteFile(q.Path, data, 0o600); err != nil {
		return nil, fmt.Errorf("could not write %s: %w", q.Path, err)
	}
	return data, nil
}

// ValidateConfigRequest is `config validate` of a profiles file that was
// read without error.
type ValidateConfigRequest struct {
	File *config.File
	// Offline skips the issuers' discovery documents; HTTP (called only
	// when online) and Clock fetch and check them.
	Offline bool
	HTTP    func() *http.Client
	Clock   clock.Clock
}

// ValidateConfig checks every profile's keys and rules, describes each
// client secret file, then (unless offline) each issuer's discovery
// document; a line on w reports each step that passed.
func ValidateConfig(ctx context.Context, q ValidateConfigRequest, w io.Writer) error {
	cfg := q.File
	if err := CheckProfiles(cfg, cfg.ProfileNames(), w); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d profile(s), syntax and keys OK\n", cfg.Path, len(cfg.Profiles))
	for _, name := range cfg.ProfileNames() {
		if cfg.Profiles[name].ClientSecretFile == "" {
			continue
		}
		secret, err := DescribeClientSecret(cfg.Profiles[name], q.Clock.Now())
		if err != nil {
			return fmt.Errorf("profile %s: %w", name, err)
		}
		fmt.Fprintf(w, "profile %s: client secret %s\n", name, secret)
	}
	if q.Offline {
		return nil
	}
	return CheckIssuers(ctx, cfg, q.HTTP(), q.Clock, w)
}

// ShowConfig is the resolved profile as YAML (defaults applied, secrets
// masked) under two comment lines: the profiles file and whether its client
// secret can be read.
func (s *Service) ShowConfig() ([]byte, error) {
	p := s.Profile
	data, err := config.Show(p)
	if err != nil {
		return nil, err
	}
	secret := "not configured"
	if p.ClientSecretEnv != "" || p.ClientSecretFile != "" {
		if v, err := s.ClientSecret(); err == nil && v != "" {
			secret = "set (****)"
		} else {
			secret = "configured but unreadable"
		}
	}
	path := ""
	if s.w != nil && s.w.cfg != nil {
		path = absPath(s.w.cfg.Path)
	}
	return fmt.Appendf(nil, "# file: %s\n# client secret: %s\n%s", path, secret, data), nil
}

// absPath resolves p against the working directory, for files that another
// program (or a person elsewhere) will open.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
