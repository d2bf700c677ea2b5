package vrrp

import (
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

func TestVirtualMAC(t *testing.T) {
	if got := VirtualMAC(51, false).String(); got != "00:00:5e:00:01:33" {
		t.Errorf("IPv4 VRID 51: %s", got)
	}
	if got := VirtualMAC(255, true).String(); got != "00:00:5e:00:02:ff" {
		t.Errorf("IPv6 VRID 255: %s", got)
	}
	if got := DefaultVMACName(51); got != "vrrp.51" {
		t.Errorf("default name %q", got)
	}
}

// TestVMACNames follows keepalived's create_vmac_name: the prefix dot
// VRID, or when taken a number before the dot, from 6 for IPv6, and a
// prefix cut to fit an interface name.
func TestVMACNames(t *testing.T) {
	got := VMACNames("", []string{"vrrp.5", "vrrp6.5"}, []VMACWant{
		{VRID: 5}, {VRID: 5, IPv6: true}, {VRID: 5, IPv6: true}, {VRID: 5, IPv6: true},
		{VRID: 9, IPv6: true}, {VRID: 9}, {VRID: 9},
	})
	want := []string{"vrrp1.5", "vrrp2.5", "vrrp3.5", "vrrp4.5", "vrrp.9", "vrrp1.9", "vrrp2.9"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("names %v, want %v", got, want)
	}
	got = VMACNames("", nil, []VMACWant{{VRID: 1, IPv6: true}, {VRID: 1, IPv6: true}, {VRID: 1, IPv6: true},
		{VRID: 1, IPv6: true}, {VRID: 1, IPv6: true}, {VRID: 1, IPv6: true}, {VRID: 1, IPv6: true}, {VRID: 1}})
	want = []string{"vrrp.1", "vrrp6.1", "vrrp1.1", "vrrp2.1", "vrrp3.1", "vrrp4.1", "vrrp5.1", "vrrp7.1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("IPv6 names %v, want %v", got, want)
	}
	got = VMACNames("averyverylongprefix", nil, []VMACWant{{VRID: 200}, {VRID: 200}})
	if got[0] != "averyverylo.200" || got[1] != "averyveryl1.200" {
		t.Errorf("long prefix names %v", got)
	}
}

// TestRouterVMAC runs our master with use_vmac against a keepalived
// backup with use_vmac: the VIP lives on vrrp.51 with the virtual MAC,
// which the client learns; when ours stops, it removes its VMAC
// interface and keepalived takes over with the same MAC, so the client's
// neighbour entry stays right without a change.
func TestRouterVMAC(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	o := l.AddHost("o", "10.99.0.1/24")
	k := l.AddHost("k", "10.99.0.2/24")
	c := l.AddHost("c", "10.99.0.3/24")
	const vmac = "00:00:5e:00:01:33"
	kd := k.StartKeepalived(t, keepalivedConf(100, labVIP+"/24", "use_vmac"), "-P")
	if !kd.WaitOutput("Entering BACKUP STATE", 5*time.Second) {
		t.Fatalf("keepalived did not start:\n%s", kd.Output())
	}
	spec := ourSpec(150)
	spec.VMAC = true
	od := startOurs(t, o, spec)
	waitVIP(t, o, labVIP, 10*time.Second, od, kd)
	link := o.Run("ip", "-o", "-d", "link", "show", "vrrp.51")
	if !strings.Contains(link, "link/ether "+vmac) || !strings.Contains(link, "macvlan mode private") {
		t.Fatalf("VMAC interface: %s", link)
	}
	if addrs := o.Run("ip", "-o", "addr", "show", "dev", "vrrp.51"); !strings.Contains(addrs, labVIP+"/24") {
		t.Fatalf("VIP not on the VMAC interface: %s", addrs)
	}
	// keepalived hears our adverts from the VMAC and stays backup.
	oneMaster(t, labVIP, 3*time.Second, o, k)
	// The routers know the client already: the replies to its pings,
	// from the VIP but routed out of the parent, must not make them
	// ask for its address with the parent's MAC.
	o.Run("ping", "-c1", "-W2", "10.99.0.3")
	k.Run("ping", "-c1", "-W2", "10.99.0.3")
	c.Run("ping", "-c1", "-W2", labVIP)
	if got := c.Neighbor(labVIP).String(); got != vmac {
		t.Fatalf("client's neighbour entry for the VIP = %s, want the virtual MAC", got)
	}

	stopOurs(t, od)
	if out, err := o.Exec("ip", "link", "show", "vrrp.51").CombinedOutput(); err == nil {
		t.Fatalf("VMAC interface left behind: %s", out)
	}
	waitVIP(t, k, labVIP, 5*time.Second, kd)
	c.Run("ping", "-c1", "-W2", labVIP)
	if got := c.Neighbor(labVIP).String(); got != vmac {
		t.Fatalf("client's neighbour entry after the failover = %s, want the virtual MAC", got)
	}
}
