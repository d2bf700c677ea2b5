package vrrp

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// mcastCounts reads the IpExt InMcastPkts and OutMcastPkts counters of a
// /proc/net/netstat: in a lab router's namespace, where nothing else
// speaks multicast, the VRRP adverts it received and sent (the kernel
// counts each datagram once, whatever the daemon does with it).
func mcastCounts(netstat string) (in, out uint64, err error) {
	var names []string
	sc := bufio.NewScanner(strings.NewReader(netstat))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "IpExt:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		if len(f) != len(names) {
			return 0, 0, fmt.Errorf("parsing netstat IpExt: %d values for %d names", len(f), len(names))
		}
		seen := 0
		for i, n := range names {
			var p *uint64
			switch n {
			case "InMcastPkts":
				p = &in
			case "OutMcastPkts":
				p = &out
			default:
				continue
			}
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("parsing netstat IpExt %s: %w", n, err)
			}
			*p = v
			seen++
		}
		if seen != 2 {
			return 0, 0, fmt.Errorf("parsing netstat IpExt: InMcastPkts or OutMcastPkts missing")
		}
		return in, out, nil
	}
	return 0, 0, fmt.Errorf("parsing netstat: no IpExt lines")
}

// A histogram is a Prometheus histogram as scraped: upper bounds (the
// last +Inf) and cumulative counts.
type histogram struct {
	le     []float64
	counts []uint64
}

// parseHistogram reads the buckets of histogram name from a Prometheus
// text exposition without labels other than le.
func parseHistogram(text, name string) (histogram, error) {
	var h histogram
	prefix := name + `_bucket{le="`
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			return h, fmt.Errorf("parsing %s: %q", name, line)
		}
		b, err := strconv.ParseFloat(le, 64)
		if err != nil {
			return h, fmt.Errorf("parsing %s bucket %q: %w", name, le, err)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return h, fmt.Errorf("parsing %s count %q: %w", name, val, err)
		}
		if len(h.le) > 0 && (b <= h.le[len(h.le)-1] || n < h.counts[len(h.counts)-1]) {
			return h, fmt.Errorf("parsing %s: buckets out of order at %q", name, line)
		}
		h.le = append(h.le, b)
		h.counts = append(h.counts, n)
	}
	if len(h.le) == 0 || !math.IsInf(h.le[len(h.le)-1], 1) {
		return h, fmt.Errorf("parsing %s: no buckets up to +Inf", name)
	}
	return h, nil
}

// sub returns h less an earlier reading of the same histogram: what was
// observed between the two.
func (h histogram) sub(earlier histogram) (histogram, error) {
	if len(earlier.le) != len(h.le) {
		return histogram{}, fmt.Errorf("histograms of %d and %d buckets", len(h.le), len(earlier.le))
	}
	d := histogram{le: h.le, counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		if h.le[i] != earlier.le[i] || h.counts[i] < earlier.counts[i] {
			return histogram{}, fmt.Errorf("histogram bucket %d: %v %d after %v %d", i, h.le[i], h.counts[i], earlier.le[i], earlier.counts[i])
		}
		d.counts[i] = h.counts[i] - earlier.counts[i]
	}
	return d, nil
}

// add returns the sum of two readings of histograms with the same
// buckets; the zero histogram adds as nothing.
func (h histogram) add(o histogram) histogram {
	if len(h.le) == 0 {
		return o
	}
	s := histogram{le: h.le, counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		s.counts[i] = h.counts[i] + o.counts[i]
	}
	return s
}

func (h histogram) count() uint64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantile returns the upper bound of the bucket that holds quantile q of
// the observations (q=1: the largest), or -1 without observations.
func (h histogram) quantile(q float64) float64 {
	n := h.count()
	if n == 0 {
		return -1
	}
	rank := uint64(math.Ceil(q * float64(n)))
	for i, c := range h.counts {
		if c >= rank {
			return h.le[i]
		}
	}
	return h.le[len(h.le)-1]
}

// gaugeValue reads one sample, name with its labels exactly as printed
// (such as `go_gc_duration_seconds{quantile="1"}`), from a Prometheus
// text exposition.
func gaugeValue(text, series string) (float64, error) {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("no %s in the metrics", series)
}

// transitions counts the state changes a daemon's log shows: keepalived
// and gokeepalived both log "(VI_n) Entering MASTER STATE" and the like.
func transitions(log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, ") Entering ") && strings.Contains(line, " STATE") {
			n++
		}
	}
	return n
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
