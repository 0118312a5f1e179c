//go:build proxy

package proxy_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dagster-oidc/dagster-oidc/internal/testutil/chromium"
)

func TestExplore(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := chromium.New(t, ctx)
	err := chromedp.Do(b,
		chromedp.Navigate(w.url+os.Getenv("EXPLORE_PATH")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), os.Getenv("EXPLORE_USER")),
		chromedp.SendKeys(chromedp.ID("password"), os.Getenv("EXPLORE_USER")+"-password"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.Sleep(6*time.Second),
	)
	if os.Getenv("EXPLORE_CLICK") != "" {
		sctx, scancel := context.WithTimeout(b, 5*time.Second)
		_ = chromedp.Do(sctx, chromedp.Click(chromedp.Search(`//button[normalize-space(.)="Skip"]`)), chromedp.Sleep(time.Second))
		scancel()
		err = chromedp.Do(b, chromedp.Click(chromedp.Search(os.Getenv("EXPLORE_CLICK"))), chromedp.Sleep(12*time.Second))
		t.Logf("trail: %s", w.trail.String())
	}
	loc, _ := chromedp.Run(b, chromedp.Location())
	text, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.body.innerText`))
	html, _ := chromedp.Run(b, chromedp.OuterHTML(chromedp.CSS("body")))
	png, _ := chromedp.Run(b, chromedp.CaptureScreenshot())
	os.WriteFile("/tmp/explore.png", png, 0o644)
	os.WriteFile("/tmp/explore.html", []byte(html), 0o644)
	t.Logf("%v at %s:\n%s", err, loc, text)
}
