package benchtab

import (
	"errors"
	"strings"
	"testing"
)

func TestPairsVerdict(t *testing.T) {
	var p Pairs
	p.Add(1.0, 2.0) // 0.5
	p.Add(1.4, 2.0) // 0.7
	p.Add(0.8, 2.0) // 0.4
	if got, want := p.RatioText(), "0.50 (0.40-0.70, 3 pairs)"; got != want {
		t.Errorf("RatioText = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		goal Goal
		met  bool
	}{
		{AtMost(0.7), true},
		{Below(0.7), false},
		{AtMost(0.69), false},
		{Below(1), true},
	} {
		if got := tt.goal.Met(p); got != tt.met {
			t.Errorf("%v.Met = %v, want %v (worst pair 0.70)", tt.goal, got, tt.met)
		}
	}
	if got, want := AtMost(0.5).Verdict(p), "at most 0.50x keepalived's, worst pair 0.70: not met"; got != want {
		t.Errorf("Verdict = %q, want %q", got, want)
	}
	if Below(1).Met(Pairs{}) {
		t.Error("a goal met without pairs")
	}
	var z Pairs
	z.Add(1, 0)
	z.Add(1, 2)
	if AtMost(10).Met(z) {
		t.Error("a goal met with a pair whose keepalived figure is zero")
	}
}

func TestInterleave(t *testing.T) {
	var order []string
	ps, err := Interleave(3, func(ours bool, pair int) ([]float64, error) {
		order = append(order, Name(ours))
		if ours {
			return []float64{float64(pair), 10}, nil
		}
		return []float64{1, 20}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(order, " "), "gokeepalived keepalived keepalived gokeepalived gokeepalived keepalived"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	if len(ps) != 2 || ps[0].Len() != 3 || ps[1].Worst() != 0.5 || ps[0].G[2] != 2 {
		t.Errorf("pairs %+v", ps)
	}
	boom := errors.New("boom")
	ps, err = Interleave(2, func(ours bool, pair int) ([]float64, error) {
		if pair == 1 && !ours {
			return nil, boom
		}
		return []float64{1}, nil
	})
	if !errors.Is(err, boom) || len(ps) != 1 || ps[0].Len() != 1 {
		t.Errorf("Interleave with an error in pair 1 = %+v, %v", ps, err)
	}
}
