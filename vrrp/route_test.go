package vrrp

import (
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestRouteTypeValues checks the route types against the kernel's
// numbers, which the Linux side passes on as they are.
func TestRouteTypeValues(t *testing.T) {
	for _, tt := range []struct {
		ours   RouteType
		kernel int
	}{
		{RouteUnicast, unix.RTN_UNICAST},
		{RouteLocal, unix.RTN_LOCAL},
		{RouteBroadcast, unix.RTN_BROADCAST},
		{RouteAnycast, unix.RTN_ANYCAST},
		{RouteMulticast, unix.RTN_MULTICAST},
		{RouteBlackhole, unix.RTN_BLACKHOLE},
		{RouteUnreachable, unix.RTN_UNREACHABLE},
		{RouteProhibit, unix.RTN_PROHIBIT},
		{RouteThrow, unix.RTN_THROW},
		{RouteNAT, unix.RTN_NAT},
	} {
		if int(tt.ours) != tt.kernel {
			t.Errorf("route type %v is %d, the kernel's %d", tt.ours, tt.ours, tt.kernel)
		}
	}
}

func TestRouteString(t *testing.T) {
	for _, tt := range []struct {
		rt   Route
		want string
	}{
		{Route{Dst: netip.MustParsePrefix("10.1.0.0/16"), Gateway: netip.MustParseAddr("10.99.0.254"), Device: "eth0"},
			"10.1.0.0/16 via 10.99.0.254 dev eth0"},
		{Route{Type: RouteUnicast, Dst: netip.MustParsePrefix("10.1.0.0/16"), Src: netip.MustParseAddr("10.99.0.1"), Metric: 5},
			"10.1.0.0/16 src 10.99.0.1 metric 5"},
		{Route{Type: RouteBlackhole, Dst: netip.MustParsePrefix("10.4.0.0/16")}, "blackhole 10.4.0.0/16"},
		{Route{Type: RouteLocal, Dst: netip.MustParsePrefix("10.2.0.1/32"), Device: "eth0", Table: unix.RT_TABLE_LOCAL, Scope: ScopeHost},
			"local 10.2.0.1/32 dev eth0 table 255 scope host"},
		{Route{Type: 42, Dst: netip.MustParsePrefix("10.2.0.1/32")}, "42 10.2.0.1/32"},
	} {
		if got := tt.rt.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.rt, got, tt.want)
		}
	}
}

