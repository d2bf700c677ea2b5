package vrrp

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestAnnouncerInterval sends two rounds of gratuitous ARP for two
// addresses with a garp_interval, and checks on another host what goes
// on the wire: three requests, each from its address for itself, from
// the announcer's MAC to broadcast, spaced by the interval, as keepalived
// sends them.
func TestAnnouncerInterval(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	c := l.AddHost("c", "10.99.0.3/24")
	vips := []netip.Addr{netip.MustParseAddr("10.99.0.100"), netip.MustParseAddr("10.99.0.101")}
	const interval = 100 * time.Millisecond
	log, _ := testLogger()

	var sniffer *arp.Client
	if err := c.Do(func() error {
		ifi, err := net.InterfaceByName(c.Link)
		if err == nil {
			sniffer, err = arp.Dial(ifi)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sniffer.Close() })
	var ann *Announcer
	if err := a.Do(func() error {
		ifi, err := net.InterfaceByName(a.Link)
		if err == nil {
			ann, err = NewAnnouncer("VI_1", ifi, vips, interval, log)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ann.Close() })

	start := time.Now()
	if err := ann.Announce(2); err != nil {
		t.Fatal(err)
	}
	// As keepalived's: the first at once, then each address once more
	// in its turn, the second round folded into the first's wait.
	order := []netip.Addr{vips[0], vips[0], vips[1]}
	sniffer.SetReadDeadline(time.Now().Add(3 * time.Second))
	var seen []time.Time
	for len(seen) < len(order)+1 {
		p, eth, err := sniffer.Read()
		if len(seen) == len(order) {
			if err == nil && p.SenderIP == p.TargetIP {
				t.Fatalf("a fourth announcement: %+v", p)
			}
			if err != nil {
				break
			}
			continue
		}
		if err != nil {
			t.Fatalf("after %d announcements: %v", len(seen), err)
		}
		if p.SenderIP != p.TargetIP {
			continue // not gratuitous: the lab's own traffic
		}
		want := order[len(seen)]
		if p.Operation != arp.OperationRequest || p.SenderIP != want ||
			p.SenderHardwareAddr.String() != a.MAC.String() || eth.Destination.String() != ethernet.Broadcast.String() {
			t.Fatalf("announcement %d: %+v to %v, want a request for %v from %v to broadcast", len(seen), p, eth.Destination, want, a.MAC)
		}
		seen = append(seen, time.Now())
		if len(seen) == len(order) {
			sniffer.SetReadDeadline(time.Now().Add(3 * interval))
		}
	}
	// Two gaps of at least the interval between three packets.
	if took := seen[2].Sub(start); took < 2*interval-10*time.Millisecond {
		t.Fatalf("three announcements in %v, want them %v apart", took, interval)
	}
}

// TestAnnouncerPerInterface applies instances to a router and checks
// that those on one interface share one linkAnnouncer: opened for the
// first, kept with its sockets while one remains, through a reload that
// changes an instance's addresses, and closed with the last.
func TestAnnouncerPerInterface(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	h := l.AddHost("a", "10.99.0.1/24")
	log, _ := testLogger()
	r := NewRouter(h.Netlink(), log)
	spec := func(name string, vrid uint8, vip string) Spec {
		return Spec{
			Config: Config{Name: name, VRID: vrid, Priority: 100},
			Net:    NetConfig{Interface: h.Link, VIPs: []VIP{{Prefix: netip.MustParsePrefix(vip)}}},
		}
	}
	apply := func(specs ...Spec) {
		t.Helper()
		if err := h.Do(func() error { return r.Apply(specs, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	links := func() []*linkAnnouncer {
		t.Helper()
		var out []*linkAnnouncer
		for _, m := range r.members {
			if !slices.Contains(out, m.net.ann.link) {
				out = append(out, m.net.ann.link)
			}
		}
		if n := r.host.announcers.len(); n != len(out) {
			t.Fatalf("the pool holds %d interfaces, the instances use %d", n, len(out))
		}
		return out
	}

	// IPv4 only: the net package resolves the IPv6 link-local zone of
	// the NDP socket by name through a process-wide cache, which the
	// other labs' eth0 interfaces, in other namespaces, confuse.
	v4, other := spec("VI_1", 51, "10.99.0.100/24"), spec("VI_2", 52, "10.99.0.110/24")
	apply(v4, other)
	ls := links()
	if len(ls) != 1 {
		t.Fatalf("two instances on %s use %d announcers, want 1", h.Link, len(ls))
	}
	link := ls[0]
	if link.refs != 2 || link.arp == nil {
		t.Fatalf("shared announcer: %d references, ARP socket %v; want 2 and one", link.refs, link.arp)
	}
	arpConn := link.arp

	// VI_2 goes, VI_1 gets another address: a new Announcer of its
	// own, on the same sockets.
	v4.Net.VIPs = append(v4.Net.VIPs, VIP{Prefix: netip.MustParsePrefix("10.99.0.101/24")})
	apply(v4)
	if ls := links(); len(ls) != 1 || ls[0] != link || link.refs != 1 || link.arp != arpConn {
		t.Fatalf("after removing one instance: announcers %v, %d references, ARP socket reopened %v; want the same one, 1, false",
			ls, link.refs, link.arp != arpConn)
	}

	apply()
	if n := r.host.announcers.len(); n != 0 || link.refs != 0 || link.arp != nil || link.ndp != nil {
		t.Fatalf("after removing both: %d announcers, %d references, sockets %v %v; want none, closed", n, link.refs, link.arp, link.ndp)
	}
}

// TestAnnouncerWithoutLinkLocal creates an announcer for an IPv6 address
// on an interface with no link-local address yet (lo has none): the
// instance is not refused for it, and each announcement tries to open the
// socket again and says why it cannot.
func TestAnnouncerWithoutLinkLocal(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	var pool announcerPool
	a, err := pool.announcer("VI_6", lo, []netip.Addr{netip.MustParseAddr("fd00::1")}, 0, logrus.New())
	if err != nil {
		t.Fatalf("announcer refused: %v", err)
	}
	defer a.Close()
	if err := a.Announce(1); err == nil || !strings.Contains(err.Error(), "opening announcer for fd00::1 on lo") {
		t.Errorf("Announce = %v, want the socket's error", err)
	}
}
