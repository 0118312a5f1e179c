package main

import (
	"fmt"
	"io"
	"slices"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// paired are the per-round figures of one contender on one scenario, each
// next to the same round's direct run.
type paired struct {
	P50, P99, RPS                []float64 // ms, ms, req/s
	AddedP50, AddedP99, RPSRatio []float64 // contender − direct (ms), contender / direct
}

// pairUp groups the runs by contender for one scenario, each round against
// that round's direct run.
func pairUp(runs []runResult, scenario string) map[string]*paired {
	type key struct {
		round int
		name  string
	}
	base := map[key]runResult{}
	for _, r := range runs {
		if r.Scenario == scenario && baseline(r.Contender) == r.Contender {
			base[key{r.Round, r.Contender}] = r
		}
	}
	out := map[string]*paired{}
	for _, r := range runs {
		if r.Scenario != scenario {
			continue
		}
		d, ok := base[key{r.Round, baseline(r.Contender)}]
		if !ok {
			continue
		}
		p := out[r.Contender]
		if p == nil {
			p = &paired{}
			out[r.Contender] = p
		}
		p.P50 = append(p.P50, ms(r.Stats.P50US))
		p.P99 = append(p.P99, ms(r.Stats.P99US))
		p.RPS = append(p.RPS, r.RPS)
		p.AddedP50 = append(p.AddedP50, ms(r.Stats.P50US)-ms(d.Stats.P50US))
		p.AddedP99 = append(p.AddedP99, ms(r.Stats.P99US)-ms(d.Stats.P99US))
		if d.RPS > 0 {
			p.RPSRatio = append(p.RPSRatio, r.RPS/d.RPS)
		}
	}
	return out
}

func ms(us int64) float64 { return float64(us) / 1000 }

func span(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f … %.2f", slices.Min(xs), slices.Max(xs))
}

// report prints the results as the Markdown tables of docs/performance.md.
func report(w io.Writer, res *results) {
	fmt.Fprintf(w, "Started %s, %d interleaved rounds × %s per run; wrk -t1 -c%d to dagster-webserver and the proxies in front of it, -c%d to the stub upstream and the proxies in front of it.\n\n",
		res.Started.Format("2006-01-02 15:04 UTC"), res.Rounds, res.Duration, res.Connections, res.StubConns)
	fmt.Fprintf(w, "- uptime before: `%s`\n- uptime after: `%s`\n", res.UptimeStart, res.UptimeEnd)
	var loads []float64
	for _, r := range res.Runs {
		loads = append(loads, r.Load1)
	}
	fmt.Fprintf(w, "- 1-minute load at the start of each run: %s (median %.2f)\n", span(loads), median(loads))
	fmt.Fprintf(w, "- CPU: %s, %s cores; kernel %s; harness %s\n", res.CPU, res.Versions["nproc"], res.Versions["kernel"], res.Go)
	for _, k := range []string{"dagster-webserver", "dagster-oidc", "oauth2-proxy", "dagster-authkit", "wrk"} {
		if v := res.Versions[k]; v != "" {
			fmt.Fprintf(w, "- %s: `%s`\n", k, v)
		}
	}
	if res.Refusal != "" {
		fmt.Fprintf(w, "- inspection on: the same session's admin-only mutation was refused: `%s`\n", res.Refusal)
	}
	for _, g := range []struct{ base, title, oidc, oauth2 string }{
		{cDirect, "in front of dagster-webserver", cOIDC, cOAuth2},
		{cStub, "in front of the stub upstream (the proxies' own cost)", cOIDCStub, cOAuth2Stub},
	} {
		for _, sc := range res.Scenarios {
			pr := pairUp(res.Runs, sc)
			pl := poolRuns(res.Runs, sc)
			if pr[g.base] == nil {
				continue
			}
			fmt.Fprintf(w, "\n%s, %s. Latency in ms of all rounds' requests pooled; added = contender − %s over the same rounds, "+
				"with a 95%% interval from resampling rounds; req/s and throughput ratio: medians over rounds.\n\n", sc, g.title, g.base)
			fmt.Fprintf(w, "| contender | p50 | p99 | req/s | added p50 | added p99 | added p99, 95%% interval | throughput / %s |\n", g.base)
			fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
			for _, c := range res.Contenders {
				x := pr[c]
				if x == nil || baseline(c) != g.base {
					continue
				}
				rounds := pl.rounds(c, g.base)
				p50, p99 := pl.percentile(c, rounds, 50), pl.percentile(c, rounds, 99)
				if c == g.base {
					fmt.Fprintf(w, "| %s | %.2f | %.2f | %.1f | — | — | — | 1.00 |\n", c, p50, p99, median(x.RPS))
					continue
				}
				lo, hi := pl.bootstrapRounds(c, g.base, rounds, 99)
				fmt.Fprintf(w, "| %s | %.2f | %.2f | %.1f | %+.2f | %+.2f | %+.2f … %+.2f | %.2f |\n", c, p50, p99, median(x.RPS),
					pl.diff(c, g.base, rounds, 50), pl.diff(c, g.base, rounds, 99), lo, hi, median(x.RPSRatio))
			}
			if pr[g.oidc] != nil && pr[g.oauth2] != nil {
				rounds := pl.rounds(g.oidc, g.oauth2)
				d := pl.diff(g.oidc, g.oauth2, rounds, 99)
				lo, hi := pl.bootstrapRounds(g.oidc, g.oauth2, rounds, 99)
				verdict := "met"
				if d > 0 {
					verdict = "not met"
				}
				if lo <= 0 && hi >= 0 {
					verdict += " (the interval holds 0: not told apart at this load)"
				}
				fmt.Fprintf(w, "\nTarget, added p99 of dagster-oidc proxy ≤ oauth2-proxy's: %s. dagster-oidc proxy p99 − oauth2-proxy p99 = %+.2f ms (95%% interval %+.2f … %+.2f); p50: %+.2f ms.\n",
					verdict, d, lo, hi, pl.diff(g.oidc, g.oauth2, rounds, 50))
			}
		}
	}
	errs := map[string]int64{}
	for _, r := range res.Runs {
		errs[r.Contender] += r.Stats.errors()
	}
	for _, c := range res.Contenders {
		if errs[c] > 0 {
			fmt.Fprintf(w, "\nSocket errors (wrk: connections closed under it), all runs of %s: %d.\n", c, errs[c])
		}
	}
	if len(res.WS) > 0 {
		fmt.Fprintln(w, "\nIdle graphql-ws connections (connection_init acknowledged), RSS of the process named:")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| contender | process | open | RSS before (MiB) | RSS after (MiB) | per connection (KiB) |")
		fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: |")
		for _, x := range res.WS {
			fmt.Fprintf(w, "| %s | %s | %d | %.1f | %.1f | %.1f |\n", x.Contender, x.Process, x.Open,
				float64(x.BeforeKiB)/1024, float64(x.AfterKiB)/1024, x.PerConnKB)
		}
	}
}
