// Package checkers measures the health checker side by side with
// keepalived: the same configuration of TCP_CHECK and HTTP_GET real
// servers, against the same local listeners, in the same kernel guest,
// one daemon after the other. It reports the checks per second each
// achieved, the CPU seconds each used per minute and each one's peak
// resident set.
//
// TestCheckerBench, on the host, boots the guest of test/vm (IPVS, which
// keepalived's checker will not run without) and runs
// TestGuestCheckerBench there. It runs only with GOKEEPALIVED_BENCH=1; see
// README.md.
package checkers

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// Environment of the benchmark; the host passes the last three to the
// guest.
const (
	benchEnv  = "GOKEEPALIVED_BENCH"        // 1 runs it
	sizesEnv  = "GOKEEPALIVED_BENCH_SIZES"  // TCP:HTTP real servers, comma-separated
	windowEnv = "GOKEEPALIVED_BENCH_WINDOW" // measured window per daemon
	warmupEnv = "GOKEEPALIVED_BENCH_WARMUP" // settling time before it
	orderEnv  = "GOKEEPALIVED_BENCH_ORDER"  // "reverse" starts the first pair with keepalived
	pairsEnv  = "GOKEEPALIVED_BENCH_PAIRS"  // interleaved pairs of windows per size
	// icountEnv is qemu's -icount shift for the guest, or "off": see
	// guestClock.
	icountEnv = "GOKEEPALIVED_BENCH_ICOUNT"
	// baselineEnv names, on the host, another gokeepalived binary (say,
	// built from an earlier commit) measured in the same boot; the host
	// tells the guest with baselineEnv=1.
	baselineEnv = "GOKEEPALIVED_BENCH_BASELINE"
)

// baselineBinary is the file name of the baseline in the guest's
// directory.
const baselineBinary = "gokeepalived-baseline"

// The size, then a tenth and a hundredth of it: a single TCG vCPU
// holds neither daemon to the first two.
const (
	defaultSizes  = "10000:2000,1000:200,100:20"
	defaultWindow = 30 * time.Second
	defaultWarmup = 15 * time.Second
	// defaultPairs keeps the default sizes within about 25 minutes of
	// wall time under icount.
	defaultPairs = 2
	// timeWaitLimit bounds the wait for the last daemon's TIME_WAIT
	// sockets, which Linux keeps 60 s; under timeWaitFloor of them cost
	// nothing worth the wait.
	timeWaitLimit = 75 * time.Second
	timeWaitFloor = 100
	// defaultMem is the guest's RAM: two daemons' worth of 12,000 checks
	// and the listeners must fit beside the initramfs.
	defaultMem = "3072"
	// defaultSMP gives the daemon and the listeners a vCPU each; see
	// layout.
	defaultSMP = "2"
	// defaultIcount makes the guest's clock count instructions.
	defaultIcount = "2"
)

// guestClock reads icountEnv. Under plain TCG the guest's clock is the
// host's, and a window's CPU time is how long the host took to emulate
// the daemon's instructions: it moved by 20-30% from one window to the
// next with the load of the host's other tenants, as much as the
// difference measured. Under -icount each instruction advances the
// guest's clock by 2^shift ns, so CPU time is a count of the daemon's
// instructions, user and kernel, and the same checks give the same
// figure whatever the host is doing; the run only takes longer. qemu then
// runs the vCPUs in turn on one host thread with one shared clock, and a
// task on one vCPU would be charged for the instructions of the others:
// icount takes one vCPU. shift is "" for the host's clock.
func guestClock() (shift string, err error) {
	v := envOr(icountEnv, defaultIcount)
	if v == "off" {
		return "", nil
	}
	if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 10 {
		return "", fmt.Errorf("%s=%q: want a shift of 0 to 10, or off", icountEnv, v)
	}
	return v, nil
}

