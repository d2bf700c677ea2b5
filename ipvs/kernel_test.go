package ipvs

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/test/vm"
)

// TestKernel runs the TestGuest tests below against real IPVS: in Debian's
// kernel booted once under qemu, since the host kernel may have none.
func TestKernel(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	vm.RunTests(t, "^TestGuest", "-test.timeout=9m")
}

// guest returns a handle on the guest's IPVS table, empty, and empties it
// again when the test ends. It skips outside the guest: TestKernel runs
// these tests there.
func guest(t *testing.T) *Handle {
	t.Helper()
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	run(t, "ip", "link", "set", "lo", "up")
	run(t, "ipvsadm", "-C")
	h, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		exec.Command("ipvsadm", "-C").Run()
	})
	return h
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// saved is the table as `ipvsadm -Sn` prints it, lines sorted: the kernel
// lists services in hash order.
func saved(t *testing.T) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(run(t, "ipvsadm", "-Sn")), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func wantSaved(t *testing.T, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	if got := saved(t); got != strings.Join(want, "\n") {
		t.Fatalf("ipvsadm -Sn:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func opStrings(ops []Op) []string {
	var s []string
	for _, op := range ops {
		s = append(s, op.String())
	}
	return s
}

// reconcile runs one pass that must succeed and returns its ops.
func reconcile(t *testing.T, r *Reconciler, desired []Service) []Op {
	t.Helper()
	ops, err := r.Reconcile(context.Background(), desired)
	if err != nil {
		t.Fatalf("Reconcile: %v\nops: %q", err, opStrings(ops))
	}
	return ops
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// everyForm is a table using every kind of service and destination.
func everyForm() []Service {
	return []Service{
		{Addr: ap("192.0.2.1:80"), Protocol: TCP, Scheduler: "wrr", Destinations: []Destination{
			{Addr: ap("10.0.0.1:80"), Method: NAT, Weight: 1, UpperThreshold: 100, LowerThreshold: 50},
			{Addr: ap("10.0.0.2:8080"), Method: NAT, Weight: 3},
		}},
		{Addr: ap("192.0.2.1:53"), Protocol: UDP, Scheduler: "rr", Flags: FlagOnePacket, Destinations: []Destination{
			{Addr: ap("10.0.0.3:53"), Method: DirectRoute, Weight: 0},
		}},
		{Addr: ap("192.0.2.1:5000"), Protocol: SCTP, Scheduler: "lc", Destinations: []Destination{
			{Addr: ap("10.0.0.4:5000"), Method: Tunnel, Weight: 3},
		}},
		{Addr: ap("[2001:db8::1]:443"), Protocol: TCP, Scheduler: "sh", Flags: FlagSHFallback | FlagSHPort, Destinations: []Destination{
			{Addr: ap("[2001:db8::10]:443"), Method: NAT, Weight: 1},
			{Addr: ap("[2001:db8::11]:443"), Method: DirectRoute, Weight: 2},
			// IPv4 inside IPv6: only a tunnel can do it.
			{Addr: ap("10.0.0.12:443"), Method: Tunnel, Weight: 1, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelRemoteChecksum},
		}},
		{FWMark: 7, Scheduler: "mh", Flags: FlagPersistent | FlagMHPort, Timeout: 300 * time.Second, Netmask: net.CIDRMask(24, 32),
			Destinations: []Destination{{Addr: ap("10.0.1.1:0"), Method: DirectRoute, Weight: 1}}},
		{FWMark: 8, Family: IPv6, Scheduler: "wlc", Flags: FlagPersistent, Timeout: 60 * time.Second, Netmask: net.CIDRMask(64, 128)},
		{Addr: ap("192.0.2.3:443"), Protocol: TCP, Scheduler: "wlc", Flags: FlagPersistent, Timeout: 120 * time.Second, Netmask: net.IPv4Mask(255, 255, 0, 0), PE: "sip",
			Destinations: []Destination{
				{Addr: ap("10.0.0.5:443"), Method: DirectRoute, Weight: 100},
				{Addr: ap("10.0.0.6:443"), Method: Tunnel, Weight: 2, TunnelType: GRE, TunnelFlags: TunnelChecksum},
			}},
	}
}

var everyFormSaved = []string{
	"-A -t 192.0.2.1:80 -s wrr",
	"-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
	"-a -t 192.0.2.1:80 -r 10.0.0.2:8080 -m -w 3",
	"-A -u 192.0.2.1:53 -s rr -o",
	"-a -u 192.0.2.1:53 -r 10.0.0.3:53 -g -w 0",
	"-A --sctp-service 192.0.2.1:5000 -s lc",
	"-a --sctp-service 192.0.2.1:5000 -r 10.0.0.4:5000 -i -w 3 --tun-type ipip",
	"-A -t [2001:db8::1]:443 -s sh -b sh-fallback,sh-port",
	"-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 1",
	"-a -t [2001:db8::1]:443 -r [2001:db8::11]:443 -g -w 2",
	"-A -f 7 -s mh -p 300 -M 255.255.255.0 -b mh-port",
	"-a -f 7 -r 10.0.1.1:0 -g -w 1",
	"-A -f 8 -6 -s wlc -p 60 -M 64",
	"-A -t 192.0.2.3:443 -s wlc -p 120 -M 255.255.0.0 --pe sip",
	"-a -t 192.0.2.3:443 -r 10.0.0.5:443 -g -w 100",
	"-a -t [2001:db8::1]:443 -r 10.0.0.12:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum",
	"-a -t 192.0.2.3:443 -r 10.0.0.6:443 -i -w 2 --tun-type gre --tun-csum",
}

func TestGuestServiceForms(t *testing.T) {
	h := guest(t)
	r := NewReconciler(h, ReconcilerConfig{})
	ops := reconcile(t, r, everyForm())
	if len(ops) != 17 {
		t.Errorf("programming from empty issued %d ops, want 17 (7 services, 10 destinations):\n%s", len(ops), strings.Join(opStrings(ops), "\n"))
	}
	wantSaved(t, everyFormSaved...)
	// ipvsadm -S does not save thresholds.
	out := run(t, "ipvsadm", "-Ln", "--thresholds", "-t", "192.0.2.1:80")
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		f := strings.Fields(l)
		return len(f) >= 4 && f[1] == "10.0.0.1:80" && f[2] == "100" && f[3] == "50"
	}) {
		t.Errorf("thresholds 100/50 of 10.0.0.1:80 not programmed:\n%s", out)
	}

	// What the kernel reads back (hashed flag, netmask byte order, fwmark
	// family) must compare equal to what was asked for.
	if again := reconcile(t, r, everyForm()); len(again) != 0 {
		t.Errorf("a converged table needed changes:\n%s", strings.Join(opStrings(again), "\n"))
	}
	got, err := h.Services()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Errorf("Services() returned %d services, want 7", len(got))
	}
}

