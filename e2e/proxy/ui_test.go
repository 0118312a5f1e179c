//go:build proxy

package proxy_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dagster-oidc/dagster-oidc/internal/testutil/chromium"
)

// tab is one person's browser: its own cookie jar in the shared Chromium.
type tab struct {
	t   *testing.T
	w   *world
	ctx context.Context
}

func (w *world) tab(t *testing.T, browser context.Context) *tab {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	w.t.Cleanup(cancel)
	// The first run creates the tab and ties it to ctx, not to the
	// deadline of a later step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("could not open a browser context: %v", err)
	}
	return &tab{t: t, w: w, ctx: ctx}
}

// do runs steps with a deadline; on failure it reports where the page was
// and what it said.
func (tb *tab) do(what string, limit time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		pctx, pcancel := context.WithTimeout(tb.ctx, 5*time.Second)
		defer pcancel()
		loc, _ := chromedp.Run(pctx, chromedp.Location())
		text, _ := chromedp.Run(pctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		tb.t.Fatalf("%s: %v\nat %s:\n%.1500s", what, err, loc, text)
	}
}

// open navigates to path, signs in as user on the sandbox form, and waits
// until the browser is back on the proxy.
func (tb *tab) open(path, user string) {
	tb.t.Helper()
	tb.do("sign in as "+user, 60*time.Second,
		chromedp.Navigate(tb.w.url+path),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), user+"-password"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitReady(chromedp.CSS("body")),
	)
}

// waitText waits until the page shows text.
func (tb *tab) waitText(what, text string) {
	tb.t.Helper()
	tb.do(what, 60*time.Second, chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//body//*[contains(., %q)][not(*[contains(., %q)])]`, text, text))))
}

// clickUntil clicks the element at xpath until the page shows text (the
// launchpad's button does nothing while the config preview still loads).
func (tb *tab) clickUntil(what, xpath, text string) {
	tb.t.Helper()
	found := fmt.Sprintf(`//body//*[contains(., %q)][not(*[contains(., %q)])]`, text, text)
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
		err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(xpath)), chromedp.WaitVisible(chromedp.Search(found)))
		cancel()
		if err == nil {
			return
		}
		if i == 3 {
			tb.waitText(what, text) // reports where the page is
			return
		}
		tb.skipNux()
	}
}

// skipNux dismisses Dagster's first-visit community dialog, if it shows.
func (tb *tab) skipNux() {
	ctx, cancel := context.WithTimeout(tb.ctx, 8*time.Second)
	defer cancel()
	_ = chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//button[normalize-space(.)="Skip"]`)))
}

func (tb *tab) location() string {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return loc
}

const (
	launchButton = `//button[contains(., "Launch Run")]`
	scheduleURL  = "/locations/etl/schedules/etl_daily_schedule"
	launchpadURL = "/locations/etl/jobs/hello/playground"
)

