package checkers

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	s := size{100, 20}
	results := []result{
		// In reverse order: the ratio still divides gokeepalived's by
		// keepalived's.
		{daemon: "gokeepalived", size: s, window: time.Minute, tcp: 6000, http: 600, cpu: 30 * time.Second, procs: 1, rss: 40 << 20, inTable: 120, cpuBusy: 0.5,
			guestCPU: 33 * time.Second, kernelThreadsCPU: time.Second},
		{daemon: "keepalived", size: s, window: time.Minute, tcp: 6000, http: 600, cpu: 10 * time.Second, procs: 2, rss: 20 << 20, inTable: 120, cpuBusy: 0.25,
			guestCPU: 22 * time.Second, kernelThreadsCPU: 4 * time.Second},
		// As the check.Scheduler row: no figures of the guest.
		{daemon: "baseline", size: s, window: time.Minute, tcp: 3000, http: 300, cpu: 33 * time.Second, procs: 1, rss: 30 << 20, inTable: 120, cpuBusy: 0.75},
	}
	var rows []string
	for line := range strings.Lines(table(results)) {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	want := []string{
		"size (TCP:HTTP) daemon checks/s of TCP/s HTTP/s CPU s/min CPU ms/check peak RSS MB procs in table CPU busy kthreads s/min guest ms/check",
		"100:20 gokeepalived 110 110 100 10 30.00 4.545 40.0 1 120/120 50% 1.00 5.000",
		"100:20 keepalived 110 110 100 10 10.00 1.515 20.0 2 120/120 25% 4.00 3.333",
		"100:20 baseline 55 110 50 5 33.00 10.000 30.0 1 120/120 75% 0.00 0.000",
		"100:20 gokeepalived/keepalived 1.00 3.00 3.00 2.00 0.25 1.50",
		"100:20 baseline/keepalived 0.50 3.30 6.60 1.50",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("table rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func TestTablePairs(t *testing.T) {
	s := size{100, 20}
	r := func(daemon string, round int, cpu time.Duration, rss uint64) result {
		return result{daemon: daemon, round: round, size: s, window: time.Minute, tcp: 6000, http: 600, cpu: cpu, procs: 1, rss: rss << 20, inTable: 120, cpuBusy: 0.5}
	}
	results := []result{
		r("keepalived", 1, 10*time.Second, 20), r("gokeepalived", 1, 30*time.Second, 40),
		r("gokeepalived", 2, 12*time.Second, 42), r("keepalived", 2, 14*time.Second, 21),
		r("keepalived", 3, 11*time.Second, 19), r("gokeepalived", 3, 9*time.Second, 41),
	}
	var rows []string
	for line := range strings.Lines(table(results)) {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	// Medians: keepalived 11 s and 20 MB, gokeepalived 12 s and 41 MB.
	want := "100:20 gokeepalived/keepalived 1.00 1.09 1.09 2.05"
	if len(rows) != 8 || rows[1] != "100:20 keepalived #1 110 110 100 10 10.00 1.515 20.0 1 120/120 50% 0.00 0.000" || rows[7] != want {
		t.Errorf("table rows:\n%s\nwant 8, the second for keepalived #1 and the last %q", strings.Join(rows, "\n"), want)
	}
}

func TestGuestClock(t *testing.T) {
	for _, tt := range []struct {
		env, shift string
		ok         bool
	}{
		{"", defaultIcount, true},
		{"off", "", true},
		{"3", "3", true},
		{"11", "", false},
		{"-1", "", false},
		{"fast", "", false},
	} {
		t.Setenv(icountEnv, tt.env)
		shift, err := guestClock()
		if shift != tt.shift || (err == nil) != tt.ok {
			t.Errorf("%s=%q: shift %q, err %v; want %q, ok %v", icountEnv, tt.env, shift, err, tt.shift, tt.ok)
		}
	}
	if got := clockName("2"); got != "guest clock: instructions (qemu -icount shift=2, 4 ns each)" {
		t.Errorf("clockName(2) = %q", got)
	}
}

func TestBenchRows(t *testing.T) {
	window := func(cpu time.Duration, rss uint64, guest time.Duration) result {
		return result{window: time.Minute, tcp: 6000, http: 600, cpu: cpu, rss: rss << 20, guestCPU: guest}
	}
	full := newSizePairs(size{10000, 2000}, nil)
	small := newSizePairs(size{100, 20}, nil)
	// Pairs of 6,600 checks: CPU ratios 0.80 and 0.90, RSS 1.40 and
	// 1.45; at the small size the guest's figures are missing.
	for _, p := range [][2]result{
		{window(8*time.Second, 42, 20*time.Second), window(10*time.Second, 30, 25*time.Second)},
		{window(9*time.Second, 29, 20*time.Second), window(10*time.Second, 20, 25*time.Second)},
	} {
		g, k := p[0].figures(), p[1].figures()
		for f := range numFigures {
			full.figs[f].Add(g[f], k[f])
			small.figs[f].Add(g[f], k[f])
		}
	}
	for f := range numFigures {
		if f == figGuestCPUPerCheck {
			small.figs[f].G[1] = 0
		}
	}
	got := benchRows([]sizePairs{full, small}, true)
	var lines []string
	for _, r := range got {
		lines = append(lines, strings.Join([]string{r.Measurement, r.Gokeepalived, r.Keepalived, r.Ratio, r.Goal}, " | "))
	}
	want := []string{
		"checkers, 10000:2000 TCP:HTTP real servers (instruction-counted guest), CPU per check | 1.288 ms | 1.515 ms | 0.85 (0.80-0.90, 2 pairs) | at most 0.85x keepalived's, worst pair 0.90: not met",
		"checkers, 10000:2000 TCP:HTTP real servers (instruction-counted guest), whole guest's CPU per check (daemon, real servers, kernel threads) | 3.030 ms | 3.788 ms | 0.80 (0.80-0.80, 2 pairs) | ",
		"checkers, 10000:2000 TCP:HTTP real servers (instruction-counted guest), peak RSS | 35.5 MB | 25.0 MB | 1.42 (1.40-1.45, 2 pairs) | at most 1.50x keepalived's, worst pair 1.45: met",
		"checkers, 100:20 TCP:HTTP real servers (instruction-counted guest), CPU per check | 1.288 ms | 1.515 ms | 0.85 (0.80-0.90, 2 pairs) | at most 0.85x keepalived's, worst pair 0.90: not met",
		"checkers, 100:20 TCP:HTTP real servers (instruction-counted guest), peak RSS | 35.5 MB | 25.0 MB | 1.42 (1.40-1.45, 2 pairs) | ",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("benchRows:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	per := small.perPair()
	if !strings.Contains(per, "0.80") || !strings.Contains(per, "1.45") || strings.Count(per, "\n") != 3 {
		t.Errorf("perPair:\n%s", per)
	}
}

func TestPairCount(t *testing.T) {
	for _, tt := range []struct {
		v    string
		n    int
		fail bool
	}{{"", defaultPairs, false}, {"5", 5, false}, {"0", 0, true}, {"x", 0, true}} {
		n, err := pairCount(tt.v)
		if n != tt.n || (err != nil) != tt.fail {
			t.Errorf("pairCount(%q) = %d, %v", tt.v, n, err)
		}
	}
}
