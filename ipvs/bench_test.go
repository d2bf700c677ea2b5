package ipvs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchproc"
	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// The table benchmark runs the gokeepalived daemon and keepalived 2.2.7
// one after the other in the kernel guest, as checker-only daemons (-C)
// on the same configuration file of 1,000 virtual servers x 10 real
// servers without health checks, and times, polling the kernel's table
// from this test process, never from inside either daemon:
//
//   - empty to full: from the start of the process to the 11,000 entries
//     in the kernel, each start in a fresh network namespace;
//   - one-server change: from the SIGHUP after the file was rewritten with
//     one real server's weight changed to that weight in the kernel.
//
// Both figures come in interleaved pairs (benchtab.Interleave), beside
// the CPU time of each daemon's process tree for the same work. It takes
// minutes under TCG, so it is kept out of the default run; run it with
//
//	IPVS_BENCH=1 go test ./ipvs -run TestKernelBenchmark -v -timeout 40m
//
// IPVS_BENCH_STARTS and IPVS_BENCH_RELOADS set the number of pairs.
const (
	benchServices = 1000
	benchDests    = 10

	benchStartsEnv    = "IPVS_BENCH_STARTS"
	benchReloadsEnv   = "IPVS_BENCH_RELOADS"
	benchStartsSmall  = 3
	benchReloadsSmall = 5

	// The table is polled every fillPoll while a daemon fills it: each
	// poll reads the destinations of the first services not yet seen
	// whole, so the time to full is known to within fillPoll plus one
	// read of a service, against fills of seconds under TCG.
	fillPoll = 10 * time.Millisecond
	// A reload is polled every reloadPoll, reading the one service it
	// changes: a resolution of a few milliseconds, against reloads of
	// hundreds of them.
	reloadPoll = 2 * time.Millisecond
	fillLimit  = 3 * time.Minute
	reloadMax  = 2 * time.Minute

	// A daemon has settled, and its CPU time for a piece of work is read,
	// once its process tree used less than settleCPU in settleWindow.
	settleWindow = 300 * time.Millisecond
	settleCPU    = 3 * time.Millisecond
	settleMax    = 20 * time.Second
)

// Measurement names of the rows; scripts/bench.sh collects the rows.
const (
	benchFillRow      = "IPVS 1,000 services x 10 real servers, empty to full (start to table in kernel)"
	benchFillCPURow   = "IPVS 1,000 services x 10 real servers, empty to full: CPU of the daemon's process tree (schedstat)"
	benchReloadRow    = "IPVS one real server's weight changed by SIGHUP (to the change in kernel)"
	benchReloadCPURow = "IPVS one real server's weight changed by SIGHUP: CPU of the daemon's process tree (schedstat)"
)

// TestKernelBenchmark boots the kernel guest for TestBenchmarkInGuest
// when IPVS_BENCH=1, with the gokeepalived daemon beside the test binary.
func TestKernelBenchmark(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	if os.Getenv("IPVS_BENCH") != "1" {
		t.Skip("IPVS_BENCH=1 runs the table benchmark in the kernel guest")
	}
	starts, reloads, err := benchPairs(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	vm.Require(t)
	ctx, cancel := vm.Context(t)
	defer cancel()
	dir := t.TempDir()
	vm.Build(t, ctx, "build", "-o", filepath.Join(dir, "gokeepalived"), "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	if err := vm.StaticTestBinary(ctx, filepath.Join(dir, "pkg.test")); err != nil {
		t.Fatal(err)
	}
	vm.RunCommand(t, ctx, dir, fmt.Sprintf("%s=%d %s=%d ./pkg.test -test.v -test.count=1 -test.run '^TestBenchmarkInGuest$' -test.timeout=30m",
		benchStartsEnv, starts, benchReloadsEnv, reloads))
}

// benchPairs reads the numbers of start and reload pairs from the
// environment.
func benchPairs(getenv func(string) string) (starts, reloads int, err error) {
	get := func(name string, def int) (int, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s=%q: want a number of pairs, at least 1", name, v)
		}
		return n, nil
	}
	if starts, err = get(benchStartsEnv, benchStartsSmall); err != nil {
		return 0, 0, err
	}
	if reloads, err = get(benchReloadsEnv, benchReloadsSmall); err != nil {
		return 0, 0, err
	}
	return starts, reloads, nil
}

