package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TCPCheck is keepalived's TCP_CHECK: the server is up when a TCP connection
// to it completes.
type TCPCheck struct {
	Dialer Dialer
}

// Check connects and closes at once. The close resets the connection
// (SO_LINGER 0) instead of sending a FIN: a checker connecting every second
// to a handful of real servers would otherwise leave one TIME_WAIT socket per
// attempt on the director for 60 seconds, and tens of thousands of checks
// would exhaust the ephemeral ports towards those servers.
func (c *TCPCheck) Check(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	return c.checkBy(ctx, deadline)
}

// checkBy is Check with its timeout given as a deadline of its own, ctx
// only cancelling it: the Scheduler then need not build a context and a
// timer for each attempt.
func (c *TCPCheck) checkBy(ctx context.Context, deadline time.Time) error {
	return c.Dialer.probeTCP(ctx, deadline)
}

// probeTCP connects to d.Addr and closes the connection with a reset. It
// drives its own non-blocking socket rather than package net's: against a
// local or nearby real server the handshake is over by the time connect(2)
// returns, and a second connect(2) reports its outcome, so a check costs
// socket, setsockopt, two connects and close, with no netpoller
// registration, timer or goroutine. Only a handshake still under way
// waits, in the netpoller, until deadline (none if zero) or until ctx is
// done.
func (d Dialer) probeTCP(ctx context.Context, deadline time.Time) error {
	rest, err := d.beginProbeTCP(deadline)
	if rest == nil {
		return err
	}
	return rest(ctx)
}

// inline reports whether start can run c: a link-local address needs
// package net to turn its zone into an interface index.
func (c *TCPCheck) inline() bool { return c.Dialer.Addr.Addr().Zone() == "" }

// start is probeTCP for the Scheduler: a handshake still under way waits
// on p.
func (c *TCPCheck) start(p *poller, ctx canceller, deadline time.Time, done func(error)) {
	fd, sa, pending, err := c.Dialer.connectTCP()
	switch {
	case err != nil:
		done(err)
	case !pending:
		done(closeFD(fd))
	default:
		p.startTCP(ctx, c.Dialer, fd, sa, deadline, done)
	}
}

// beginProbeTCP does what probeTCP does without waiting: it returns the
// wait, which then owns the socket, if the handshake is still under way.
func (d Dialer) beginProbeTCP(deadline time.Time) (rest func(ctx context.Context) error, err error) {
	if d.Addr.Addr().Zone() != "" {
		// A link-local address's zone is an interface name, which
		// package net turns into the index the socket address needs.
		return func(ctx context.Context) error { return d.probeTCPNet(ctx, deadline) }, nil
	}
	fd, sa, pending, err := d.connectTCP()
	if err != nil {
		return nil, err
	}
	if !pending {
		return nil, closeFD(fd)
	}
	return func(ctx context.Context) error {
		f := os.NewFile(uintptr(fd), "tcp "+d.Addr.String())
		// SO_LINGER 0 is already set: this close resets too.
		defer f.Close()
		return d.waitConnect(ctx, deadline, f, sa)
	}, nil
}

