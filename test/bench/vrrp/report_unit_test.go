package vrrp

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
)

func TestLatencyRow(t *testing.T) {
	sc := scenario{version: 3, advert: 10 * time.Millisecond, kill: true, slack: 5 * time.Millisecond}
	p := pairsMs{G: []float64{30, 41, 35}, K: []float64{30, 38, 35}}
	r := latencyRow("x", sc, p)
	if r.Gokeepalived != "35.0 ms / 41.0 ms" || r.Keepalived != "35.0 ms / 38.0 ms" {
		t.Errorf("figures %+v", r)
	}
	// Bound 36.09 + 5: 41 is within.
	if want := "max within bound 36.1 ms + 5 ms, worst of 3 trials 41.0 ms (keepalived 38.0 ms): met"; r.Goal != want {
		t.Errorf("goal %q, want %q", r.Goal, want)
	}
	if r.Ratio != "1.00 (1.00-1.08, 3 pairs)" {
		t.Errorf("ratio %q", r.Ratio)
	}
	p.G[0] = 41.2
	if r := latencyRow("x", sc, p); !strings.HasSuffix(r.Goal, ": not met") {
		t.Errorf("41.2 ms above 41.09: %q", r.Goal)
	}
	if r := latencyRow("x", sc, pairsMs{}); !strings.HasSuffix(r.Goal, "no trials: not met") {
		t.Errorf("no trials: %q", r.Goal)
	}
}

func TestSpuriousRow(t *testing.T) {
	ok := steadyCount{polls: 100}
	if r := spuriousRow("x", time.Minute, ok, steadyCount{logged: 2, polls: 100}); r.Goal != "0 over 1m0s: met" || r.Keepalived != "2 logged, 0 of 100 polls" {
		t.Errorf("%+v", r)
	}
	for _, c := range []steadyCount{{logged: 1, polls: 100}, {misplaced: 1, polls: 100}, {}} {
		if r := spuriousRow("x", time.Minute, c, ok); r.Goal != "0 over 1m0s: not met" {
			t.Errorf("%+v: %q", c, r.Goal)
		}
	}
}

func TestScaleRows(t *testing.T) {
	ps := []benchtab.Pairs{
		{G: []float64{0.5, 0.6}, K: []float64{0.6, 0.6}},
		{G: []float64{0.1, 0.2}, K: []float64{0.1, 0.1}},
		{G: []float64{20, 20}, K: []float64{13, 13}},
		{G: []float64{19, 19}, K: []float64{13, 13}},
	}
	rows := scaleRows(ps, time.Minute)
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	if !strings.HasSuffix(rows[0].Goal, ": met") || !strings.HasSuffix(rows[1].Goal, "worst pair 2.00: not met") || rows[2].Goal != "-" {
		t.Errorf("rows %+v", rows)
	}
}

func TestMcastCounts(t *testing.T) {
	netstat := "TcpExt: A B\nTcpExt: 1 2\nIpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts\nIpExt: 0 0 1234 5678 9\n"
	in, out, err := mcastCounts(netstat)
	if err != nil || in != 1234 || out != 5678 {
		t.Errorf("mcastCounts = %d, %d, %v", in, out, err)
	}
	for _, bad := range []string{
		"TcpExt: A\nTcpExt: 1\n",
		"IpExt: InMcastPkts OutMcastPkts\nIpExt: 1\n",
		"IpExt: InMcastPkts X\nIpExt: 1 2\n",
		"IpExt: InMcastPkts OutMcastPkts\nIpExt: 1 x\n",
	} {
		if _, _, err := mcastCounts(bad); err == nil {
			t.Errorf("mcastCounts(%q): no error", bad)
		}
	}
}

const metricsText = `# TYPE go_sched_pauses_total_gc_seconds histogram
go_sched_pauses_total_gc_seconds_bucket{le="8.191999999999999e-05"} 10
go_sched_pauses_total_gc_seconds_bucket{le="0.0009175039999999999"} 19
go_sched_pauses_total_gc_seconds_bucket{le="0.010485759999999998"} 20
go_sched_pauses_total_gc_seconds_bucket{le="+Inf"} 20
go_sched_pauses_total_gc_seconds_sum 0.004
go_sched_pauses_total_gc_seconds_count 20
go_gc_duration_seconds{quantile="0.75"} 5e-05
go_gc_duration_seconds{quantile="1"} 0.0012
`

func TestHistogram(t *testing.T) {
	h, err := parseHistogram(metricsText, gcPauses)
	if err != nil {
		t.Fatal(err)
	}
	if h.count() != 20 || len(h.le) != 4 || !math.IsInf(h.le[3], 1) {
		t.Fatalf("histogram %+v", h)
	}
	if q := h.quantile(0.5); q != 8.191999999999999e-05 {
		t.Errorf("p50 %v", q)
	}
	if q := h.quantile(0.99); q != 0.010485759999999998 {
		t.Errorf("p99 %v", q)
	}
	if q := h.quantile(1); q != 0.010485759999999998 {
		t.Errorf("max %v", q)
	}
	earlier := histogram{le: h.le, counts: []uint64{10, 10, 10, 10}}
	d, err := h.sub(earlier)
	if err != nil || d.count() != 10 || d.quantile(1) != 0.010485759999999998 || d.quantile(0.5) != 0.0009175039999999999 {
		t.Errorf("sub = %+v, %v", d, err)
	}
	if s := (histogram{}).add(d).add(d); s.count() != 20 {
		t.Errorf("add: %+v", s)
	}
	if _, err := earlier.sub(h); err == nil {
		t.Error("sub of a later reading: no error")
	}
	if q := (histogram{}).quantile(0.99); q != -1 {
		t.Errorf("empty quantile %v", q)
	}
	for _, bad := range []string{
		"",
		`go_sched_pauses_total_gc_seconds_bucket{le="1"} 3` + "\n",
		`go_sched_pauses_total_gc_seconds_bucket{le="1"} 3` + "\n" + `go_sched_pauses_total_gc_seconds_bucket{le="+Inf"} 2` + "\n",
		`go_sched_pauses_total_gc_seconds_bucket{le="x"} 3` + "\n",
	} {
		if _, err := parseHistogram(bad, gcPauses); err == nil {
			t.Errorf("parseHistogram(%q): no error", bad)
		}
	}
	if v, err := gaugeValue(metricsText, gcLargest); err != nil || v != 0.0012 {
		t.Errorf("gaugeValue = %v, %v", v, err)
	}
	if _, err := gaugeValue(metricsText, "nothing"); err == nil {
		t.Error("gaugeValue of a missing series: no error")
	}
}

func TestTransitions(t *testing.T) {
	log := `Sat Dec  5 05:47:16 2026: (VI_1) Entering BACKUP STATE (init)
Sat Dec  5 05:47:16 2026: (VI_1) Receive advertisement timeout
Sat Dec  5 05:47:16 2026: (VI_1) Entering MASTER STATE
Sat Dec  5 05:47:16 2026: (VI_2) Entering FAULT STATE
Sat Dec  5 05:47:16 2026: (VI_1) setting VIPs.
`
	if n := transitions(log); n != 3 {
		t.Errorf("transitions = %d, want 3", n)
	}
	if n := transitions(""); n != 0 {
		t.Errorf("transitions of nothing = %d", n)
	}
}

func TestSecText(t *testing.T) {
	for in, want := range map[float64]string{-1: "-", 8.2e-05: "82 us", 0.0105: "10.50 ms"} {
		if got := secText(in); got != want {
			t.Errorf("secText(%v) = %q, want %q", in, got, want)
		}
	}
}
