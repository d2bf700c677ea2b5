package bfd

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestSocketsGTSM sends control packets between two namespaces over IPv4
// and IPv6 with Dial and reads them with Listen: they arrive on port 3784
// from a source port in RFC 5881's range, with the TTL or hop limit set
// (255 and 64, and 254 where configured so), and the destination address
// the neighbor sent to.
func TestSocketsGTSM(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.80.0.1/24", "fd80::1/64")
	b := lab.AddHost("b", "10.80.0.2/24", "fd80::2/64")

	var ln *Listener
	if err := b.Do(func() (err error) {
		ln, err = Listen(context.Background(), ControlPort)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	for _, c := range []struct {
		src, dst string
		ttl      uint8
	}{
		{"10.80.0.1", "10.80.0.2", 255},
		{"10.80.0.1", "10.80.0.2", 254},
		{"fd80::1", "fd80::2", 64},
		{"", "fd80::2", 63},
	} {
		src, dst := netip.Addr{}, netip.MustParseAddr(c.dst)
		if c.src != "" {
			src = netip.MustParseAddr(c.src)
		}
		var s *Sender
		if err := a.Do(func() (err error) {
			s, err = Dial(src, dst, c.ttl)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		p := &ControlPacket{Version: 1, State: Down, DetectMult: 3, MyDiscriminator: 42, DesiredMinTx: 1000000, RequiredMinRx: 10000}
		if err := s.Send(p); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		done := make(chan struct{})
		var d Datagram
		var rerr error
		go func() { d, rerr = ln.Read(buf); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("%s -> %s: nothing received", c.src, c.dst)
		}
		s.Close()
		if rerr != nil {
			t.Fatal(rerr)
		}
		var q ControlPacket
		if err := q.Unmarshal(buf[:d.N]); err != nil || q.MyDiscriminator != 42 {
			t.Errorf("%s -> %s: received %+v, %v", c.src, c.dst, q, err)
		}
		wantSrc := netip.MustParseAddr("10.80.0.1")
		if dst.Is6() {
			wantSrc = netip.MustParseAddr("fd80::1")
		}
		if d.Src.Addr() != wantSrc || d.Src.Port() < MinSourcePort || d.Dst != dst || d.TTL != c.ttl {
			t.Errorf("%s -> %s ttl %d: from %s to %s with TTL %d", c.src, c.dst, c.ttl, d.Src, d.Dst, d.TTL)
		}
	}
}
