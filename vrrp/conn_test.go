package vrrp

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

type received struct {
	b        []byte
	src, dst netip.Addr
	ttl      int
}

type recorder chan received

// Receive never blocks, so that Serve can always see its context end. It
// keeps a copy of b, which the socket reuses.
func (r recorder) Receive(b []byte, src, dst netip.Addr, ttl int) {
	select {
	case r <- received{append([]byte(nil), b...), src, dst, ttl}:
	default:
	}
}

// TestConn sends adverts between two hosts' sockets, multicast and
// unicast, IPv4 and IPv6, and checks what the receiver learns of each:
// source, destination and TTL from the control messages, and VRID demux.
func TestConn(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24", "fd00:99::1/64")
	b := l.AddHost("b", "10.99.0.2/24", "fd00:99::2/64")
	log, _ := testLogger()
	listen := func(t *testing.T, h *nettest.Host, group netip.Addr, v6 bool) *Conn {
		var c *Conn
		if err := h.Do(func() error {
			ifi, err := net.InterfaceByName(h.Link)
			if err != nil {
				return err
			}
			if group.IsValid() {
				c, err = Listen(ifi, group, log)
			} else {
				c, err = ListenUnicast(ifi, v6, log)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	linkLocal := func(h *nettest.Host) netip.Addr {
		var ip netip.Addr
		if err := h.Do(func() error {
			ifi, err := net.InterfaceByName(h.Link)
			if err != nil {
				return err
			}
			ip, err = primaryAddress(ifi, true, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ip
	}
	aLL, bLL := linkLocal(a), linkLocal(b)
	tests := []struct {
		name     string
		group    netip.Addr
		v6       bool
		src, dst netip.Addr
		// ttl is sent (-1: the socket's), want received: unicast
		// IPv6 has the kernel's default hop limit.
		ttl, want int
	}{
		{"IPv4 multicast", DefaultGroup4(), false, netip.MustParseAddr("10.99.0.2"), DefaultGroup4(), -1, TTL},
		{"IPv4 unicast", netip.Addr{}, false, netip.MustParseAddr("10.99.0.2"), netip.MustParseAddr("10.99.0.1"), -1, TTL},
		{"IPv4 unicast TTL", netip.Addr{}, false, netip.MustParseAddr("10.99.0.2"), netip.MustParseAddr("10.99.0.1"), 7, 7},
		{"IPv6 multicast", DefaultGroup6(), true, bLL, DefaultGroup6(), -1, TTL},
		{"IPv6 unicast", netip.Addr{}, true, bLL, aLL, -1, 64},
		{"IPv6 unicast TTL", netip.Addr{}, true, bLL, aLL, 9, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, cb := listen(t, a, tt.group, tt.v6), listen(t, b, tt.group, tt.v6)
			rec := make(recorder, 64)
			if err := ca.Register(51, rec); err != nil {
				t.Fatal(err)
			}
			if err := ca.Register(51, rec); err == nil {
				t.Fatal("second registration of VRID 51 accepted")
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- ca.Serve(ctx) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Serve: %v", err)
				}
			})
			adv := Advertisement{Version: 3, VRID: 51, Priority: 100, Interval: time.Second,
				Addresses: []netip.Addr{netip.MustParseAddr("10.99.0.100")}}
			if tt.v6 {
				adv.Addresses = []netip.Addr{netip.MustParseAddr("fd00:99::100")}
			}
			pkt, err := adv.Marshal(tt.src, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			other := adv
			other.VRID = 52
			pkt52, _ := other.Marshal(tt.src, tt.dst)
			got := sendUntilReceived(t, rec, func() error {
				if err := cb.WriteToTTL(pkt52, tt.src, tt.dst, tt.ttl); err != nil {
					return err
				}
				return cb.WriteToTTL(pkt, tt.src, tt.dst, tt.ttl)
			}, func(received) bool { return true })
			if got.src != tt.src || got.dst != tt.dst || got.ttl != tt.want {
				t.Fatalf("received from %v to %v with TTL %d; want %v, %v, %d", got.src, got.dst, got.ttl, tt.src, tt.dst, tt.want)
			}
			var back Advertisement
			if err := back.Unmarshal(got.b, got.src, got.dst); err != nil || back.VRID != 51 {
				t.Fatalf("received advert %+v: %v", back, err)
			}
			if n := ca.Drops()[DropVRID]; n == 0 {
				t.Fatal("the advert for VRID 52 was not counted as a drop")
			}

			// A packet from a router away: TTL below 255 must be seen.
			got = sendUntilReceived(t, rec, func() error {
				return b.Do(func() error { return sendWithTTL(pkt, tt.src, tt.dst, b.Link, 64) })
			}, func(r received) bool { return r.ttl != TTL })
			if got.ttl != 64 {
				t.Fatalf("TTL %d, want 64", got.ttl)
			}
		})
	}
}

// sendUntilReceived sends every 100 ms until rec gets a message: the
// first packets on a new lab's links may meet bridge ports not yet
// forwarding.
// Messages for which match is false, such as late copies of earlier
// ones, are skipped.
func sendUntilReceived(t *testing.T, rec recorder, send func() error, match func(received) bool) received {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		if err := send(); err != nil {
			t.Fatal(err)
		}
		timeout := time.After(100 * time.Millisecond)
	wait:
		for {
			select {
			case got := <-rec:
				if match(got) {
					return got
				}
			case <-timeout:
				break wait
			}
		}
	}
	t.Fatal("nothing received")
	return received{}
}

// sendWithTTL sends a VRRP message the way a misbehaving or distant
// router would, with a TTL or hop limit other than 255.
func sendWithTTL(b []byte, src, dst netip.Addr, ifname string, ttl int) error {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return err
	}
	to := &net.IPAddr{IP: dst.AsSlice()}
	if src.Is4() {
		c, err := net.ListenPacket("ip4:112", src.String())
		if err != nil {
			return err
		}
		defer c.Close()
		p := ipv4.NewPacketConn(c)
		if err := p.SetMulticastInterface(ifi); err != nil {
			return err
		}
		p.SetMulticastTTL(ttl)
		p.SetTTL(ttl)
		_, err = p.WriteTo(b, nil, to)
		return err
	}
	c, err := net.ListenPacket("ip6:112", src.String()+"%"+strconv.Itoa(ifi.Index))
	if err != nil {
		return err
	}
	defer c.Close()
	p := ipv6.NewPacketConn(c)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return err
	}
	p.SetMulticastHopLimit(ttl)
	p.SetHopLimit(ttl)
	to.Zone = strconv.Itoa(ifi.Index)
	_, err = p.WriteTo(b, nil, to)
	return err
}
