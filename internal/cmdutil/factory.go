// Package cmdutil holds what every command of internal/cli shares, as
// cli/cli's pkg/cmdutil does: the Factory of side effects, the global flags
// and the profile they select, and the cobra helpers that keep usage errors
// and test seams alike across commands. It holds no command.
package cmdutil

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/buildinfo"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// Factory holds every side effect the commands use. main builds the real
// one (NewFactory); tests build one with fakes.
type Factory struct {
	IO    *iostreams.IOStreams
	Env   env.Lookup
	Clock clock.Clock
	// HTTPClient returns the client for IdP, STS and GCP calls.
	HTTPClient func() *http.Client
	// OpenBrowser opens a URL; it must keep the browser's output off stdout.
	OpenBrowser func(url string) error
	// HasDisplay reports whether a browser could be shown.
	HasDisplay func() bool
	Keyring    cache.Keyring
	// Executable is the path of this binary, for generated configs.
	Executable func() (string, error)
	Sleep      func(context.Context, time.Duration) error
	// Environ is the process environment, for exec.
	Environ func() []string
	Stat    func(string) (os.FileInfo, error)
	Build   buildinfo.Info
	// KeyringTimeout bounds each keyring call.
	KeyringTimeout time.Duration
	// Debug receives the -v / DAGSTER_OIDC_VERBOSE=1 lines on stderr; nil
	// is off. The root command sets it.
	Debug *debuglog.Logger
	// Args are the command line's arguments; Main sets them.
	Args []string
	// WarmCall describes this invocation with args for the warm front's
	// record (internal/warm); nil saves no record.
	WarmCall func(args []string) *warm.Call
}

// Deps are the side effects of the use cases.
func (f *Factory) Deps() credentials.Deps {
	return credentials.Deps{
		Env: f.Env, Clock: f.Clock, HTTP: f.HTTP(), Debug: f.Debug, Keyring: f.Keyring, KeyringTimeout: f.KeyringTimeout,
		CacheDir: f.Env.CacheDir(), StateDir: f.Env.StateDir(), Home: f.Env.Home(), Stat: f.Stat, Sleep: f.Sleep,
		CanPrompt: f.IO.CanPrompt(), HasDisplay: f.HasDisplay, QR: f.IO.StderrTTY, OpenBrowser: f.OpenBrowser, Stderr: f.IO.ErrOut,
	}
}

// HTTP is HTTPClient, logging each request when Debug is on.
func (f *Factory) HTTP() *http.Client { return f.Debug.Client(f.HTTPClient()) }

// Call is this invocation for the warm front's record, nil without one.
func (f *Factory) Call() *warm.Call {
	if f.WarmCall == nil {
		return nil
	}
	return f.WarmCall(f.Args)
}
