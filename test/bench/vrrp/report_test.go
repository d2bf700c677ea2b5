package vrrp

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
)

// pairsMs is benchtab.Pairs of figures in milliseconds.
type pairsMs benchtab.Pairs

func interleave(n int, measure func(ours bool, pair int) ([]float64, error)) ([]benchtab.Pairs, error) {
	return benchtab.Interleave(n, measure)
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// list formats every pair, gokeepalived's figure first, for the log.
func (p pairsMs) list() string {
	var b strings.Builder
	for i := range p.G {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.1f/%.1f", p.G[i], p.K[i])
	}
	return b.String()
}

// medMax formats the median and the maximum of xs, milliseconds.
func medMax(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms / %.1f ms", benchtab.Median(xs), slices.Max(xs))
}

// latencyRow is a takeover's row: the median and maximum of each
// implementation over every trial, the ratio of the pairs' figures, and
// the goal that gokeepalived's every trial comes within the protocol's
// bound plus slack. keepalived's maximum is shown beside it, not judged.
func latencyRow(measurement string, sc scenario, p pairsMs) benchtab.Row {
	limit := msOf(sc.bound() + sc.slack)
	goal := fmt.Sprintf("max within bound %.1f ms + %.0f ms", msOf(sc.bound()), msOf(sc.slack))
	verdict := "no trials: not met"
	if len(p.G) > 0 {
		worst := slices.Max(p.G)
		v := "met"
		if worst > limit {
			v = "not met"
		}
		verdict = fmt.Sprintf("worst of %d trials %.1f ms (keepalived %.1f ms): %s", len(p.G), worst, slices.Max(p.K), v)
	}
	return benchtab.Row{Measurement: measurement, Gokeepalived: medMax(p.G), Keepalived: medMax(p.K),
		Ratio: benchtab.Pairs(p).RatioText(), Goal: goal + ", " + verdict}
}

// infoRow is a row without a goal: the medians of both and the ratio of
// the pairs.
func infoRow(measurement, format string, p benchtab.Pairs) benchtab.Row {
	g, k := p.Figures(format)
	return benchtab.Row{Measurement: measurement, Gokeepalived: g, Keepalived: k, Ratio: p.RatioText(), Goal: "-"}
}

// spuriousRow is the centisecond set's steady row: transitions in the
// daemons' logs and times an outside poll found a VIP out of place, over
// every window, goal none for gokeepalived.
func spuriousRow(measurement string, window time.Duration, g, k steadyCount) benchtab.Row {
	v := "met"
	if g.logged > 0 || g.misplaced > 0 || g.polls == 0 {
		v = "not met"
	}
	return benchtab.Row{Measurement: measurement, Gokeepalived: g.String(), Keepalived: k.String(), Ratio: "-",
		Goal: fmt.Sprintf("0 over %v: %s", window, v)}
}

// A steadyCount is what the centisecond set's windows saw of one
// implementation.
type steadyCount struct {
	logged    int // state transitions the master's and backup's logs show
	misplaced int // polls that found the master short of a VIP or the backup with one
	polls     int
}

func (c steadyCount) String() string {
	return fmt.Sprintf("%d logged, %d of %d polls", c.logged, c.misplaced, c.polls)
}

// gcRow reports gokeepalived's garbage collector pauses over the steady
// windows; keepalived has none.
func gcRow(measurement string, h histogram, largest float64) benchtab.Row {
	g := fmt.Sprintf("%d pauses, p99 <= %s, max <= %s; largest since start %s", h.count(),
		secText(h.quantile(0.99)), secText(h.quantile(1)), secText(largest))
	return benchtab.Row{Measurement: measurement, Gokeepalived: g, Keepalived: "- (no GC)", Ratio: "-", Goal: "reported"}
}

func secText(s float64) string {
	switch {
	case s < 0:
		return "-"
	case s < 1e-3:
		return fmt.Sprintf("%.0f us", s*1e6)
	default:
		return fmt.Sprintf("%.2f ms", s*1e3)
	}
}
