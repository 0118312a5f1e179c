//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// target is one timed program: a name for the table, its argv, and
// variables added to the benchmark's environment for it alone.
type target struct {
	Name string
	Argv []string
	Env  []string
}

// environ is env with t's own variables, which replace any of the same name.
func (t target) environ(env []string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.ContainsFunc(t.Env, func(own string) bool { return strings.HasPrefix(own, k+"=") })
	})
	return append(out, t.Env...)
}

// timing is one target's wall times over every round, in seconds.
type timing struct {
	Name  string    `json:"name"`
	Times []float64 `json:"times"`
	// RoundMedians are the per-round medians, to show the drift between rounds.
	RoundMedians []float64 `json:"round_medians"`
	// RoundCPU are the per-round means of user + system CPU time: unlike
	// wall time, they leave out the waits for a core on a shared machine.
	RoundCPU []float64 `json:"round_cpu"`
}

// hyperfineExport is the part of hyperfine's --export-json we read.
type hyperfineExport struct {
	Results []struct {
		Command string    `json:"command"`
		Times   []float64 `json:"times"`
		User    float64   `json:"user"`
		System  float64   `json:"system"`
	} `json:"results"`
}

// measured is one command's result in one hyperfine run.
type measured struct {
	Times []float64
	CPU   float64 // mean user + system seconds
}

// parseHyperfine reads hyperfine's --export-json by command name.
func parseHyperfine(data []byte) (map[string]measured, error) {
	var ex hyperfineExport
	if err := json.Unmarshal(data, &ex); err != nil {
		return nil, fmt.Errorf("could not read hyperfine's JSON: %w", err)
	}
	out := map[string]measured{}
	for _, r := range ex.Results {
		if len(r.Times) == 0 {
			return nil, fmt.Errorf("hyperfine reported no times for %q", r.Command)
		}
		out[r.Command] = measured{Times: r.Times, CPU: r.User + r.System}
	}
	return out, nil
}

// timeTargets runs hyperfine once per round with every target, the order
// rotated each round so that a drifting machine load does not always favour
// the same one, and pools the times.
func timeTargets(ctx context.Context, o options, env []string, targets []target) ([]timing, error) {
	dir, err := os.MkdirTemp("", "hotpath-hyperfine-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	byName := map[string]*timing{}
	var out []timing
	for _, t := range targets {
		if len(t.Env) == 0 {
			out = append(out, timing{Name: t.Name})
		}
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}
	for round := range o.Rounds {
		order := slices.Concat(targets[round%len(targets):], targets[:round%len(targets)])
		export := filepath.Join(dir, "round"+strconv.Itoa(round)+".json")
		args := []string{"-N", "--style", "none", "--warmup", strconv.Itoa(o.Warmup), "--runs", strconv.Itoa(o.Runs), "--export-json", export}
		for _, t := range order {
			if len(t.Env) > 0 {
				continue // hyperfine -N sets no per-command environment; paired runs only
			}
			args = append(args, "--command-name", t.Name, shellJoin(t.Argv))
		}
		cmd := exec.CommandContext(ctx, o.Hyperfine, args...)
		cmd.Env = env
		cmd.Stderr = os.Stderr
		if msg, err := cmd.Output(); err != nil {
			return nil, fmt.Errorf("hyperfine failed: %w\n%s", err, msg)
		}
		data, err := os.ReadFile(export)
		if err != nil {
			return nil, err
		}
		times, err := parseHyperfine(data)
		if err != nil {
			return nil, err
		}
		for _, t := range targets {
			if len(t.Env) > 0 {
				continue
			}
			ms, ok := times[t.Name]
			if !ok {
				return nil, fmt.Errorf("hyperfine's JSON has no result for %q", t.Name)
			}
			tm := byName[t.Name]
			tm.Times = append(tm.Times, ms.Times...)
			tm.RoundMedians = append(tm.RoundMedians, median(ms.Times))
			tm.RoundCPU = append(tm.RoundCPU, ms.CPU)
		}
	}
	return out, nil
}

// shellJoin quotes argv for hyperfine -N, which splits words like a shell.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`") {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
	}
	return strings.Join(q, " ")
}

// median of xs (which it sorts a copy of); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// quantile of xs by nearest rank, q in [0,1].
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return s[i]
}
