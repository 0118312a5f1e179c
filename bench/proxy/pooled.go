package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// dist is one wrk run's latency histogram, sorted, with cumulative counts.
type dist struct {
	v, cum []int64
}

func newDist(h [][2]int64) dist {
	h = slices.Clone(h)
	slices.SortFunc(h, func(a, b [2]int64) int { return int(a[0] - b[0]) })
	d := dist{v: make([]int64, len(h)), cum: make([]int64, len(h))}
	var n int64
	for i, x := range h {
		n += x[1]
		d.v[i], d.cum[i] = x[0], n
	}
	return d
}

// atMost is how many samples are ≤ x µs.
func (d dist) atMost(x int64) int64 {
	i := sort.Search(len(d.v), func(i int) bool { return d.v[i] > x })
	if i == 0 {
		return 0
	}
	return d.cum[i-1]
}

func (d dist) total() int64 {
	if len(d.cum) == 0 {
		return 0
	}
	return d.cum[len(d.cum)-1]
}

// pooledPercentile is the p-th percentile (ms) of the samples of ds merged:
// the smallest value with at least ⌈p% of all⌉ samples at or below it.
func pooledPercentile(ds []dist, p float64) float64 {
	var total, hi int64
	for _, d := range ds {
		total += d.total()
		if len(d.v) > 0 {
			hi = max(hi, d.v[len(d.v)-1])
		}
	}
	if total == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(p/100*float64(total))), 1)
	lo := int64(0)
	for lo < hi {
		mid := lo + (hi-lo)/2
		var n int64
		for _, d := range ds {
			n += d.atMost(mid)
		}
		if n >= rank {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return float64(lo) / 1000
}

// pooled are one scenario's histograms by contender and round.
type pooled map[string]map[int]dist

func poolRuns(runs []runResult, scenario string) pooled {
	p := pooled{}
	for _, r := range runs {
		if r.Scenario != scenario {
			continue
		}
		if p[r.Contender] == nil {
			p[r.Contender] = map[int]dist{}
		}
		p[r.Contender][r.Round] = newDist(r.Stats.Hist)
	}
	return p
}

// rounds are the rounds in which every one of names ran.
func (p pooled) rounds(names ...string) []int {
	var out []int
	for r := range p[names[0]] {
		ok := true
		for _, n := range names[1:] {
			if _, has := p[n][r]; !has {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// percentile is c's pooled percentile over rounds.
func (p pooled) percentile(c string, rounds []int, q float64) float64 {
	ds := make([]dist, 0, len(rounds))
	for _, r := range rounds {
		ds = append(ds, p[c][r])
	}
	return pooledPercentile(ds, q)
}

// diff is a's pooled q-th percentile minus b's, over the same rounds.
func (p pooled) diff(a, b string, rounds []int, q float64) float64 {
	return p.percentile(a, rounds, q) - p.percentile(b, rounds, q)
}

// bootstrapRounds is a 95% interval of diff(a, b) when the rounds (the
// unit both contenders share the load of) are resampled with replacement:
// 2,000 resamples, fixed seed.
func (p pooled) bootstrapRounds(a, b string, rounds []int, q float64) (lo, hi float64) {
	if len(rounds) < 2 {
		d := p.diff(a, b, rounds, q)
		return d, d
	}
	rng := rand.New(rand.NewPCG(17, 17))
	const n = 2000
	out := make([]float64, n)
	pick := make([]int, len(rounds))
	for i := range out {
		for j := range pick {
			pick[j] = rounds[rng.IntN(len(rounds))]
		}
		out[i] = p.diff(a, b, pick, q)
	}
	slices.Sort(out)
	return out[n*25/1000], out[n*975/1000-1]
}
