// Package browser opens the user's web browser for the browser login.
package browser

import (
	"os"
	"os/exec"
	"runtime"

	"github.com/pkg/browser"
)

// Open opens url in the user's browser. Some launchers print to stdout;
// that would corrupt a credential document, so their output goes to stderr
// (kubelogin does the same).
func Open(url string) error {
	browser.Stdout = os.Stderr
	browser.Stderr = os.Stderr
	return browser.OpenURL(url)
}

// HasDisplay reports whether a browser window could be shown to the user:
// not over SSH, and on Linux only with a display and xdg-open.
func HasDisplay() bool {
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
