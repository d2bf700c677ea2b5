package ipvs

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// The table benchmark programs 1,000 services x 10 destinations in the
// kernel guest and times the reconciler's passes over it beside keepalived
// 2.2.7 doing the same work. It takes minutes under TCG, so it is kept out
// of the default run; run it with
//
//	IPVS_BENCH=1 go test ./ipvs -run TestKernelBenchmark -v -timeout 40m
const (
	benchServices = 1000
	benchDests    = 10
	benchRuns     = 20 // runs of each reconciler pass, for the median
	benchStarts   = 5  // programs from empty, by each program
	benchReloads  = 10 // keepalived reloads
)

// TestKernelBenchmark boots the kernel guest for TestBenchmarkInGuest
// when IPVS_BENCH=1.
func TestKernelBenchmark(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	if os.Getenv("IPVS_BENCH") != "1" {
		t.Skip("IPVS_BENCH=1 runs the table benchmark in the kernel guest")
	}
	vm.RunTests(t, "^TestBenchmarkInGuest$", "-test.timeout=35m")
}

func TestBenchmarkInGuest(t *testing.T) {
	guest(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatalf("keepalived is not in the guest: %v", err)
	}
	ctx := context.Background()
	table := scaleTable(benchServices, benchDests)
	whole := benchServices * (benchDests + 1)
	t.Logf("%d services x %d destinations, %d entries", benchServices, benchDests, whole)

	// Each start programs a network namespace of its own: the kernel
	// keeps deleted destinations in a list for a couple of minutes and
	// walks it for each destination added, so a table programmed where
	// another was just removed costs several times more, by the history
	// of the namespace rather than by the program timed. The host's load changes the guest's speed by a
	// factor of two or more from one minute to the next: the two programs
	// take turns, so each start of one is timed under about the load of
	// the other's.
	dir := t.TempDir()
	var fill, kaStart, kaReload []time.Duration
	var (
		r *Reconciler
		h *Handle
	)
	for n := range benchStarts {
		reloads := 0
		if n == benchStarts-1 {
			reloads = benchReloads
		}
		start, reload := benchKeepalived(t, benchNetns(t, fmt.Sprintf("gkipvs-bench-k%d", n)), dir, reloads)
		kaStart = append(kaStart, start)
		kaReload = append(kaReload, reload...)

		var err error
		h, err = Open("/run/netns/" + benchNetns(t, fmt.Sprintf("gkipvs-bench-r%d", n)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		r = NewReconciler(h, ReconcilerConfig{})
		begin := time.Now()
		ops := reconcile(t, r, table)
		fill = append(fill, time.Since(begin))
		if len(ops) != whole {
			t.Fatalf("programming from empty issued %d ops, want %d", len(ops), whole)
		}
	}

	idle := timeRuns(t, func(int) ([]Op, error) { return r.Reconcile(ctx, table) }, 0)

	weight := timeRuns(t, func(i int) ([]Op, error) {
		s := &table[(i*47+3)%len(table)]
		s.Destinations[5].Weight++
		return r.ReconcileServices(ctx, table, s.Key())
	}, UpdateDestination)

	add := timeRuns(t, func(i int) ([]Op, error) {
		s := &table[(i*53+11)%len(table)]
		s.Destinations = append(s.Destinations, Destination{Addr: netip.MustParseAddrPort("10.2.0.1:8080"), Method: NAT, Weight: 1})
		return r.ReconcileServices(ctx, table, s.Key())
	}, AddDestination)

	// Each run drops another service; picking it is not part of the time.
	var dropped ServiceKey
	del := timeRuns(t, func(int) ([]Op, error) {
		return r.ReconcileServices(ctx, table, dropped)
	}, DeleteService, func(i int) {
		k := (i * 37) % len(table)
		dropped = table[k].Key()
		table = slices.Delete(table, k, k+1)
	})

	if ops := reconcile(t, r, table); len(ops) != 0 {
		t.Fatalf("a full pass after the targeted ones issued %d ops: %q", len(ops), opStrings(ops))
	}
	want := len(table)
	for _, s := range table {
		want += len(s.Destinations)
	}
	if got := entries(t, h); got != want {
		t.Fatalf("the table holds %d entries, want %d", got, want)
	}
	if _, err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, h); got != 0 {
		t.Fatalf("the table holds %d entries after Shutdown", got)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "IPVS table of %d services x %d destinations in the kernel guest; medians in ms\n", benchServices, benchDests)
	fmt.Fprintf(&b, "%-32s %11s %11s %9s %8s\n", "", "reconciler", "keepalived", "ratio", "runs")
	row := func(name string, ours, theirs []time.Duration) {
		if theirs == nil {
			fmt.Fprintf(&b, "%-32s %11.2f %31d\n", name, ms(benchtab.Median(ours)), len(ours))
			return
		}
		fmt.Fprintf(&b, "%-32s %11.2f %11.2f %8.1fx %3d /%3d\n", name, ms(benchtab.Median(ours)), ms(benchtab.Median(theirs)),
			float64(benchtab.Median(theirs))/float64(benchtab.Median(ours)), len(ours), len(theirs))
	}
	row("start -> full table", fill, kaStart)
	row("change one real server's weight", weight, kaReload)
	row("full pass, nothing to change", idle, nil)
	row("targeted add of a destination", add, nil)
	row("targeted delete of a service", del, nil)
	t.Log("\n" + b.String())
}

// timeRuns times benchRuns calls of pass, each of which must succeed with
// exactly one op of kind want, or none when want is zero. prepare, if
// given, runs untimed before each.
func timeRuns(t *testing.T, pass func(i int) ([]Op, error), want OpKind, prepare ...func(i int)) []time.Duration {
	t.Helper()
	times := make([]time.Duration, 0, benchRuns)
	for i := range benchRuns {
		for _, p := range prepare {
			p(i)
		}
		start := time.Now()
		ops, err := pass(i)
		d := time.Since(start)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if want == 0 && len(ops) != 0 || want != 0 && (len(ops) != 1 || ops[0].Kind != want) {
			t.Fatalf("run %d issued %q, want one %v", i, opStrings(ops), want)
		}
		times = append(times, d)
	}
	return times
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchNetns makes a network namespace for the test, removed at its end.
func benchNetns(t *testing.T, name string) string {
	t.Helper()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// entries counts the services and destinations in h's table.
func entries(t *testing.T, h *Handle) int {
	t.Helper()
	ss, err := h.Services()
	if err != nil {
		t.Fatal(err)
	}
	n := len(ss)
	for _, s := range ss {
		ds, err := h.Destinations(s)
		if err != nil {
			t.Fatal(err)
		}
		n += len(ds)
	}
	return n
}

// benchConf writes a keepalived.conf for scaleTable's table, with the
// destination dest of service svc at the given weight.
func benchConf(t *testing.T, path string, svc, dest, weight int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("global_defs {\n\trouter_id gk-bench\n}\n")
	for i, s := range scaleTable(benchServices, benchDests) {
		fmt.Fprintf(&b, "virtual_server %s %d {\n\tlb_algo wlc\n\tlb_kind NAT\n\tprotocol TCP\n", s.Addr.Addr(), s.Addr.Port())
		for j, d := range s.Destinations {
			w := d.Weight
			if i == svc && j == dest {
				w = weight
			}
			fmt.Fprintf(&b, "\treal_server %s %d {\n\t\tweight %d\n\t}\n", d.Addr.Addr(), d.Addr.Port(), w)
		}
		b.WriteString("}\n")
	}
	// keepalived must never read a half-written file on reload.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// benchKeepalived starts keepalived's checker in the empty network
// namespace ns and times it from the start to the whole table in the
// kernel; then, as many times as reloads, a reload changing one real
// server's weight, from the signal to the new weight in the kernel. It
// stops keepalived before returning.
func benchKeepalived(t *testing.T, ns, dir string, reloads int) (time.Duration, []time.Duration) {
	t.Helper()
	const svc, dest = 500, 5
	table := scaleTable(benchServices, benchDests)
	target := table[svc]
	conf := filepath.Join(dir, "keepalived.conf")
	benchConf(t, conf, svc, dest, 1)
	whole := benchServices * (benchDests + 1)
	h, err := Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	// Logging to stderr only: the guest has no syslog, and the console
	// fallback would time the serial port, not keepalived.
	ka := exec.Command("keepalived", "-n", "-l", "-G", "-C", "-s", ns, "-f", conf,
		"-p", dir+"/keepalived.pid", "-c", dir+"/checkers.pid", "-r", dir+"/vrrp.pid")
	var log bytes.Buffer
	ka.Stdout, ka.Stderr = &log, &log
	start := time.Now()
	if err := ka.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			ka.Process.Signal(syscall.SIGTERM)
			ka.Wait()
		}
	}
	t.Cleanup(stop)
	defer stop()

	// keepalived programs its virtual servers in the order of its
	// configuration: the table is whole when the last real server of the
	// last one is in, which one cheap read tells. Counting every entry
	// would take the guest's one CPU from keepalived for a while, so it
	// is done after, to confirm.
	last := table[len(table)-1]
	var started time.Duration
	for deadline := start.Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if destWeight(t, h, last, last.Destinations[benchDests-1].Addr, 1) {
			started = time.Since(start)
			if entries(t, h) == whole {
				break
			}
		}
		if time.Now().After(deadline) {
			n := entries(t, h)
			stop()
			t.Fatalf("keepalived did not program %d entries in 2 minutes; the table holds %d\n%s", whole, n, log.String())
		}
	}
	if out := run(t, "ip", "netns", "exec", ns, "ipvsadm", "-Ln"); strings.Count(out, "\n")-3 != whole {
		t.Fatalf("ipvsadm -Ln lists %d entries, want %d", strings.Count(out, "\n")-3, whole)
	}

	var times []time.Duration
	for i := range reloads {
		w := i + 2
		benchConf(t, conf, svc, dest, w)
		start := time.Now()
		if err := ka.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := start.Add(5 * time.Minute); !destWeight(t, h, target, target.Destinations[dest].Addr, w); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("keepalived reload did not set weight %d in 5 minutes\n%s", w, log.String())
			}
		}
		times = append(times, time.Since(start))
	}
	if reloads > 0 {
		out := run(t, "ip", "netns", "exec", ns, "ipvsadm", "-Ln", "-t", target.Addr.String())
		if !hasWeight(out, target.Destinations[dest].Addr.String(), reloads+1) {
			t.Fatalf("ipvsadm -Ln lacks weight %d for %s:\n%s", reloads+1, target.Destinations[dest].Addr, out)
		}
	}
	return started, times
}

// destWeight reports whether the kernel holds destination addr of s with
// weight w.
func destWeight(t *testing.T, h *Handle, s Service, addr netip.AddrPort, w int) bool {
	t.Helper()
	ds, err := h.Destinations(s.header())
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(ds, func(d Destination) bool { return d.Addr == addr && d.Weight == w })
}
