package benchtab

import (
	"fmt"
	"slices"
	"strings"
)

// MedMax formats the median and the maximum of xs in milliseconds, such
// as "152.1 ms / 170.0 ms"; "-" when xs is empty.
func MedMax(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms / %.1f ms", Median(xs), slices.Max(xs))
}

// BoundRow is the row of a measurement in milliseconds whose goal is a
// bound on gokeepalived's own figure rather than a ratio: bound[i] is
// pair i's (the same for every pair, or each trial's own when it depends
// on what the trial met). The figures are the medians and maxima of both
// sides and the ratio column compares them pair by pair, as Row does. The
// goal is met only when every pair is within its bound; the verdict names
// the pair that came closest to its bound or went furthest past it.
func (p Pairs) BoundRow(measurement, goal string, bound []float64) Row {
	row := Row{Measurement: measurement, Gokeepalived: MedMax(p.G), Keepalived: MedMax(p.K), Ratio: p.RatioText()}
	if p.Len() == 0 || len(bound) != p.Len() {
		row.Goal = goal + ": no pairs: not met"
		return row
	}
	worst := 0
	for i := range p.G {
		if p.G[i]-bound[i] > p.G[worst]-bound[worst] {
			worst = i
		}
	}
	over := p.G[worst] - bound[worst]
	verdict := "met"
	if over > 0 {
		verdict = "not met"
	}
	row.Goal = fmt.Sprintf("%s; worst pair %.1f ms against %.1f ms (%+.1f ms): %s", goal, p.G[worst], bound[worst], over, verdict)
	return row
}

// Constant returns n copies of v: a bound alike for every pair.
func Constant(n int, v float64) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = v
	}
	return b
}

// PairsText lists every pair's figures in milliseconds, one line each,
// with gokeepalived's bound when bound has one for the pair, so that a
// log shows what a verdict was computed from: "pair  0: gokeepalived
// 152.1 ms (bound 180.0 ms), keepalived 149.8 ms".
func (p Pairs) PairsText(bound []float64) string {
	var b strings.Builder
	for i := range p.G {
		fmt.Fprintf(&b, "pair %2d: gokeepalived %7.1f ms", i, p.G[i])
		if i < len(bound) {
			fmt.Fprintf(&b, " (bound %7.1f ms)", bound[i])
		}
		fmt.Fprintf(&b, ", keepalived %7.1f ms\n", p.K[i])
	}
	return b.String()
}
