package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// captureOperation is the query the Dagster UI's runs page sends.
const captureOperation = "RunsFeedRootQuery"

// capture starts the webserver (seeded), puts a recording reverse proxy in
// front of it, opens /runs in headless Chromium, and writes the body of
// the first RunsFeedRootQuery POST the page sends to
// testdata/runs-feed-root.json, as the UI sent it.
func capture(ctx context.Context, o *options, dir string, logf func(string, ...any)) error {
	home, workspace, err := dagsterHome(ctx, o, dir, logf)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(addr, ":")
	web, err := startProc("dagster-webserver", dir, pythonEnv(o.Venv, home, dir),
		filepath.Join(o.Venv, "bin", "dagster-webserver"), "-h", host, "-p", port, "-w", workspace)
	if err != nil {
		return err
	}
	defer web.stop()
	direct := &contender{Name: cDirect, URL: "http://" + addr, Headers: http.Header{}}
	if err := waitFor(ctx, web, 3*time.Minute, workspaceLoaded(direct)); err != nil {
		return err
	}

	up, _ := url.Parse(direct.URL)
	var once sync.Once
	got := make(chan []byte, 1)
	rp := httputil.NewSingleHostReverseProxy(up)
	rec := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/graphql" {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			var m struct{ OperationName string }
			if json.Unmarshal(b, &m) == nil && m.OperationName == captureOperation {
				once.Do(func() { got <- b })
			}
		}
		rp.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(o.Chromium), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		// The UI links a few things off-host (the community iframe): no
		// name but 127.0.0.1 resolves, so the page reaches nothing else.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	bctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+ln.Addr().String()+"/runs")); err != nil {
		return fmt.Errorf("chromium: %w", err)
	}
	var body []byte
	select {
	case body = <-got:
	case <-bctx.Done():
		return errors.New("the runs page sent no " + captureOperation + " within 2 minutes")
	}
	if err := checkRunsFeed(mustPost(direct, body)); err != nil {
		return fmt.Errorf("the captured query: %w", err)
	}
	out := filepath.Join(o.Testdata, "runs-feed-root.json")
	if err := os.WriteFile(out, append(bytes.TrimSpace(body), '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s (%d bytes)", out, len(body))
	return nil
}

func mustPost(c *contender, body []byte) []byte {
	b, err := post(c, body)
	if err != nil {
		return []byte(err.Error())
	}
	return b
}