// TestDagsterUIInChromium: the real Dagster UI through the proxy, each
// person in their own browser context of one headless Chromium.
func TestDagsterUIInChromium(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	browser := chromium.New(t, ctx)
	admin := w.token(map[string]any{"sub": "ada", "email": "ada@example.com", "groups": []string{"dagster-admins"}}, time.Hour)
	api := &http.Client{Timeout: 30 * time.Second}
	asAdmin := func(body string) string {
		t.Helper()
		_, out := w.graphql(api, body, "Authorization", "Bearer "+admin, "Origin", "")
		return out
	}
	m := regexp.MustCompile(`"runId":"([0-9a-f-]{36})"`).FindStringSubmatch(asAdmin(launch("etl", "hello")))
	if m == nil {
		t.Fatal("could not launch the run to share")
	}
	runID := m[1]
	// The schedule starts from its default state (stopped), whatever an
	// earlier run of the test did to this webserver.
	if out := asAdmin(gql(`mutation { resetSchedule(scheduleSelector: {repositoryLocationName: "etl", repositoryName: "__repository__", scheduleName: "etl_daily_schedule"}) { __typename } }`, nil)); !strings.Contains(out, "ScheduleStateResult") {
		t.Fatalf("could not reset the schedule: %s", out)
	}

	t.Run("viewer opens a shared run link, signs in, lands on the run", func(t *testing.T) {
		v := w.tab(t, browser)
		v.open("/runs/"+runID, "vera")
		v.waitText("the run page", runID[:8])
		if loc := v.location(); loc != w.url+"/runs/"+runID {
			t.Errorf("after sign-in the browser is at %s, want the shared link", loc)
		}
		t.Run("and her Launch is refused with the role message", func(t *testing.T) {
			v.t = t
			v.do("open the launchpad", 60*time.Second, chromedp.Navigate(w.url+launchpadURL), chromedp.WaitVisible(chromedp.Search(launchButton)))
			v.skipNux()
			v.clickUntil("Launch Run refused", launchButton, "launchPipelineExecution needs the launcher role on code location etl; vera@example.com has viewer")
		})
	})

	t.Run("launcher launches", func(t *testing.T) {
		l := w.tab(t, browser)
		l.open(launchpadURL, "lena")
		l.do("the launchpad", 60*time.Second, chromedp.WaitVisible(chromedp.Search(launchButton)))
		l.skipNux()
		runPage := regexp.MustCompile(`/runs/[0-9a-f-]{36}$`)
		for i := 0; !runPage.MatchString(l.location()); i++ {
			if i == 4 {
				t.Fatalf("the launcher's run did not open: at %s", l.location())
			}
			l.skipNux()
			l.do("click Launch Run", 30*time.Second, chromedp.Click(chromedp.Search(launchButton)))
			for end := time.Now().Add(15 * time.Second); time.Now().Before(end) && !runPage.MatchString(l.location()); {
				time.Sleep(250 * time.Millisecond)
			}
		}
		t.Run("but may not turn a schedule on", func(t *testing.T) {
			l.t = t
			l.do("open the schedule", 60*time.Second, chromedp.Navigate(w.url+scheduleURL), chromedp.WaitVisible(chromedp.CSS(`input[type=checkbox]`)))
			l.clickUntil("the toggle refused", `//input[@type="checkbox"]/..`, "startSchedule needs the editor role on code location etl; lena@example.com has launcher")
		})
	})

	scheduleStatus := func() string {
		out := asAdmin(gql(`query { scheduleOrError(scheduleSelector: {repositoryLocationName: "etl", repositoryName: "__repository__", scheduleName: "etl_daily_schedule"}) { ... on Schedule { scheduleState { status } } } }`, nil))
		if m := regexp.MustCompile(`"status":"(\w+)"`).FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return out
	}
	t.Run("editor turns the schedule on", func(t *testing.T) {
		if s := scheduleStatus(); s != "STOPPED" {
			t.Fatalf("schedule status before = %s", s)
		}
		e := w.tab(t, browser)
		e.open(scheduleURL, "eddie")
		e.do("the schedule page", 60*time.Second, chromedp.WaitVisible(chromedp.CSS(`input[type=checkbox]`)))
		e.skipNux()
		for i := 0; scheduleStatus() != "RUNNING"; i++ {
			if i == 4 {
				t.Fatalf("the schedule is %s after the editor's toggle", scheduleStatus())
			}
			e.do("toggle it", 30*time.Second, chromedp.Click(chromedp.Search(`//input[@type="checkbox"]/..`)))
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && scheduleStatus() != "RUNNING"; {
				time.Sleep(250 * time.Millisecond)
			}
		}
		t.Run("but may not wipe an asset", func(t *testing.T) {
			e.t = t
			wipe(e, w)
			e.waitText("the wipe dialog's result", "1 Failed")
		})
	})

	t.Run("only admin wipes an asset", func(t *testing.T) {
		a := w.tab(t, browser)
		a.open("/assets/raw_orders", "ada")
		a.skipNux()
		before := strings.Count(w.trail.String(), "mutations=wipeAssets")
		wipe(a, w)
		a.waitText("the wipe dialog's result", "1 Wiped")
		if strings.Count(w.trail.String(), `"event":"proxy_mutation"`) == 0 || strings.Count(w.trail.String(), "mutations=wipeAssets") <= before {
			t.Errorf("no allowed wipeAssets line in the trail:\n%s", w.trail.String())
		}
	})

	t.Run("a user without a role gets the no-access page", func(t *testing.T) {
		n := w.tab(t, browser)
		n.open("/runs/"+runID, "nobody")
		n.waitText("the no-access page", "No access to Dagster")
		n.waitText("who they are", "nobody@example.com")
	})

	trail := w.trail.String()
	for _, want := range []string{"field=launchPipelineExecution needs=launcher", "field=startSchedule needs=editor", "field=wipeAssets needs=admin", `"error_class":"no_role"`, "mutations=startSchedule"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the audit trail lacks %q", want)
		}
	}
	for _, pii := range []string{"vera", "lena", "eddie", "nobody", "example.com"} {
		if strings.Contains(trail, pii) {
			t.Errorf("the audit trail names %q", pii)
		}
	}
}

// wipe opens raw_orders and confirms its Wipe materializations dialog.
func wipe(tb *tab, w *world) {
	tb.t.Helper()
	tb.do("open the asset", 60*time.Second, chromedp.Navigate(w.url+"/assets/raw_orders"), chromedp.WaitVisible(chromedp.Search(`//button[@role="button"]`)))
	tb.do("open its menu", 30*time.Second, chromedp.Click(chromedp.Search(`//button[@role="button"]`)))
	tb.do("choose Wipe materializations", 30*time.Second, chromedp.Click(chromedp.Search(`//*[contains(text(), "Wipe materializations")]`)))
	tb.do("confirm", 30*time.Second, chromedp.Click(chromedp.Search(`//*[@role="dialog"]//button[normalize-space(.)="Wipe"]`)))
}
