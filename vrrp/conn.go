package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// DefaultGroup4 returns the IPv4 group of RFC 3768, 224.0.0.18,
// keepalived's vrrp_mcast_group4 default.
func DefaultGroup4() netip.Addr { return netip.AddrFrom4([4]byte{224, 0, 0, 18}) }

// DefaultGroup6 returns the IPv6 group of RFC 5798, ff02::12.
func DefaultGroup6() netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
}

// A Receiver takes the VRRP messages of one VRID; *Instance is one.
type Receiver interface {
	Receive(b []byte, src, dst netip.Addr, ttl int)
}

// A Conn is a raw IP protocol 112 socket on one interface and address
// family, shared by every instance there: it sends their adverts and
// hands each received message to the instance of its VRID.
type Conn struct {
	ifi   *net.Interface
	group netip.Addr // invalid when unicast only
	v6    bool
	pc    net.PacketConn
	p4    *ipv4.PacketConn
	p6    *ipv6.PacketConn
	log   logrus.FieldLogger

	mu        sync.Mutex
	receivers map[uint8]Receiver
	drops     map[DropReason]uint64
	logged    map[DropReason]bool
}

// Listen opens a socket on ifi that joins the multicast group, whose
// family is the socket's.
func Listen(ifi *net.Interface, group netip.Addr, log logrus.FieldLogger) (*Conn, error) {
	if !group.IsMulticast() {
		return nil, fmt.Errorf("listening for VRRP on %s: %v is not a multicast group", ifi.Name, group)
	}
	return listen(ifi, group.Is6(), group, log)
}

// ListenUnicast opens a socket on ifi for unicast peers of the given
// family (IPv6 when ipv6 is set) only.
func ListenUnicast(ifi *net.Interface, ipv6 bool, log logrus.FieldLogger) (*Conn, error) {
	return listen(ifi, ipv6, netip.Addr{}, log)
}

func listen(ifi *net.Interface, v6 bool, group netip.Addr, log logrus.FieldLogger) (*Conn, error) {
	network, laddr := "ip4:112", "0.0.0.0"
	if v6 {
		network, laddr = "ip6:112", "::"
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			// Only the instance's interface: the same VRID may be in
			// use on another segment.
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
			if serr == nil && !v6 {
				// Without this, Linux delivers every group joined
				// by any socket to a raw socket.
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return nil, fmt.Errorf("opening VRRP socket on %s: %w", ifi.Name, err)
	}
	c := &Conn{
		ifi: ifi, group: group, v6: v6, pc: pc, log: log,
		receivers: make(map[uint8]Receiver),
		drops:     make(map[DropReason]uint64),
		logged:    make(map[DropReason]bool),
	}
	if err := c.setup(); err != nil {
		pc.Close()
		return nil, fmt.Errorf("setting up VRRP socket on %s: %w", ifi.Name, err)
	}
	return c, nil
}

func (c *Conn) setup() error {
	join := c.group.IsValid()
	if c.v6 {
		p := ipv6.NewPacketConn(c.pc)
		c.p6 = p
		if join {
			if err := p.JoinGroup(c.ifi, &net.IPAddr{IP: c.group.AsSlice()}); err != nil {
				return err
			}
		}
		return errors.Join(
			p.SetMulticastInterface(c.ifi),
			p.SetMulticastHopLimit(TTL),
			p.SetHopLimit(TTL),
			p.SetMulticastLoopback(false),
			// Internet control, like keepalived's IPv4 TOS.
			p.SetTrafficClass(0xc0),
			p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
		)
	}
	p := ipv4.NewPacketConn(c.pc)
	c.p4 = p
	if join {
		if err := p.JoinGroup(c.ifi, &net.IPAddr{IP: c.group.AsSlice()}); err != nil {
			return err
		}
	}
	return errors.Join(
		p.SetMulticastInterface(c.ifi),
		p.SetMulticastTTL(TTL),
		p.SetTTL(TTL),
		p.SetMulticastLoopback(false),
		p.SetTOS(0xc0),
		p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
	)
}

// Interface returns the interface the socket is bound to.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// Group returns the multicast group joined, invalid for a unicast socket.
func (c *Conn) Group() netip.Addr { return c.group }

// Register routes messages for vrid to r.
func (c *Conn) Register(vrid uint8, r Receiver) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.receivers[vrid]; dup {
		return fmt.Errorf("registering VRID %d on %s: already in use", vrid, c.ifi.Name)
	}
	c.receivers[vrid] = r
	return nil
}

