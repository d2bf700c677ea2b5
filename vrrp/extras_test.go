package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestRouterExcludedAndRoutes runs our master with an excluded VIP and a
// virtual route against a keepalived backup configured alike, which
// would take over if our adverts carried the excluded address. The
// master holds both while MASTER and releases both when it stops.
func TestRouterExcludedAndRoutes(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	k := l.AddHost("k", "10.99.0.2/24")
	const excluded = "10.99.0.200"
	route := Route{Dst: netip.MustParsePrefix("10.200.0.0/16"), Gateway: netip.MustParseAddr("10.99.0.254"), Device: "eth0"}
	kd := k.StartKeepalived(t, keepalivedConf(100, labVIP+"/24",
		"virtual_ipaddress_excluded {\n    "+excluded+"/24\n  }",
		"virtual_routes {\n    10.200.0.0/16 via 10.99.0.254 dev eth0\n  }"), "-P")
	if !kd.WaitOutput("Entering BACKUP STATE", 5*time.Second) {
		t.Fatalf("keepalived did not start:\n%s", kd.Output())
	}
	sa := ourSpec(150)
	sa.Excluded = []string{excluded + "/24"}
	sa.Routes = []Route{route}
	da := startOurs(t, a, sa)
	waitVIP(t, a, labVIP, 10*time.Second, da, kd)
	waitVIP(t, a, excluded, time.Second, da)
	hasRoute := func(h *nettest.Host) bool {
		return strings.Contains(h.Run("ip", "route", "show", "10.200.0.0/16"), "10.200.0.0/16 via 10.99.0.254 dev eth0")
	}
	if !hasRoute(a) {
		t.Fatalf("no virtual route on the master: %s", a.Run("ip", "route"))
	}
	if !strings.Contains(da.Output(), "Sending gratuitous ARP on eth0 for "+excluded) {
		t.Fatal("excluded VIP not announced")
	}
	// keepalived checks our adverts' address list against its own.
	oneMaster(t, labVIP, 3*time.Second, a, k)
	if k.HasAddr(excluded) || hasRoute(k) {
		t.Fatal("the backup installed the excluded VIP or the route")
	}
	if strings.Contains(kd.Output(), "ip number count") {
		t.Fatalf("keepalived rejected our adverts:\n%s", kd.Output())
	}

	stopOurs(t, da)
	if a.HasAddr(excluded) || hasRoute(a) {
		t.Fatalf("stopped master kept the excluded VIP or the route: %s", a.Run("ip", "route"))
	}
	waitVIP(t, k, excluded, 5*time.Second, kd)
	if _, ok := nettest.Eventually(2*time.Second, func() bool { return hasRoute(k) }); !ok {
		t.Fatal("keepalived did not install the route on taking over")
	}
}

// TestRouterCheckUnicastSrc has keepalived, at priority 200, send unicast
// adverts to our router from an address that is not among its peers:
// with check_unicast_src they are dropped and ours becomes master.
func TestRouterCheckUnicastSrc(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	o := l.AddHost("o", "10.99.0.2/24")
	k := l.AddHost("k", "10.99.0.3/24")
	kd := k.StartKeepalived(t, keepalivedConf(200, labVIP+"/24",
		fmt.Sprintf("unicast_src_ip 10.99.0.3\n  unicast_peer {\n    %s\n  }", "10.99.0.2")), "-P")
	waitVIP(t, k, labVIP, 10*time.Second, kd)
	spec := ourSpec(100)
	spec.Peers = []netip.Addr{netip.MustParseAddr("10.99.0.1")}
	spec.CheckSrc = true
	od := startOurs(t, o, spec)
	waitVIP(t, o, labVIP, 10*time.Second, od)
	if !od.WaitOutput("(VI_1) unicast source address 10.99.0.3 not a unicast peer", time.Second) {
		t.Fatalf("drop not logged:\n%s", od.Output())
	}
	st := stopOurs(t, od)
	if st.Stats.Drops[DropSource] < 2 {
		t.Fatalf("source drops %d, want one per advert", st.Stats.Drops[DropSource])
	}
}
