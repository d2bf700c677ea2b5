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
	got := benchRows(results, true)
	if len(got) != 3 || !strings.Contains(got[1].Measurement, "whole guest's CPU per check") ||
		got[1].Gokeepalived != "5.000 ms" || got[1].Keepalived != "3.333 ms" || got[1].Goal != "" {
		t.Errorf("benchRows = %+v, want the guest's CPU per check second, without a goal", got)
	}
}

func TestTableRounds(t *testing.T) {
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
	got := benchRows(results, false)
	if len(got) != 2 || got[0].Gokeepalived != "1.818 ms" || got[0].Keepalived != "1.667 ms" ||
		!strings.Contains(got[0].Measurement, "median of 3 and 3") || !strings.HasSuffix(got[0].Goal, "not met") {
		t.Errorf("benchRows = %+v", got)
	}
	if got := benchRows(results, true); !strings.Contains(got[0].Measurement, "(median of 3 and 3, instruction-counted guest)") {
		t.Errorf("benchRows of an instruction-counted guest = %+v", got)
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
