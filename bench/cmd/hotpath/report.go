//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// results is everything one benchmark run measured.
type results struct {
	Machine      machine    `json:"machine"`
	Cache        string     `json:"cache"`
	WarmRequests int        `json:"warm_requests"`
	Connects     []connects `json:"connects"`
	// FrontExecs is the front's execve(2) calls under strace per command: 1
	// when it answered alone, -1 when strace was missing, 0 without a front.
	FrontExecs int         `json:"front_execs,omitempty"`
	Paired     *pairedRun  `json:"paired"`
	Timing     []timing    `json:"timing,omitempty"`
	RSS        []rss       `json:"rss"`
	Init       *initReport `json:"init,omitempty"`
}

// mean of xs; 0 for none.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// pairedBaselines are the baseline times of every target's pairs.
func pairedBaselines(p *pairedRun) [][]float64 {
	var out [][]float64
	for _, pr := range p.Results {
		out = append(out, pr.Baseline)
	}
	return out
}

// readResults reads a file writeJSON wrote.
func readResults(path string) (*results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("could not read %s: %w", path, err)
	}
	if r.Paired == nil || len(r.Paired.Results) == 0 || len(r.RSS) != len(r.Paired.Results)+1 {
		return nil, fmt.Errorf("%s holds no benchmark results", path)
	}
	return &r, nil
}

func (r *results) writeJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// print writes the Markdown tables docs/performance.md records.
func (r *results) print(w io.Writer, top int) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Machine: %d CPUs, %s, kernel %s, %s, %s; load average %s before, %s after.\n\n",
		m.NProc, m.CPU, m.Kernel, m.GoVersion, m.Hyperfine, m.LoadBefore, m.LoadAfter)
	p := r.Paired
	fmt.Fprintf(&b, "Warm path, cache: %s. Paired runs: %d pairs per command (baseline and command back to back, order alternating), %d warm-up runs; 1-minute load average %.2f–%.2f during them.\n\n",
		r.Cache, p.Pairs, p.Warmup, slices.Min(p.Load), slices.Max(p.Load))
	b.WriteString("| command | median of per-pair ratios | IQR | 95% CI of the median | CPU ratio (median, IQR) | median ms (command / baseline) | peak RSS median (max) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	rssMed, rssMax := kibStats(r.RSS[0].KiB)
	fmt.Fprintf(&b, "| %s | 1.00 | | | 1.00 | %.2f | %.1f MiB (%.1f) |\n", baselineName, 1000*median(slices.Concat(pairedBaselines(p)...)), rssMed, rssMax)
	for i, pr := range p.Results {
		w, c := summarise(pr.ratios()), summarise(pr.cpuRatios())
		rssMed, rssMax := kibStats(r.RSS[i+1].KiB)
		fmt.Fprintf(&b, "| %s | **%.2f** | %.2f–%.2f | %.2f–%.2f | %.2f (%.2f–%.2f) | %.2f / %.2f | %.1f MiB (%.1f) |\n", pr.Name, w.Median, w.P25, w.P75, w.CILow, w.CIHigh,
			c.Median, c.P25, c.P75, 1000*median(pr.Target), 1000*median(pr.Baseline), rssMed, rssMax)
	}
	if len(r.Timing) > 0 {
		base := median(r.Timing[0].Times)
		baseCPU := mean(r.Timing[0].RoundCPU)
		fmt.Fprintf(&b, "\nUnpaired, hyperfine -N (%d runs per command in %d rounds; times in ms)\n\n", len(r.Timing[0].Times), len(r.Timing[0].RoundMedians))
		if r.FrontExecs != 0 {
			b.WriteString("The warm front has no row here: hyperfine puts a variable of random length in each run's environment, so every run would be a call the front has never seen.\n\n")
		}
		b.WriteString("| command | median | p10 | p90 | median / baseline | per-round ratios | CPU (user+sys) | CPU / baseline |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n")
		for _, t := range r.Timing {
			med := median(t.Times)
			var ratios []string
			for j, rm := range t.RoundMedians {
				ratios = append(ratios, fmt.Sprintf("%.2f", rm/r.Timing[0].RoundMedians[j]))
			}
			cpu := mean(t.RoundCPU)
			fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.2f | %s | %.2f | %.2f |\n", t.Name, med*1000,
				quantile(t.Times, 0.1)*1000, quantile(t.Times, 0.9)*1000, med/base, strings.Join(ratios, ", "), cpu*1000, cpu/baseCPU)
		}
	}
	fmt.Fprintf(&b, "\nNetwork on the warm path: %d provider/STS requests while the sandbox was up; then the sandbox was stopped and every timed run still succeeded.", r.WarmRequests)
	for _, c := range r.Connects {
		if c.Count < 0 {
			fmt.Fprintf(&b, " %s: %s.", c.Name, c.Note)
			continue
		}
		fmt.Fprintf(&b, " %s: %d connect(2) calls under strace.", c.Name, c.Count)
		for _, call := range c.Calls {
			fmt.Fprintf(&b, "\n    %s", call)
		}
	}
	switch r.FrontExecs {
	case 1:
		b.WriteString(" The warm front answered each command alone: 1 execve(2) call under strace, its own.")
	case -1:
		b.WriteString(" The warm front's execve(2) calls were not counted (no strace).")
	}
	b.WriteString("\n")
	if in := r.Init; in != nil {
		fmt.Fprintf(&b, "\nStart-up by module, GODEBUG=inittrace=1, `aws credential-process`, median of %d runs: inits take %.3f ms (baseline %.3f ms); main starts at %.3f ms (baseline %.3f ms).\n\n",
			in.Runs, in.TotalMS, in.BaselineTotalMS, in.MainAtMS, in.BaselineMainAtMS)
		b.WriteString("| module | packages with init work | init clock (ms) | share | allocated (KiB) |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: |\n")
		for i, mi := range in.Modules {
			if i == top {
				break
			}
			share := 0.0
			if in.TotalMS > 0 {
				share = 100 * mi.ClockMS / in.TotalMS
			}
			fmt.Fprintf(&b, "| %s | %d | %.3f | %.0f%% | %.1f |\n", mi.Module, mi.Packages, mi.ClockMS, share, mi.KiB)
		}
		if len(in.Packages) > 0 {
			var heavy []string
			for _, p := range in.Packages {
				heavy = append(heavy, fmt.Sprintf("%s %.3f", p.Package, p.ClockMS))
			}
			fmt.Fprintf(&b, "\nHeaviest package inits (median ms): %s.\n", strings.Join(heavy, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
