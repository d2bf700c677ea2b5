package bfd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A Listener receives control packets on UDP port 3784, IPv4 and IPv6 on
// one socket, with the TTL or hop limit each arrived with.
type Listener struct {
	c *net.UDPConn
}

// A Datagram is what a Listener read.
type Datagram struct {
	Src netip.AddrPort
	Dst netip.Addr // the local address it was sent to, if known
	TTL uint8      // TTL or hop limit; 0 when the kernel did not say
	N   int        // bytes read into the buffer
}

// Listen opens the listening socket on port (ControlPort for a daemon).
// It listens on IPv6 and IPv4 at once, or IPv4 alone where IPv6 is
// disabled, as keepalived does.
func Listen(ctx context.Context, port int) (*Listener, error) {
	var v6 bool
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			set := func(level, opt int) {
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), level, opt, 1)
				}
			}
			set(unix.IPPROTO_IP, unix.IP_RECVTTL)
			set(unix.IPPROTO_IP, unix.IP_PKTINFO)
			if v6 {
				set(unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT)
				set(unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO)
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
				}
			}
		})
		return errors.Join(err, serr)
	}}
	v6 = true
	pc, err := lc.ListenPacket(ctx, "udp6", fmt.Sprintf("[::]:%d", port))
	if err != nil && errors.Is(err, syscall.EAFNOSUPPORT) {
		v6 = false
		pc, err = lc.ListenPacket(ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	}
	if err != nil {
		return nil, fmt.Errorf("bfd: listen on port %d: %w", port, err)
	}
	return &Listener{c: pc.(*net.UDPConn)}, nil
}

// Close closes the socket; a Read under way returns an error.
func (l *Listener) Close() error { return l.c.Close() }

// Read reads one datagram into b.
func (l *Listener) Read(b []byte) (Datagram, error) {
	oob := make([]byte, 128)
	n, oobn, flags, src, err := l.c.ReadMsgUDPAddrPort(b, oob)
	if err != nil {
		return Datagram{}, err
	}
	if flags&unix.MSG_TRUNC != 0 {
		return Datagram{}, errors.New("bfd: recvmsg() message truncated")
	}
	d := Datagram{Src: netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), N: n}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return d, nil
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TTL && len(m.Data) > 0,
			m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_HOPLIMIT && len(m.Data) > 0:
			d.TTL = uint8(nativeInt(m.Data))
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 16:
			d.Dst = netip.AddrFrom16([16]byte(m.Data[:16])).Unmap()
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= 12:
			d.Dst = netip.AddrFrom4([4]byte(m.Data[8:12]))
		}
	}
	return d, nil
}

// nativeInt reads a control message's int, in host order.
func nativeInt(b []byte) int {
	if len(b) < 4 {
		return int(b[0])
	}
	return int(int32(binary.NativeEndian.Uint32(b)))
}

// A Sender sends one session's control packets to its neighbor's port
// 3784 with a fixed TTL or hop limit, from a source port in the range of
// RFC 5881 section 4.
type Sender struct {
	c   *net.UDPConn
	dst netip.AddrPort
}

// Dial opens a session's socket toward nbr, from src if it is valid, and
// sending with ttl.
func Dial(src, nbr netip.Addr, ttl uint8) (*Sender, error) {
	network, bind := "udp4", netip.IPv4Unspecified()
	if nbr.Is6() && !nbr.Is4In6() {
		network, bind = "udp6", netip.IPv6Unspecified()
	}
	if src.IsValid() {
		bind = src
	}
	// keepalived leaves the source port to the system when no source_ip
	// is set, which may fall outside RFC 5881's range; the port is
	// taken in the range either way here.
	lo, hi := sourcePortRange()
	first := lo + rand.IntN(hi-lo+1)
	port := first
	for {
		c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(bind, uint16(port))))
		if err == nil {
			if err := setTTL(c, nbr, ttl); err != nil {
				c.Close()
				return nil, err
			}
			return &Sender{c: c, dst: netip.AddrPortFrom(nbr.Unmap(), ControlPort)}, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("bfd: bind %s: %w", bind, err)
		}
		if port++; port > hi {
			port = lo
		}
		if port == first {
			return nil, fmt.Errorf("bfd: bind %s: %w", bind, err)
		}
	}
}

func setTTL(c *net.UDPConn, nbr netip.Addr, ttl uint8) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if nbr.Is4() || nbr.Is4In6() {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, int(ttl))
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, int(ttl))
		}
	})
	if err = errors.Join(err, serr); err != nil {
		return fmt.Errorf("bfd: set TTL %d toward %s: %w", ttl, nbr, err)
	}
	return nil
}

// sourcePortRange is the kernel's local port range within RFC 5881's,
// or RFC 5881's whole range when fewer than 1024 ports are left, as
// keepalived picks its source ports.
func sourcePortRange() (lo, hi int) {
	lo, hi = MinSourcePort, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			l, err1 := strconv.Atoi(f[0])
			h, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && l > 0 && h > 0 {
				lo, hi = l, h
			}
		}
	}
	lo, hi = max(lo, MinSourcePort), min(hi, MaxSourcePort)
	if lo+1023 > hi {
		lo, hi = MinSourcePort, MaxSourcePort
	}
	return lo, hi
}

// Send sends p to the neighbor.
func (s *Sender) Send(p *ControlPacket) error {
	if _, err := s.c.WriteToUDPAddrPort(p.Marshal(), s.dst); err != nil {
		return fmt.Errorf("bfd: send to %s: %w", s.dst, err)
	}
	return nil
}

// LocalAddr returns the socket's address.
func (s *Sender) LocalAddr() netip.AddrPort { return s.c.LocalAddr().(*net.UDPAddr).AddrPort() }

// Close closes the socket.
func (s *Sender) Close() error { return s.c.Close() }