// TestRouteSetTypes installs a route of every type keepalived accepts,
// with the table and scope ip-route(8) would give them, and some the
// kernel refuses: a nat route (Linux has none since 2.6), a blackhole
// route with a device and a gateway off every link. Each refusal is an
// error naming its route; the other routes are installed all the same,
// and removed again.
func TestRouteSetTypes(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	h := l.AddHost("a", "10.99.0.1/24", "fd00:99::1/64")
	p := netip.MustParsePrefix
	local := unix.RT_TABLE_LOCAL
	good := []struct {
		rt   Route
		show string // as ip route show table all prints it
	}{
		{Route{Dst: p("10.1.0.0/16"), Gateway: netip.MustParseAddr("10.99.0.254")}, "10.1.0.0/16 via 10.99.0.254 dev eth0 proto keepalived"},
		{Route{Type: RouteUnicast, Dst: p("10.11.0.0/16"), Device: "eth0", Scope: ScopeLink, Metric: 7, Table: 100}, "10.11.0.0/16 dev eth0 table 100 proto keepalived scope link metric 7"},
		{Route{Type: RouteLocal, Dst: p("10.2.0.1/32"), Device: "eth0", Table: local, Scope: ScopeHost}, "local 10.2.0.1 dev eth0 table local proto keepalived scope host"},
		{Route{Type: RouteBroadcast, Dst: p("10.99.1.255/32"), Device: "eth0", Table: local, Scope: ScopeLink}, "broadcast 10.99.1.255 dev eth0 table local proto keepalived scope link"},
		{Route{Type: RouteAnycast, Dst: p("10.3.0.0/24"), Device: "eth0", Table: local, Scope: ScopeLink}, "anycast 10.3.0.0/24 dev eth0 table local proto keepalived scope link"},
		{Route{Type: RouteMulticast, Dst: p("239.1.0.0/16"), Device: "eth0", Table: local, Scope: ScopeLink}, "multicast 239.1.0.0/16 dev eth0 table local proto keepalived scope link"},
		{Route{Type: RouteBlackhole, Dst: p("10.4.0.0/16")}, "blackhole 10.4.0.0/16 proto keepalived"},
		{Route{Type: RouteUnreachable, Dst: p("10.5.0.0/16")}, "unreachable 10.5.0.0/16 proto keepalived"},
		{Route{Type: RouteProhibit, Dst: p("10.6.0.0/16")}, "prohibit 10.6.0.0/16 proto keepalived"},
		{Route{Type: RouteThrow, Dst: p("10.7.0.0/16")}, "throw 10.7.0.0/16 proto keepalived"},
		{Route{Type: RouteBlackhole, Dst: p("fd00:4::/64")}, "blackhole fd00:4::/64 dev lo proto keepalived"},
	}
	refused := []Route{
		{Type: RouteNAT, Dst: p("10.8.0.0/16"), Gateway: netip.MustParseAddr("10.99.0.5"), Table: local, Scope: ScopeHost},
		{Type: RouteBlackhole, Dst: p("10.9.0.0/16"), Device: "eth0"},
		{Dst: p("10.10.0.0/16"), Gateway: netip.MustParseAddr("10.97.0.1")},
	}
	var routes []Route
	for k, g := range good {
		routes = append(routes, g.rt)
		if k < len(refused) {
			// Interleaved: a refusal must not end the set.
			routes = append(routes, refused[k])
		}
	}
	set := NewRouteSet(h.Netlink(), routes)
	for pass := range 2 {
		err := set.Add()
		errs := splitJoined(err)
		if pass == 0 {
			t.Logf("Add: %v", err)
		}
		if len(errs) != len(refused) {
			t.Fatalf("Add, pass %d: %d errors, want %d:\n%v", pass, len(errs), len(refused), err)
		}
		for k, rt := range refused {
			if want := "adding route " + rt.String() + ": "; !strings.HasPrefix(errs[k].Error(), want) {
				t.Errorf("Add, pass %d: error %q, want one starting %q", pass, errs[k], want)
			}
		}
	}
	out := h.Run("ip", "route", "show", "table", "all")
	for _, g := range good {
		if !hasLine(out, g.show) {
			t.Errorf("no route %q after Add:\n%s", g.show, out)
		}
	}
	if strings.Contains(out, "10.8.0.0") || strings.Contains(out, "10.9.0.0") || strings.Contains(out, "10.10.0.0") {
		t.Errorf("a refused route is installed:\n%s", out)
	}
	if ours := h.Run("ip", "route", "show", "table", "all", "proto", "18"); strings.Count(ours, "\n") != len(good) {
		t.Errorf("ip route show proto 18 lists, want %d routes:\n%s", len(good), ours)
	}
	for range 2 {
		if err := set.Remove(); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	out = h.Run("ip", "route", "show", "table", "all", "proto", "18")
	if strings.TrimSpace(out) != "" {
		t.Errorf("routes left after Remove:\n%s", out)
	}
}

// hasLine reports whether out has a line that is want but for
// surrounding blanks and what ip appends (pref, for IPv6).
func hasLine(out, want string) bool {
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		for k := 1; k < len(f); k++ {
			if f[k-1] == "proto" && f[k] == "18" {
				// Unnamed where /etc/iproute2 lacks RTPROT_KEEPALIVED.
				f[k] = "keepalived"
			}
		}
		line = strings.TrimSpace(strings.TrimSuffix(strings.Join(f, " "), "pref medium"))
		if line == want || strings.HasPrefix(line, want+" metric") {
			return true
		}
	}
	return false
}