// TestCheckerBench runs the benchmark in one boot of the kernel guest.
func TestCheckerBench(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("a benchmark of several minutes: set %s=1", benchEnv)
	}
	vm.Require(t)
	if os.Getenv("VMRUN_MEM") == "" {
		t.Setenv("VMRUN_MEM", defaultMem)
	}
	shift, err := guestClock()
	if err != nil {
		t.Fatal(err)
	}
	guestEnv := []string{sizesEnv + "=" + envOr(sizesEnv, defaultSizes)}
	switch smp := os.Getenv("VMRUN_SMP"); {
	case shift == "" && smp == "":
		t.Setenv("VMRUN_SMP", defaultSMP)
	case shift != "" && smp != "" && smp != "1":
		t.Fatalf("VMRUN_SMP=%s with %s=%s: an instruction-counting guest has one vCPU (see guestClock)", smp, icountEnv, shift)
	case shift != "":
		t.Setenv("VMRUN_SMP", "1")
		t.Setenv("VMRUN_ICOUNT", shift)
		guestEnv = append(guestEnv, icountEnv+"="+shift)
	}
	for _, k := range []string{windowEnv, warmupEnv, orderEnv, pairsEnv, schedulerEnv, straceEnv} {
		if v := os.Getenv(k); v != "" {
			guestEnv = append(guestEnv, k+"="+v)
		}
	}
	if d, err := straceDuration(os.Getenv(straceEnv)); err != nil {
		t.Fatal(err)
	} else if d > 0 {
		t.Setenv("VMRUN_EXTRA_BINS", strings.TrimSpace(os.Getenv("VMRUN_EXTRA_BINS")+" strace"))
	}
	ctx, cancel := vm.Context(t)
	defer cancel()
	timeout := 60 * time.Minute
	if deadline, ok := t.Deadline(); ok {
		timeout = time.Until(deadline) - 30*time.Second
	}
	dir := t.TempDir()
	if base := os.Getenv(baselineEnv); base != "" {
		b, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, baselineBinary), b, 0o755); err != nil {
			t.Fatal(err)
		}
		guestEnv = append(guestEnv, baselineEnv+"=1")
	}
	vm.Build(t, ctx, "build", "-o", filepath.Join(dir, "gokeepalived"), "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	vm.Build(t, ctx, "test", "-c", "-o", filepath.Join(dir, "checkers.test"), ".")
	command := fmt.Sprintf("env %s ./checkers.test -test.v -test.count=1 -test.run '^TestGuestCheckerBench$' -test.timeout=%s",
		strings.Join(guestEnv, " "), timeout.Round(time.Second))
	vm.RunCommand(t, ctx, dir, command)
}

// clockName says what the guest's clock counts, for shift as the host
// passed it to the guest ("" for none).
func clockName(shift string) string {
	if shift == "" {
		return "guest clock: the host's (TCG)"
	}
	n, _ := strconv.Atoi(shift)
	return fmt.Sprintf("guest clock: instructions (qemu -icount shift=%s, %d ns each)", shift, 1<<n)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envDuration(t *testing.T, key string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration", key, v)
	}
	return d
}

// A daemon is one of the two programs compared.
type daemon struct {
	name string
	path string
}

