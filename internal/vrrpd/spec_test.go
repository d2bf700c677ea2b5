package vrrpd

import (
	"net/netip"
	"testing"

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
