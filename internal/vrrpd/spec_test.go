package vrrpd

import (
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/config"
)

// TestVRRPRouteEveryType maps every route type config knows: each is the
// kernel's RTN_* of the same name, and a route that names none is unicast.
func TestVRRPRouteEveryType(t *testing.T) {
	for _, rt := range config.RouteTypes {
		want := int(rt)
		if rt == config.RouteUnspec {
			want = unix.RTN_UNICAST
		}
		r := config.Route{To: netip.MustParsePrefix("10.1.0.0/16"), Type: rt, Table: 1000, Scope: config.ScopeLink}
		vr := vrrpRoute(r)
		if vr.Type != want || vr.Table != 1000 || vr.Scope != netlink.SCOPE_LINK {
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
