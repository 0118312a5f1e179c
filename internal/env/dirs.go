package env

import (
	"os"
	"path/filepath"
)

// ConfigPath returns the profiles file path: flag (--config), else
// DAGSTER_OIDC_CONFIG, else $XDG_CONFIG_HOME/dagster-oidc/config.yaml.
func (l Lookup) ConfigPath(flag string) string {
	if flag != "" {
		return flag
	}
	if v := l.Get(Config); v != "" {
		return v
	}
	return filepath.Join(l.userDir("XDG_CONFIG_HOME", ".config"), "dagster-oidc", "config.yaml")
}

// CacheDir returns the cache directory: DAGSTER_OIDC_CACHE_DIR, else
// $XDG_CACHE_HOME/dagster-oidc.
func (l Lookup) CacheDir() string {
	if v := l.Get(CacheDir); v != "" {
		return v
	}
	return filepath.Join(l.userDir("XDG_CACHE_HOME", ".cache"), "dagster-oidc")
}

// StateDir returns the state directory (audit log): DAGSTER_OIDC_STATE_DIR,
// else $XDG_STATE_HOME/dagster-oidc.
func (l Lookup) StateDir() string {
	if v := l.Get(StateDir); v != "" {
		return v
	}
	return filepath.Join(l.userDir("XDG_STATE_HOME", filepath.Join(".local", "state")), "dagster-oidc")
}

func (l Lookup) userDir(xdg, fallback string) string {
	if v, ok := l(xdg); ok && filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(l.Home(), fallback)
}

// Home is $HOME, else the OS's idea of it.
func (l Lookup) Home() string {
	if home, ok := l("HOME"); ok && home != "" {
		return home
	}
	home, _ := os.UserHomeDir()
	return home
}
