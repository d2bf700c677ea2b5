package vrrpd

import (
	"net/netip"
	"testing"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// TestStaticsOf checks what the daemon takes of the static blocks: a
// static address without dev goes on keepalived's default interface, and
// route and rule deletions are heard for the families of tracked virtual
// routes and rules only.
func TestStaticsOf(t *testing.T) {
	cfg, ds := config.Parse("t.conf", []byte(`static_ipaddress {
	10.1.0.1/24
	10.1.0.2/24 dev eth1 no_track
}
static_routes {
	10.2.0.0/16 via 10.1.0.254 dev eth1 table 100 onlink
}
static_rules {
	from 10.1.0.0/24 table 100 priority 10
	inet6 inet6 fwmark 0x4/0xf lookup 100 priority 11 no_track
}
vrrp_instance VI_1 {
	interface eth0
	virtual_router_id 1
	virtual_ipaddress {
		10.0.0.1
	}
	virtual_routes {
		10.3.0.0/16 dev eth0
		2001:db8::/48 no_track
	}
	virtual_rules {
		inet6 inet6 lookup 100 priority 12
	}
}
`), config.Options{ConfigID: "main"})
	if ds.HasErrors() {
		t.Fatalf("diagnostics: %v", ds)
	}
	s := staticsOf(cfg)
	if len(s.addrs) != 2 || s.addrs[0].Device != "eth0" || s.addrs[1].Device != "eth1" || !s.addrs[1].NoTrack {
		t.Errorf("addresses: %+v", s.addrs)
	}
	want := vrrp.Route{Dst: netip.MustParsePrefix("10.2.0.0/16"), Gateway: netip.MustParseAddr("10.1.0.254"), Device: "eth1",
		Table: 100, Type: vrrp.RouteUnicast, OnLink: true}
	if len(s.routes) != 1 || !s.routes[0].route.Equal(want) || s.routes[0].route.NoTrack {
		t.Errorf("routes: %+v, want %+v", s.routes, want)
	}
	if len(s.rules) != 2 || s.rules[0].rule.Protocol != vrrp.RouteProtocol || s.rules[1].rule.Protocol != 0 ||
		!s.rules[1].rule.Is6() || !s.rules[1].rule.HasFwMask || s.rules[1].rule.FwMask != 0xf || !s.rules[1].rule.NoTrack {
		t.Errorf("rules: %+v", s.rules)
	}
	if !s.watchRoutes4 || s.watchRoutes6 || s.watchRules4 || !s.watchRules6 {
		t.Errorf("watched: routes %v/%v, rules %v/%v", s.watchRoutes4, s.watchRoutes6, s.watchRules4, s.watchRules6)
	}
	if got, want := addressText(s.addrs[0]), "10.1.0.1/24 dev eth0 scope global"; got != want {
		t.Errorf("address text %q, want %q", got, want)
	}
	if got, want := routeText(want), "prepend 10.2.0.0/16 via inet 10.1.0.254 dev eth1 table 100 proto 18 onlink"; got != want {
		t.Errorf("route text %q, want %q", got, want)
	}
	if got, want := s.rules[0].rule.String(), "from 10.1.0.0/24 priority 10 tos 0x0 protocol 18 lookup 100"; got != want {
		t.Errorf("rule text %q, want %q", got, want)
	}
}
