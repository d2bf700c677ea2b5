package bfd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
)

// medMax formats the median and the maximum of xs, in milliseconds.
func medMax(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms / %.1f ms", benchtab.Median(xs), slices.Max(xs))
}

// boundRow is the row of a measurement whose goal is a bound on
// gokeepalived's own figure, in milliseconds: bound[i] is pair i's
// (a constant for a BFD detection, the trial's own for a takeover, which
// depends on when the master's last advert came). The goal is met only
// when every pair's figure is within its bound; the verdict names the
// pair that came closest to it, or went furthest past. The ratio column
// compares the medians with keepalived's, pair by pair.
func boundRow(measurement, goal string, p benchtab.Pairs, bound []float64) benchtab.Row {
	row := benchtab.Row{Measurement: measurement, Gokeepalived: medMax(p.G), Keepalived: medMax(p.K), Ratio: p.RatioText()}
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

// constant returns n copies of v: the bound of every pair alike.
func constant(n int, v float64) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = v
	}
	return b
}

// trialsText lists every pair's figures, for the log, so that a reader can
// check the verdict: "pair 0: gokeepalived 152.1 ms (bound 180.0 ms),
// keepalived 149.8 ms".
func trialsText(p benchtab.Pairs, bound []float64) string {
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