func TestGuestTamperIsRestored(t *testing.T) {
	h := guest(t)
	r := NewReconciler(h, ReconcilerConfig{})
	reconcile(t, r, everyForm())

	for _, tt := range []struct {
		name   string
		tamper []string // an ipvsadm command line
		ops    []string
	}{
		{
			name:   "weight edited",
			tamper: []string{"-e", "-t", "192.0.2.1:80", "-r", "10.0.0.2:8080", "-m", "-w", "9"},
			ops:    []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.2:8080 -m -w 3"},
		},
		{
			name:   "destination deleted",
			tamper: []string{"-d", "-f", "7", "-r", "10.0.1.1"},
			ops:    []string{"add-destination -f 7 -r 10.0.1.1:0 -g -w 1"},
		},
		{
			name:   "scheduler edited",
			tamper: []string{"-E", "-u", "192.0.2.1:53", "-s", "wlc"},
			ops:    []string{"update-service -u 192.0.2.1:53 -s rr flags 0x4"},
		},
		{
			name:   "persistence engine dropped",
			tamper: []string{"-E", "-t", "192.0.2.3:443", "-s", "wlc", "-p", "120", "-M", "255.255.0.0"},
			ops:    []string{"update-service -t 192.0.2.3:443 -s wlc -p 120 --pe sip"},
		},
		{
			name:   "service deleted",
			tamper: []string{"-D", "-t", "192.0.2.3:443"},
			ops: []string{
				"add-service -t 192.0.2.3:443 -s wlc -p 120 --pe sip",
				"add-destination -t 192.0.2.3:443 -r 10.0.0.5:443 -g -w 100",
				"add-destination -t 192.0.2.3:443 -r 10.0.0.6:443 -i -w 2 --tun-type gre --tun-csum",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run(t, "ipvsadm", tt.tamper...)
			ops := reconcile(t, r, everyForm())
			if got := opStrings(ops); !slices.Equal(got, tt.ops) {
				t.Errorf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.ops, "\n"))
			}
			wantSaved(t, everyFormSaved...)
		})
	}

	t.Run("table cleared", func(t *testing.T) {
		run(t, "ipvsadm", "-C")
		if ops := reconcile(t, r, everyForm()); len(ops) != 17 {
			t.Errorf("restoring a cleared table issued %d ops, want 17", len(ops))
		}
		wantSaved(t, everyFormSaved...)
	})
}

