package vrrp

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
)

// A summary is the median and maximum of a set of trials.
type summary struct {
	n           int
	median, max time.Duration
}

func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{n: len(s), median: med, max: s[len(s)-1]}
}

func (s summary) String() string {
	if s.n == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s", ms(s.median), ms(s.max))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }

// A row is one line of the table: a measurement with both
// implementations' figures.
type row struct {
	what  string
	bound string
	by    map[string]string  // implementation: figure
	value map[string]float64 // implementation: the number the ratio divides
	// goal says how the row is judged: a latency's maximum against its
	// bound (limit, nanoseconds) and its median against keepalived's, a
	// CPU figure against keepalived's, or nothing.
	goal  string
	limit float64
	max   map[string]float64
}

// A report collects the rows in the order they were measured.
type report struct {
	rows []*row
}

func (r *report) row(what, bound string) *row {
	for _, x := range r.rows {
		if x.what == what {
			return x
		}
	}
	x := &row{what: what, bound: bound, by: map[string]string{}, value: map[string]float64{}, max: map[string]float64{}}
	r.rows = append(r.rows, x)
	return x
}

func (r *report) addLatency(sc scenario, impl, what, bound string, ds []time.Duration) {
	x := r.row(sc.name()+": "+what+" (median / max)", bound)
	s := summarize(ds)
	x.by[impl] = s.String()
	x.value[impl] = float64(s.median)
	x.max[impl] = float64(s.max)
	if bound != "-" {
		x.goal, x.limit = "latency", float64(sc.bound()+20*time.Millisecond)
	}
}

func (r *report) addUsage(impl, role string, window time.Duration, u usage) {
	x := r.row(fmt.Sprintf("255 instances, %s: CPU seconds per %v", role, window), "-")
	x.by[impl] = fmt.Sprintf("%.2fs", u.cpu.Seconds())
	x.value[impl] = u.cpu.Seconds()
	x.goal = "cpu"
	x = r.row(fmt.Sprintf("255 instances, %s: RSS / peak RSS", role), "-")
	x.by[impl] = fmt.Sprintf("%.1f / %.1f MiB", mib(u.rss), mib(u.hwm))
	x.value[impl] = float64(u.rss)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// write prints the table; the ratio is a's figure over b's.
func (r *report) write(w io.Writer, a, b string) {
	fmt.Fprintf(w, "measurement\tbound\t%s\t%s\t%s/%s\n", a, b, a, b)
	for _, x := range r.rows {
		ratio := "-"
		if x.value[b] > 0 {
			if _, ok := x.value[a]; ok {
				ratio = fmt.Sprintf("%.2f", x.value[a]/x.value[b])
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", x.what, x.bound, orDash(x.by[a]), orDash(x.by[b]), ratio)
	}
}

// table returns the rows for make bench's one table, a's figures beside
// b's, each judged against the goal.
func (r *report) table(a, b string) []benchtab.Row {
	var rows []benchtab.Row
	for _, x := range r.rows {
		ratio := "-"
		if x.value[b] > 0 {
			ratio = benchtab.Ratio(x.value[a], x.value[b])
		}
		verdict := func(ok bool) string {
			if ok {
				return "met"
			}
			return "not met"
		}
		var goal string
		switch x.goal {
		case "latency":
			goal = fmt.Sprintf("max under bound %s + 20 ms: %s; median not above keepalived's: %s", x.bound,
				verdict(x.max[a] <= x.limit), verdict(x.value[a] <= x.value[b]))
		case "cpu":
			goal = "not more than keepalived: " + verdict(x.value[a] <= x.value[b])
		}
		rows = append(rows, benchtab.Row{Measurement: x.what, Gokeepalived: orDash(x.by[a]), Keepalived: orDash(x.by[b]),
			Ratio: ratio, Goal: goal})
	}
	return rows
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
