// Package vrrp measures gokeepalived's VRRP beside keepalived's, in the same
// run and in the same kind of namespace lab, in interleaved pairs: failover
// after SIGKILL of the master, which RFC 3768 (VRRPv2) and RFC 5798 (VRRPv3)
// bound by Master_Down_Interval; graceful handover after SIGTERM, where the
// priority 0 advertisement bounds it by Skew_Time; the CPU time and memory
// of a daemon that is master (or backup) of 255 virtual routers on one
// link; and 20 VRRPv3 routers at keepalived's smallest interval, 0.01 s:
// no spurious transition, takeover within the bound, CPU per advert and
// the garbage collector's pauses.
//
// The tests run only with GOKEEPALIVED_BENCH=1; see README.md.
package vrrp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	benchEnv     = "GOKEEPALIVED_BENCH"            // 1 runs it
	binEnv       = "GOKEEPALIVED_BENCH_BIN"        // a prebuilt gokeepalived instead of go build
	trialsEnv    = "GOKEEPALIVED_BENCH_TRIALS"     // pairs of trials per handover scenario
	pairsEnv     = "GOKEEPALIVED_BENCH_PAIRS"      // pairs of 255-instance windows
	windowEnv    = "GOKEEPALIVED_BENCH_WINDOW"     // one 255-instance window
	warmupEnv    = "GOKEEPALIVED_BENCH_WARMUP"     // settling time before the 255-instance windows
	csSteadyEnv  = "GOKEEPALIVED_BENCH_CS_STEADY"  // centisecond steady time per implementation
	csWindowsEnv = "GOKEEPALIVED_BENCH_CS_WINDOWS" // windows it is cut into, per implementation
	csTrialsEnv  = "GOKEEPALIVED_BENCH_CS_TRIALS"  // pairs of centisecond SIGKILL trials
)

const (
	defaultTrials    = 3
	defaultPairs     = 3
	defaultWindow    = 15 * time.Second
	defaultWarmup    = 10 * time.Second
	defaultCSSteady  = 10 * time.Minute
	defaultCSWindows = 5
	defaultCSTrials  = 50
	// csWarmup is the settling time of a centisecond window after the
	// master holds every VIP.
	csWarmup = 2 * time.Second
)

// TestVRRPBench runs every measurement, each in interleaved pairs of
// gokeepalived and keepalived, and prints one table. Subtests select
// parts: handover/, scale, centisecond/steady, centisecond/sigkill.
func TestVRRPBench(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("a benchmark of about 27 minutes: set %s=1", benchEnv)
	}
	nettest.RequireRoot(t)
	var errs []error
	intv := func(key string, def int) int {
		n, err := envInt(key, def)
		errs = append(errs, err)
		return n
	}
	durv := func(key string, def time.Duration) time.Duration {
		d, err := envDuration(key, def)
		errs = append(errs, err)
		return d
	}
	trials, pairs, window, warmup := intv(trialsEnv, defaultTrials), intv(pairsEnv, defaultPairs),
		durv(windowEnv, defaultWindow), durv(warmupEnv, defaultWarmup)
	csSteady, csWindows, csTrials := durv(csSteadyEnv, defaultCSSteady), intv(csWindowsEnv, defaultCSWindows), intv(csTrialsEnv, defaultCSTrials)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	impls := [2]impl{gokeepalived(binary(t)), keepalived(t)}
	loadBefore := loadavg()
	began := time.Now()

	var rows []benchtab.Row
	for _, sc := range scenarios {
		t.Run("handover/"+sc.name(), func(t *testing.T) {
			vip, neigh, exit, err := runHandovers(t, impls, sc, trials)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows,
				latencyRow(sc.name()+": VIP on backup (median / max)", sc, vip),
				latencyRow(sc.name()+": client neighbour (median / max)", sc, neigh))
			if !sc.kill {
				rows = append(rows, infoRow(sc.name()+": master exited (median)", "%.0f ms", benchtab.Pairs(exit)))
			}
		})
	}
	t.Run("scale", func(t *testing.T) {
		ps, err := runScale(t, impls, warmup, window, pairs)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, scaleRows(ps, window)...)
	})
	var steady steadyResult
	t.Run("centisecond/steady", func(t *testing.T) {
		var err error
		steady, err = runSteady(t, impls, csWarmup, csSteady/time.Duration(csWindows), csWindows)
		if err != nil {
			t.Fatal(err)
		}
	})
	var fail pairsMs
	t.Run("centisecond/"+centisecond.name(), func(t *testing.T) {
		var err error
		fail, _, _, err = runHandovers(t, impls, centisecond, csTrials)
		if err != nil {
			t.Fatal(err)
		}
	})
	rows = append(rows, centiRows(steady, csSteady, fail)...)

	var b strings.Builder
	fmt.Fprintf(&b, "machine: %d cores, %s; load average before %s, after %s; %v\n",
		runtime.NumCPU(), cpuModel(), loadBefore, loadavg(), time.Since(began).Round(time.Second))
	fmt.Fprintf(&b, "pairs: %d per handover scenario; 255 instances %d of %v after %v; centisecond %d windows of %v each, %d SIGKILL\n\n",
		trials, pairs, window, warmup, csWindows, csSteady/time.Duration(csWindows), csTrials)
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

// binary returns the gokeepalived executable to measure.
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(binEnv); p != "" {
		return p
	}
	p := filepath.Join(t.TempDir(), "gokeepalived")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", p, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building gokeepalived: %v\n%s", err, out)
	}
	return p
}

func envInt(key string, def int) (int, error) {
	s := os.Getenv(key)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", key, s)
	}
	return n, nil
}

func envDuration(key string, def time.Duration) (time.Duration, error) {
	s := os.Getenv(key)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 60s", key, s)
	}
	return d, nil
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if _, ok := nettest.Eventually(timeout, cond); !ok {
		t.Fatalf("%s: not within %v", what, timeout)
	}
}
