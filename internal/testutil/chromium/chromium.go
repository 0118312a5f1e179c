// Package chromium starts Debian's headless Chromium for tests, driven by
// chromedp, with a fresh profile directory per browser.
package chromium

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path is Debian's Chromium, installed by scripts/deps.sh.
const Path = "/usr/bin/chromium"

// New starts a headless Chromium tied to ctx and returns its context; it is
// closed when the test ends.
func New(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Fatalf("Debian Chromium is missing at %s (%v): run scripts/deps.sh", Path, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(Path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Tests send traffic only to this machine: every host name but
		// loopback fails to resolve (the Dagster UI links pages on the
		// internet, e.g. an iframe on dagster.io).
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	// The first run starts the browser and ties it to the context it is
	// given, so it gets this one and not a per-step deadline.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("could not start %s: %v", Path, err)
	}
	return browser
}
