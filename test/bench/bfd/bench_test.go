// Package bfd measures gokeepalived's BFD beside keepalived 2.2.7's, in
// the same run and the same kind of namespace lab, in interleaved pairs:
// how long the detecting side takes to declare a session Down after its
// peer stops (SIGSTOP), at 3 x 50 ms and 3 x 10 ms, and how soon a VRRP
// backup takes over from a master killed with SIGKILL at advert_int 1,
// gokeepalived with the bfd_takeover extension and keepalived, which has
// no such thing, by the Master_Down_Interval.
//
// The tests run only with GOKEEPALIVED_BENCH=1, as root:
//
//	sudo GOKEEPALIVED_BENCH=1 go test -count=1 -v -run TestBFDBench ./test/bench/bfd/
//
// GOKEEPALIVED_BENCH_BFD_PAIRS (default 20) sets the pairs of each
// detection profile, GOKEEPALIVED_BENCH_TAKEOVER_PAIRS (default 20) the
// pairs of takeovers.
package bfd

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// Environment of the benchmark.
const (
	benchEnv         = "GOKEEPALIVED_BENCH"                // 1 runs it
	binEnv           = "GOKEEPALIVED_BENCH_BIN"            // a prebuilt gokeepalived instead of go build
	detectPairsEnv   = "GOKEEPALIVED_BENCH_BFD_PAIRS"      // pairs per detection profile
	takeoverPairsEnv = "GOKEEPALIVED_BENCH_TAKEOVER_PAIRS" // pairs of takeovers
)

const (
	defaultDetectPairs   = 20
	defaultTakeoverPairs = 20
	// detectAllowance is what the detection goal allows past
	// multiplier x interval: the wake-up of the detector's timer, the
	// console line and the test's 1 ms poll of it, on a shared machine.
	detectAllowance = 30 * time.Millisecond
)

// A profile is a BFD session's timing: min_rx = min_tx = interval (ms)
// and the multiplier.
type profile struct {
	mult, interval int
}

func (p profile) String() string { return fmt.Sprintf("%d x %d ms", p.mult, p.interval) }

// detect is the detection time the profile negotiates.
func (p profile) detect() time.Duration {
	return time.Duration(p.mult*p.interval) * time.Millisecond
}

var profiles = []profile{{3, 50}, {3, 10}}

// TestBFDBench runs every measurement and prints one table; the rows go
// to the project's benchmark table too (benchtab). Subtests select parts:
// detect/3x50ms, detect/3x10ms, takeover.
func TestBFDBench(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("a benchmark of a few minutes: set %s=1", benchEnv)
	}
	nettest.RequireRoot(t)
	detectPairs, err := envInt(detectPairsEnv, defaultDetectPairs)
	if err != nil {
		t.Fatal(err)
	}
	takeoverPairs, err := envInt(takeoverPairsEnv, defaultTakeoverPairs)
	if err != nil {
		t.Fatal(err)
	}
	bin := binary(t)
	loadBefore := loadavg()
	began := time.Now()

	var rows []benchtab.Row
	for _, p := range profiles {
		t.Run(fmt.Sprintf("detect/%dx%dms", p.mult, p.interval), func(t *testing.T) {
			lb := newDetectLab(t, bin)
			ps, err := benchtab.Interleave(detectPairs, func(ours bool, pair int) ([]float64, error) {
				return lb.measure(ours, pair, p)
			})
			if err != nil {
				t.Fatal(err)
			}
			bound := ms(p.detect() + detectAllowance)
			t.Logf("BFD %v: sessions Down before the stop, trials run again: gokeepalived %d, keepalived %d", p, lb.flaps[true], lb.flaps[false])
			bounds := benchtab.Constant(ps[0].Len(), bound)
			t.Logf("BFD %v: time from the peer's SIGSTOP to the detector's Down\n%s", p, ps[0].PairsText(bounds))
			rows = append(rows, ps[0].BoundRow(
				fmt.Sprintf("BFD detection at %v: peer's SIGSTOP to Down (median / max)", p),
				fmt.Sprintf("at most %v + %d ms = %.0f ms", p, detectAllowance/time.Millisecond, bound),
				bounds))
		})
	}
	t.Run("takeover", func(t *testing.T) {
		lb := newTakeoverLab(t, bin)
		ps, err := benchtab.Interleave(takeoverPairs, lb.measure)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("SIGKILL of the master to the backup's VIP, advert_int 1; gokeepalived with bfd_takeover (BFD 3 x 50 ms), "+
			"keepalived by the Master_Down_Interval; each bound is gokeepalived's: BFD detection + skew + 20 ms\n%s", ps[0].PairsText(ps[1].G))
		t.Logf("keepalived's own bound per pair (last advert + 3 x advert_int + skew + 20 ms): %v", ps[1].K)
		literal := ms(takeoverDetect + takeoverSkew + 20*time.Millisecond)
		rows = append(rows, ps[0].BoundRow(
			"VRRP takeover after SIGKILL of the master, advert_int 1: gokeepalived bfd_takeover 3 x 50 ms, keepalived without (median / max)",
			fmt.Sprintf("at most BFD detection + skew + 20 ms = %.0f ms", literal), benchtab.Constant(ps[0].Len(), literal)))
	})

	var b strings.Builder
	fmt.Fprintf(&b, "machine: %d cores; load average before %s, after %s; %v\n",
		runtime.NumCPU(), loadBefore, loadavg(), time.Since(began).Round(time.Second))
	fmt.Fprintf(&b, "pairs: %d per detection profile, %d takeovers\n\n", detectPairs, takeoverPairs)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tgokeepalived\tkeepalived\tgokeepalived/keepalived per pair\tgoal")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Measurement, r.Gokeepalived, r.Keepalived, r.Ratio, r.Goal)
	}
	tw.Flush()
	t.Logf("\n%s", b.String())
	if err := benchtab.Append(rows...); err != nil {
		t.Error(err)
	}
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func envInt(key string, def int) (int, error) {
	s := os.Getenv(key)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive count", key, s)
	}
	return n, nil
}

// binary returns GOKEEPALIVED_BENCH_BIN or a fresh build.
func binary(t *testing.T) string {
	if p := os.Getenv(binEnv); p != "" {
		return p
	}
	return nettest.BuildGokeepalived(t)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
