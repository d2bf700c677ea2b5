package vrrp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

func TestVIPString(t *testing.T) {
	tests := []struct {
		vip  VIP
		want string
	}{
		{VIP{Prefix: netip.MustParsePrefix("10.0.0.1/32")}, "10.0.0.1/32"},
		{VIP{Prefix: netip.MustParsePrefix("fd00::1/128")}, "fd00::1/128"},
		{VIP{Prefix: netip.MustParsePrefix("10.0.0.1/24"), Broadcast: netip.MustParseAddr("10.0.0.255"),
			Device: "eth1", Scope: ScopeLink, Label: "eth1:vip"},
			"10.0.0.1/24 brd 10.0.0.255 dev eth1 scope link label eth1:vip"},
		{VIP{Prefix: netip.MustParsePrefix("10.0.0.1/32"), Scope: ScopeHost}, "10.0.0.1/32 scope host"},
		{VIP{Prefix: netip.MustParsePrefix("10.0.0.1/32"), Scope: 100}, "10.0.0.1/32 scope 100"},
		{VIP{Prefix: netip.MustParsePrefix("10.0.0.1/32"), Peer: netip.MustParsePrefix("10.0.0.2/32"), Label: "eth0:p"},
			"10.0.0.1/32 label eth0:p peer 10.0.0.2/32"},
	}
	for _, tt := range tests {
		if got := tt.vip.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.vip, got, tt.want)
		}
	}
}

// TestScopeValues checks the scopes against the kernel's numbers, which
// the Linux side passes on as they are.
func TestScopeValues(t *testing.T) {
	for _, tt := range []struct {
		ours   Scope
		kernel netlink.Scope
	}{
		{ScopeUniverse, netlink.SCOPE_UNIVERSE},
		{ScopeSite, netlink.SCOPE_SITE},
		{ScopeLink, netlink.SCOPE_LINK},
		{ScopeHost, netlink.SCOPE_HOST},
		{ScopeNowhere, netlink.SCOPE_NOWHERE},
	} {
		if uint8(tt.ours) != uint8(tt.kernel) {
			t.Errorf("scope %v is %d, the kernel's %d", tt.ours, tt.ours, tt.kernel)
		}
	}
}

// TestAddressSet adds and removes VIPs with their options on a real
// interface, twice each, as keepalived tolerates.
func TestAddressSet(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	h := l.AddHost("a", "10.99.0.1/24")
	vips := []VIP{
		{Prefix: netip.MustParsePrefix("10.99.0.100/24"), Broadcast: netip.MustParseAddr("10.99.0.255"), Label: "eth0:vip"},
		{Prefix: netip.MustParsePrefix("10.99.0.101/32"), Scope: ScopeLink},
		{Prefix: netip.MustParsePrefix("fd00:99::100/64")},
	}
	set := NewAddressSet(h.Netlink(), h.Link, vips)
	for range 2 {
		if err := set.Add(); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if ok, err := set.Present(); !ok || err != nil {
		t.Fatalf("Present after Add = %v, %v", ok, err)
	}
	out := h.Run("ip", "-o", "addr", "show", "dev", "eth0")
	for _, want := range []string{
		"inet 10.99.0.100/24 brd 10.99.0.255 scope global secondary eth0:vip",
		"inet 10.99.0.101/32 scope link",
		"inet6 fd00:99::100/64 scope global nodad",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ip addr lacks %q:\n%s", want, out)
		}
	}
	for range 2 {
		if err := set.Remove(); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	for _, ip := range []string{"10.99.0.100", "10.99.0.101", "fd00:99::100"} {
		if h.HasAddr(ip) {
			t.Errorf("%s still present after Remove", ip)
		}
	}
	if !h.HasAddr("10.99.0.1") {
		t.Error("Remove took the interface's own address")
	}
	bad := NewAddressSet(h.Netlink(), "nosuch0", vips[:1])
	if err := bad.Add(); err == nil || !strings.Contains(err.Error(), "adding VIP 10.99.0.100/24 to nosuch0") {
		t.Fatalf("Add on a missing interface: %v", err)
	}
}

// TestAddressSetFlags adds VIPs with a peer, address flags, -nodad and
// preferred lifetimes, as keepalived adds them, and removes them all,
// the point-to-point one included.
func TestAddressSetFlags(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	h := l.AddHost("a", "10.98.0.1/24")
	vips := []VIP{
		{Prefix: netip.MustParsePrefix("10.98.0.100/32"), Peer: netip.MustParsePrefix("10.97.0.1/32")},
		{Prefix: netip.MustParsePrefix("10.96.0.1/24"), NoPrefixRoute: true},
		{Prefix: netip.MustParsePrefix("fd00:98::100/64"), Home: true, MngTmpAddr: true},
		{Prefix: netip.MustParsePrefix("fd00:98::101/64"), DAD: true, NoPrefixRoute: true},
		{Prefix: netip.MustParsePrefix("fd00:98::102/128"), Deprecating: true},
		{Prefix: netip.MustParsePrefix("ff15::98/128"), AutoJoin: true},
	}
	set := NewAddressSet(h.Netlink(), h.Link, vips)
	if err := set.Add(); err != nil {
		t.Fatalf("Add: %v", err)
	}
	out := h.Run("ip", "-o", "addr", "show", "dev", "eth0")
	for _, want := range []string{
		"inet 10.98.0.100 peer 10.97.0.1/32 scope global",
		"inet 10.96.0.1/24 scope global noprefixroute",
		"inet6 fd00:98::100/64 scope global nodad home mngtmpaddr",
		"inet6 fd00:98::101/64 scope global noprefixroute",
		"inet6 fd00:98::102/128 scope global nodad deprecated",
		"inet6 ff15::98/128 scope site nodad autojoin",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ip addr lacks %q:\n%s", want, out)
		}
	}
	if routes := h.Run("ip", "route", "show", "10.96.0.0/24"); routes != "" {
		t.Errorf("noprefixroute made a prefix route: %s", routes)
	}
	if err := set.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	for _, ip := range []string{"10.98.0.100", "10.96.0.1", "fd00:98::100", "fd00:98::101", "fd00:98::102", "ff15::98"} {
		if h.HasAddr(ip) {
			t.Errorf("%s still present after Remove", ip)
		}
	}
}