// Unregister stops routing messages for vrid; they are dropped again.
func (c *Conn) Unregister(vrid uint8) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.receivers, vrid)
}

// idle reports whether no VRID is registered.
func (c *Conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.receivers) == 0
}

// WriteTo sends a VRRP message from src (which must be an address of the
// host) to dst.
func (c *Conn) WriteTo(b []byte, src, dst netip.Addr) error {
	var err error
	to := &net.IPAddr{IP: dst.AsSlice()}
	if c.v6 {
		if dst.IsLinkLocalUnicast() {
			// By index: the net package caches interface names
			// process-wide, across network namespaces.
			to.Zone = strconv.Itoa(c.ifi.Index)
		}
		_, err = c.p6.WriteTo(b, &ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index}, to)
	} else {
		_, err = c.p4.WriteTo(b, &ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index}, to)
	}
	if err != nil {
		return fmt.Errorf("sending VRRP advert from %v to %v on %s: %w", src, dst, c.ifi.Name, err)
	}
	return nil
}

// Serve reads messages and hands them to their receivers until ctx is
// done or the socket fails.
func (c *Conn) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { c.pc.Close() })
	defer stop()
	buf := make([]byte, 65536)
	for {
		n, src, dst, ttl, err := c.read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading VRRP on %s: %w", c.ifi.Name, err)
		}
		if !c.mine(dst) {
			// A raw socket sees every VRRP packet on the interface;
			// the router's other socket there (multicast or unicast)
			// takes this one, so it is neither handled nor counted
			// twice.
			continue
		}
		if n < headerLen {
			c.drop(dropf(DropLength, "vrrp header too short. %d and expect at least %d", n, headerLen))
			continue
		}
		vrid := buf[1]
		c.mu.Lock()
		r := c.receivers[vrid]
		c.mu.Unlock()
		if r == nil {
			c.drop(dropf(DropVRID, "received VRID %d from %v: no instance on %s", vrid, src, c.ifi.Name))
			continue
		}
		r.Receive(append([]byte(nil), buf[:n]...), src, dst, ttl)
	}
}

// mine reports whether a packet sent to dst belongs to this socket: a
// multicast socket takes its group's packets, a unicast socket the packets
// sent to an address of this host.
func (c *Conn) mine(dst netip.Addr) bool {
	if !dst.IsValid() {
		return true
	}
	if c.group.IsValid() {
		return dst == c.group
	}
	return !dst.IsMulticast()
}

func (c *Conn) read(b []byte) (n int, src, dst netip.Addr, ttl int, err error) {
	var from net.Addr
	if c.v6 {
		var cm *ipv6.ControlMessage
		n, cm, from, err = c.p6.ReadFrom(b)
		if err == nil && cm != nil {
			ttl = cm.HopLimit
			dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	} else {
		var cm *ipv4.ControlMessage
		n, cm, from, err = c.p4.ReadFrom(b)
		if err == nil && cm != nil {
			ttl = cm.TTL
			dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	}
	if err != nil {
		return 0, src, dst, 0, err
	}
	if ia, ok := from.(*net.IPAddr); ok {
		src, _ = netip.AddrFromSlice(ia.IP)
	}
	return n, src.Unmap(), dst.Unmap(), ttl, nil
}

func (c *Conn) drop(e *DropError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drops[e.Reason]++
	if !c.logged[e.Reason] {
		c.logged[e.Reason] = true
		c.log.Info(e.Msg)
	} else {
		c.log.Debug(e.Msg)
	}
}

// Drops returns the counts of messages dropped before reaching an
// instance: of unknown VRID or too short to have one.
func (c *Conn) Drops() map[DropReason]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[DropReason]uint64, len(c.drops))
	for r, n := range c.drops {
		out[r] = n
	}
	return out
}

// Close closes the socket.
func (c *Conn) Close() error { return c.pc.Close() }