func TestBenchmarkInGuest(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernelBenchmark")
	}
	starts, reloads, err := benchPairs(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := filepath.Abs("gokeepalived")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ours); err != nil {
		t.Fatalf("the gokeepalived daemon is not beside the test binary: %v", err)
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatalf("keepalived is not in the guest: %v", err)
	}
	programs := map[bool]string{true: ours, false: "keepalived"}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	weights := newBenchWeights()
	if err := writeBenchConf(conf, weights); err != nil {
		t.Fatal(err)
	}
	table := benchTable(weights)
	t.Logf("%d virtual servers x %d real servers, %d entries; %d start pairs, %d reload pairs",
		benchServices, benchDests, len(table)+benchServices*benchDests, starts, reloads)

	// One untimed start of each daemon first: the first start in a
	// freshly booted guest pays for paging the program in and for the
	// kernel's first IPVS allocations, which no later start sees.
	for _, ours := range []bool{true, false} {
		ns := benchNetns(t, "gkipvs-"+benchtab.Name(ours)[:2]+"warm")
		d, err := startBenchDaemon(t, ns, programs[ours], conf, filepath.Join(dir, benchtab.Name(ours)+"-warm"))
		if err != nil {
			t.Fatal(err)
		}
		took, _, err := d.waitFull(table)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.stop(); err != nil {
			t.Fatal(err)
		}
		t.Logf("warm-up start, %-12s: full in %8.1f ms (untimed)", benchtab.Name(ours), ms(took))
	}

	// The daemons of the last start pair stay up for the reloads.
	live := make(map[bool]*benchDaemon)
	// What each daemon programmed and left behind, by pair, to compare.
	programmed := make(map[bool][][]string)
	left := make(map[bool][]int)
	fill, err := benchtab.Interleave(starts, func(ours bool, pair int) ([]float64, error) {
		// Each start programs a network namespace of its own: the kernel
		// keeps deleted destinations in a list for a couple of minutes and
		// walks it for each destination added, so a table programmed where
		// another was just removed costs several times more, by the
		// history of the namespace rather than by the program timed. The
		// namespaces are removed at the end, so that their cleanup does
		// not run under a later measurement.
		ns := benchNetns(t, fmt.Sprintf("gkipvs-%s%d", benchtab.Name(ours)[:2], pair))
		d, err := startBenchDaemon(t, ns, programs[ours], conf, filepath.Join(dir, fmt.Sprintf("%s-%d", benchtab.Name(ours), pair)))
		if err != nil {
			return nil, err
		}
		took, polls, err := d.waitFull(table)
		if err != nil {
			return nil, err
		}
		cpu, err := d.settle()
		if err != nil {
			return nil, err
		}
		snap, err := d.snapshot()
		if err != nil {
			return nil, err
		}
		programmed[ours] = append(programmed[ours], snap)
		t.Logf("start pair %d, %-12s: full in %8.1f ms (%d polls), CPU %8.1f ms", pair, benchtab.Name(ours), ms(took), polls, ms(cpu))
		if pair == starts-1 {
			live[ours] = d
		} else {
			n, err := d.stop()
			if err != nil {
				return nil, err
			}
			left[ours] = append(left[ours], n)
			t.Logf("start pair %d, %-12s: stopped in %.1f ms, leaving %d entries", pair, benchtab.Name(ours), ms(d.stopped), n)
		}
		return []float64{ms(took), ms(cpu)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range programmed[true] {
		if diff := diffTables(programmed[true][i], programmed[false][i]); diff != "" {
			t.Fatalf("start pair %d: the daemons programmed different tables:\n%s", i, diff)
		}
	}
	t.Logf("both daemons programmed the same %d entries", len(programmed[true][0]))

	// Both daemons reload the same file: the first of each pair writes
	// the change, the second finds it there.
	var target benchChange
	written := -1
	reload, err := benchtab.Interleave(reloads, func(ours bool, pair int) ([]float64, error) {
		if pair != written {
			written, target = pair, benchChangeFor(pair)
			weights[target.service][target.dest]++
			if err := writeBenchConf(conf, weights); err != nil {
				return nil, err
			}
		}
		d := live[ours]
		// A daemon that has just reloaded may still be at work: the
		// other starts from rest.
		if _, err := d.settle(); err != nil {
			return nil, err
		}
		took, cpu, err := d.reload(table[target.service], target.dest, weights[target.service][target.dest])
		if err != nil {
			return nil, err
		}
		t.Logf("reload pair %d, %-12s: weight of %v in the kernel in %7.1f ms, CPU %7.1f ms", pair, benchtab.Name(ours),
			table[target.service].Destinations[target.dest].Addr, ms(took), ms(cpu))
		return []float64{ms(took), ms(cpu)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ours := range []bool{true, false} {
		snap, err := live[ours].snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffTables(snap, benchSnapshotOf(benchTable(weights))); diff != "" {
			t.Fatalf("%s's table after the reloads is not the configuration's:\n%s", benchtab.Name(ours), diff)
		}
		n, err := live[ours].stop()
		if err != nil {
			t.Fatal(err)
		}
		left[ours] = append(left[ours], n)
		t.Logf("%-12s stopped in %.1f ms, leaving %d entries", benchtab.Name(ours), ms(live[ours].stopped), n)
	}
	// keepalived removes its virtual servers when it stops: gokeepalived
	// must leave the same.
	if !slices.Equal(left[true], left[false]) {
		t.Fatalf("entries left after SIGTERM, by start: gokeepalived %v, keepalived %v", left[true], left[false])
	}
	t.Logf("entries left after SIGTERM, by start: gokeepalived %v, keepalived %v", left[true], left[false])

	rows := benchRows(fill, reload)
	for _, r := range rows {
		t.Log(benchtab.Line(r))
	}
	if err := benchtab.Append(rows...); err != nil {
		t.Fatal(err)
	}
}

// benchRows makes the table's rows from the start pairs and the reload
// pairs, each of which holds the wall time then the CPU time, in ms.
func benchRows(fill, reload []benchtab.Pairs) []benchtab.Row {
	var rows []benchtab.Row
	if len(fill) == 2 {
		rows = append(rows,
			fill[0].Row(benchFillRow, "%.0f ms", benchtab.Below(1)),
			fill[1].Row(benchFillCPURow, "%.0f ms", benchtab.Below(1)))
	}
	if len(reload) == 2 {
		rows = append(rows,
			reload[0].Row(benchReloadRow, "%.1f ms", benchtab.Below(1)),
			reload[1].Row(benchReloadCPURow, "%.1f ms", benchtab.Below(1)))
	}
	return rows
}

// A benchChange names the real server whose weight a reload changes.
type benchChange struct{ service, dest int }

// benchChangeFor spreads the changes of the reload pairs over the table,
// first, middle and last virtual servers alike: a daemon that walks its
// configuration in order would find the first ones sooner.
func benchChangeFor(pair int) benchChange {
	return benchChange{service: (benchServices/2 + pair*379) % benchServices, dest: (5 + pair*3) % benchDests}
}

// newBenchWeights returns the weights of the real servers of the
// configuration, all 1.
func newBenchWeights() [][]int {
	w := make([][]int, benchServices)
	for i := range w {
		w[i] = slices.Repeat([]int{1}, benchDests)
	}
	return w
}

// benchTable is the table the configuration calls for: scaleTable's, with
// the weights given.
func benchTable(weights [][]int) []Service {
	table := scaleTable(len(weights), benchDests)
	for i := range table {
		for j := range table[i].Destinations {
			table[i].Destinations[j].Weight = weights[i][j]
		}
	}
	return table
}

// benchConf returns the keepalived.conf of benchTable(weights): NAT
// virtual servers with real servers that no check can take out.
//
// keepalived's parent gives its checker child child_wait_time (5 s by
// default) to exit after SIGTERM and then kills it: under TCG the child
// takes longer than that to remove 11,000 entries and is killed with
// thousands left. The configuration gives it two minutes, so that both
// daemons are compared on a complete stop; gokeepalived, one process,
// accepts the keyword with a warning and has no child to wait for.
func benchConf(weights [][]int) []byte {
	var b bytes.Buffer
	b.WriteString("global_defs {\n\trouter_id gk-bench\n}\nchild_wait_time 120\n")
	for _, s := range benchTable(weights) {
		fmt.Fprintf(&b, "virtual_server %s %d {\n\tlb_algo %s\n\tlb_kind NAT\n\tprotocol TCP\n", s.Addr.Addr(), s.Addr.Port(), s.Scheduler)
		for _, d := range s.Destinations {
			fmt.Fprintf(&b, "\treal_server %s %d {\n\t\tweight %d\n\t}\n", d.Addr.Addr(), d.Addr.Port(), d.Weight)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

// writeBenchConf replaces the file at path with benchConf(weights) at
// once: a daemon must never read a half-written file on reload.
func writeBenchConf(path string, weights [][]int) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, benchConf(weights), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// benchSnapshotOf is the snapshot of a table as it should be in the
// kernel: each service and destination as the op that adds it, sorted.
func benchSnapshotOf(table []Service) []string {
	var lines []string
	for _, s := range table {
		ds := s.Destinations
		s.Destinations = nil
		lines = append(lines, Op{Kind: AddService, Service: s}.String())
		for _, d := range ds {
			lines = append(lines, Op{Kind: AddDestination, Service: s, Destination: d}.String())
		}
	}
	slices.Sort(lines)
	return lines
}

// diffTables lists the lines of two sorted snapshots that only one has,
// at most ten of each; "" when they are equal.
func diffTables(a, b []string) string {
	var onlyA, onlyB []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(onlyA) == 0 && len(onlyB) == 0 {
		return ""
	}
	var s strings.Builder
	for _, side := range []struct {
		name  string
		lines []string
	}{{"only in the first", onlyA}, {"only in the second", onlyB}} {
		fmt.Fprintf(&s, "%d %s:\n", len(side.lines), side.name)
		for _, l := range side.lines[:min(len(side.lines), 10)] {
			fmt.Fprintf(&s, "  %s\n", l)
		}
	}
	return s.String()
}

// A benchDaemon is one daemon of the benchmark, running in its namespace.
type benchDaemon struct {
	name    string
	cmd     *exec.Cmd
	started time.Time     // just before the process was started
	stopped time.Duration // from SIGTERM to its exit
	h       *Handle       // on the namespace's table, for the polls
	log     *benchLog
	done    chan struct{}
	err     error
}

// benchLog is a daemon's output, written while the test reads it.
type benchLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *benchLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *benchLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startBenchDaemon starts program in network namespace ns on conf, with
// keepalived's flags for a checker-only run in the foreground (-n -C),
// logging to its console only (-l -G: the guest has no syslog, and the
// console fallback would time the serial port), with its pid files in
// dir. Both daemons start through ip netns exec, which execs them: the
// process timed is the daemon itself. It is killed when t ends.
func startBenchDaemon(t *testing.T, ns, program, conf, dir string) (*benchDaemon, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	h, err := Open("/run/netns/" + ns)
	if err != nil {
		return nil, err
	}
	d := &benchDaemon{name: filepath.Base(program), h: h, log: &benchLog{}, done: make(chan struct{})}
	d.cmd = exec.Command("ip", "netns", "exec", ns, program, "-n", "-l", "-G", "-C", "-f", conf,
		"-p", filepath.Join(dir, "main.pid"), "-c", filepath.Join(dir, "checkers.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		h.Close()
		return nil, fmt.Errorf("starting %s: %w", program, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
		h.Close()
	})
	return d, nil
}

// exited returns an error if the daemon is no longer running.
func (d *benchDaemon) exited() error {
	select {
	case <-d.done:
		return fmt.Errorf("%s exited: %v\n%s", d.name, d.err, d.log)
	default:
		return nil
	}
}

// waitFull polls the daemon's table until it holds table, and returns
// the time from the daemon's start and the number of polls. A service
// seen whole is not read again: nothing can take a real server out, so
// each poll reads the destinations of the services in the configuration's
// order from the first not yet whole and stops at the first still short,
// and the polls of a whole fill read each service about once.
func (d *benchDaemon) waitFull(table []Service) (time.Duration, int, error) {
	start := d.started
	next, polls := 0, 0
	var last error
	for {
		polls++
		for next < len(table) {
			ds, err := d.h.Destinations(table[next])
			if err != nil || !sameDests(ds, table[next].Destinations) {
				last = err
				break
			}
			next++
		}
		if next == len(table) {
			return time.Since(start), polls, nil
		}
		if err := d.exited(); err != nil {
			return 0, polls, err
		}
		if time.Since(start) > fillLimit {
			return 0, polls, fmt.Errorf("%s did not fill the table in %v: %d of %d services whole (last error %v)\n%s",
				d.name, fillLimit, next, len(table), last, d.log)
		}
		time.Sleep(fillPoll)
	}
}

// sameDests reports whether got holds exactly the destinations of want,
// with their weights, in any order.
func sameDests(got, want []Destination) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g Destination) bool { return g.Addr == w.Addr && g.Weight == w.Weight && g.Method == w.Method }) {
			return false
		}
	}
	return true
}

// reload sends SIGHUP to the daemon and polls until destination dest of s
// has weight w in the kernel; it returns that time and the CPU time of
// the daemon's process tree from the signal to its rest after.
func (d *benchDaemon) reload(s Service, dest, w int) (time.Duration, time.Duration, error) {
	before, err := benchproc.Self(d.cmd.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	addr := s.Destinations[dest].Addr
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return 0, 0, fmt.Errorf("signalling %s: %w", d.name, err)
	}
	var took time.Duration
	for {
		ds, err := d.h.Destinations(s)
		if err == nil && slices.ContainsFunc(ds, func(x Destination) bool { return x.Addr == addr && x.Weight == w }) {
			took = time.Since(start)
			break
		}
		if err := d.exited(); err != nil {
			return 0, 0, err
		}
		if time.Since(start) > reloadMax {
			return 0, 0, fmt.Errorf("%s did not set weight %d of %v in %v after SIGHUP (last read %v, %v)\n%s",
				d.name, w, addr, reloadMax, ds, err, d.log)
		}
		time.Sleep(reloadPoll)
	}
	after, err := d.settle()
	if err != nil {
		return 0, 0, err
	}
	return took, after - before.CPU, nil
}

// settle waits until the daemon's process tree is at rest and returns its
// CPU time so far.
func (d *benchDaemon) settle() (time.Duration, error) {
	u, err := benchproc.Self(d.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	for start := time.Now(); ; {
		time.Sleep(settleWindow)
		v, err := benchproc.Self(d.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		if v.CPU-u.CPU < settleCPU {
			return v.CPU, nil
		}
		if time.Since(start) > settleMax {
			return 0, fmt.Errorf("%s still busy %v after its work: %v of CPU in the last %v", d.name, settleMax, v.CPU-u.CPU, settleWindow)
		}
		u = v
	}
}

// snapshot reads the daemon's table: its services and destinations as
// the ops that add them, sorted.
func (d *benchDaemon) snapshot() ([]string, error) {
	ss, err := d.h.Services()
	if err != nil {
		return nil, err
	}
	for i := range ss {
		if ss[i].Destinations, err = d.h.Destinations(ss[i]); err != nil {
			return nil, err
		}
	}
	return benchSnapshotOf(ss), nil
}

// stop sends SIGTERM to the daemon, waits for it to exit cleanly and
// returns the number of entries it left in the kernel.
func (d *benchDaemon) stop() (int, error) {
	if err := d.exited(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("signalling %s: %w", d.name, err)
	}
	select {
	case <-d.done:
		d.stopped = time.Since(start)
	case <-time.After(time.Minute):
		return 0, fmt.Errorf("%s still running a minute after SIGTERM\n%s", d.name, d.log)
	}
	if d.err != nil {
		return 0, fmt.Errorf("%s after SIGTERM: %w\n%s", d.name, d.err, d.log)
	}
	snap, err := d.snapshot()
	return len(snap), err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchNetns makes a network namespace for the test, removed at its end.
func benchNetns(t *testing.T, name string) string {
	t.Helper()
	exec.Command("ip", "netns", "del", name).Run()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

func TestBenchConf(t *testing.T) {
	w := newBenchWeights()
	w[3][7] = 9
	conf := string(benchConf(w))
	if n := strings.Count(conf, "virtual_server "); n != benchServices {
		t.Errorf("%d virtual servers, want %d", n, benchServices)
	}
	if n := strings.Count(conf, "real_server "); n != benchServices*benchDests {
		t.Errorf("%d real servers, want %d", n, benchServices*benchDests)
	}
	if n := strings.Count(conf, "weight 9\n"); n != 1 {
		t.Errorf("%d real servers of weight 9, want 1", n)
	}
	for _, kw := range []string{"_CHECK", "HTTP_GET", "inhibit", "alpha", "quorum"} {
		if strings.Contains(conf, kw) {
			t.Errorf("the configuration has %s, which could take real servers out", kw)
		}
	}
	snap := benchSnapshotOf(benchTable(w))
	if len(snap) != benchServices*(benchDests+1) {
		t.Errorf("snapshot of %d lines, want %d", len(snap), benchServices*(benchDests+1))
	}
	want := "add-destination -t 172.16.0.3:80 -r 10.1.7.1:8080 -m -w 9"
	if !slices.Contains(snap, want) {
		t.Errorf("snapshot lacks %q", want)
	}
}

func TestBenchDiffTables(t *testing.T) {
	if d := diffTables([]string{"a", "b"}, []string{"a", "b"}); d != "" {
		t.Errorf("equal tables differ: %s", d)
	}
	d := diffTables([]string{"a", "b", "d"}, []string{"b", "c"})
	if !strings.Contains(d, "2 only in the first:\n  a\n  d\n") || !strings.Contains(d, "1 only in the second:\n  c\n") {
		t.Errorf("diffTables = %q", d)
	}
}

func TestBenchChanges(t *testing.T) {
	seen := make(map[benchChange]bool)
	for pair := range 50 {
		c := benchChangeFor(pair)
		if c.service < 0 || c.service >= benchServices || c.dest < 0 || c.dest >= benchDests {
			t.Fatalf("pair %d changes %+v, outside the table", pair, c)
		}
		seen[c] = true
	}
	if len(seen) != 50 {
		t.Errorf("50 pairs change %d real servers, want each a different one", len(seen))
	}
}

func TestBenchPairs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if s, r, err := benchPairs(env(nil)); err != nil || s != benchStartsSmall || r != benchReloadsSmall {
		t.Errorf("defaults: %d, %d, %v", s, r, err)
	}
	if s, r, err := benchPairs(env(map[string]string{benchStartsEnv: "1", benchReloadsEnv: "9"})); err != nil || s != 1 || r != 9 {
		t.Errorf("1 and 9: %d, %d, %v", s, r, err)
	}
	for _, bad := range []string{"0", "-2", "x"} {
		if _, _, err := benchPairs(env(map[string]string{benchReloadsEnv: bad})); err == nil {
			t.Errorf("%s=%s accepted", benchReloadsEnv, bad)
		}
	}
}

func TestBenchRows(t *testing.T) {
	fill := []benchtab.Pairs{{G: []float64{900, 1100}, K: []float64{1000, 1000}}, {G: []float64{50, 60}, K: []float64{100, 100}}}
	reload := []benchtab.Pairs{{G: []float64{10, 12, 11}, K: []float64{100, 90, 110}}, {G: []float64{1, 1, 1}, K: []float64{2, 2, 2}}}
	rows := benchRows(fill, reload)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	// The worst fill pair is slower: not met, whatever the median.
	if r := rows[0]; r.Measurement != benchFillRow || r.Gokeepalived != "1000 ms" || !strings.HasSuffix(r.Goal, "worst pair 1.10: not met") {
		t.Errorf("fill row %+v", r)
	}
	if r := rows[2]; r.Measurement != benchReloadRow || r.Gokeepalived != "11.0 ms" || r.Keepalived != "100.0 ms" || !strings.HasSuffix(r.Goal, ": met") {
		t.Errorf("reload row %+v", r)
	}
	if rows := benchRows(nil, nil); len(rows) != 0 {
		t.Errorf("rows without pairs: %+v", rows)
	}
}