func TestGuestHandMadeEntriesSurvive(t *testing.T) {
	h := guest(t)
	run(t, "ipvsadm", "-A", "-t", "198.51.100.9:443", "-s", "lc")
	run(t, "ipvsadm", "-a", "-t", "198.51.100.9:443", "-r", "10.9.9.9:443", "-m", "-w", "4")
	handMade := []string{
		"-A -t 198.51.100.9:443 -s lc",
		"-a -t 198.51.100.9:443 -r 10.9.9.9:443 -m -w 4",
	}

	r := NewReconciler(h, ReconcilerConfig{})
	reconcile(t, r, everyForm())
	wantSaved(t, append(slices.Clone(everyFormSaved), handMade...)...)

	// A hand-made destination inside an owned service stays too, and so
	// does the service, for it.
	run(t, "ipvsadm", "-a", "-t", "192.0.2.1:80", "-r", "10.9.9.8:80", "-g", "-w", "2")
	kept := append(slices.Clone(handMade), "-A -t 192.0.2.1:80 -s wrr", "-a -t 192.0.2.1:80 -r 10.9.9.8:80 -g -w 2")

	reconcile(t, r, everyForm()[1:])
	wantSaved(t, append(slices.Clone(kept), everyFormSaved[3:]...)...)

	if _, err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantSaved(t, kept...)
}

func TestGuestReloadChangingOneDestination(t *testing.T) {
	h := guest(t)
	r := NewReconciler(h, ReconcilerConfig{})
	reconcile(t, r, everyForm())

	for _, tt := range []struct {
		name   string
		change func(table []Service)
		op     string
		line   string // the destination's line in ipvsadm -Sn afterwards
	}{
		{
			name:   "weight",
			change: func(table []Service) { table[0].Destinations[1].Weight = 7 },
			op:     "update-destination -t 192.0.2.1:80 -r 10.0.0.2:8080 -m -w 7",
			line:   "-a -t 192.0.2.1:80 -r 10.0.0.2:8080 -m -w 7",
		},
		{
			name:   "forwarding method",
			change: func(table []Service) { table[3].Destinations[0].Method = DirectRoute },
			op:     "update-destination -t [2001:db8::1]:443 -r [2001:db8::10]:443 -g -w 1",
			line:   "-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -g -w 1",
		},
		{
			name:   "tunnel port",
			change: func(table []Service) { table[3].Destinations[2].TunnelPort = 7000 },
			op:     "update-destination -t [2001:db8::1]:443 -r 10.0.0.12:443 -i -w 1 --tun-type gue --tun-port 7000 --tun-remcsum",
			line:   "-a -t [2001:db8::1]:443 -r 10.0.0.12:443 -i -w 1 --tun-type gue --tun-port 7000 --tun-remcsum",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			table := everyForm()
			tt.change(table)
			before := r.Stats()
			ops := reconcile(t, r, table)
			if got := opStrings(ops); len(got) != 1 || got[0] != tt.op {
				t.Fatalf("ops = %q, want exactly [%q]", got, tt.op)
			}
			if d := r.Stats().Ops - before.Ops; d != 1 {
				t.Errorf("Stats().Ops grew by %d, want 1", d)
			}
			if got := saved(t); !strings.Contains(got, tt.line) {
				t.Errorf("ipvsadm -Sn lacks %q:\n%s", tt.line, got)
			}
			reconcile(t, r, everyForm())
		})
	}
}

