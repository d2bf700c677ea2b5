package bfd

import (
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
)

func TestBoundRow(t *testing.T) {
	p := benchtab.Pairs{G: []float64{150, 170, 160}, K: []float64{140, 175, 150}}
	r := boundRow("detect", "at most 180 ms", p, constant(3, 180))
	if r.Gokeepalived != "160.0 ms / 170.0 ms" || r.Keepalived != "150.0 ms / 175.0 ms" {
		t.Errorf("figures %q, %q", r.Gokeepalived, r.Keepalived)
	}
	if want := "at most 180 ms; worst pair 170.0 ms against 180.0 ms (-10.0 ms): met"; r.Goal != want {
		t.Errorf("goal %q, want %q", r.Goal, want)
	}
	if !strings.HasPrefix(r.Ratio, "1.07 (0.97-1.07, 3 pairs)") {
		t.Errorf("ratio %q", r.Ratio)
	}

	// Per-pair bounds: the worst pair is the one furthest past its own
	// bound, not the largest figure.
	r = boundRow("takeover", "bound", benchtab.Pairs{G: []float64{1500, 800}, K: []float64{3000, 3100}}, []float64{1600, 780})
	if want := "bound; worst pair 800.0 ms against 780.0 ms (+20.0 ms): not met"; r.Goal != want {
		t.Errorf("goal %q, want %q", r.Goal, want)
	}

	// Exactly on the bound meets it; no pairs meet nothing.
	if r := boundRow("m", "g", benchtab.Pairs{G: []float64{180}, K: []float64{1}}, []float64{180}); !strings.HasSuffix(r.Goal, ": met") {
		t.Errorf("on the bound: %q", r.Goal)
	}
	if r := boundRow("m", "g", benchtab.Pairs{}, nil); r.Goal != "g: no pairs: not met" || r.Gokeepalived != "-" {
		t.Errorf("no pairs: %+v", r)
	}
	if r := boundRow("m", "g", benchtab.Pairs{G: []float64{1}, K: []float64{1}}, nil); !strings.HasSuffix(r.Goal, "not met") {
		t.Errorf("bounds missing: %q", r.Goal)
	}
}

func TestTrialsText(t *testing.T) {
	got := trialsText(benchtab.Pairs{G: []float64{152.06, 1}, K: []float64{149.8, 2}}, []float64{180, 180})
	want := "pair  0: gokeepalived   152.1 ms (bound   180.0 ms), keepalived   149.8 ms\n" +
		"pair  1: gokeepalived     1.0 ms (bound   180.0 ms), keepalived     2.0 ms\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestConfs(t *testing.T) {
	c := detectConf("10.79.0.2", "10.79.0.1", profile{mult: 3, interval: 10})
	for _, s := range []string{"bfd_instance B {", "neighbor_ip 10.79.0.1", "source_ip 10.79.0.2", "min_rx 10", "min_tx 10", "multiplier 3"} {
		if !strings.Contains(c, s) {
			t.Errorf("detection configuration lacks %q:\n%s", s, c)
		}
	}
	ours := takeoverConf(takeoverBackup, takeoverMaster, "BACKUP", 100, true)
	theirs := takeoverConf(takeoverBackup, takeoverMaster, "BACKUP", 100, false)
	if !strings.Contains(ours, "bfd_takeover PEER") || !strings.Contains(ours, "bfd_instance PEER") {
		t.Errorf("gokeepalived's backup lacks BFD:\n%s", ours)
	}
	if strings.Contains(theirs, "bfd") {
		t.Errorf("keepalived's backup has BFD, which it would refuse with bfd_takeover:\n%s", theirs)
	}
	if !strings.Contains(theirs, "advert_int 1\n") || !strings.Contains(theirs, "priority 100\n") {
		t.Errorf("keepalived's backup:\n%s", theirs)
	}
}
