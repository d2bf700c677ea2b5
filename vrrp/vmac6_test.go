package vrrp

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestRouterVMAC6 runs our IPv6 master with use_vmac against a keepalived
// backup with use_vmac: as keepalived's, the VMAC interface has the IPv6
// virtual MAC and the parent's link-local address (deprecated, without
// DAD) and no other; the adverts keepalived hears come from it, the VIP
// and its neighbour adverts too, and the client keeps the virtual MAC when
// keepalived takes over.
func TestRouterVMAC6(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	o := l.AddHost("o", "fd00:99::1/64")
	k := l.AddHost("k", "fd00:99::2/64")
	c := l.AddHost("c", "fd00:99::3/64")
	const vip, vmac = "fd00:99::100", "00:00:5e:00:02:33"
	kd := k.StartKeepalived(t, keepalivedConf(100, vip+"/64", "version 3", "use_vmac"), "-P")
	if !kd.WaitOutput("Entering BACKUP STATE", 5*time.Second) {
		t.Fatalf("keepalived did not start:\n%s", kd.Output())
	}
	spec := routerSpec{Name: "VI_1", VRID: 51, Priority: 150, Version: 3, VIPs: []string{vip + "/64"}, VMAC: true}
	od := startOurs(t, o, spec)
	waitVIP(t, o, vip, 10*time.Second, od, kd)
	link := o.Run("ip", "-o", "-d", "link", "show", "vrrp.51")
	if !strings.Contains(link, "link/ether "+vmac) || !strings.Contains(link, "macvlan mode private") ||
		!strings.Contains(link, "addrgenmode none") {
		t.Fatalf("VMAC interface: %s", link)
	}
	ll := linkLocal(t, o, "eth0")
	addrs := o.Run("ip", "-o", "-6", "addr", "show", "dev", "vrrp.51")
	if !strings.Contains(addrs, vip+"/64") || !strings.Contains(addrs, ll+"/64 scope link nodad deprecated") ||
		strings.Count(addrs, "scope link") != 1 {
		t.Fatalf("VMAC addresses, want the VIP and %s (deprecated, nodad) only:\n%s", ll, addrs)
	}
	oneMaster(t, vip, 3*time.Second, o, k)
	c.Run("ping", "-6", "-c1", "-W2", vip)
	if got := c.Neighbor(vip).String(); got != vmac {
		t.Fatalf("client's neighbour entry for the VIP = %s, want the virtual MAC", got)
	}
	// keepalived names our adverts' source in its data file: the parent's
	// link-local address, which the VMAC carries.
	src := captureAdvert(t, c)
	if !strings.Contains(src, vmac+" > 33:33:00:00:00:12") || !strings.Contains(src, ll+" > ff02::12") {
		t.Fatalf("advert %q: want it from %s, %s", src, vmac, ll)
	}

	stopOurs(t, od)
	if out, err := o.Exec("ip", "link", "show", "vrrp.51").CombinedOutput(); err == nil {
		t.Fatalf("VMAC interface left behind: %s", out)
	}
	waitVIP(t, k, vip, 5*time.Second, kd)
	c.Run("ping", "-6", "-c1", "-W2", vip)
	if got := c.Neighbor(vip).String(); got != vmac {
		t.Fatalf("client's neighbour entry after the failover = %s, want the virtual MAC", got)
	}
}

// TestRouterVMACXmitBase checks vmac_xmit_base: the VIP lives on the VMAC
// with the virtual MAC, but the adverts leave from the parent, with its
// own MAC, and keepalived (without use_vmac) hears them.
func TestRouterVMACXmitBase(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	o := l.AddHost("o", "10.99.0.1/24")
	k := l.AddHost("k", "10.99.0.2/24")
	c := l.AddHost("c", "10.99.0.3/24")
	kd := k.StartKeepalived(t, keepalivedConf(100, labVIP+"/24"), "-P")
	if !kd.WaitOutput("Entering BACKUP STATE", 5*time.Second) {
		t.Fatalf("keepalived did not start:\n%s", kd.Output())
	}
	spec := ourSpec(150)
	spec.VMAC, spec.XmitBase = true, true
	od := startOurs(t, o, spec)
	waitVIP(t, o, labVIP, 10*time.Second, od, kd)
	if addrs := o.Run("ip", "-o", "addr", "show", "dev", "vrrp.51"); !strings.Contains(addrs, labVIP+"/24") {
		t.Fatalf("VIP not on the VMAC interface: %s", addrs)
	}
	oneMaster(t, labVIP, 3*time.Second, o, k)
	if src := captureAdvert(t, c); !strings.HasPrefix(src, o.MAC.String()+" > 01:00:5e:00:00:12") {
		t.Fatalf("advert %q: want it from the parent's MAC %s", src, o.MAC)
	}
	stopOurs(t, od)
	waitVIP(t, k, labVIP, 5*time.Second, kd)
}

// linkLocal returns the IPv6 link-local address of h's dev.
func linkLocal(t *testing.T, h *nettest.Host, dev string) string {
	t.Helper()
	for _, f := range strings.Fields(h.Run("ip", "-o", "-6", "addr", "show", "dev", dev, "scope", "link")) {
		if ip, _, err := net.ParseCIDR(f); err == nil && ip.IsLinkLocalUnicast() {
			return ip.String()
		}
	}
	t.Fatalf("%s has no link-local address on %s", h.Name, dev)
	return ""
}

// captureAdvert returns the link-layer summary of the next VRRP packet h
// sees, as tcpdump -en prints it: "SRC > DST, ethertype ..., SRCIP > DSTIP: VRRP...".
// An IPv4 filter expression may narrow it further.
func captureAdvert(t *testing.T, h *nettest.Host, filter ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	expr := "proto 112 or ip6 proto 112"
	if len(filter) > 0 {
		expr = "proto 112 and " + strings.Join(filter, " and ")
	}
	out, err := h.ExecContext(ctx, "tcpdump", "-c1", "-enqli", "eth0", expr).Output()
	if err != nil {
		t.Fatalf("capturing an advert on %s: %v\n%s", h.Name, err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	_, rest, _ := strings.Cut(line, " ") // the time stamp
	return rest
}

// TestRouterVMACBesidePlain runs a VMAC instance and a plain one on the
// same parent, the VMAC one created first: they share the parent's
// socket, and the plain one's adverts must still leave from the parent's
// MAC, the VMAC one's from the virtual MAC.
func TestRouterVMACBesidePlain(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	o := l.AddHost("o", "10.99.0.1/24")
	c := l.AddHost("c", "10.99.0.3/24")
	withVMAC := ourSpec(150)
	withVMAC.VMAC = true
	plain := routerSpec{Name: "VI_2", VRID: 52, Priority: 150, VIPs: []string{"10.99.0.101/24"}}
	od := startOurs(t, o, withVMAC, plain)
	waitVIP(t, o, labVIP, 10*time.Second, od)
	waitVIP(t, o, "10.99.0.101", 10*time.Second, od)
	for _, tt := range []struct {
		vrid int
		mac  string
	}{{51, "00:00:5e:00:01:33"}, {52, o.MAC.String()}} {
		src := captureAdvert(t, c, "ip[21] = "+strconv.Itoa(tt.vrid))
		if !strings.HasPrefix(src, tt.mac+" > 01:00:5e:00:00:12") {
			t.Errorf("VRID %d advert %q: want it from %s", tt.vrid, src, tt.mac)
		}
	}
	stopOurs(t, od)
}