func TestGuestShutdownEmptiesTable(t *testing.T) {
	h := guest(t)
	r := NewReconciler(h, ReconcilerConfig{})
	reconcile(t, r, everyForm())
	ops, err := r.Shutdown(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 7 {
		t.Errorf("Shutdown issued %d ops, want 7 service deletions:\n%s", len(ops), strings.Join(opStrings(ops), "\n"))
	}
	wantSaved(t)

	t.Run("kept when told to", func(t *testing.T) {
		r := NewReconciler(h, ReconcilerConfig{KeepOnShutdown: true})
		reconcile(t, r, everyForm())
		if ops, err := r.Shutdown(context.Background()); err != nil || len(ops) != 0 {
			t.Fatalf("Shutdown with KeepOnShutdown: ops %q, err %v", opStrings(ops), err)
		}
		wantSaved(t, everyFormSaved...)

		// The next run adopts what the last one kept.
		r = NewReconciler(h, ReconcilerConfig{Adopt: true})
		if ops := reconcile(t, r, everyForm()); len(ops) != 0 {
			t.Errorf("adopting a kept table issued ops:\n%s", strings.Join(opStrings(ops), "\n"))
		}
		if _, err := r.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantSaved(t)
	})

	t.Run("flushed when told to", func(t *testing.T) {
		run(t, "ipvsadm", "-A", "-t", "198.51.100.9:443", "-s", "lc")
		r := NewReconciler(h, ReconcilerConfig{FlushOnShutdown: true})
		reconcile(t, r, everyForm())
		ops, err := r.Shutdown(context.Background())
		if err != nil || len(ops) != 1 || ops[0].Kind != FlushTable {
			t.Fatalf("Shutdown with FlushOnShutdown: ops %q, err %v", opStrings(ops), err)
		}
		wantSaved(t)
	})
}

func TestGuestTimeouts(t *testing.T) {
	h := guest(t)
	r := NewReconciler(h, ReconcilerConfig{})
	old, err := h.Timeouts()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.SetTimeouts(old) })
	want := Timeouts{TCP: 7200 * time.Second, TCPFin: 60 * time.Second, UDP: 120 * time.Second}
	if _, err := r.SetTimeouts(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if out := run(t, "ipvsadm", "-L", "--timeout"); strings.TrimSpace(out) != "Timeout (tcp tcpfin udp): 7200 60 120" {
		t.Errorf("ipvsadm -L --timeout = %q", out)
	}
	if got, err := h.Timeouts(); err != nil || got != want {
		t.Errorf("Timeouts() = %+v, %v; want %+v", got, err, want)
	}
	// A zero timeout is left as it is.
	if err := h.SetTimeouts(Timeouts{UDP: 77 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Timeouts(); err != nil || got != (Timeouts{TCP: want.TCP, TCPFin: want.TCPFin, UDP: 77 * time.Second}) {
		t.Errorf("Timeouts() after setting UDP alone = %+v, %v", got, err)
	}

	// Like keepalived, the reconciler puts back what it found.
	if _, err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Timeouts(); err != nil || got != old {
		t.Errorf("Timeouts() after Shutdown = %+v, %v; want %+v", got, err, old)
	}
}

func TestGuestSyncDaemon(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	// A namespace of its own: this also drives Open with a namespace path.
	const ns = "gkipvs-sync"
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "add", "sync0", "type", "dummy")
	run(t, "ip", "-n", ns, "link", "set", "sync0", "multicast", "on", "up")
	h, err := Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r := NewReconciler(h, ReconcilerConfig{})
	ctx := context.Background()

	master := SyncDaemon{State: SyncMaster, Interface: "sync0", SyncID: 51}
	backup := SyncDaemon{State: SyncBackup, Interface: "sync0", SyncID: 52, MaxLen: 1024, Port: 9000, TTL: 2, Group: netip.MustParseAddr("239.1.1.1")}
	for _, d := range []SyncDaemon{master, backup} {
		if _, err := r.StartSyncDaemon(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	want := "master sync daemon (mcast=sync0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n" +
		"backup sync daemon (mcast=sync0, syncid=52, maxlen=1024, group=239.1.1.1, port=9000, ttl=2)"
	if out := run(t, "ip", "netns", "exec", ns, "ipvsadm", "-L", "--daemon"); strings.TrimSpace(out) != want {
		t.Errorf("ipvsadm -L --daemon:\n%s\nwant:\n%s", out, want)
	}
	got, err := h.SyncDaemons()
	if err != nil {
		t.Fatal(err)
	}
	wantRead := []SyncDaemon{
		{State: SyncMaster, Interface: "sync0", SyncID: 51, MaxLen: 1472, Port: 8848, TTL: 1, Group: netip.MustParseAddr("224.0.0.81")},
		backup,
	}
	if !slices.Equal(got, wantRead) {
		t.Errorf("SyncDaemons() = %v, want %v", got, wantRead)
	}
	// The host table of the guest is not the namespace's.
	if out := run(t, "ipvsadm", "-L", "--daemon"); strings.TrimSpace(out) != "" {
		t.Errorf("sync daemon leaked into the initial namespace:\n%s", out)
	}

	ops, err := r.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := opStrings(ops); !slices.Equal(got, []string{"stop-sync-daemon master sync0 syncid 51", "stop-sync-daemon backup sync0 syncid 52 maxlen 1024 port 9000 ttl 2 group 239.1.1.1"}) {
		t.Errorf("Shutdown ops = %q", got)
	}
	if got, err := h.SyncDaemons(); err != nil || len(got) != 0 {
		t.Errorf("after Shutdown SyncDaemons() = %v, %v; want none", got, err)
	}
}

// scaleTable returns a table of services x dests: TCP services on
// 172.16.0.0/16 port 80, each with the same NAT real servers 10.1.j.1:8080
// of weight 1.
func scaleTable(services, dests int) []Service {
	table := make([]Service, 0, services)
	for i := range services {
		s := Service{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), 80), Protocol: TCP, Scheduler: "wlc"}
		for j := range dests {
			s.Destinations = append(s.Destinations, Destination{
				Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(j), 1}), 8080), Method: NAT, Weight: 1,
			})
		}
		table = append(table, s)
	}
	return table
}

