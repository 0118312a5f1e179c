package main

import (
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseWrk(t *testing.T) {
	out := []byte("Running 5s test @ http://127.0.0.1:1/graphql\n  1 threads and 4 connections\n" +
		`{"requests":200,"duration_us":5000000,"bytes":1000,"connect_errors":0,"read_errors":0,"write_errors":0,"status_errors":1,"timeouts":0,"p50_us":1500,"p90_us":2500,"p99_us":9000,"mean_us":1700.5,"max_us":12000}` + "\n")
	w, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if w.Requests != 200 || w.P50US != 1500 || w.P99US != 9000 || w.RPS() != 40 || w.errors() != 1 {
		t.Errorf("parseWrk = %+v (rps %v, errors %d)", w, w.RPS(), w.errors())
	}
	if _, err := parseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused\n")); err == nil {
		t.Error("no result line: no error")
	}
}

func mkRun(round int, contender, scenario string, p50, p99 int64, rps float64) runResult {
	return runResult{Round: round, Contender: contender, Scenario: scenario,
		Stats: wrkStats{P50US: p50, P99US: p99, Requests: int64(rps * 5), DurationUS: 5e6}, RPS: rps}
}

func TestPairUpTakesEachRoundAgainstItsOwnBaseline(t *testing.T) {
	runs := []runResult{
		// Round 0 is slow for everyone, round 1 fast: the added latency holds still.
		mkRun(0, cDirect, "q", 100_000, 300_000, 40),
		mkRun(0, cOIDC, "q", 101_000, 302_000, 38),
		mkRun(0, cOAuth2, "q", 101_500, 304_000, 36),
		mkRun(1, cDirect, "q", 50_000, 100_000, 80),
		mkRun(1, cOIDC, "q", 51_000, 102_000, 76),
		mkRun(1, cOAuth2, "q", 51_500, 105_000, 72),
		mkRun(0, cStub, "q", 100, 400, 9000),
		mkRun(0, cOIDCStub, "q", 400, 1_400, 3000),
		mkRun(0, cDirect, "m", 1, 1, 1), // another scenario: ignored
	}
	p := pairUp(runs, "q")
	cases := []struct {
		name             string
		addedP50, addP99 []float64
		ratio            []float64
	}{
		{cDirect, []float64{0, 0}, []float64{0, 0}, []float64{1, 1}},
		{cOIDC, []float64{1, 1}, []float64{2, 2}, []float64{0.95, 0.95}},
		{cOAuth2, []float64{1.5, 1.5}, []float64{4, 5}, []float64{0.9, 0.9}},
		{cOIDCStub, []float64{0.3}, []float64{1}, []float64{1.0 / 3}},
	}
	for _, c := range cases {
		x := p[c.name]
		if x == nil {
			t.Fatalf("%s: no pairs", c.name)
		}
		if !approx(x.AddedP50, c.addedP50) || !approx(x.AddedP99, c.addP99) || !approx(x.RPSRatio, c.ratio) {
			t.Errorf("%s: added p50 %v p99 %v ratio %v, want %v %v %v", c.name, x.AddedP50, x.AddedP99, x.RPSRatio, c.addedP50, c.addP99, c.ratio)
		}
	}
}

