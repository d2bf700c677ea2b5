package vrrp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/sirupsen/logrus"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// A Conn is a raw IP protocol 112 socket on one interface and address
// family, shared by every instance there: it sends their adverts and
// hands each received message to the instance of its VRID.
type Conn struct {
	ifi   *net.Interface
	group netip.Addr // invalid when unicast only
	v6    bool
	ah    bool // IP protocol 51: adverts behind an Authentication Header
	log   logrus.FieldLogger
	guard *guard

	// sockMu guards the socket, which Reopen replaces.
	sockMu sync.RWMutex
	pc     net.PacketConn
	p4     *ipv4.PacketConn
	p6     *ipv6.PacketConn

	mu        sync.Mutex
	receivers [256]Receiver // by VRID
	nrecv     int
	drops     map[DropReason]uint64
	logged    map[DropReason]bool
}

// Listen opens a socket on ifi that joins the multicast group, whose
// family is the socket's.
func Listen(ifi *net.Interface, group netip.Addr, log logrus.FieldLogger) (*Conn, error) {
	if !group.IsMulticast() {
		return nil, fmt.Errorf("listening for VRRP on %s: %v is not a multicast group", ifi.Name, group)
	}
	return listen(ifi, group.Is6(), false, group, log)
}

// ListenUnicast opens a socket on ifi for unicast peers of the given
// family (IPv6 when ipv6 is set) only.
func ListenUnicast(ifi *net.Interface, ipv6 bool, log logrus.FieldLogger) (*Conn, error) {
	return listen(ifi, ipv6, false, netip.Addr{}, log)
}

// ListenAH opens an IPv4 socket on ifi for the adverts of instances with
// keepalived's AH authentication, IP protocol 51, joining group unless it
// is invalid (unicast peers only). It sends whole datagrams, IP header
// included, since the header takes part in the authentication.
func ListenAH(ifi *net.Interface, group netip.Addr, log logrus.FieldLogger) (*Conn, error) {
	if group.IsValid() && (!group.Is4() || !group.IsMulticast()) {
		return nil, fmt.Errorf("listening for VRRP with AH on %s: %v is not an IPv4 multicast group", ifi.Name, group)
	}
	return listen(ifi, false, true, group, log)
}

func listen(ifi *net.Interface, v6, ah bool, group netip.Addr, log logrus.FieldLogger) (*Conn, error) {
	pc, err := openSocket(ifi, v6, ah)
	if err != nil {
		return nil, err
	}
	c := &Conn{
		ifi: ifi, group: group, v6: v6, ah: ah, pc: pc, log: log, guard: &guard{log: log},
		drops:  make(map[DropReason]uint64),
		logged: make(map[DropReason]bool),
	}
	if err := c.setup(); err != nil {
		pc.Close()
		return nil, fmt.Errorf("setting up VRRP socket on %s: %w", ifi.Name, err)
	}
	return c, nil
}

// openSocket opens a raw socket for VRRP (or AH) on ifi.
func openSocket(ifi *net.Interface, v6, ah bool) (net.PacketConn, error) {
	network, laddr := "ip4:112", "0.0.0.0"
	switch {
	case v6:
		network, laddr = "ip6:112", "::"
	case ah:
		network = "ip4:51"
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
			if serr == nil && ah {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_HDRINCL, 1)
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
	return pc, nil
}

// Reopen replaces the socket with a new one of the same kind, keeping its
// receivers and counters: for a socket that failed. A Serve in progress
// on the old socket returns.
func (c *Conn) Reopen() error {
	pc, err := openSocket(c.ifi, c.v6, c.ah)
	if err != nil {
		return fmt.Errorf("reopening VRRP socket on %s: %w", c.ifi.Name, err)
	}
	n := &Conn{ifi: c.ifi, group: c.group, v6: c.v6, ah: c.ah, pc: pc}
	if err := n.setup(); err != nil {
		pc.Close()
		return fmt.Errorf("reopening VRRP socket on %s: %w", c.ifi.Name, err)
	}
	c.sockMu.Lock()
	old := c.pc
	c.pc, c.p4, c.p6 = n.pc, n.p4, n.p6
	c.sockMu.Unlock()
	old.Close()
	return nil
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
		// The unicast hop limit stays the kernel's, the interface's
		// hop_limit, as keepalived leaves it: only unicast_ttl sets one,
		// per advert.
		return errors.Join(
			p.SetMulticastInterface(c.ifi),
			p.SetMulticastHopLimit(TTL),
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
		// No control messages: the TTL and addresses of a received
		// packet are read from its IPv4 header.
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
	if c.receivers[vrid] != nil {
		return fmt.Errorf("registering VRID %d on %s: already in use", vrid, c.ifi.Name)
	}
	c.receivers[vrid] = r
	c.nrecv++
	return nil
}

// Unregister stops routing messages for vrid; they are dropped again.
func (c *Conn) Unregister(vrid uint8) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.receivers[vrid] != nil {
		c.receivers[vrid] = nil
		c.nrecv--
	}
}

// idle reports whether no VRID is registered.
func (c *Conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nrecv == 0
}

// WriteTo sends a VRRP message from src (which must be an address of the
// host) to dst. On a socket of ListenAH, b is the whole IPv4 datagram.
func (c *Conn) WriteTo(b []byte, src, dst netip.Addr) error {
	return c.WriteToTTL(b, src, dst, -1)
}

// WriteToTTL is WriteTo with the IPv4 TTL or IPv6 hop limit ttl instead
// of the socket's, unless ttl is negative. Linux takes no IPv4 TTL of 0
// from a control message: 0 is sent as 1. On a socket of ListenAH the
// datagram in b carries its own TTL.
func (c *Conn) WriteToTTL(b []byte, src, dst netip.Addr, ttl int) error {
	var err error
	to := &net.IPAddr{IP: dst.AsSlice()}
	c.sockMu.RLock()
	pc, p4, p6 := c.pc, c.p4, c.p6
	c.sockMu.RUnlock()
	if c.ah {
		if _, err = pc.WriteTo(b, to); err != nil {
			return fmt.Errorf("sending VRRP advert with AH from %v to %v on %s: %w", src, dst, c.ifi.Name, err)
		}
		return nil
	}
	if c.v6 && dst.IsLinkLocalUnicast() {
		// By index: the net package caches interface names
		// process-wide, across network namespaces.
		to.Zone = strconv.Itoa(c.ifi.Index)
	}
	switch {
	case ttl >= 0:
		err = writeWithTTL(pc, b, src, to, c.ifi.Index, c.v6, ttl)
	case c.v6:
		_, err = p6.WriteTo(b, &ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index}, to)
	default:
		_, err = p4.WriteTo(b, &ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index}, to)
	}
	if err != nil {
		return fmt.Errorf("sending VRRP advert from %v to %v on %s: %w", src, dst, c.ifi.Name, err)
	}
	return nil
}

