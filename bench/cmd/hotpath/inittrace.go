//go:build linux

package main

import (
	"bufio"
	"cmp"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// initLine matches one line of GODEBUG=inittrace=1, e.g.
// "init net/http @1.2 ms, 0.31 ms clock, 51200 bytes, 520 allocs".
var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

// pkgInit is one package's initialisation.
type pkgInit struct {
	Pkg     string
	At      float64 // ms since the runtime started
	ClockMS float64
	Bytes   int64
}

// parseInitTrace reads the init lines of one run's stderr.
func parseInitTrace(r io.Reader) ([]pkgInit, error) {
	var out []pkgInit
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		at, err1 := strconv.ParseFloat(m[2], 64)
		clock, err2 := strconv.ParseFloat(m[3], 64)
		b, err3 := strconv.ParseInt(m[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unreadable inittrace line %q", sc.Text())
		}
		out = append(out, pkgInit{Pkg: m[1], At: at, ClockMS: clock, Bytes: b})
	}
	return out, sc.Err()
}

// moduleOf maps a package to its module: the longest module path that is
// the package or a parent of it; "std" for the standard library.
func moduleOf(pkg string, modules []string) string {
	best := ""
	for _, m := range modules {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best != "" {
		return best
	}
	if first, _, _ := strings.Cut(pkg, "/"); !strings.Contains(first, ".") {
		return "std"
	}
	return pkg
}

// binaryModules lists the main module and dependencies recorded in a Go binary.
func binaryModules(path string) ([]string, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read the build info of %s: %w", path, err)
	}
	mods := []string{bi.Main.Path}
	for _, d := range bi.Deps {
		mods = append(mods, d.Path)
	}
	return mods, nil
}

// moduleInit is one module's share of start-up, medians over the runs.
type moduleInit struct {
	Module   string  `json:"module"`
	Packages int     `json:"packages"`
	ClockMS  float64 `json:"clock_ms"`
	KiB      float64 `json:"kib"`
}

// initReport is the aggregated inittrace of a binary.
type initReport struct {
	Runs int `json:"runs"`
	// TotalMS is the median sum of every init's clock time.
	TotalMS float64 `json:"total_ms"`
	// MainAtMS is the median time from the runtime's start to the end of
	// the last init, i.e. when main.main starts.
	MainAtMS float64 `json:"main_at_ms"`
	// BaselineTotalMS and BaselineMainAtMS are the same for the baseline.
	BaselineTotalMS  float64      `json:"baseline_total_ms"`
	BaselineMainAtMS float64      `json:"baseline_main_at_ms"`
	Modules          []moduleInit `json:"modules"`
	// Packages are the heaviest single package inits (median clock).
	Packages []packageInit `json:"packages,omitempty"`
}

// packageInit is one package's median init clock time over the runs.
type packageInit struct {
	Package string  `json:"package"`
	ClockMS float64 `json:"clock_ms"`
}

// traceInits runs aws credential-process (targets[1]) and the baseline
// (targets[0]) o.InitRuns times each with GODEBUG=inittrace=1 and takes
// per-module medians.
func traceInits(ctx context.Context, env []string, o options, targets []target) (*initReport, error) {
	mods, err := binaryModules(o.CLI)
	if err != nil {
		return nil, err
	}
	rep := &initReport{Runs: o.InitRuns}
	perModule := map[string][]float64{}
	perModuleKiB := map[string][]float64{}
	pkgs := map[string]map[string]bool{}
	perPackage := map[string][]float64{}
	var totals, mainAt, baseTotals, baseMainAt []float64
	for range o.InitRuns {
		inits, err := traceOnce(ctx, env, targets[1].Argv)
		if err != nil {
			return nil, err
		}
		sum := map[string]float64{}
		kib := map[string]float64{}
		total, last := 0.0, 0.0
		for _, in := range inits {
			m := moduleOf(in.Pkg, mods)
			sum[m] += in.ClockMS
			kib[m] += float64(in.Bytes) / 1024
			if pkgs[m] == nil {
				pkgs[m] = map[string]bool{}
			}
			pkgs[m][in.Pkg] = true
			perPackage[in.Pkg] = append(perPackage[in.Pkg], in.ClockMS)
			total += in.ClockMS
			last = max(last, in.At+in.ClockMS)
		}
		for m := range pkgs {
			perModule[m] = append(perModule[m], sum[m])
			perModuleKiB[m] = append(perModuleKiB[m], kib[m])
		}
		totals, mainAt = append(totals, total), append(mainAt, last)

		base, err := traceOnce(ctx, env, targets[0].Argv)
		if err != nil {
			return nil, err
		}
		bt, bl := 0.0, 0.0
		for _, in := range base {
			bt += in.ClockMS
			bl = max(bl, in.At+in.ClockMS)
		}
		baseTotals, baseMainAt = append(baseTotals, bt), append(baseMainAt, bl)
	}
	rep.TotalMS, rep.MainAtMS = median(totals), median(mainAt)
	rep.BaselineTotalMS, rep.BaselineMainAtMS = median(baseTotals), median(baseMainAt)
	for m, xs := range perModule {
		rep.Modules = append(rep.Modules, moduleInit{Module: m, Packages: len(pkgs[m]), ClockMS: median(xs), KiB: median(perModuleKiB[m])})
	}
	for p, xs := range perPackage {
		for len(xs) < o.InitRuns {
			xs = append(xs, 0)
		}
		rep.Packages = append(rep.Packages, packageInit{Package: p, ClockMS: median(xs)})
	}
	slices.SortFunc(rep.Packages, func(a, b packageInit) int {
		if c := cmp.Compare(b.ClockMS, a.ClockMS); c != 0 {
			return c
		}
		return strings.Compare(a.Package, b.Package)
	})
	rep.Packages = rep.Packages[:min(len(rep.Packages), 12)]
	slices.SortFunc(rep.Modules, func(a, b moduleInit) int {
		if a.ClockMS != b.ClockMS {
			if a.ClockMS > b.ClockMS {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Module, b.Module)
	})
	return rep, nil
}

func traceOnce(ctx context.Context, env, argv []string) ([]pkgInit, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(slices.Clone(env), "GODEBUG=inittrace=1")
	cmd.Stdout = io.Discard
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s with inittrace: %w\n%s", strings.Join(argv, " "), err, errOut.String())
	}
	return parseInitTrace(strings.NewReader(errOut.String()))
}
