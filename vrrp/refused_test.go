package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestRouterRefusedRoutes runs our master with virtual routes and a VIP
// the host refuses, at start and from a reload: a nat route, a route
// through a gateway on no link, a blackhole route with a device, and a
// VIP on an interface that does not exist. Each refusal is logged with
// the instance and the object; the other VIPs and routes are installed
// and the instance stays MASTER throughout.
func TestRouterRefusedRoutes(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	p := netip.MustParsePrefix
	gw := netip.MustParseAddr("10.99.0.254")
	good := Route{Dst: p("10.200.0.0/16"), Gateway: gw, Device: "eth0"}
	nat := Route{Type: RouteNAT, Dst: p("10.8.0.0/16"), Gateway: netip.MustParseAddr("10.99.0.5"), Table: 255, Scope: ScopeHost}
	offLink := Route{Dst: p("10.10.0.0/16"), Gateway: netip.MustParseAddr("10.97.0.1")}
	spec := ourSpec(150)
	spec.Routes = []Route{nat, good, offLink}
	spec.Excluded = []string{"10.99.0.200/24"}
	spec.ExcludedVIPs = []VIP{{Prefix: p("10.99.0.201/32"), Device: "nosuch0"}}

	d, file := startReloadable(t, a, spec)
	waitVIP(t, a, labVIP, 10*time.Second, d)
	waitVIP(t, a, "10.99.0.200", time.Second, d)
	hasRoute := func(dst string) bool {
		return strings.Contains(a.Run("ip", "route", "show", dst), dst+" via 10.99.0.254 dev eth0")
	}
	if !hasRoute("10.200.0.0/16") {
		t.Fatalf("the route accepted is not installed: %s\n%s", a.Run("ip", "route"), d.Output())
	}
	for _, want := range []string{
		"(VI_1) adding route " + nat.String() + ": invalid argument",
		"(VI_1) adding route " + offLink.String() + ": network is unreachable",
		"(VI_1) adding VIP 10.99.0.201/32 to nosuch0: ",
	} {
		if !strings.Contains(d.Output(), want) {
			t.Errorf("not logged: %q", want)
		}
	}

	// A reload adds a route the kernel refuses and one it accepts.
	added := Route{Dst: p("10.201.0.0/16"), Gateway: gw, Device: "eth0"}
	blackhole := Route{Type: RouteBlackhole, Dst: p("10.9.0.0/16"), Device: "eth0"}
	spec.Routes = append(spec.Routes, blackhole, added)
	reloadOurs(t, a, d, file, spec)
	if _, ok := nettest.Eventually(2*time.Second, func() bool { return hasRoute("10.201.0.0/16") }); !ok {
		t.Fatalf("the route added by the reload is not installed: %s\n%s", a.Run("ip", "route"), d.Output())
	}
	if want := "(VI_1) adding route " + blackhole.String() + ": invalid argument"; !d.WaitOutput(want, time.Second) {
		t.Errorf("not logged: %q", want)
	}
	time.Sleep(time.Second)
	out := d.Output()
	_, since, _ := strings.Cut(out, "(VI_1) Entering MASTER STATE")
	if strings.Contains(since, "Entering") {
		t.Fatalf("the instance did not stay MASTER:\n%s", out)
	}
	if !a.HasAddr(labVIP) || !a.HasAddr("10.99.0.200") || !hasRoute("10.200.0.0/16") {
		t.Fatalf("the master lost a VIP or a route: %s\n%s", a.Run("ip", "addr"), a.Run("ip", "route"))
	}
	st := stopOurs(t, d)
	if st.Stats.BecameMaster != 1 {
		t.Fatalf("became master %d times, want once", st.Stats.BecameMaster)
	}
	if hasRoute("10.200.0.0/16") || hasRoute("10.201.0.0/16") || a.HasAddr(labVIP) {
		t.Fatalf("the stopped master kept a route or a VIP: %s", a.Run("ip", "route"))
	}
}

// TestRefusedAddressesLogged has the network refuse a VIP and a route
// when the instance becomes master: it stays MASTER, advertising, and
// logs each refusal on a line of its own with its name.
func TestRefusedAddressesLogged(t *testing.T) {
	c := newFakeClock()
	n := &fakeNet{src: ours, clock: c, addErr: errors.Join(
		errors.Join(fmt.Errorf("adding VIP 10.0.0.101/32 to nosuch0: %w", errors.New("Link not found"))),
		errors.Join(nil, fmt.Errorf("adding route nat 10.8.0.0/16 table 255: %w", errors.New("invalid argument")))),
	}
	log, hook := testLogger()
	i, err := NewInstance(baseConfig(), n, c, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := i.Start(); err != nil {
		t.Fatal(err)
	}
	c.Advance(10 * time.Second)
	if st := i.Status(); st.State != StateMaster || !n.vipsUp || len(n.adverts) < 5 {
		t.Fatalf("state %v, VIPs up %v, %d adverts: want an advertising MASTER", st.State, n.vipsUp, len(n.adverts))
	}
	for _, want := range []string{
		"(VI_1) adding VIP 10.0.0.101/32 to nosuch0: Link not found",
		"(VI_1) adding route nat 10.8.0.0/16 table 255: invalid argument",
	} {
		if logged(hook, want) != 1 {
			t.Errorf("%q logged %d times, want once: %q", want, logged(hook, want), messages(hook))
		}
	}
}

func TestSplitJoined(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	for _, tt := range []struct {
		err  error
		want []string
	}{
		{nil, nil},
		{a, []string{"a"}},
		{errors.Join(a, errors.Join(b, c)), []string{"a", "b", "c"}},
		// A message of its own: one error.
		{fmt.Errorf("x: %w, %w", a, b), []string{"x: a, b"}},
	} {
		var got []string
		for _, e := range splitJoined(tt.err) {
			got = append(got, e.Error())
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("splitJoined(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
