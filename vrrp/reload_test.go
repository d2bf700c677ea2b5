package vrrp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// startReloadable runs our router with spec, reloading it from the file
// returned on SIGHUP.
func startReloadable(t *testing.T, h *nettest.Host, spec ...routerSpec) (*nettest.Daemon, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), h.Name+"-reload.json")
	hs := helperSpec{Reload: file}
	for _, s := range spec {
		if s.Interface == "" {
			s.Interface = h.Link
		}
		hs.Instances = append(hs.Instances, s)
	}
	b, err := json.Marshal(hs)
	if err != nil {
		t.Fatal(err)
	}
	return h.Start(t, exe, "-test.run=^TestHelperProcess$", "--", "vrrp-router", string(b)), file
}

// reloadOurs makes the router of d, started by startReloadable with file,
// apply spec, and waits until it has.
func reloadOurs(t *testing.T, h *nettest.Host, d *nettest.Daemon, file string, spec ...routerSpec) {
	t.Helper()
	hs := helperSpec{}
	for _, s := range spec {
		if s.Interface == "" {
			s.Interface = h.Link
		}
		hs.Instances = append(hs.Instances, s)
	}
	b, err := json.Marshal(hs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(d.Output(), "reload: ")
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if _, ok := nettest.Eventually(5*time.Second, func() bool { return strings.Count(d.Output(), "reload: ") > before }); !ok {
		t.Fatalf("%s did not reload:\n%s", h.Name, d.Output())
	}
	if out := d.Output(); !strings.HasPrefix(out[strings.LastIndex(out, "reload: "):], "reload: applied") {
		t.Fatalf("%s failed to reload:\n%s", h.Name, out)
	}
}

// TestRouterReload reconfigures a running master while a client watches
// the segment's ARP traffic: its priority drops (still above the
// backup's), a VIP is added, one removed, one kept, and a new instance
// appears. The instance that stays must not change state, nor announce
// the VIP it kept; the new VIP arrives with its gratuitous ARPs.
func TestRouterReload(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24")
	c := l.AddHost("c", "10.99.0.3/24")
	const (
		kept    = labVIP
		removed = "10.99.0.101"
		added   = "10.99.0.102"
		newVIP  = "10.99.0.150"
	)
	sa, sb := ourSpec(150), ourSpec(100)
	sa.VIPs = []string{kept + "/24", removed + "/24"}
	sb.VIPs = sa.VIPs
	da, fa := startReloadable(t, a, sa)
	db, fb := startReloadable(t, b, sb)
	waitVIP(t, a, kept, 10*time.Second, da, db)
	waitVIP(t, a, removed, time.Second, da, db)
	// Past the second round of gratuitous ARPs, garp_master_delay after
	// the first.
	garpKept := "Sending gratuitous ARP on eth0 for " + kept
	if _, ok := nettest.Eventually(10*time.Second, func() bool { return strings.Count(da.Output(), garpKept) == 2*DefaultGarpMasterRepeat }); !ok {
		t.Fatalf("no second round of gratuitous ARPs:\n%s", da.Output())
	}
	c.Run("ping", "-c1", "-W2", kept)

	dump := c.Start(t, "tcpdump", "-l", "-n", "-i", "eth0", "arp")
	if !dump.WaitOutput("listening on eth0", 5*time.Second) {
		t.Fatalf("tcpdump did not start:\n%s", dump.Output())
	}
	sa.Priority = 120
	sa.VIPs = []string{kept + "/24", added + "/24"}
	sb.VIPs = sa.VIPs
	vi2 := routerSpec{Name: "VI_2", VRID: 52, Priority: 150, VIPs: []string{newVIP + "/24"}}
	// Both routers are reloaded, as an operator does: the backup checks
	// the master's addresses against its own.
	reloadOurs(t, b, db, fb, sb)
	reloadOurs(t, a, da, fa, sa, vi2)

	waitVIP(t, a, added, 2*time.Second, da)
	if _, ok := nettest.Eventually(2*time.Second, func() bool { return !a.HasAddr(removed) }); !ok {
		t.Fatal("removed VIP still present")
	}
	waitVIP(t, a, newVIP, 10*time.Second, da)
	// The new instance's second round, and any stray announcement.
	time.Sleep(DefaultGarpMasterDelay + time.Second)
	oneMaster(t, kept, time.Second, a, b)
	if !a.HasAddr(added) || b.HasAddr(added) {
		t.Fatal("added VIP not on the master alone")
	}
	c.Run("ping", "-c1", "-W2", added)
	if got := c.Neighbor(added); got.String() != a.MAC.String() {
		t.Fatalf("client's neighbour entry for the added VIP = %v, want a's %v", got, a.MAC)
	}

	arps := dump.Output()
	// A gratuitous ARP asks for its own address.
	garps := func(ip string) int {
		n := 0
		for _, line := range strings.Split(arps, "\n") {
			if strings.Contains(line, "Request who-has "+ip+" ") && strings.Contains(line, " tell "+ip+",") {
				n++
			}
		}
		return n
	}
	if n := garps(kept); n != 0 {
		t.Errorf("%d gratuitous ARPs for the kept VIP after the reload, want none:\n%s", n, arps)
	}
	if n := garps(added); n < DefaultGarpMasterRepeat {
		t.Errorf("%d gratuitous ARPs for the added VIP, want at least %d:\n%s", n, DefaultGarpMasterRepeat, arps)
	}
	if n := garps(newVIP); n < DefaultGarpMasterRepeat {
		t.Errorf("%d gratuitous ARPs for the new instance's VIP, want at least %d:\n%s", n, DefaultGarpMasterRepeat, arps)
	}
	if n := strings.Count(da.Output(), "(VI_1) Entering MASTER STATE"); n != 1 {
		t.Errorf("VI_1 entered MASTER %d times, want once:\n%s", n, da.Output())
	}

	stb := stopOurs(t, db)
	// INIT > BACKUP > STOP.
	if stb.Stats.Transitions != 2 || stb.Stats.BecameMaster != 0 || stb.MasterPriority != 120 {
		t.Errorf("backup: %d transitions, %d times master, master's priority %d; want 2, 0, 120",
			stb.Stats.Transitions, stb.Stats.BecameMaster, stb.MasterPriority)
	}
	rep := stopOursReport(t, da)
	if len(rep.Instances) != 2 {
		t.Fatalf("master's instances %+v, want VI_1 and VI_2", rep.Instances)
	}
	sta := rep.Instances[0]
	if sta.Name != "VI_1" || sta.Stats.Transitions != 3 || sta.Stats.BecameMaster != 1 || sta.EffectivePriority != 120 {
		// INIT > BACKUP > MASTER > STOP.
		t.Errorf("master's VI_1: %+v, want INIT>BACKUP>MASTER>STOP at priority 120", sta)
	}
	if rep.Instances[1].Name != "VI_2" || rep.Instances[1].Stats.BecameMaster != 1 {
		t.Errorf("master's VI_2: %+v", rep.Instances[1])
	}
}
