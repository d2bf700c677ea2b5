package benchtab

import (
	"fmt"
	"slices"
)

// Pairs holds interleaved measurements of the two implementations: pair i
// is gokeepalived's G[i] and keepalived's K[i], taken one right after the
// other, so that what drifts during a run (the host's load, a guest's
// caches, the page cache) weighs on both figures of a pair alike. The
// ratio of a pair is G/K; the table shows the median ratio and its range
// over the pairs, and a goal is met only when the worst pair meets it.
type Pairs struct {
	G, K []float64
}

// Add appends one pair.
func (p *Pairs) Add(g, k float64) {
	p.G = append(p.G, g)
	p.K = append(p.K, k)
}

// Len returns the number of pairs.
func (p Pairs) Len() int { return len(p.G) }

// Ratios returns G/K of every pair whose K is not zero, in order.
func (p Pairs) Ratios() []float64 {
	rs := make([]float64, 0, len(p.G))
	for i := range p.G {
		if p.K[i] != 0 {
			rs = append(rs, p.G[i]/p.K[i])
		}
	}
	return rs
}

// Worst returns the largest ratio, the pair least favourable to
// gokeepalived when smaller is better; 0 without pairs.
func (p Pairs) Worst() float64 {
	rs := p.Ratios()
	if len(rs) == 0 {
		return 0
	}
	return slices.Max(rs)
}

// RatioText formats the median ratio and its range over the pairs, such
// as "0.53 (0.49-0.58, 9 pairs)"; "-" without pairs.
func (p Pairs) RatioText() string {
	rs := p.Ratios()
	if len(rs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (%.2f-%.2f, %d pairs)", Median(rs), slices.Min(rs), slices.Max(rs), len(rs))
}

// Figures formats the medians of G and K with format, such as "%.1f ms".
func (p Pairs) Figures(format string) (g, k string) {
	if p.Len() == 0 {
		return "-", "-"
	}
	return fmt.Sprintf(format, Median(p.G)), fmt.Sprintf(format, Median(p.K))
}

// A Goal is an upper bound on the ratio of every pair: 1.5 for "at most
// 1.5 times keepalived's". Strict goals ("faster than keepalived") need the
// worst ratio below the bound, the others at most the bound.
type Goal struct {
	Limit  float64
	Strict bool
}

// AtMost is the goal "at most limit times keepalived's".
func AtMost(limit float64) Goal { return Goal{Limit: limit} }

// Below is the goal "less than limit times keepalived's"; Below(1) is
// "faster (or smaller) than keepalived".
func Below(limit float64) Goal { return Goal{Limit: limit, Strict: true} }

// String states the goal as the table prints it.
func (g Goal) String() string {
	switch {
	case g.Strict && g.Limit == 1:
		return "below keepalived's"
	case g.Strict:
		return fmt.Sprintf("below %.2fx keepalived's", g.Limit)
	case g.Limit == 1:
		return "at most keepalived's"
	default:
		return fmt.Sprintf("at most %.2fx keepalived's", g.Limit)
	}
}

// Met reports whether the worst pair meets the goal. No pairs meet
// nothing.
func (g Goal) Met(p Pairs) bool {
	rs := p.Ratios()
	if len(rs) == 0 || len(rs) != p.Len() {
		return false
	}
	w := slices.Max(rs)
	if g.Strict {
		return w < g.Limit
	}
	return w <= g.Limit
}

// Verdict states the goal, whether the worst pair met it, and that
// pair's ratio: "at most 1.50x keepalived's, worst pair 1.62: not met".
func (g Goal) Verdict(p Pairs) string {
	v := "not met"
	if g.Met(p) {
		v = "met"
	}
	if p.Len() == 0 {
		return g.String() + ": no pairs: not met"
	}
	return fmt.Sprintf("%s, worst pair %.2f: %s", g, p.Worst(), v)
}

// Row builds a table row from pairs: the medians of both sides formatted
// with format, the ratio with its range, and the verdict of goal.
func (p Pairs) Row(measurement, format string, goal Goal) Row {
	g, k := p.Figures(format)
	return Row{Measurement: measurement, Gokeepalived: g, Keepalived: k, Ratio: p.RatioText(), Goal: goal.Verdict(p)}
}

// Interleave runs n pairs of measurements, gokeepalived's and keepalived's
// alternately, starting with gokeepalived on even pairs and with
// keepalived on odd ones so that neither always runs in the other's wake
// (A B, B A, A B, ...). measure returns the same number of figures on
// every call (wall time, CPU time, peak memory, ...); Interleave returns
// one Pairs per figure. The first error stops the run and is returned
// with the pairs completed so far.
func Interleave(n int, measure func(ours bool, pair int) ([]float64, error)) ([]Pairs, error) {
	var ps []Pairs
	for i := range n {
		var g, k []float64
		for j, ours := range [2]bool{i%2 == 0, i%2 != 0} {
			v, err := measure(ours, i)
			if err != nil {
				return ps, fmt.Errorf("pair %d, %s: %w", i, Name(ours), err)
			}
			if j == 1 && len(v) != len(g)+len(k) {
				return ps, fmt.Errorf("pair %d: %d figures from %s, %d from the other", i, len(v), Name(ours), len(g)+len(k))
			}
			if ours {
				g = v
			} else {
				k = v
			}
		}
		if ps == nil {
			ps = make([]Pairs, len(g))
		}
		if len(g) != len(ps) {
			return ps, fmt.Errorf("pair %d: %d figures, %d before", i, len(g), len(ps))
		}
		for f := range g {
			ps[f].Add(g[f], k[f])
		}
	}
	return ps, nil
}

// Name names an implementation: "gokeepalived" when ours, "keepalived".
func Name(ours bool) string {
	if ours {
		return "gokeepalived"
	}
	return "keepalived"
}
