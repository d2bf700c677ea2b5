// Package vrrp measures gokeepalived's VRRP beside keepalived's, in the same
// run and in the same kind of namespace lab: failover after SIGKILL of the
// master, which RFC 3768 (VRRPv2) and RFC 5798 (VRRPv3) bound by
// Master_Down_Interval; graceful handover after SIGTERM, where the priority 0
// advertisement bounds it by Skew_Time; and the CPU time and memory of one
// daemon that is master (or backup) of 255 virtual routers on one link.
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
	benchEnv  = "GOKEEPALIVED_BENCH"        // 1 runs it
	binEnv    = "GOKEEPALIVED_BENCH_BIN"    // a prebuilt gokeepalived instead of go build
	trialsEnv = "GOKEEPALIVED_BENCH_TRIALS" // trials per implementation and scenario
	windowEnv = "GOKEEPALIVED_BENCH_WINDOW" // measured window of the 255-instance run
	warmupEnv = "GOKEEPALIVED_BENCH_WARMUP" // settling time before that window
)

const (
	defaultTrials = 20
	defaultWindow = time.Minute
	defaultWarmup = 10 * time.Second
)

// TestVRRPBench runs every measurement for both implementations and prints
// one table.
func TestVRRPBench(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("a benchmark of about 15 minutes: set %s=1", benchEnv)
	}
	nettest.RequireRoot(t)
	trials, err := envInt(trialsEnv, defaultTrials)
	if err != nil {
		t.Fatal(err)
	}
	window, err := envDuration(windowEnv, defaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	warmup, err := envDuration(warmupEnv, defaultWarmup)
	if err != nil {
		t.Fatal(err)
	}
	impls := []impl{gokeepalived(binary(t)), keepalived(t)}
	loadBefore := loadavg()

	var rep report
	for _, sc := range scenarios {
		for _, im := range impls {
			t.Run(sc.name()+"/"+im.name, func(t *testing.T) {
				r := runHandovers(t, im, sc, trials)
				rep.addLatency(sc, im.name, "VIP on backup", ms(sc.bound()), r.vip)
				rep.addLatency(sc, im.name, "client neighbour", ms(sc.bound()), r.neigh)
				if !sc.kill {
					rep.addLatency(sc, im.name, "master exited", "-", r.exit)
				}
			})
		}
	}
	for _, master := range impls {
		backup := impls[0]
		if master.name == backup.name {
			backup = impls[1]
		}
		t.Run("scale/"+master.name+"-master", func(t *testing.T) {
			ms, bs := runScale(t, master, backup, warmup, window)
			rep.addUsage(master.name, "master", window, ms)
			rep.addUsage(backup.name, "backup", window, bs)
		})
	}

	var b strings.Builder
	fmt.Fprintf(&b, "machine: %d cores, %s; load average before %s, after %s\n",
		runtime.NumCPU(), cpuModel(), loadBefore, loadavg())
	fmt.Fprintf(&b, "trials: %d per implementation and scenario; 255-instance window %v after %v warm-up\n\n",
		trials, window, warmup)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	rep.write(tw, impls[0].name, impls[1].name)
	tw.Flush()
	t.Logf("\n%s", b.String())
	if err := benchtab.Append(rep.table(impls[0].name, impls[1].name)...); err != nil {
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