func TestPooledPercentiles(t *testing.T) {
	// Round 0: 98 samples at 1 ms, 2 at 50 ms; round 1: 100 at 2 ms.
	runs := []runResult{
		{Round: 0, Contender: cOIDC, Scenario: "q", Stats: wrkStats{Hist: [][2]int64{{50_000, 2}, {1000, 98}}}},
		{Round: 1, Contender: cOIDC, Scenario: "q", Stats: wrkStats{Hist: [][2]int64{{2000, 100}}}},
		{Round: 0, Contender: cOAuth2, Scenario: "q", Stats: wrkStats{Hist: [][2]int64{{1500, 100}}}},
		{Round: 1, Contender: cOAuth2, Scenario: "q", Stats: wrkStats{Hist: [][2]int64{{2500, 100}}}},
	}
	p := poolRuns(runs, "q")
	rounds := p.rounds(cOIDC, cOAuth2)
	if !slices.Equal(rounds, []int{0, 1}) {
		t.Fatalf("rounds = %v", rounds)
	}
	for _, c := range []struct {
		name string
		q    float64
		want float64
	}{
		{cOIDC, 50, 2}, {cOIDC, 49, 1}, {cOIDC, 99, 2}, {cOIDC, 99.5, 50}, {cOIDC, 100, 50},
		{cOAuth2, 50, 1.5}, {cOAuth2, 99, 2.5},
	} {
		if got := p.percentile(c.name, rounds, c.q); got != c.want {
			t.Errorf("%s p%v = %v, want %v", c.name, c.q, got, c.want)
		}
	}
	if d := p.diff(cOIDC, cOAuth2, rounds, 99.5); d != 47.5 {
		t.Errorf("diff p99.5 = %v", d)
	}
	lo, hi := p.bootstrapRounds(cOIDC, cOAuth2, rounds, 50)
	// Resampling two rounds: {0,0} gives 1 − 1.5, {1,1} 2 − 2.5, {0,1} 2 − 1.5.
	if lo != -0.5 || hi != 0.5 {
		t.Errorf("bootstrap p50 interval = %v … %v", lo, hi)
	}
	if got := pooledPercentile(nil, 99); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

func approx(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-9 || d < -1e-9 {
			return false
		}
	}
	return true
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestRotateGivesEveryPositionOnce(t *testing.T) {
	order := []string{"a", "b", "c", "d"}
	first := map[string]int{}
	for r := 0; r < len(order); r++ {
		got := rotate(order, r)
		if len(got) != len(order) {
			t.Fatalf("rotate(%d) = %v", r, got)
		}
		first[got[0]]++
	}
	for _, n := range order {
		if first[n] != 1 {
			t.Errorf("%s went first %d times in %d rounds", n, first[n], len(order))
		}
	}
	if got := rotate(order, 5); !slices.Equal(got, []string{"b", "c", "d", "a"}) {
		t.Errorf("rotate(5) = %v", got)
	}
}

func TestWanted(t *testing.T) {
	for _, c := range []struct {
		only, name string
		want       bool
	}{
		{"", cOAuth2Stub, true},
		{"oauth2-proxy", cDirect, true},
		{"oauth2-proxy", cOAuth2, true},
		{"oauth2-proxy", cOIDC, false},
		{"oauth2-proxy", cOAuth2Stub, false},
		{"oauth2-proxy,stub", cOAuth2Stub, true},
		{"oauth2-proxy,stub", cStub, true},
		{"dagster-oidc", cOIDC, true},
		{"dagster-oidc,stub", cOIDCStub, true},
		{"dagster-authkit", cAuthkit, true},
	} {
		if got := wanted(c.only, c.name); got != c.want {
			t.Errorf("wanted(%q, %q) = %v, want %v", c.only, c.name, got, c.want)
		}
	}
}

func TestParseFlagsBounds(t *testing.T) {
	for _, args := range [][]string{
		{"-rounds", "0"}, {"-rounds", "51"}, {"-duration", "500ms"}, {"-duration", "3m"},
		{"-connections", "0"}, {"-stub-connections", "65"}, {"-ws", "-1"}, {"-ws", "2001"}, {"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o.Rounds != 8 || o.Connections != 4 || o.StubConns != 1 || o.WS != 200 {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

// TestDocumentedCommands parses every bench/proxy/run.sh and bin/bench-proxy
// line of docs/performance.md, so the documented commands keep working.
func TestDocumentedCommands(t *testing.T) {
	doc, err := os.ReadFile("../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(doc), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 || (f[0] != "bench/proxy/run.sh" && f[0] != "bin/bench-proxy") {
			continue
		}
		n++
		if _, err := parseFlags(f[1:], io.Discard); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
	if n < 2 {
		t.Errorf("found %d documented bench/proxy commands, want at least 2", n)
	}
}