// TestGuestScale programs a large table from empty and changes one
// destination in it, through a full and through a targeted pass.
func TestGuestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("large table")
	}
	h := guest(t)
	const services, dests = 1000, 10
	table := scaleTable(services, dests)
	r := NewReconciler(h, ReconcilerConfig{})

	start := time.Now()
	ops := reconcile(t, r, table)
	fill := time.Since(start)
	if len(ops) != services*(dests+1) {
		t.Fatalf("programming from empty issued %d ops, want %d", len(ops), services*(dests+1))
	}

	start = time.Now()
	ops = reconcile(t, r, table)
	idle := time.Since(start)
	if len(ops) != 0 {
		t.Fatalf("a converged pass issued %d ops", len(ops))
	}

	table[500].Destinations[5].Weight = 2
	start = time.Now()
	ops = reconcile(t, r, table)
	change := time.Since(start)
	if len(ops) != 1 || ops[0].Kind != UpdateDestination {
		t.Fatalf("changing one destination issued %q", opStrings(ops))
	}

	// The targeted pass reads the one service and its destinations,
	// whatever the size of the table.
	table[700].Destinations[3].Weight = 3
	before := r.Stats()
	start = time.Now()
	ops, err := r.ReconcileServices(context.Background(), table, table[700].Key())
	targeted := time.Since(start)
	if err != nil || len(ops) != 1 || ops[0].String() != "update-destination -t 172.16.2.188:80 -r 10.1.3.1:8080 -m -w 3" {
		t.Fatalf("targeted change of one destination: ops %q, err %v", opStrings(ops), err)
	}
	if reads := r.Stats().Reads - before.Reads; reads != 2 {
		t.Errorf("targeted change read the kernel %d times, want 2", reads)
	}
	if out := run(t, "ipvsadm", "-Ln", "-t", "172.16.2.188:80"); !hasWeight(out, "10.1.3.1:8080", 3) {
		t.Errorf("ipvsadm -Ln lacks weight 3 for 10.1.3.1:8080:\n%s", out)
	}

	start = time.Now()
	if _, err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	shutdown := time.Since(start)
	wantSaved(t)
	t.Logf("%d services x %d destinations in the kernel guest: program from empty %v, converged pass %v, "+
		"one-destination change: full pass %v, targeted %v; shutdown %v",
		services, dests, fill.Round(time.Millisecond), idle.Round(time.Millisecond),
		change.Round(time.Millisecond), targeted.Round(100*time.Microsecond), shutdown.Round(time.Millisecond))
}

