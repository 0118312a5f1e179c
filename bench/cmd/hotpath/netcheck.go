//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// connects is how many connect(2) calls a target made, or why it was not counted.
type connects struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Calls []string `json:"calls,omitempty"`
	Note  string   `json:"note,omitempty"`
}

// countConnects runs each target once under strace and counts connect(2)
// calls: the warm path must make none (no IdP, no STS, no D-Bus). Without
// strace the stopped sandbox is the only proof, and the note says so.
func countConnects(ctx context.Context, env []string, targets []target) ([]connects, error) {
	out := make([]connects, len(targets))
	strace, err := exec.LookPath("strace")
	for i, t := range targets {
		out[i].Name = t.Name
		if err != nil {
			out[i].Count = -1
			out[i].Note = "strace not found; the stopped sandbox is the proof"
			continue
		}
		calls, err := straceCalls(ctx, strace, "connect", env, t.Argv)
		if err != nil {
			return nil, fmt.Errorf("%s under strace: %w", t.Name, err)
		}
		out[i].Count, out[i].Calls = len(calls), calls
	}
	return out, nil
}

// countFrontExecs runs a front target once under strace and returns its
// execve(2) calls, failing unless there is exactly one (its own start): a
// second is the full binary, and the front's row would time that instead.
// Without strace it returns -1.
func countFrontExecs(ctx context.Context, env []string, t target) (int, error) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		return -1, nil
	}
	calls, err := straceCalls(ctx, strace, "execve", env, t.Argv)
	if err != nil {
		return 0, fmt.Errorf("%s under strace: %w", t.Name, err)
	}
	if len(calls) != 1 {
		return 0, fmt.Errorf("%s made %d execve calls, want 1: it ran the full binary instead of answering from its record:\n%s", t.Name, len(calls), strings.Join(calls, "\n"))
	}
	return 1, nil
}

// straceCalls runs argv under strace -f and returns its lines of syscall.
func straceCalls(ctx context.Context, strace, syscall string, env, argv []string) ([]string, error) {
	dir, err := os.MkdirTemp("", "hotpath-strace-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "trace")
	args := append([]string{"-f", "-qq", "-e", "trace=" + syscall, "-o", log}, argv...)
	cmd := exec.CommandContext(ctx, strace, args...)
	cmd.Env = env
	cmd.Stdout = io.Discard
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, errOut.String())
	}
	data, err := os.ReadFile(log)
	if err != nil {
		return nil, err
	}
	return parseCalls(string(data), syscall), nil
}

// parseCalls returns strace's lines of syscall.
func parseCalls(trace, syscall string) []string {
	var calls []string
	for _, line := range strings.Split(trace, "\n") {
		if strings.Contains(line, syscall+"(") {
			calls = append(calls, strings.TrimSpace(line))
		}
	}
	return calls
}