// dialTCP is DialContext("tcp") with the timeout as a deadline of its own,
// set on the connection for what follows, and ctx only cancelling: it
// connects as probeTCP does, with no goroutine or timer of its own. The
// connection's Close resets it (SO_LINGER 0) and, once ctx is done, its I/O
// fails; stop releases that binding.
func (d Dialer) dialTCP(ctx context.Context, deadline time.Time) (conn net.Conn, stop func() bool, err error) {
	if d.Addr.Addr().Zone() != "" {
		dctx := ctx
		if !deadline.IsZero() {
			var cancel context.CancelFunc
			dctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
		c, err := d.DialContext(dctx, "tcp")
		if err != nil {
			return nil, nil, err
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return bindConn(ctx, deadline, c)
	}
	fd, sa, pending, err := d.connectTCP()
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), "tcp "+d.Addr.String())
	if pending {
		if err := d.waitConnect(ctx, deadline, f, sa); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	return bindConn(ctx, deadline, &fileConn{File: f, raddr: net.TCPAddrFromAddrPort(d.Addr)})
}

// bindConn sets conn's deadline and makes its I/O fail once ctx is done.
func bindConn(ctx context.Context, deadline time.Time, conn net.Conn) (net.Conn, func() bool, error) {
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return conn, stop, nil
}

// A fileConn is a connected TCP socket driven through an *os.File, whose
// reads and writes wait in the netpoller and honour deadlines as a
// net.TCPConn's do.
type fileConn struct {
	*os.File
	raddr net.Addr
}

func (c *fileConn) RemoteAddr() net.Addr { return c.raddr }

// LocalAddr asks the kernel: nothing needs it on the checks' path.
func (c *fileConn) LocalAddr() net.Addr {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	_ = rc.Control(func(fd uintptr) { sa, _ = unix.Getsockname(int(fd)) })
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	}
	return nil
}

// connectTCP opens a non-blocking socket with d's options and connects it.
// pending reports a handshake still under way after the second connect;
// otherwise the connection is established.
func (d Dialer) connectTCP() (fd int, sa rawAddr, pending bool, err error) {
	if err := sa.set(d.Addr); err != nil {
		return -1, sa, false, fmt.Errorf("connecting to %s: %w", d.Addr, err)
	}
	family := int(sa.inet6.Family)
	r, _, e := syscall.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if e != 0 {
		return -1, sa, false, fmt.Errorf("connecting to %s: %w", d.Addr, os.NewSyscallError("socket", e))
	}
	fd = int(r)
	if err := d.prepareTCP(fd, family); err != nil {
		rawClose(fd)
		return -1, sa, false, fmt.Errorf("connecting to %s: %w", d.Addr, err)
	}
	first := sa.connect(fd)
	err = first
	if err == unix.EINPROGRESS || err == unix.EINTR {
		err = sa.connect(fd)
	}
	switch err {
	case nil, unix.EISCONN:
		return fd, sa, false, nil
	case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
		return fd, sa, true, nil
	}
	rawClose(fd)
	return -1, sa, false, fmt.Errorf("connecting to %s: %w", d.Addr,
		&connectError{err: os.NewSyscallError("connect", err), immediate: first == err})
}

// A connectError is a failed connect(2). immediate tells a failure the
// first call reported, before any wait for the handshake, as a refusal
// by the local host is, from one reported later: keepalived's SMTP_CHECK
// words the two differently in its mails.
type connectError struct {
	err       error
	immediate bool
}

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// The system calls of a check's fast path go through RawSyscall, which,
// unlike Syscall, does not tell the Go scheduler that the goroutine may
// block. None of them blocks: the socket is non-blocking and close with
// SO_LINGER 0 resets at once. But a connect to a local server does the
// whole handshake, both ends of it, in the call; where that takes longer
// than 20µs (an emulated or busy CPU) the runtime's monitor would hand the
// processor to another thread in the middle of every check and keep
// polling every 20µs while checks run: a third of the checks' CPU time in
// the benchmark of test/bench/checkers.

// A rawAddr is a socket address as connect(2) takes it: IPv4 or IPv6
// without a zone, built in place rather than as a unix.Sockaddr, which
// costs an allocation per check.
type rawAddr struct {
	// inet6 has room for either family; Family tells which it holds.
	inet6 unix.RawSockaddrInet6
}

// set makes a the socket address of ap; an IPv4-mapped IPv6 address
// becomes IPv4.
func (a *rawAddr) set(ap netip.AddrPort) error {
	ip := ap.Addr()
	*a = rawAddr{}
	port := (*[2]byte)(unsafe.Pointer(&a.inet6.Port))
	switch {
	case !ip.IsValid():
		return errors.New("no address")
	case ip.Is4() || ip.Is4In6():
		in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.inet6))
		in4.Family = unix.AF_INET
		in4.Addr = ip.Unmap().As4()
	case ip.Zone() != "":
		return errors.New("zoned address")
	default:
		a.inet6.Family = unix.AF_INET6
		a.inet6.Addr = ip.As16()
	}
	// The port is at the same offset in both families.
	binary.BigEndian.PutUint16(port[:], ap.Port())
	return nil
}

