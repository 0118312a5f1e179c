//go:build linux

package main

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// machine describes where the benchmark ran.
type machine struct {
	NProc      int    `json:"nproc"`
	CPU        string `json:"cpu"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"` // the toolchain that built dagster-oidc
	Hyperfine  string `json:"hyperfine"`
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

func describeMachine(cli, hyperfine string) machine {
	m := machine{NProc: runtime.NumCPU(), CPU: cpuModel(), Kernel: firstLine("/proc/sys/kernel/osrelease"), LoadBefore: loadAverage()}
	if bi, err := buildinfo.ReadFile(cli); err == nil {
		m.GoVersion = bi.GoVersion
	}
	if out, err := exec.Command(hyperfine, "--version").Output(); err == nil {
		m.Hyperfine = strings.TrimSpace(string(out))
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAverage is the 1, 5 and 15 minute load of /proc/loadavg.
func loadAverage() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func firstLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(line)
}

// absExisting resolves p and checks that it exists.
func absExisting(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(a); err != nil {
		return "", fmt.Errorf("%s: %w (run make build first)", p, err)
	}
	return a, nil
}
