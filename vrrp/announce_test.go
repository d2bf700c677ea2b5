package vrrp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// TestAnnouncerInterval sends two rounds of gratuitous ARP for two
// addresses with a garp_interval, and checks on another host what goes
// on the wire: four requests from each address for itself, from the
// announcer's MAC to broadcast, spaced by the interval.
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
	sniffer.SetReadDeadline(time.Now().Add(3 * time.Second))
	var seen []time.Time
	for len(seen) < 4 {
		p, eth, err := sniffer.Read()
		if err != nil {
			t.Fatalf("after %d announcements: %v", len(seen), err)
		}
		if p.SenderIP != p.TargetIP {
			continue // not gratuitous: the lab's own traffic
		}
		want := vips[len(seen)%2]
		if p.Operation != arp.OperationRequest || p.SenderIP != want ||
			p.SenderHardwareAddr.String() != a.MAC.String() || eth.Destination.String() != ethernet.Broadcast.String() {
			t.Fatalf("announcement %d: %+v to %v, want a request for %v from %v to broadcast", len(seen), p, eth.Destination, want, a.MAC)
		}
		seen = append(seen, time.Now())
	}
	// Three gaps of at least the interval between four packets.
	if took := seen[3].Sub(start); took < 3*interval-10*time.Millisecond {
		t.Fatalf("four announcements in %v, want them %v apart", took, interval)
	}
}