// TestGuestCheckerBench measures gokeepalived and keepalived in
// interleaved pairs of windows at each size (gokeepalived then keepalived,
// keepalived then gokeepalived, ...), and prints the table, every pair's
// figures and make bench's rows.
func TestGuestCheckerBench(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestCheckerBench")
	}
	sizes, err := parseSizes(envOr(sizesEnv, defaultSizes))
	if err != nil {
		t.Fatal(err)
	}
	window := envDuration(t, windowEnv, defaultWindow)
	warmup := envDuration(t, warmupEnv, defaultWarmup)
	pairs, err := pairCount(os.Getenv(pairsEnv))
	if err != nil {
		t.Fatal(err)
	}
	trace, err := straceDuration(os.Getenv(straceEnv))
	if err != nil {
		t.Fatal(err)
	}
	if err := raiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	lay, err := newLayout()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d CPUs: %s; %s", runtime.NumCPU(), lay, clockName(os.Getenv(icountEnv)))
	daemons := map[bool]daemon{true: {"gokeepalived", "./gokeepalived"}, false: {"keepalived", "keepalived"}}
	var baseline *daemon
	if os.Getenv(baselineEnv) == "1" {
		baseline = &daemon{"baseline", "./" + baselineBinary}
	}
	// Interleave starts even pairs with gokeepalived; reversed, the
	// first pair starts with keepalived.
	reverse := os.Getenv(orderEnv) == "reverse"
	var results []result
	var measured []sizePairs
	for _, s := range sizes {
		t.Run(s.String(), func(t *testing.T) {
			newLink(t, s)
			lst := startListeners(t, s, lay.listeners)
			conf := filepath.Join(t.TempDir(), "keepalived.conf")
			if err := os.WriteFile(conf, []byte(s.config()), 0o644); err != nil {
				t.Fatal(err)
			}
			if mode := os.Getenv(schedulerEnv); mode != "" {
				r := measureScheduler(t, s, lst, lay, warmup, window, mode == "profile")
				t.Logf("check.Scheduler at %s: %.0f checks/s of %.0f, %.2f CPU s/min, %d of %d real servers up at the end; its CPU %.0f%% busy",
					s, r.checksPerSecond(), s.checksPerSecond(), r.cpuPerMinute(), r.inTable, s.total(), 100*r.cpuBusy)
				results = append(results, r)
			}
			one := func(d daemon, pair int) result {
				tw, waited, err := drainTimeWait(os.DirFS("/proc"), timeWaitFloor, timeWaitLimit)
				if err != nil {
					t.Fatal(err)
				}
				if tw > 0 {
					t.Logf("%d sockets in TIME_WAIT before %s; %v for them to expire", tw, d.name, waited.Round(time.Second))
				}
				var traceFor time.Duration
				if pair == 0 && d.name != "baseline" {
					traceFor = trace
				}
				r := measure(t, d, conf, s, lst, lay, warmup, window, os.Getenv(schedulerEnv) == "profile" && d.name == "gokeepalived" && pair == 0, traceFor)
				r.round = pair + 1
				t.Logf("%s at %s, pair %d: %.0f checks/s of %.0f, %.2f CPU s/min, %.3f CPU ms/check, %.1f MB peak RSS, %d of %d real servers in the table at the end; "+
					"its CPU %.0f%% busy, listeners %.2f CPU s/min, kernel threads %.2f CPU s/min, the test %.2f CPU s/min, the guest %.3f CPU ms/check; started in %v, stopped in %v; most frequent log lines:\n%s",
					d.name, s, pair+1, r.checksPerSecond(), s.checksPerSecond(), r.cpuPerMinute(), r.cpuPerCheck(), r.rssMB(), r.inTable, s.total(),
					100*r.cpuBusy, r.listenersCPU.Seconds()/r.window.Minutes(), r.kernelThreadsPerMinute(), r.testCPU.Seconds()/r.window.Minutes(), r.guestCPUPerCheck(),
					r.startup.Round(time.Second), r.stopped.Round(time.Second),
					r.log.Digest(12))
				results = append(results, r)
				return r
			}
			ps, err := benchtab.Interleave(pairs, func(ours bool, pair int) ([]float64, error) {
				r := one(daemons[ours != reverse], pair)
				if baseline != nil && ours == (pair%2 != 0) {
					// After each pair: the baseline is a
					// reference, not a side of the pairs.
					one(*baseline, pair)
				}
				return r.figures(), nil
			})
			if reverse {
				for i := range ps {
					ps[i].G, ps[i].K = ps[i].K, ps[i].G
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			sp := newSizePairs(s, ps)
			t.Logf("%s, every pair (gokeepalived, keepalived, ratio):\n%s", s, sp.perPair())
			measured = append(measured, sp)
			if err := lst.stop(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Logf("checker benchmark, %s window per daemon after %s settling, %d interleaved pairs, %s, %s:\n%s",
		window, warmup, pairs, lay, clockName(os.Getenv(icountEnv)), table(results))
	for _, r := range benchRows(measured, os.Getenv(icountEnv) != "") {
		t.Log(benchtab.Line(r))
	}
}

// pairCount reads pairsEnv: defaultPairs when v is empty.
func pairCount(v string) (int, error) {
	if v == "" {
		return defaultPairs, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive count", pairsEnv, v)
	}
	return n, nil
}

// The figures of a window that the pairs compare, in the order
// result.figures returns them.
const (
	figCPUPerCheck = iota
	figRSS
	figChecksPerSecond
	figGuestCPUPerCheck
	numFigures
)

// figures returns the window's figures for benchtab.Interleave.
func (r result) figures() []float64 {
	f := make([]float64, numFigures)
	f[figCPUPerCheck] = r.cpuPerCheck()
	f[figRSS] = r.rssMB()
	f[figChecksPerSecond] = r.checksPerSecond()
	f[figGuestCPUPerCheck] = r.guestCPUPerCheck()
	return f
}

// sizePairs is one size's interleaved pairs, one Pairs per figure.
type sizePairs struct {
	size size
	figs [numFigures]benchtab.Pairs
}

func newSizePairs(s size, ps []benchtab.Pairs) sizePairs {
	sp := sizePairs{size: s}
	copy(sp.figs[:], ps)
	return sp
}

// perPair lays out every pair's figures and ratios, for a reader to
// check the verdicts against.
func (sp sizePairs) perPair() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "pair\tCPU ms/check\t\tratio\tpeak RSS MB\t\tratio\tchecks/s\t\tratio\tguest ms/check\t\tratio\t")
	for i := range sp.figs[figCPUPerCheck].Len() {
		fmt.Fprintf(w, "%d\t", i+1)
		for f, format := range [numFigures]string{"%.3f", "%.1f", "%.0f", "%.3f"} {
			g, k := sp.figs[f].G[i], sp.figs[f].K[i]
			fmt.Fprintf(w, format+"\t"+format+"\t%s\t", g, k, ratio(g, k))
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	return b.String()
}

// The goals of make bench's rows: gokeepalived's CPU per check at most
// 0.85 times keepalived's at every size, and its peak RSS at most 1.5
// times keepalived's at the full size.
var (
	cpuGoal   = benchtab.AtMost(0.85)
	rssGoal   = benchtab.AtMost(1.5)
	rssGoalAt = size{10000, 2000}
)

// benchRows are make bench's rows: for each size, gokeepalived's CPU per
// check, the whole guest's and the peak RSS beside keepalived's, each the
// median over the interleaved pairs with the range of the pairs' ratios,
// and the goals' verdicts on the worst pair. icount says the guest's
// clock counted instructions.
func benchRows(measured []sizePairs, icount bool) []benchtab.Row {
	var rows []benchtab.Row
	for _, sp := range measured {
		if sp.figs[figCPUPerCheck].Len() == 0 {
			continue
		}
		what := fmt.Sprintf("checkers, %s TCP:HTTP real servers", sp.size)
		if icount {
			what += " (instruction-counted guest)"
		}
		rows = append(rows, sp.figs[figCPUPerCheck].Row(what+", CPU per check", "%.3f ms", cpuGoal))
		if g := sp.figs[figGuestCPUPerCheck]; slices.Min(g.G) > 0 && slices.Min(g.K) > 0 {
			// Not a goal, which is the daemon's CPU, but what
			// the checks cost the machine wherever the kernel
			// did their work.
			gf, kf := g.Figures("%.3f ms")
			rows = append(rows, benchtab.Row{
				Measurement:  what + ", whole guest's CPU per check (daemon, real servers, kernel threads)",
				Gokeepalived: gf, Keepalived: kf, Ratio: g.RatioText(),
			})
		}
		rss := sp.figs[figRSS]
		if sp.size == rssGoalAt {
			rows = append(rows, rss.Row(what+", peak RSS", "%.1f MB", rssGoal))
		} else {
			gf, kf := rss.Figures("%.1f MB")
			rows = append(rows, benchtab.Row{Measurement: what + ", peak RSS", Gokeepalived: gf, Keepalived: kf, Ratio: rss.RatioText()})
		}
	}
	return rows
}

// A summary is one daemon's figures at one size, for the console's
// table: each the median over its windows.
type summary struct {
	n                                                 int
	checksPerSecond, cpuPerMinute, cpuPerCheck, rssMB float64
	kernelThreadsPerMinute, guestCPUPerCheck          float64
}

// summarize returns the summary of daemon at size z.
func summarize(results []result, z size, daemon string) summary {
	var sm summary
	var cps, cpm, cpc, rss, ktm, gpc []float64
	for _, r := range results {
		if r.size != z || r.daemon != daemon {
			continue
		}
		sm.n++
		cps = append(cps, r.checksPerSecond())
		cpm = append(cpm, r.cpuPerMinute())
		cpc = append(cpc, r.cpuPerCheck())
		rss = append(rss, r.rssMB())
		ktm = append(ktm, r.kernelThreadsPerMinute())
		gpc = append(gpc, r.guestCPUPerCheck())
	}
	if sm.n > 0 {
		sm.checksPerSecond, sm.cpuPerMinute, sm.cpuPerCheck, sm.rssMB = benchtab.Median(cps), benchtab.Median(cpm), benchtab.Median(cpc), benchtab.Median(rss)
		sm.kernelThreadsPerMinute, sm.guestCPUPerCheck = benchtab.Median(ktm), benchtab.Median(gpc)
	}
	return sm
}

// daemonsOf returns the daemons measured at size z, in the order they
// first appear.
func daemonsOf(results []result, z size) []string {
	var ds []string
	for _, r := range results {
		if r.size == z && !slices.Contains(ds, r.daemon) {
			ds = append(ds, r.daemon)
		}
	}
	return ds
}

// A result is one daemon's measured window at one size.
type result struct {
	daemon    string
	round     int // the pair, from 1; 0 for the check.Scheduler row
	size      size
	window    time.Duration
	tcp, http uint64 // connections and requests the listeners took
	cpu       time.Duration
	procs     int
	rss       uint64
	inTable   int // real servers in the table at the end
	startup   time.Duration
	stopped   time.Duration
	// cpuBusy is the fraction of the window the daemon's CPU was busy
	// (the guest's only one, or the one the layout gives the daemon),
	// and listenersCPU the listeners' CPU time: near saturation, a daemon
	// short of its checks was short of CPU.
	cpuBusy      float64
	listenersCPU time.Duration
	// testCPU is this process's own, reading the daemon's console among
	// other things.
	testCPU time.Duration
	// guestCPU is the busy time of all the guest's CPUs, and
	// kernelThreadsCPU that of its kernel threads (see kernelThreads).
	// With the guest saturated, each daemon's checks leave a different
	// share of their kernel work to those threads.
	guestCPU, kernelThreadsCPU time.Duration
	log                        *daemonLog
}

// label names the row of r in the table.
func (r result) label() string {
	if r.round == 0 {
		return r.daemon
	}
	return fmt.Sprintf("%s #%d", r.daemon, r.round)
}

func (r result) checksPerSecond() float64 {
	return float64(r.tcp+r.http) / r.window.Seconds()
}

func (r result) cpuPerMinute() float64 {
	return r.cpu.Seconds() / r.window.Minutes()
}

// cpuPerCheck is the CPU milliseconds spent per check the listeners saw.
func (r result) cpuPerCheck() float64 {
	if r.tcp+r.http == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / 1000 / float64(r.tcp+r.http)
}

// guestCPUPerCheck is the CPU milliseconds the whole guest spent per
// check: daemon, listeners, kernel threads and the test together.
func (r result) guestCPUPerCheck() float64 {
	if r.tcp+r.http == 0 {
		return 0
	}
	return float64(r.guestCPU.Microseconds()) / 1000 / float64(r.tcp+r.http)
}

func (r result) kernelThreadsPerMinute() float64 {
	return r.kernelThreadsCPU.Seconds() / r.window.Minutes()
}

func (r result) rssMB() float64 { return float64(r.rss) / (1 << 20) }

// A sample is what the benchmark reads at each end of a window.
type sample struct {
	daemon, listeners usage
	self              time.Duration
	// cpu is the daemon's CPU's times, guest those of all the guest's.
	cpu, guest cpuTimes
	kthreads   map[int]time.Duration
	tcp, http  uint64 // the listeners' counts
}

// takeSample reads a sample from proc, of the daemon with PID pid
// running on the CPU of /proc/stat's line cpu.
func takeSample(proc fs.FS, pid int, lst *listeners, cpu string) (sample, error) {
	var s sample
	var err error
	if s.self, err = selfCPU(); err != nil {
		return s, err
	}
	if s.daemon, err = schedUsage(proc, pid); err != nil {
		return s, err
	}
	if s.listeners, err = schedUsage(proc, lst.cmd.Process.Pid); err != nil {
		return s, err
	}
	if s.cpu, err = readCPUTimes(proc, cpu); err != nil {
		return s, err
	}
	if s.guest, err = readCPUTimes(proc, "cpu"); err != nil {
		return s, err
	}
	if s.kthreads, err = kernelThreads(proc); err != nil {
		return s, err
	}
	s.tcp, s.http, err = lst.counts()
	return s, err
}

// measure runs d on conf: it waits until the table holds every real
// server, lets the checks settle for warmup, then measures window.
func measure(t *testing.T, d daemon, conf string, s size, lst *listeners, lay layout, warmup, window time.Duration, profile bool, trace time.Duration) result {
	t.Helper()
	run(t, "ipvsadm", "-C")
	dir := t.TempDir()
	cmd := exec.Command(d.path, "-C", "-n", "-l", "-G", "-f", conf,
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid"))
	prof := filepath.Join(dir, "cpu.prof")
	if profile {
		// The daemon profiles its checker loop from start to stop.
		cmd.Env = append(os.Environ(), "GOKEEPALIVED_CHECKER_CPUPROFILE="+prof)
	}
	out := newDaemonLog(32 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := startOn(cmd, lay.daemon); err != nil {
		t.Fatalf("starting %s: %v", d.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-done
		}
		exec.Command("ipvsadm", "-C").Run()
	})
	alive := func() {
		t.Helper()
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("%s exited: %v\n%s", d.name, err, out)
		default:
		}
	}

	r := result{daemon: d.name, size: s, window: window}
	for n := 0; n != s.total(); time.Sleep(2 * time.Second) {
		alive()
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("%s: %d of %d real servers in the table after 5 minutes\n%s", d.name, n, s.total(), out)
		}
		n = destinations(t)
	}
	r.startup = time.Since(start)
	time.Sleep(warmup)
	alive()
	if trace > 0 {
		// Traced once settled, past the start-up's first round of
		// verdicts; the window waits its settling time again after
		// the tracer has gone.
		straceDaemon(t, d.name, cmd.Process.Pid, lst, trace)
		time.Sleep(warmup)
		alive()
	}

	proc := os.DirFS("/proc")
	s0, err := takeSample(proc, cmd.Process.Pid, lst, statLine(lay.daemon))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(window)
	alive()
	s1, err := takeSample(proc, cmd.Process.Pid, lst, statLine(lay.daemon))
	if err != nil {
		t.Fatal(err)
	}
	r.cpuBusy = busyFraction(s0.cpu, s1.cpu)
	r.guestCPU, r.kernelThreadsCPU = s1.guest.busy-s0.guest.busy, cpuSince(s0.kthreads, s1.kthreads)
	r.listenersCPU, r.testCPU = s1.listeners.cpu-s0.listeners.cpu, s1.self-s0.self
	r.cpu, r.rss, r.procs = s1.daemon.cpu-s0.daemon.cpu, s1.daemon.hwm, s1.daemon.procs
	r.tcp, r.http = s1.tcp-s0.tcp, s1.http-s0.http
	r.window = time.Since(t0)
	r.inTable = destinations(t)

	stop := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping %s: %v", d.name, err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("%s after SIGTERM: %v\n%s", d.name, err, out)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s still running 2 minutes after SIGTERM\n%s", d.name, out)
	}
	r.stopped = time.Since(stop)
	r.log = out
	if profile {
		b, err := os.ReadFile(prof)
		if err != nil {
			t.Errorf("%s's CPU profile: %v", d.name, err)
		} else {
			writeProfile(d.name, s, b)
		}
	}
	// A daemon that falls behind is a result; one that checks nothing
	// at all did not run.
	if r.tcp+r.http == 0 {
		t.Errorf("%s ran no checks in %v\n%s", d.name, r.window, out)
	}
	if r.procs == 0 || r.cpu <= 0 || r.rss == 0 {
		t.Errorf("%s: usage %+v: not measured", d.name, s1.daemon)
	}
	return r
}

// newLink puts the addresses of s on a dummy link, gone when t ends.
func newLink(t *testing.T, s size) {
	t.Helper()
	exec.Command("ip", "link", "del", labLink).Run()
	var batch bytes.Buffer
	fmt.Fprintf(&batch, "link add %s type dummy\n", labLink)
	for _, a := range s.addrs() {
		fmt.Fprintf(&batch, "addr add %s/32 dev %s\n", a, labLink)
	}
	fmt.Fprintf(&batch, "link set %s up\n", labLink)
	cmd := exec.Command("ip", "-batch", "-")
	cmd.Stdin = &batch
	t.Cleanup(func() { exec.Command("ip", "link", "del", labLink).Run() })
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setting up %s: %v\n%s", labLink, err, out)
	}
}

// destinations counts the real servers in the table, as ipvsadm -Ln
// lists them.
func destinations(t *testing.T) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(run(t, "ipvsadm", "-Ln")) {
		if strings.HasPrefix(line, "  -> ") && !strings.Contains(line, "RemoteAddress") {
			n++
		}
	}
	return n
}

