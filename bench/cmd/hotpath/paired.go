//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"time"
)

// pairedResult is one target's paired comparison with the baseline: pair i
// runs the baseline and the target back to back (the order alternating
// from pair to pair), so both see the same machine load, and the ratio is
// taken inside the pair. The median of those ratios is the headline figure:
// on a shared machine it moves far less than a ratio of two unpaired medians.
type pairedResult struct {
	Name string `json:"name"`
	// Baseline and Target are the wall times of each pair's two runs, in seconds.
	Baseline []float64 `json:"baseline"`
	Target   []float64 `json:"target"`
	// BaselineCPU and TargetCPU are the runs' user + system CPU times, in seconds.
	BaselineCPU []float64 `json:"baseline_cpu"`
	TargetCPU   []float64 `json:"target_cpu"`
}

// ratios are the per-pair wall-time ratios target / baseline.
func (p pairedResult) ratios() []float64 { return divide(p.Target, p.Baseline) }

// cpuRatios are the per-pair CPU-time ratios target / baseline.
func (p pairedResult) cpuRatios() []float64 { return divide(p.TargetCPU, p.BaselineCPU) }

func divide(num, den []float64) []float64 {
	out := make([]float64, 0, len(num))
	for i := range num {
		if den[i] > 0 {
			out = append(out, num[i]/den[i])
		}
	}
	return out
}

// pairedRun is the paired part of a benchmark run.
type pairedRun struct {
	Pairs   int            `json:"pairs"`
	Warmup  int            `json:"warmup"`
	Results []pairedResult `json:"results"`
	// Load is /proc/loadavg's 1-minute figure, sampled every 50 pairs.
	Load []float64 `json:"load"`
}

// timePaired runs o.Pairs pairs of (baseline, target) for every target,
// interleaved: pair i of every target is run before pair i+1 of any, so a
// drift of the machine's load spreads over all targets alike. Even pairs
// run the baseline first, odd pairs the target first.
func timePaired(ctx context.Context, o options, env []string, baseline target, targets []target) (*pairedRun, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	run := &pairedRun{Pairs: o.Pairs, Warmup: o.PairWarmup}
	for _, t := range targets {
		run.Results = append(run.Results, pairedResult{Name: t.Name})
	}
	for range o.PairWarmup {
		for _, t := range append([]target{baseline}, targets...) {
			if _, _, err := timeOnce(t.Argv, t.environ(env), devnull); err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
		}
	}
	for i := range o.Pairs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if i%50 == 0 {
			run.Load = append(run.Load, load1())
		}
		for j, t := range targets {
			first, second := baseline, t
			if i%2 == 1 {
				first, second = t, baseline
			}
			w1, c1, err := timeOnce(first.Argv, first.environ(env), devnull)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", first.Name, err)
			}
			w2, c2, err := timeOnce(second.Argv, second.environ(env), devnull)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", second.Name, err)
			}
			if i%2 == 1 {
				w1, c1, w2, c2 = w2, c2, w1, c1
			}
			r := &run.Results[j]
			r.Baseline, r.BaselineCPU = append(r.Baseline, w1), append(r.BaselineCPU, c1)
			r.Target, r.TargetCPU = append(r.Target, w2), append(r.TargetCPU, c2)
		}
	}
	run.Load = append(run.Load, load1())
	return run, nil
}

// load1 is the 1-minute load average (-1 when unreadable).
func load1() float64 {
	var l float64
	if _, err := fmt.Sscan(firstLine("/proc/loadavg"), &l); err != nil {
		return -1
	}
	return l
}

// timeOnce starts argv with stdin, stdout and stderr on /dev/null, waits for
// it, and returns its wall time (start to reaped) and user + system CPU time.
// A non-zero exit is an error: a failing warm path must not be timed.
func timeOnce(argv, env []string, devnull *os.File) (wall, cpu float64, err error) {
	attr := &os.ProcAttr{Env: env, Files: []*os.File{devnull, devnull, devnull}}
	start := time.Now()
	p, err := os.StartProcess(argv[0], argv, attr)
	if err != nil {
		return 0, 0, err
	}
	st, err := p.Wait()
	wall = time.Since(start).Seconds()
	if err != nil {
		return 0, 0, err
	}
	if !st.Success() {
		return 0, 0, fmt.Errorf("%s", st)
	}
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, errors.New("no rusage for the child")
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return wall, cpu, nil
}

// interval is a median with a spread: the interquartile range of the
// values and a bootstrap 95% confidence interval of their median.
type interval struct {
	Median, P25, P75, CILow, CIHigh float64
}

// summarise computes xs' interval; the bootstrap uses a fixed seed, so the
// same values always print the same interval.
func summarise(xs []float64) interval {
	if len(xs) == 0 {
		return interval{}
	}
	iv := interval{Median: median(xs), P25: quantile(xs, 0.25), P75: quantile(xs, 0.75)}
	const resamples = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	meds := make([]float64, resamples)
	sample := make([]float64, len(xs))
	for r := range meds {
		for i := range sample {
			sample[i] = xs[rng.IntN(len(xs))]
		}
		meds[r] = median(sample)
	}
	slices.Sort(meds)
	iv.CILow, iv.CIHigh = meds[resamples*25/1000], meds[resamples*975/1000-1]
	return iv
}
