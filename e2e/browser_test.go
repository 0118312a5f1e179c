//go:build e2e

package e2e

// The browser login end to end: the real dagster-oidc binary runs the
// authorization code flow with PKCE on a loopback redirect, and a real
// headless Debian Chromium, driven by chromedp, signs in on the sandbox's
// login form and follows the redirect back to the CLI.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/chromium"
)

// lockedBuffer collects a subprocess's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startBrowserLogin starts `dagster-oidc login --flow browser` with the
// browser disabled and returns the authorization URL it prints on stderr.
func startBrowserLogin(t *testing.T, ctx context.Context, w *world) (*exec.Cmd, string, *lockedBuffer, <-chan struct{}) {
	t.Helper()
	cmd := w.command(ctx, bin.cli, "login", "--flow", "browser")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := &lockedBuffer{}
	urls := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			seen.WriteString(line + "\n")
			if strings.HasPrefix(line, "http://") && strings.Contains(line, "/authorize?") {
				select {
				case urls <- line:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case u := <-urls:
		return cmd, u, seen, drained
	case <-drained:
		_ = cmd.Wait()
		t.Fatalf("dagster-oidc login printed no authorization URL:\n%s", seen.String())
	case <-ctx.Done():
		t.Fatalf("no authorization URL before the deadline:\n%s", seen.String())
	}
	return nil, "", nil, nil
}

func TestBrowserLoginWithChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	w := newWorld(t, sandbox.Options{}, `    browser:
      path: /oidc/callback
      timeout: 40s
`)
	w.env["DAGSTER_OIDC_NO_BROWSER"] = "1"
	browser := chromium.New(t, ctx)

	cmd, authURL, seen, drained := startBrowserLogin(t, ctx, w)
	au, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := au.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Errorf("authorization URL lacks PKCE S256, state or nonce: %s", authURL)
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/oidc/callback" {
		t.Errorf("redirect_uri = %q, want http://127.0.0.1:PORT/oidc/callback (browser.path)", q.Get("redirect_uri"))
	}

	// The steps get their own deadline so that on failure the page can
	// still be read for the message.
	steps, cancelSteps := context.WithTimeout(browser, 25*time.Second)
	defer cancelSteps()
	err = chromedp.Do(steps,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space(.)="Logged in"]`)),
	)
	if err != nil {
		pctx, pcancel := context.WithTimeout(browser, 3*time.Second)
		location, lerr := chromedp.Run(pctx, chromedp.Location())
		page, perr := chromedp.Run(pctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if perr != nil {
			page = fmt.Sprintf("(page unreadable: %v, %v)", lerr, perr)
		}
		pcancel()
		t.Fatalf("Chromium login: %v\nat %s: %.600s\nCLI stderr:\n%s", err, location, page, seen.String())
	}
	heading, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	location, err := chromedp.Run(browser, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(browser, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if heading != "Logged in" {
		t.Errorf("success page heading = %q", heading)
	}
	if lu, err := url.Parse(location); err != nil || lu.Host != redirect.Host || lu.Path != "/oidc/callback" {
		t.Errorf("success page at %q, want the loopback callback %s", location, redirect)
	}
	shot := filepath.Join(t.TempDir(), "logged-in.png")
	if err := os.WriteFile(shot, png, 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(shot); err != nil || len(data) < 100 || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s is not a non-empty PNG (%d bytes, %v)", shot, len(data), err)
	}

	<-drained
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("dagster-oidc login exited %d:\n%s", ee.ExitCode(), seen.String())
		}
		t.Fatal(err)
	}

	out, errOut, code := w.run("status", "--format", "json")
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, errOut)
	}
	var st struct {
		LoggedIn    bool   `json:"logged_in"`
		Email       string `json:"email"`
		Subject     string `json:"subject"`
		TokenSource string `json:"token_source"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --format json: %v\n%s", err, out)
	}
	if !st.LoggedIn || st.Email != "alice@example.com" || st.TokenSource != "browser" {
		t.Errorf("status = %+v, want logged in as alice@example.com from the browser flow\n%s", st, out)
	}
}
