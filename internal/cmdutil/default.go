package cmdutil

import (
	"net/http"
	"os"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/browser"
	"github.com/dagster-oidc/dagster-oidc/internal/buildinfo"
	"github.com/dagster-oidc/dagster-oidc/internal/cache/oskeyring"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// NewFactory builds the production dependencies of build b.
func NewFactory(b buildinfo.Info) *Factory {
	// A bad value is refused by Main (env.Lookup.Check) before any request.
	timeout, _ := env.Lookup(os.LookupEnv).Duration(env.HTTPTimeout)
	client := &http.Client{Timeout: timeout}
	return &Factory{
		IO:             iostreams.System(),
		Env:            os.LookupEnv,
		Clock:          clock.Real{},
		HTTPClient:     func() *http.Client { return client },
		OpenBrowser:    browser.Open,
		HasDisplay:     browser.HasDisplay,
		Keyring:        oskeyring.Keyring{},
		Executable:     os.Executable,
		Environ:        childEnviron,
		Stat:           os.Stat,
		Build:          b,
		KeyringTimeout: 3 * time.Second,
		WarmCall:       func(args []string) *warm.Call { return realCall(b, args) },
	}
}

// childEnviron is the environment exec's child inherits: the process's,
// without the warm front's request for a record, which was for this
// process alone.
func childEnviron() []string {
	environ, _ := warm.Split(os.Environ())
	return environ
}

// realCall is this process's invocation with args when the warm front ran
// this binary and asked for a record; nil otherwise, or when the binary or
// working directory cannot be told.
func realCall(b buildinfo.Info, args []string) *warm.Call {
	if _, asked := warm.Split(os.Environ()); !asked {
		return nil // the common case: no path, directory or file to look up
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	c, ok := warm.ThisCall(warm.Version(b.Version, b.Commit, b.Date), exe, args)
	if !ok {
		return nil
	}
	return &c
}