// hasWeight reports whether the output of ipvsadm -Ln lists the real
// server at addr with weight w.
func hasWeight(out, addr string, w int) bool {
	return slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		f := strings.Fields(l)
		return len(f) >= 4 && f[0] == "->" && f[1] == addr && f[3] == strconv.Itoa(w)
	})
}

// TestGuestManyDestinations reads back a service whose destinations take
// the kernel several messages batches to list.
func TestGuestManyDestinations(t *testing.T) {
	h := guest(t)
	s := Service{Addr: ap("192.0.2.1:80"), Protocol: TCP, Scheduler: "wrr"}
	for i := range 600 {
		s.Destinations = append(s.Destinations, Destination{
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), 80), Method: NAT, Weight: i % 7,
		})
	}
	r := NewReconciler(h, ReconcilerConfig{})
	reconcile(t, r, []Service{s})
	got, err := h.Destinations(s)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b Destination) int { return a.Addr.Compare(b.Addr) })
	if !slices.Equal(got, s.Destinations) {
		t.Errorf("Destinations() returned %d destinations, not the %d programmed", len(got), len(s.Destinations))
	}
	if ops := reconcile(t, r, []Service{s}); len(ops) != 0 {
		t.Errorf("a converged pass issued %d ops", len(ops))
	}
}

