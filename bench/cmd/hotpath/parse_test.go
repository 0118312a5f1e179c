//go:build linux

package main

import (
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseInitTrace(t *testing.T) {
	trace := "init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"some other stderr line\n" +
		"init gopkg.in/yaml%2ev3 @1.5 ms, 0.25 ms clock, 25704 bytes, 212 allocs\n"
	got, err := parseInitTrace(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	want := []pkgInit{{Pkg: "internal/bytealg", At: 0.008}, {Pkg: "gopkg.in/yaml%2ev3", At: 1.5, ClockMS: 0.25, Bytes: 25704}}
	if len(got) != len(want) {
		t.Fatalf("got %d inits, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("init %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestModuleOf(t *testing.T) {
	mods := []string{"github.com/dagster-oidc/dagster-oidc", "github.com/expr-lang/expr", "gopkg.in/yaml%2ev3", "golang.org/x/oauth2", "golang.org/x/oauth2/google"}
	for pkg, want := range map[string]string{
		"runtime":                                           "std",
		"vendor/golang.org/x/net/http2":                     "std",
		"github.com/expr-lang/expr/vm":                      "github.com/expr-lang/expr",
		"gopkg.in/yaml%2ev3":                                "gopkg.in/yaml%2ev3",
		"golang.org/x/oauth2/internal":                      "golang.org/x/oauth2",
		"golang.org/x/oauth2/google":                        "golang.org/x/oauth2/google",
		"github.com/dagster-oidc/dagster-oidc/internal/env": "github.com/dagster-oidc/dagster-oidc",
		"example.com/unknown/pkg":                           "example.com/unknown/pkg",
	} {
		t.Run(pkg, func(t *testing.T) {
			if got := moduleOf(pkg, mods); got != want {
				t.Errorf("moduleOf(%q) = %q, want %q", pkg, got, want)
			}
		})
	}
}

func TestParseHyperfine(t *testing.T) {
	data := `{"results":[{"command":"baseline","mean":0.002,"user":0.001,"system":0.0005,"times":[0.002,0.003]},{"command":"token","times":[0.005],"user":0.004,"system":0.001}]}`
	got, err := parseHyperfine([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := got["baseline"]; len(b.Times) != 2 || b.CPU != 0.0015 {
		t.Errorf("baseline = %+v", b)
	}
	if tk := got["token"]; len(tk.Times) != 1 || tk.CPU != 0.005 {
		t.Errorf("token = %+v", tk)
	}
	if _, err := parseHyperfine([]byte(`{"results":[{"command":"x","times":[]}]}`)); err == nil {
		t.Error("a result without times was accepted")
	}
}

func TestParseCalls(t *testing.T) {
	trace := "123 openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY) = 3\n" +
		"123 execve(\"/bin/dagster-oidc-cached\", [\"dagster-oidc-cached\"], 0x7ffd /* 9 vars */) = 0\n" +
		"124 connect(3, {sa_family=AF_INET, sin_port=htons(443)}, 16) = -1 EINPROGRESS\n" +
		"124 +++ exited with 0 +++\n"
	for _, c := range []struct {
		syscall, want string
	}{{"connect", "AF_INET"}, {"execve", "dagster-oidc-cached"}} {
		got := parseCalls(trace, c.syscall)
		if len(got) != 1 || !strings.Contains(got[0], c.want) {
			t.Errorf("parseCalls(%s) = %q, want the one %s line", c.syscall, got, c.syscall)
		}
		if got := parseCalls("", c.syscall); len(got) != 0 {
			t.Errorf("parseCalls(\"\", %s) = %q", c.syscall, got)
		}
	}
}

func TestMedianAndQuantile(t *testing.T) {
	for _, tt := range []struct {
		xs       []float64
		med, q90 float64
	}{
		{nil, 0, 0},
		{[]float64{3}, 3, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
		{[]float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}, 5.5, 9},
	} {
		if got := median(tt.xs); got != tt.med {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.med)
		}
		if got := quantile(tt.xs, 0.9); got != tt.q90 {
			t.Errorf("quantile(%v, 0.9) = %v, want %v", tt.xs, got, tt.q90)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"/tmp/a b/dagster-oidc", "aws", "it's", ""})
	want := `'/tmp/a b/dagster-oidc' aws 'it'"'"'s' ''`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

func TestPairedRatios(t *testing.T) {
	p := pairedResult{Baseline: []float64{1, 2, 0, 4}, Target: []float64{2, 5, 3, 4}, BaselineCPU: []float64{1, 1, 1, 1}, TargetCPU: []float64{3, 3, 3, 3}}
	want := []float64{2, 2.5, 1} // the pair with a zero baseline is left out
	if got := p.ratios(); !slices.Equal(got, want) {
		t.Errorf("ratios() = %v, want %v", got, want)
	}
	if got := p.cpuRatios(); !slices.Equal(got, []float64{3, 3, 3, 3}) {
		t.Errorf("cpuRatios() = %v", got)
	}
}

func TestSummarise(t *testing.T) {
	var xs []float64
	for i := 1; i <= 101; i++ {
		xs = append(xs, float64(i))
	}
	iv := summarise(xs)
	if iv.Median != 51 || iv.P25 != 26 || iv.P75 != 76 {
		t.Errorf("median %v, IQR %v–%v; want 51, 26–76", iv.Median, iv.P25, iv.P75)
	}
	if !(iv.CILow < iv.Median && iv.Median < iv.CIHigh) || iv.CILow < 35 || iv.CIHigh > 67 {
		t.Errorf("95%% CI %v–%v does not bracket the median 51 closely", iv.CILow, iv.CIHigh)
	}
	if again := summarise(xs); again != iv {
		t.Errorf("summarise is not deterministic: %+v then %+v", iv, again)
	}
	if (summarise(nil) != interval{}) {
		t.Error("summarise(nil) is not zero")
	}
}

func TestTargetEnviron(t *testing.T) {
	tg := target{Env: []string{"DAGSTER_OIDC_CONFIG=/b.yaml"}}
	got := tg.environ([]string{"PATH=/bin", "DAGSTER_OIDC_CONFIG=/a.yaml", "DAGSTER_OIDC_CONFIG_X=1"})
	want := []string{"PATH=/bin", "DAGSTER_OIDC_CONFIG_X=1", "DAGSTER_OIDC_CONFIG=/b.yaml"}
	if !slices.Equal(got, want) {
		t.Errorf("environ() = %q, want %q", got, want)
	}
}

// TestDocumentedFlags parses every bench/run.sh and bin/bench-hotpath line
// of docs/performance.md, so the documented commands keep working.
func TestDocumentedFlags(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(doc), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		for len(f) > 0 && strings.Contains(f[0], "=") {
			f = f[1:] // BENCH_KEYRING=0
		}
		if len(f) == 0 || (f[0] != "bench/run.sh" && f[0] != "bin/bench-hotpath") {
			continue
		}
		n++
		if _, err := parseFlags(f[1:], io.Discard); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
	if n < 3 {
		t.Errorf("found %d documented commands, want at least 3", n)
	}
}
