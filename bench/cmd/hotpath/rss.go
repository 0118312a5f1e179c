//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// rss is one target's peak resident set sizes, in KiB, one per run.
type rss struct {
	Name string  `json:"name"`
	KiB  []int64 `json:"kib"`
}

// timeBinary is GNU time, whose %M is the child's ru_maxrss in KiB.
const timeBinary = "/usr/bin/time"

// measureRSS runs each target n times under GNU time and reads its peak
// RSS. Not getrusage from this process: Go starts children with
// CLONE_VM|CLONE_VFORK, so a child's ru_maxrss starts at the (large)
// harness's RSS; GNU time is a small C program and forks.
func measureRSS(ctx context.Context, env []string, targets []target, n int) ([]rss, error) {
	if _, err := os.Stat(timeBinary); err != nil {
		return nil, fmt.Errorf("peak RSS needs GNU time at %s (Debian package time): %w", timeBinary, err)
	}
	dir, err := os.MkdirTemp("", "hotpath-rss-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := make([]rss, len(targets))
	for i, t := range targets {
		out[i].Name = t.Name
	}
	report := filepath.Join(dir, "maxrss")
	for range n {
		for i, t := range targets {
			args := append([]string{"-f", "%M", "-o", report}, t.Argv...)
			cmd := exec.CommandContext(ctx, timeBinary, args...)
			cmd.Env = t.environ(env)
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			kib, err := readMaxRSS(report)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			out[i].KiB = append(out[i].KiB, kib)
		}
	}
	return out, nil
}

// readMaxRSS reads GNU time's -f %M report: one number, KiB.
func readMaxRSS(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("could not read GNU time's report %q: %w", data, err)
	}
	return kib, nil
}

// kibStats returns the median and maximum of a run's peak RSS values, in MiB.
func kibStats(kib []int64) (med, peak float64) {
	fs := make([]float64, len(kib))
	for i, k := range kib {
		fs[i] = float64(k) / 1024
		peak = max(peak, fs[i])
	}
	return median(fs), peak
}