// run runs a command and returns its output; it fails t if the command
// fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ratio formats a/b, or nothing when either is 0: the check.Scheduler
// row has no figures of the guest.
func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", a/b)
}

// table lays results out, each measurement's row followed, after the
// last row of a size, by the ratios of each other daemon to keepalived:
// of the medians over the pairs when there are several.
func table(results []result) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "size (TCP:HTTP)\tdaemon\tchecks/s\tof\tTCP/s\tHTTP/s\tCPU s/min\tCPU ms/check\tpeak RSS MB\tprocs\tin table\tCPU busy\tkthreads s/min\tguest ms/check\t")
	for i, r := range results {
		secs := r.window.Seconds()
		fmt.Fprintf(w, "%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.3f\t%.1f\t%d\t%d/%d\t%.0f%%\t%.2f\t%.3f\t\n",
			r.size, r.label(), r.checksPerSecond(), r.size.checksPerSecond(), float64(r.tcp)/secs, float64(r.http)/secs,
			r.cpuPerMinute(), r.cpuPerCheck(), r.rssMB(), r.procs, r.inTable, r.size.total(), 100*r.cpuBusy,
			r.kernelThreadsPerMinute(), r.guestCPUPerCheck())
		if i+1 < len(results) && results[i+1].size == r.size {
			continue
		}
		k := summarize(results, r.size, "keepalived")
		if k.n == 0 {
			continue
		}
		for _, d := range daemonsOf(results, r.size) {
			if d == "keepalived" {
				continue
			}
			g := summarize(results, r.size, d)
			fmt.Fprintf(w, "%s\t%s/keepalived\t%.2f\t\t\t\t%.2f\t%.2f\t%.2f\t\t\t\t%s\t%s\t\n",
				r.size, d, g.checksPerSecond/k.checksPerSecond, g.cpuPerMinute/k.cpuPerMinute,
				g.cpuPerCheck/k.cpuPerCheck, g.rssMB/k.rssMB, ratio(g.kernelThreadsPerMinute, k.kernelThreadsPerMinute),
				ratio(g.guestCPUPerCheck, k.guestCPUPerCheck))
		}
	}
	w.Flush()
	return b.String()
}
