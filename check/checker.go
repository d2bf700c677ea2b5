package check

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// A Checker performs one health check attempt. It returns nil when the
// server passed and an error saying why it failed otherwise. The attempt
// must end when ctx is done; the Scheduler sets ctx's deadline to the
// checker's timeout (connect_timeout, or misc_timeout for MISC_CHECK).
type Checker interface {
	Check(ctx context.Context) error
}

// A WeightChecker is a Checker whose verdict can also move the real
// server's weight, as MISC_CHECK with misc_dynamic and FILE_CHECK with a
// weight do. CheckWeight is given the server's configured weight and returns
// the adjustment to add to it; changed is false when the attempt leaves the
// previous adjustment in place.
type WeightChecker interface {
	Checker
	CheckWeight(ctx context.Context, configured int) (delta int, changed bool, err error)
}

// Dialer holds the connection options common to keepalived's network
// checkers: connect_ip, connect_port, bindto, bind_port, bind_if and fwmark.
type Dialer struct {
	// Addr is connect_ip:connect_port (the real server by default).
	Addr netip.AddrPort
	// BindTo is the source address (bindto); the zero Addr lets the kernel
	// choose.
	BindTo netip.Addr
	// BindPort is the source port (bind_port); 0 lets the kernel choose.
	BindPort uint16
	// BindIf is the interface to send from (bind_if), needed for IPv6
	// link-local addresses.
	BindIf string
	// FWMark is set on every packet of the check (fwmark, SO_MARK), so that
	// policy routing can steer checks.
	FWMark uint32
}

// String formats the destination the way keepalived's FMT_CHK does for TCP
// checkers: [ip]:tcp:port.
func (d Dialer) String() string {
	return "[" + d.Addr.Addr().String() + "]:tcp:" + strconv.Itoa(int(d.Addr.Port()))
}

func (d Dialer) netDialer(network string) *net.Dialer {
	// A check's connection lives for one exchange: TCP keepalives would
	// only cost setsockopt calls.
	nd := &net.Dialer{Control: d.control, KeepAlive: -1}
	if d.BindTo.IsValid() || d.BindPort != 0 {
		ap := netip.AddrPortFrom(d.BindTo, d.BindPort)
		switch network {
		case "tcp":
			nd.LocalAddr = net.TCPAddrFromAddrPort(ap)
		case "udp":
			nd.LocalAddr = net.UDPAddrFromAddrPort(ap)
		}
	}
	return nd
}

func (d Dialer) control(_, _ string, c syscall.RawConn) error {
	if d.FWMark == 0 && d.BindIf == "" && d.BindPort == 0 {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) { serr = d.setSockopts(int(fd)) })
	if err != nil {
		return err
	}
	return serr
}

// setSockopts applies bind_port's SO_REUSEADDR, fwmark and bind_if to a
// socket not yet bound.
func (d Dialer) setSockopts(fd int) error {
	if d.BindPort != 0 {
		// A fixed source port is reused by every attempt; without
		// SO_REUSEADDR the next bind fails while the last connection
		// lingers.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fmt.Errorf("setting SO_REUSEADDR: %w", err)
		}
	}
	if d.FWMark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(d.FWMark)); err != nil {
			return fmt.Errorf("setting SO_MARK %d: %w", d.FWMark, err)
		}
	}
	if d.BindIf != "" {
		if err := unix.BindToDevice(fd, d.BindIf); err != nil {
			return fmt.Errorf("binding to device %s: %w", d.BindIf, err)
		}
	}
	return nil
}

// DialContext connects to d.Addr over network ("tcp" or "udp") with d's
// source address, interface and mark.
func (d Dialer) DialContext(ctx context.Context, network string) (net.Conn, error) {
	c, err := d.netDialer(network).DialContext(ctx, network, d.Addr.String())
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", d.Addr, ctxErr(ctx, err))
	}
	return c, nil
}
