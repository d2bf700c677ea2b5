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
