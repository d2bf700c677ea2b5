package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// PingCheck is keepalived's PING_CHECK: the server is up when it answers an
// ICMP echo request (RFC 792, RFC 4443) within the timeout.
type PingCheck struct {
	// Dialer's address is the target; its port is ignored.
	Dialer Dialer
}

// packetConn is what both icmp.PacketConn and a raw net.PacketConn offer.
type packetConn interface {
	ReadFrom(b []byte) (int, net.Addr, error)
	WriteTo(b []byte, dst net.Addr) (int, error)
	SetDeadline(t time.Time) error
	Close() error
}

// Check sends one echo request and waits for its reply. It uses an
// unprivileged ICMP datagram socket when net.ipv4.ping_group_range allows
// it, and a raw socket otherwise (or when a mark must be set, which the
// datagram socket API here cannot do).
func (c *PingCheck) Check(ctx context.Context) error {
	dst := c.Dialer.Addr.Addr().Unmap()
	conn, raw, err := c.listen(ctx, dst.Is6())
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()

	var token [8]byte
	rand.Read(token[:])
	id := int(binary.BigEndian.Uint16(token[0:2]))
	seq := int(binary.BigEndian.Uint16(token[2:4]))
	var typ, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if dst.Is6() {
		typ, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: token[:]}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return fmt.Errorf("building echo request to %s: %w", dst, err)
	}
	var to net.Addr = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if raw {
		to = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	if _, err := conn.WriteTo(b, to); err != nil {
		return fmt.Errorf("sending echo request to %s: %w", dst, ctxErr(ctx, err))
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("waiting for echo reply from %s: %w", dst, ctxErr(ctx, err))
		}
		if src, ok := addrOf(from); !ok || src != dst {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		// A datagram socket's kernel rewrites the ID to the socket's;
		// only a raw socket, which sees every reply, must match it.
		if !ok || echo.Seq != seq || !bytes.Equal(echo.Data, token[:]) || (raw && echo.ID != id) {
			continue
		}
		return nil
	}
}

func (c *PingCheck) listen(ctx context.Context, v6 bool) (conn packetConn, raw bool, err error) {
	src := ""
	if c.Dialer.BindTo.IsValid() {
		src = c.Dialer.BindTo.String()
	}
	dgram, rawNet := "udp4", "ip4:icmp"
	if v6 {
		dgram, rawNet = "udp6", "ip6:ipv6-icmp"
	}
	if c.Dialer.FWMark == 0 && c.Dialer.BindIf == "" {
		if pc, err := icmp.ListenPacket(dgram, src); err == nil {
			return pc, false, nil
		}
	}
	lc := net.ListenConfig{Control: c.Dialer.control}
	pc, err := lc.ListenPacket(ctx, rawNet, src)
	if err != nil {
		return nil, false, fmt.Errorf("opening ICMP socket for %s: %w", c.Dialer.Addr.Addr(), err)
	}
	return pc, true, nil
}

func addrOf(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	default:
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}