// writeWithTTL sends b to to from src on interface ifindex with the TTL
// or hop limit ttl in a control message beside the packet info.
func writeWithTTL(pc net.PacketConn, b []byte, src netip.Addr, to *net.IPAddr, ifindex int, v6 bool, ttl int) error {
	ic, ok := pc.(*net.IPConn)
	if !ok {
		return fmt.Errorf("setting the TTL: %T is not an IP socket", pc)
	}
	var oob []byte
	if v6 {
		oob = (&ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: ifindex}).Marshal()
		oob = append(oob, intCmsg(unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, ttl)...)
	} else {
		oob = (&ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: ifindex}).Marshal()
		oob = append(oob, intCmsg(unix.IPPROTO_IP, unix.IP_TTL, max(ttl, 1))...)
	}
	_, _, err := ic.WriteMsgIP(b, oob, to)
	return err
}

// intCmsg returns a control message of level and typ carrying the C int v.
func intCmsg(level, typ, v int) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = int32(level), int32(typ)
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], uint32(v))
	return b
}

// Serve reads messages and hands them to their receivers until ctx is
// done or the socket fails.
func (c *Conn) Serve(ctx context.Context) error {
	c.sockMu.RLock()
	pc := c.pc
	c.sockMu.RUnlock()
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return fmt.Errorf("reading VRRP on %s: %T has no file descriptor", c.ifi.Name, pc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("reading VRRP on %s: %w", c.ifi.Name, err)
	}
	rd := newRawReader(rc, c.v6)
	var last time.Time
	for {
		n, err := rd.read()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading VRRP on %s: %w", c.ifi.Name, err)
		}
		now := time.Now()
		if now.Sub(last) < 2*burstHold && n < rxBatch {
			holdBurst()
			// Take what came meanwhile along with this batch's.
		}
		last = now
		for k := range n {
			p, ok := rd.packet(k)
			if !ok {
				c.drop(dropf(DropLength, "IP header too short on %s", c.ifi.Name))
				continue
			}
			c.deliver(&p)
		}
	}
}

// deliver hands p to the receiver of its VRID. A panic there is
// contained: the next packet is read as usual.
func (c *Conn) deliver(p *rawPacket) {
	defer func() {
		if v := recover(); v != nil {
			c.guard.recovered("VRRP reader on "+c.ifi.Name, v)
		}
	}()
	if !c.mine(p.dst) {
		// A raw socket sees every VRRP packet on the interface;
		// the router's other socket there (multicast or unicast)
		// takes this one, so it is neither handled nor counted
		// twice.
		return
	}
	b := p.payload
	vrrp := b
	if c.ah {
		if len(b) < ahLen {
			c.drop(dropf(DropLength, "AH header too short. %d and expect at least %d", len(b), ahLen))
			return
		}
		vrrp = b[ahLen:]
	}
	if len(vrrp) < headerLen {
		c.drop(dropf(DropLength, "vrrp header too short. %d and expect at least %d", len(vrrp), headerLen))
		return
	}
	if p.trunc {
		c.drop(dropf(DropLength, "received packet from %v longer than %d bytes", p.src, rxBufLen))
		return
	}
	vrid := vrrp[1]
	c.mu.Lock()
	r := c.receivers[vrid]
	c.mu.Unlock()
	if r == nil {
		c.drop(dropf(DropVRID, "received VRID %d from %v: no instance on %s", vrid, p.src, c.ifi.Name))
		return
	}
	if c.ah {
		ar, ok := r.(ahReceiver)
		if !ok {
			c.drop(dropf(DropAuth, "received AH for VRID %d from %v: instance on %s without AH", vrid, p.src, c.ifi.Name))
			return
		}
		// The header and what follows it, adjacent in one buffer.
		ar.receiveAH(p.ip[:len(p.ip)+len(b)], p.src, p.dst, p.ttl)
		return
	}
	r.Receive(b, p.src, p.dst, p.ttl)
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
func (c *Conn) Close() error {
	c.sockMu.RLock()
	defer c.sockMu.RUnlock()
	return c.pc.Close()
}