// TestGuestReconcileServices drives the targeted pass through each kind of
// change against the kernel, then checks that it left the table and its
// ownership as a full pass would have.
func TestGuestReconcileServices(t *testing.T) {
	h := guest(t)
	run(t, "ipvsadm", "-A", "-t", "198.51.100.9:443", "-s", "lc")
	handMade := Service{Addr: ap("198.51.100.9:443"), Protocol: TCP}
	r := NewReconciler(h, ReconcilerConfig{})
	table := everyForm()
	reconcile(t, r, table)

	for _, tt := range []struct {
		name   string
		tamper []string                        // an ipvsadm command line run first
		change func(table []Service) []Service // the new desired table
		key    Service                         // the service named
		ops    []string
		reads  uint64
	}{
		{
			name:   "weight",
			change: func(table []Service) []Service { table[0].Destinations[1].Weight = 7; return table },
			key:    everyForm()[0],
			ops:    []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.2:8080 -m -w 7"},
			reads:  2,
		},
		{
			name: "destination added to a firewall-mark service",
			change: func(table []Service) []Service {
				table[4].Destinations = append(table[4].Destinations, Destination{Addr: ap("10.0.1.2:0"), Method: DirectRoute, Weight: 1})
				return table
			},
			key: everyForm()[4],
			// An mh service: 10.0.1.1 goes back in front of the new
			// destination, which the kernel puts first.
			ops: []string{"add-destination -f 7 -r 10.0.1.2:0 -g -w 1",
				"delete-destination -f 7 -r 10.0.1.1:0",
				"add-destination -f 7 -r 10.0.1.1:0 -g -w 1"},
			reads: 2,
		},
		{
			name:   "destination removed from an IPv6 service",
			change: func(table []Service) []Service { table[3].Destinations = table[3].Destinations[:2]; return table },
			key:    everyForm()[3],
			ops:    []string{"delete-destination -t [2001:db8::1]:443 -r 10.0.0.12:443"},
			reads:  2,
		},
		{
			name:   "service dropped",
			change: func(table []Service) []Service { return slices.Delete(table, 6, 7) },
			key:    everyForm()[6],
			ops:    []string{"delete-service -t 192.0.2.3:443"},
			reads:  2,
		},
		{
			name:   "hand-made service named",
			change: func(table []Service) []Service { return table },
			key:    handMade,
			ops:    nil,
			reads:  1,
		},
		{
			name:   "service nowhere",
			change: func(table []Service) []Service { return table },
			key:    Service{Addr: ap("192.0.2.99:80"), Protocol: TCP},
			ops:    nil,
			reads:  1,
		},
		{
			name:   "service deleted by hand",
			tamper: []string{"-D", "-u", "192.0.2.1:53"},
			change: func(table []Service) []Service { return table },
			key:    everyForm()[1],
			ops:    []string{"add-service -u 192.0.2.1:53 -s rr flags 0x4", "add-destination -u 192.0.2.1:53 -r 10.0.0.3:53 -g -w 0"},
			reads:  1,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tamper != nil {
				run(t, "ipvsadm", tt.tamper...)
			}
			table = tt.change(table)
			before := r.Stats()
			ops, err := r.ReconcileServices(context.Background(), table, tt.key.Key())
			if err != nil {
				t.Fatalf("ReconcileServices: %v\nops: %q", err, opStrings(ops))
			}
			if got := opStrings(ops); !slices.Equal(got, tt.ops) {
				t.Errorf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.ops, "\n"))
			}
			if reads := r.Stats().Reads - before.Reads; reads != tt.reads {
				t.Errorf("read the kernel %d times, want %d", reads, tt.reads)
			}
		})
	}

	// A full pass finds nothing left to do, and the table is the one a
	// full pass programs from empty.
	if ops := reconcile(t, r, table); len(ops) != 0 {
		t.Errorf("full pass after the targeted ones issued:\n%s", strings.Join(opStrings(ops), "\n"))
	}
	got := saved(t)
	if _, err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantSaved(t, "-A -t 198.51.100.9:443 -s lc")
	reconcile(t, NewReconciler(h, ReconcilerConfig{}), table)
	if want := saved(t); got != want {
		t.Errorf("table after targeted passes:\n%s\nafter a full pass from empty:\n%s", got, want)
	}
}

// keepalivedConf and keepalivedTable describe the same virtual servers, in
// keepalived.conf and as desired state.
const keepalivedConf = `
global_defs {
	router_id gk-ipvs
}
virtual_server 192.0.2.10 80 {
	lb_algo wrr
	lb_kind NAT
	protocol TCP
	real_server 10.0.0.1 80 {
		weight 2
		uthreshold 100
		lthreshold 10
	}
	real_server 10.0.0.2 8080 {
		weight 1
	}
}
virtual_server 192.0.2.10 53 {
	lb_algo rr
	lb_kind DR
	protocol UDP
	ops
	real_server 10.0.0.3 53 {
		weight 0
	}
}
virtual_server 192.0.2.11 5000 {
	lb_algo lc
	lb_kind NAT
	protocol SCTP
	real_server 10.0.0.4 5000 {
	}
}
virtual_server fwmark 7 {
	lb_algo sh
	sh-port
	sh-fallback
	lb_kind TUN
	persistence_timeout 300
	persistence_granularity 255.255.255.0
	real_server 10.0.1.1 80 {
		weight 3
	}
}
virtual_server 2001:db8::1 443 {
	lb_algo mh
	mh-port
	lb_kind DR
	protocol TCP
	persistence_timeout 60
	persistence_granularity 64
	real_server 2001:db8::10 443 {
		weight 1
	}
	real_server 2001:db8::11 443 {
		weight 5
	}
}
`

