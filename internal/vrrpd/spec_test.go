package vrrpd

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// TestVRRPRouteEveryType maps every route type config knows: each is the
// vrrp type of the same kernel number, and a route that names none is
// unicast.
func TestVRRPRouteEveryType(t *testing.T) {
	for _, rt := range config.RouteTypes() {
		want := vrrp.RouteType(rt)
		if rt == config.RouteUnspec {
			want = vrrp.RouteUnicast
		}
		r := config.Route{To: netip.MustParsePrefix("10.1.0.0/16"), Type: rt, Table: 1000, Scope: config.ScopeLink}
		vr := vrrpRoute(r)
		if vr.Type != want || vr.Table != 1000 || vr.Scope != vrrp.ScopeLink {
			t.Errorf("route type %q: %+v, want type %d table 1000 scope link", rt, vr, want)
		}
	}
}

func TestVRRPVIP(t *testing.T) {
	a := config.Address{Prefix: netip.MustParsePrefix("10.1.2.3/24"), Scope: 17, Broadcast: config.Broadcast{Kind: config.BroadcastZeros}}
	v := vrrpVIP(a)
	if v.Scope != 17 || v.Broadcast != netip.MustParseAddr("10.1.2.0") {
		t.Errorf("vrrpVIP(%+v) = %+v", a, v)
	}
}

// TestVRRPVIPOptions maps the address options: a peer's prefix length
// becomes the address's, and an IPv6 address is deprecated by default
// when it is a /128, as keepalived's, or by preferred_lft.
func TestVRRPVIPOptions(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		a    config.Address
		want vrrp.VIP
	}{
		{config.Address{Prefix: p("10.1.2.3/32"), Peer: p("10.1.2.0/24"), Home: true, NoPrefixRoute: true},
			vrrp.VIP{Prefix: p("10.1.2.3/24"), Peer: p("10.1.2.0/24"), Home: true, NoPrefixRoute: true}},
		{config.Address{Prefix: p("10.1.2.3/32"), PreferredLft: "0"}, vrrp.VIP{Prefix: p("10.1.2.3/32")}},
		{config.Address{Prefix: p("fd00::1/128"), NoDAD: true, AutoJoin: true, MngTmpAddr: true},
			vrrp.VIP{Prefix: p("fd00::1/128"), DAD: true, AutoJoin: true, MngTmpAddr: true, Deprecating: true}},
		{config.Address{Prefix: p("fd00::1/128"), PreferredLft: "forever"}, vrrp.VIP{Prefix: p("fd00::1/128")}},
		{config.Address{Prefix: p("fd00::1/64")}, vrrp.VIP{Prefix: p("fd00::1/64")}},
		{config.Address{Prefix: p("fd00::1/64"), PreferredLft: "30"}, vrrp.VIP{Prefix: p("fd00::1/64"), PreferredLft: 30, Deprecating: true}},
	}
	for _, tt := range tests {
		if got := vrrpVIP(tt.a); got != tt.want {
			t.Errorf("vrrpVIP(%+v) = %+v, want %+v", tt.a, got, tt.want)
		}
	}
}

// TestGarpExtraIf maps garp_extra_if as keepalived keeps it: the
// instance's delay or the global one, only with "all" and a VIP on
// another interface, and never for a VMAC instance.
func TestGarpExtraIf(t *testing.T) {
	other := []config.Address{{Prefix: netip.MustParsePrefix("10.2.0.1/24"), Dev: "eth1"}}
	own := []config.Address{{Prefix: netip.MustParsePrefix("10.1.0.1/24")}}
	for _, tt := range []struct {
		name string
		in   config.Instance
		g    config.Global
		want time.Duration
	}{
		{"instance", config.Instance{Interface: "eth0", VirtualIPs: other, GarpExtraIf: 2 * time.Second, GarpExtraIfAll: true}, config.Global{}, 2 * time.Second},
		{"global", config.Instance{Interface: "eth0", VirtualIPs: other}, config.Global{VRRPGarpExtraIf: 3 * time.Second, VRRPGarpExtraIfAll: true}, 3 * time.Second},
		{"instance over global", config.Instance{Interface: "eth0", VirtualIPs: other, GarpExtraIf: 2 * time.Second, GarpExtraIfAll: true}, config.Global{VRRPGarpExtraIf: 3 * time.Second, VRRPGarpExtraIfAll: true}, 2 * time.Second},
		{"without all", config.Instance{Interface: "eth0", VirtualIPs: other, GarpExtraIf: 2 * time.Second}, config.Global{}, 0},
		{"no other interface", config.Instance{Interface: "eth0", VirtualIPs: own, GarpExtraIf: 2 * time.Second, GarpExtraIfAll: true}, config.Global{}, 0},
		{"excluded VIP elsewhere", config.Instance{Interface: "eth0", VirtualIPs: own, ExcludedVIPs: other, GarpExtraIf: 2 * time.Second, GarpExtraIfAll: true}, config.Global{}, 2 * time.Second},
		{"VMAC", config.Instance{Interface: "eth0", VirtualIPs: other, UseVMAC: true, GarpExtraIf: 2 * time.Second, GarpExtraIfAll: true}, config.Global{}, 0},
	} {
		if got := garpExtraIf(&tt.in, &tt.g); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestConfigFault: unicast_fault_no_peer without peers is a config
// fault, with a peer it is not.
func TestConfigFault(t *testing.T) {
	in := config.Instance{Name: "VI_1", Interface: "eth0", UnicastFaultNoPeer: true, VirtualIPs: []config.Address{{Prefix: netip.MustParsePrefix("10.1.0.1/24")}}}
	if _, nc := vrrpConfig(&in, &config.Global{}); !nc.ConfigFault {
		t.Error("no config fault without unicast peers")
	}
	in.UnicastPeers = []config.UnicastPeer{{Addr: netip.MustParseAddr("10.1.0.2")}}
	if _, nc := vrrpConfig(&in, &config.Global{}); nc.ConfigFault {
		t.Error("a config fault with a unicast peer")
	}
}
