package cli

import (
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/pkg/browser"
	"golang.org/x/term"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// NewFactory builds the production dependencies.
func NewFactory(b BuildInfo) *Factory {
	// Some browser launchers print to stdout; that would corrupt a credential
	// document (kubelogin does the same).
	browser.Stdout = os.Stderr
	browser.Stderr = os.Stderr
	// A bad value is refused by Main (env.Lookup.Check) before any request.
	timeout, _ := env.Lookup(os.LookupEnv).Duration(env.HTTPTimeout)
	client := &http.Client{Timeout: timeout}
	return &Factory{
		IO: &IOStreams{
			In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
			StdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
			StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		},
		Env:            os.LookupEnv,
		Clock:          clock.Real{},
		HTTPClient:     func() *http.Client { return client },
		OpenBrowser:    browser.OpenURL,
		HasDisplay:     hasDisplay,
		Keyring:        cache.GoKeyring{},
		Executable:     os.Executable,
		Environ:        os.Environ,
		Stat:           os.Stat,
		Build:          b,
		KeyringTimeout: 3 * time.Second,
		WarmCall:       func(args []string) *warm.Call { return realCall(b, args) },
	}
}

// realCall is this process's invocation with args when the warm front ran
// this binary and asked for a record; nil otherwise, or when the binary or
// working directory cannot be told.
func realCall(b BuildInfo, args []string) *warm.Call {
	environ, asked := warm.Split(os.Environ())
	if !asked {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil
	}
	return &warm.Call{
		Version: warm.Version(b.Version, b.Commit, b.Date), Full: warm.FileID(exe),
		UID: os.Getuid(), Dir: dir, Args: args, Environ: environ,
	}
}

// hasDisplay reports whether a browser window could be shown to the user.
func hasDisplay() bool {
	if os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "" {
		return false
	}
	switch runtime.GOOS {
	case "darwin", "windows":
		return true
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return false
	}
	_, err := exec.LookPath("xdg-open")
	return err == nil
}
