package benchtab

import (
	"strings"
	"testing"
)

func TestBoundRow(t *testing.T) {
	p := Pairs{G: []float64{150, 170, 160}, K: []float64{140, 175, 150}}
	r := p.BoundRow("detect", "at most 180 ms", Constant(3, 180))
	if r.Gokeepalived != "160.0 ms / 170.0 ms" || r.Keepalived != "150.0 ms / 175.0 ms" {
		t.Errorf("figures %q, %q", r.Gokeepalived, r.Keepalived)
	}
	if want := "at most 180 ms; worst pair 170.0 ms against 180.0 ms (-10.0 ms): met"; r.Goal != want {
		t.Errorf("goal %q, want %q", r.Goal, want)
	}
	if r.Ratio != "1.07 (0.97-1.07, 3 pairs)" {
		t.Errorf("ratio %q", r.Ratio)
	}

	// Per-pair bounds: the worst pair is the one furthest past its own
	// bound, not the one of the largest figure.
	r = Pairs{G: []float64{1500, 800}, K: []float64{3000, 3100}}.BoundRow("takeover", "bound", []float64{1600, 780})
	if want := "bound; worst pair 800.0 ms against 780.0 ms (+20.0 ms): not met"; r.Goal != want {
		t.Errorf("goal %q, want %q", r.Goal, want)
	}

	// Exactly on the bound meets it; no pairs, or no bounds, meet
	// nothing.
	if r := (Pairs{G: []float64{180}, K: []float64{1}}).BoundRow("m", "g", []float64{180}); !strings.HasSuffix(r.Goal, ": met") {
		t.Errorf("on the bound: %q", r.Goal)
	}
	if r := (Pairs{}).BoundRow("m", "g", nil); r.Goal != "g: no pairs: not met" || r.Gokeepalived != "-" {
		t.Errorf("no pairs: %+v", r)
	}
	if r := (Pairs{G: []float64{1}, K: []float64{1}}).BoundRow("m", "g", nil); !strings.HasSuffix(r.Goal, "not met") {
		t.Errorf("bounds missing: %q", r.Goal)
	}
}

func TestPairsText(t *testing.T) {
	got := Pairs{G: []float64{152.06, 1}, K: []float64{149.8, 2}}.PairsText([]float64{180})
	want := "pair  0: gokeepalived   152.1 ms (bound   180.0 ms), keepalived   149.8 ms\n" +
		"pair  1: gokeepalived     1.0 ms, keepalived     2.0 ms\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