func keepalivedTable() []Service {
	return []Service{
		{Addr: ap("192.0.2.10:80"), Protocol: TCP, Scheduler: "wrr", Destinations: []Destination{
			{Addr: ap("10.0.0.1:80"), Method: NAT, Weight: 2, UpperThreshold: 100, LowerThreshold: 10},
			{Addr: ap("10.0.0.2:8080"), Method: NAT, Weight: 1},
		}},
		{Addr: ap("192.0.2.10:53"), Protocol: UDP, Scheduler: "rr", Flags: FlagOnePacket, Destinations: []Destination{
			{Addr: ap("10.0.0.3:53"), Method: DirectRoute, Weight: 0},
		}},
		{Addr: ap("192.0.2.11:5000"), Protocol: SCTP, Scheduler: "lc", Destinations: []Destination{
			{Addr: ap("10.0.0.4:5000"), Method: NAT, Weight: 1},
		}},
		{FWMark: 7, Scheduler: "sh", Flags: FlagSHPort | FlagSHFallback | FlagPersistent, Timeout: 300 * time.Second,
			Netmask: net.IPv4Mask(255, 255, 255, 0), Destinations: []Destination{
				// keepalived clears a port given to a firewall-mark
				// real server, with a warning.
				{Addr: ap("10.0.1.1:0"), Method: Tunnel, Weight: 3},
			}},
		{Addr: ap("[2001:db8::1]:443"), Protocol: TCP, Scheduler: "mh", Flags: FlagMHPort | FlagPersistent, Timeout: 60 * time.Second,
			Netmask: net.CIDRMask(64, 128), Destinations: []Destination{
				{Addr: ap("[2001:db8::10]:443"), Method: DirectRoute, Weight: 1},
				{Addr: ap("[2001:db8::11]:443"), Method: DirectRoute, Weight: 5},
			}},
	}
}

// TestGuestSameTableAsKeepalived programs the same virtual servers with
// keepalived's checker and with the reconciler: the kernel must end up
// holding the same table, as ipvsadm shows it.
func TestGuestSameTableAsKeepalived(t *testing.T) {
	h := guest(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatalf("keepalived is not in the guest: %v", err)
	}
	dir := t.TempDir()
	conf := dir + "/keepalived.conf"
	if err := os.WriteFile(conf, []byte(keepalivedConf), 0o644); err != nil {
		t.Fatal(err)
	}
	ka := exec.Command("keepalived", "-n", "-l", "-D", "-C", "-f", conf,
		"-p", dir+"/keepalived.pid", "-c", dir+"/checkers.pid", "-r", dir+"/vrrp.pid")
	var log strings.Builder
	ka.Stdout, ka.Stderr = &log, &log
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

	const lines = 12 // 5 services, 7 destinations
	var theirs string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		theirs = saved(t)
		if strings.Count(theirs, "\n")+1 == lines {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keepalived did not program its table:\n%s\nkeepalived log:\n%s", theirs, log.String())
		}
	}
	theirThresholds := run(t, "ipvsadm", "-Ln", "--thresholds")
	stop()
	if left := saved(t); left != "" {
		t.Fatalf("keepalived left entries behind at exit:\n%s", left)
	}

	r := NewReconciler(h, ReconcilerConfig{})
	reconcile(t, r, keepalivedTable())
	if ours := saved(t); ours != theirs {
		t.Errorf("ipvsadm -Sn, reconciler:\n%s\nkeepalived:\n%s", ours, theirs)
	}
	if ours := run(t, "ipvsadm", "-Ln", "--thresholds"); ours != theirThresholds {
		t.Errorf("ipvsadm -Ln --thresholds, reconciler:\n%s\nkeepalived:\n%s", ours, theirThresholds)
	}
}
