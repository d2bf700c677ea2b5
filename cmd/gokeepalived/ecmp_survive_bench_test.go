package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// ecmpBenchPairsEnv sets the number of pairs of the benchmark of sessions
// kept across ECMP changes.
const ecmpBenchPairsEnv = "GOKEEPALIVED_BENCH_ECMP_PAIRS"

// ecmpBenchRowName names the benchmark's row in the table.
const ecmpBenchRowName = "sessions kept across ECMP changes, of 120 (4 DR directors, lb_algo mh, sloppy TCP; route 3, 2, 4 next hops, then a director killed)"

// TestECMPSurviveBench boots the kernel guest for
// TestECMPSurviveBenchInGuest when GOKEEPALIVED_BENCH=1 (scripts/bench.sh).
func TestECMPSurviveBench(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	if os.Getenv("GOKEEPALIVED_BENCH") != "1" {
		t.Skip("GOKEEPALIVED_BENCH=1 runs the ECMP sessions benchmark in the kernel guest")
	}
	pairs, err := ecmpBenchPairs(os.Getenv(ecmpBenchPairsEnv))
	if err != nil {
		t.Fatal(err)
	}
	vm.Require(t)
	ctx, cancel := vm.Context(t)
	defer cancel()
	dir := t.TempDir()
	if err := vm.StaticTestBinary(ctx, filepath.Join(dir, "pkg.test")); err != nil {
		t.Fatal(err)
	}
	vm.RunCommand(t, ctx, dir, fmt.Sprintf("%s=%d ./pkg.test -test.v -test.count=1 -test.run '^TestECMPSurviveBenchInGuest$' -test.timeout=30m",
		ecmpBenchPairsEnv, pairs))
}

// ecmpBenchPairs reads the number of pairs: 3 by default.
func ecmpBenchPairs(v string) (int, error) {
	if v == "" {
		return 3, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a number of pairs, at least 1", ecmpBenchPairsEnv, v)
	}
	return n, nil
}

// TestECMPSurviveBenchInGuest runs the ECMP lab of
// TestGuestSessionsSurviveECMP with lb_algo mh in interleaved pairs,
// gokeepalived with lvs_sloppy_tcp as the four directors against
// keepalived 2.2.7 with the same virtual server and sloppy_tcp set by
// sysctl, and prints the row of sessions kept.
func TestECMPSurviveBenchInGuest(t *testing.T) {
	if !vm.InGuest() || os.Getenv(ecmpBenchPairsEnv) == "" {
		t.Skip("runs inside the kernel guest, through TestECMPSurviveBench")
	}
	n, err := ecmpBenchPairs(os.Getenv(ecmpBenchPairsEnv))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := benchtab.Interleave(n, func(ours bool, pair int) ([]float64, error) {
		var kept float64
		ok := t.Run(fmt.Sprintf("pair%d-%s", pair, benchtab.Name(ours)), func(t *testing.T) {
			svcs := []ecmpService{{"10.99.0.1", "mh", ecmpTCP}}
			l := newECMPLab(t, svcs)
			// keepalived has no keyword for sloppy TCP: the same
			// virtual server, and the sysctl set before it starts.
			l.startDirectors(ours, survivalConf(svcs, ours), !ours)
			r := l.run()[0]
			t.Logf("pair %d, %s: %v", pair, benchtab.Name(ours), r)
			kept = float64(r.Sessions - r.Broken)
		})
		if !ok {
			return nil, fmt.Errorf("the lab failed")
		}
		return []float64{kept}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps[0].G {
		t.Logf("pair %d: sessions kept, gokeepalived %.0f, keepalived %.0f", i, ps[0].G[i], ps[0].K[i])
	}
	t.Log(benchtab.Line(ecmpBenchRow(ps[0])))
}

// ecmpBenchRow makes the row of sessions kept. More is better, where a
// benchtab.Goal bounds gokeepalived's figure over keepalived's from
// above: the goal "at least keepalived's" is AtMost(1) on the pairs the
// other way round, keepalived's over gokeepalived's, met when every pair
// meets it; the worst pair is the one where gokeepalived kept the least
// beside keepalived.
func ecmpBenchRow(p benchtab.Pairs) benchtab.Row {
	g, k := p.Figures("%.0f")
	row := benchtab.Row{Measurement: ecmpBenchRowName, Gokeepalived: g, Keepalived: k, Ratio: p.RatioText()}
	inverse := benchtab.Pairs{G: p.K, K: p.G}
	verdict := "not met"
	if benchtab.AtMost(1).Met(inverse) {
		verdict = "met"
	}
	switch rs := p.Ratios(); {
	case p.Len() == 0:
		row.Goal = "at least keepalived's: no pairs: not met"
	case len(rs) < p.Len():
		// A pair where keepalived kept none has no ratio.
		row.Goal = fmt.Sprintf("at least keepalived's, a pair where keepalived kept none: %s", verdict)
	default:
		row.Goal = fmt.Sprintf("at least keepalived's, worst pair %.2f: %s", minRatio(rs), verdict)
	}
	return row
}

func minRatio(rs []float64) float64 {
	m := rs[0]
	for _, r := range rs[1:] {
		m = min(m, r)
	}
	return m
}

// TestECMPBenchRow holds the row's verdict to the worst pair.
func TestECMPBenchRow(t *testing.T) {
	for _, tc := range []struct {
		g, k []float64
		goal string
	}{
		{[]float64{120, 120, 120}, []float64{120, 120, 120}, "at least keepalived's, worst pair 1.00: met"},
		{[]float64{120, 119, 120}, []float64{118, 120, 120}, "at least keepalived's, worst pair 0.99: not met"},
		{[]float64{120, 120}, []float64{100, 0}, "at least keepalived's, a pair where keepalived kept none: met"},
		{[]float64{0, 120}, []float64{0, 120}, "at least keepalived's, a pair where keepalived kept none: not met"},
		{nil, nil, "at least keepalived's: no pairs: not met"},
	} {
		r := ecmpBenchRow(benchtab.Pairs{G: tc.g, K: tc.k})
		if r.Goal != tc.goal {
			t.Errorf("%v / %v: goal %q, want %q", tc.g, tc.k, r.Goal, tc.goal)
		}
		if r.Measurement != ecmpBenchRowName {
			t.Errorf("measurement %q", r.Measurement)
		}
	}
	r := ecmpBenchRow(benchtab.Pairs{G: []float64{120, 118, 120}, K: []float64{120, 120, 117}})
	if r.Gokeepalived != "120" || r.Keepalived != "120" || r.Ratio != "1.00 (0.98-1.03, 3 pairs)" {
		t.Errorf("row %+v", r)
	}
	for _, tc := range []struct {
		v    string
		want int
		ok   bool
	}{{"", 3, true}, {"5", 5, true}, {"0", 0, false}, {"x", 0, false}} {
		n, err := ecmpBenchPairs(tc.v)
		if n != tc.want || (err == nil) != tc.ok {
			t.Errorf("ecmpBenchPairs(%q) = %d, %v", tc.v, n, err)
		}
	}
}