func (a *rawAddr) len() uintptr {
	if a.inet6.Family == unix.AF_INET {
		return unsafe.Sizeof(unix.RawSockaddrInet4{})
	}
	return unsafe.Sizeof(a.inet6)
}

// connect is connect(2) without the scheduler hand-off.
func (a *rawAddr) connect(fd int) error {
	if _, _, e := syscall.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&a.inet6)), a.len()); e != 0 {
		return e
	}
	return nil
}

// rawClose is close(2) without the scheduler hand-off.
func rawClose(fd int) error {
	if _, _, e := syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); e != 0 {
		return e
	}
	return nil
}

// prepareTCP sets SO_LINGER 0, so that close resets the connection, then
// the Dialer's options and source address.
func (d Dialer) prepareTCP(fd, family int) error {
	linger := unix.Linger{Onoff: 1}
	if _, _, e := syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER,
		uintptr(unsafe.Pointer(&linger)), unsafe.Sizeof(linger), 0); e != 0 {
		return os.NewSyscallError("setsockopt SO_LINGER", e)
	}
	if err := d.setSockopts(fd); err != nil {
		return err
	}
	if !d.BindTo.IsValid() && d.BindPort == 0 {
		return nil
	}
	src := d.BindTo
	if !src.IsValid() {
		src = netip.IPv6Unspecified()
		if family == unix.AF_INET {
			src = netip.IPv4Unspecified()
		}
	}
	sfamily, ssa, err := sockaddr(netip.AddrPortFrom(src, d.BindPort))
	if err != nil {
		return err
	}
	if sfamily != family {
		return fmt.Errorf("bindto %s and %s are not of the same address family", src, d.Addr.Addr())
	}
	if err := unix.Bind(fd, ssa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	return nil
}

// waitConnect waits in the netpoller for a handshake still under way on f.
func (d Dialer) waitConnect(ctx context.Context, deadline time.Time, f *os.File, sa rawAddr) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", d.Addr, err)
	}
	if !deadline.IsZero() {
		if err := f.SetWriteDeadline(deadline); err != nil {
			return fmt.Errorf("connecting to %s: %w", d.Addr, err)
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var cerr error
	err = rc.Write(func(fd uintptr) bool {
		cerr = sa.connect(int(fd))
		return cerr != unix.EALREADY && cerr != unix.EINPROGRESS && cerr != unix.EINTR
	})
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", d.Addr, deadlineErr(ctx, deadline, err))
	}
	if cerr != nil && cerr != unix.EISCONN {
		return fmt.Errorf("connecting to %s: %w", d.Addr, os.NewSyscallError("connect", cerr))
	}
	return nil
}

// probeTCPNet is probeTCP through package net.
func (d Dialer) probeTCPNet(ctx context.Context, deadline time.Time) error {
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	conn, err := d.DialContext(ctx, "tcp")
	if err != nil {
		return err
	}
	return closeReset(conn)
}

// sockaddr converts an address and port to a socket address and its
// family; an IPv4-mapped IPv6 address becomes IPv4.
func sockaddr(ap netip.AddrPort) (int, unix.Sockaddr, error) {
	a := ap.Addr()
	switch {
	case !a.IsValid():
		return 0, nil, errors.New("no address")
	case a.Is4() || a.Is4In6():
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}, nil
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}, nil
}

func closeFD(fd int) error {
	if err := rawClose(fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

func closeReset(conn net.Conn) error {
	if tc, ok := conn.(*net.TCPConn); ok {
		// Only fails on a closed socket, which Close reports anyway.
		_ = tc.SetLinger(0)
	}
	return conn.Close()
}
