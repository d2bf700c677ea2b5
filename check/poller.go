package check

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A poller runs the waiting part of TCP_CHECK and HTTP_GET attempts as
// keepalived's checker does: each attempt is a small state machine over a
// non-blocking socket, and one goroutine drives them all from one epoll
// set. A check then costs its own system calls and a share of one
// epoll_wait, where a goroutine per attempt in package net's poller would
// also cost a file, two deadline timers, a cancellation hook and two
// goroutine switches: at thousands of checks a second, more than the
// checks' system calls.
//
// The epoll set is itself waited on in the runtime's netpoller, through an
// *os.File whose read deadline is the earliest attempt's, so the poller's
// goroutine sleeps as any goroutine blocked on I/O does.
type poller struct {
	epfd   int
	evfd   int      // eventfd that wakes the poller for cancellations and stop
	file   *os.File // epfd, in the runtime's netpoller
	raw    syscall.RawConn
	exited chan struct{}
	// contain counts and logs a panic recovered in what and returns it
	// as an error; testPanic, when set, is called before each step.
	contain   func(what string, v any) error
	testPanic func(where string)

	mu       sync.Mutex // guards everything below
	conns    map[int]*pollConn
	byTime   pollHeap
	deadline time.Time // the file's read deadline
	free     []*pollConn
	stopping bool
}

// pollConn states.
const (
	pollConnecting = iota
	pollSending
	pollReceiving
)

// A pollConn is one attempt on the poller: a TCP_CHECK's handshake, or an
// HTTP_GET's urls, one connection each.
type pollConn struct {
	fd       int
	sa       rawAddr
	state    int
	events   uint32 // what fd is registered for; 0 if it is not
	index    int    // in poller.byTime, or -1
	deadline time.Time
	ctx      canceller
	done     func(error)

	dialer Dialer
	http   *HTTPGet // nil for TCP_CHECK
	url    int
	last   int // the last url of the attempt
	req    []byte
	sent   int
	began  time.Time // when this url's connection began
	rr     respReader
	// ends counts the attempts the pollConn has ended, so that a step
	// that panicked can tell whether its attempt is still under way.
	ends uint64
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating the checks' epoll set: %w", os.NewSyscallError("epoll_create1", err))
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("creating the checks' eventfd: %w", os.NewSyscallError("eventfd", err))
	}
	fail := func(op string, err error) (*poller, error) {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("setting up the checks' epoll set: %w", os.NewSyscallError(op, err))
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		return fail("epoll_ctl", err)
	}
	// The runtime's netpoller takes only non-blocking descriptors.
	if err := unix.SetNonblock(epfd, true); err != nil {
		return fail("fcntl", err)
	}
	p := &poller{epfd: epfd, evfd: evfd, exited: make(chan struct{}), conns: make(map[int]*pollConn)}
	p.file = os.NewFile(uintptr(epfd), "checks epoll")
	p.raw, err = p.file.SyscallConn()
	if err == nil {
		// Only a file in the runtime's netpoller takes a deadline;
		// outside it, run would spin.
		err = p.file.SetReadDeadline(time.Time{})
	}
	if err != nil {
		p.file.Close()
		unix.Close(evfd)
		return nil, fmt.Errorf("setting up the checks' epoll set: %w", err)
	}
	return p, nil
}

// wake makes the poller look for cancelled attempts, and for stop.
func (p *poller) wake() {
	one := uint64(1)
	syscall.RawSyscall(unix.SYS_WRITE, uintptr(p.evfd), uintptr(unsafe.Pointer(&one)), 8)
}

// stop ends every attempt, reporting the error of its context, which the
// caller has cancelled, and waits for run to return and release the
// epoll set.
func (p *poller) stop() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.wake()
	<-p.exited
}

// run drives the attempts until stop.
func (p *poller) run() {
	defer close(p.exited)
	defer func() {
		p.file.Close()
		unix.Close(p.evfd)
	}()
	// Batches of 32 keep the goroutine from running 10 ms at a stretch
	// under emulation, which would earn it a preemption signal.
	events := make([]unix.EpollEvent, 32)
	var n int
	collect := func(uintptr) bool {
		n = epollWait(p.epfd, events)
		return n != 0
	}
	for {
		// A deadline already past fails Read without a call to
		// collect.
		n = 0
		err := p.raw.Read(collect)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// Only a closed file fails otherwise, and only run
			// closes it.
			panic(fmt.Sprintf("waiting on the checks' epoll set: %v", err))
		}
		woken := false
		for _, ev := range events[:max(n, 0)] {
			fd := int(ev.Fd)
			if fd == p.evfd {
				woken = true
				continue
			}
			p.mu.Lock()
			c := p.conns[fd]
			p.mu.Unlock()
			if c != nil {
				p.safeStep(c, ev.Events)
			}
		}
		if woken {
			var buf [8]byte
			syscall.RawSyscall(unix.SYS_READ, uintptr(p.evfd), uintptr(unsafe.Pointer(&buf[0])), 8)
			if p.cancelled() {
				return
			}
		}
		p.expire(time.Now())
		if n == len(events) {
			runtime.Gosched()
		}
	}
}

// epollWait collects the ready events without waiting; it reports -1 for
// an interrupted call, so that the caller looks again.
func epollWait(epfd int, events []unix.EpollEvent) int {
	n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return -1
	}
	return int(n)
}

// cancelled ends the attempts whose context is done, or all of them once
// stopping; it reports whether run should return.
func (p *poller) cancelled() bool {
	p.mu.Lock()
	var ended []*pollConn
	for _, c := range p.conns {
		if p.stopping || c.ctx.Err() != nil {
			ended = append(ended, c)
		}
	}
	stopping := p.stopping
	p.mu.Unlock()
	for _, c := range ended {
		p.fail(c, os.ErrDeadlineExceeded)
	}
	return stopping
}

// expire ends the attempts past their deadline and sets the file's read
// deadline to the next one.
func (p *poller) expire(now time.Time) {
	for {
		p.mu.Lock()
		var next time.Time
		if len(p.byTime) > 0 {
			next = p.byTime[0].deadline
		}
		if next.IsZero() || next.After(now) {
			p.setDeadline(next)
			p.mu.Unlock()
			return
		}
		c := p.byTime[0]
		p.mu.Unlock()
		p.fail(c, os.ErrDeadlineExceeded)
	}
}

// setDeadline makes the poller wake at t, or only for events if t is
// zero. The file's deadline changes under p.mu, so that it is always
// p.deadline. p.mu is held.
func (p *poller) setDeadline(t time.Time) {
	if t.Equal(p.deadline) {
		return
	}
	p.deadline = t
	_ = p.file.SetReadDeadline(t)
}

// startTCP begins a TCP_CHECK attempt whose handshake connectTCP left
// under way on fd.
func (p *poller) startTCP(ctx canceller, d Dialer, fd int, sa rawAddr, deadline time.Time, done func(error)) {
	c := p.get()
	c.ctx, c.done, c.deadline, c.dialer = ctx, done, deadline, d
	c.fd, c.sa, c.state = fd, sa, pollConnecting
	p.watch(c, unix.EPOLLOUT)
}

// startHTTP begins an HTTP_GET attempt of urls first to last: the first
// one's connection.
func (p *poller) startHTTP(ctx canceller, h *HTTPGet, first, last int, deadline time.Time, done func(error)) {
	c := p.get()
	c.ctx, c.done, c.deadline, c.dialer, c.http = ctx, done, deadline, h.Dialer, h
	c.url, c.last = first, last
	p.connect(c)
}

// connect opens the connection of c's url and sends the request if the
// handshake is over.
func (p *poller) connect(c *pollConn) {
	u := &c.http.URLs[c.url]
	c.rr.reset(u.need(), c.http.maxBody())
	c.req, c.sent = c.http.requests[c.url], 0
	c.began = time.Now()
	fd, sa, pending, err := c.dialer.connectTCP()
	if err != nil {
		p.end(c, err)
		return
	}
	c.fd, c.sa = fd, sa
	if pending {
		c.state = pollConnecting
		p.watch(c, unix.EPOLLOUT)
		return
	}
	p.send(c)
}

// safeStep is step, with a panic in it contained: the attempt fails with
// it, if the panic did not end it, and the poller goes on with the
// others. Left registered, a socket still ready would panic again on
// every wake-up until its deadline.
func (p *poller) safeStep(c *pollConn, events uint32) {
	ends := c.ends
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		err := p.contained("check attempt on the poller", v)
		// c is the poller's until it is ended; once ended, it is no
		// longer this attempt.
		if c.ends == ends {
			p.end(c, err)
		}
	}()
	if p.testPanic != nil {
		p.testPanic("poller")
	}
	p.step(c, events)
}

func (p *poller) contained(what string, v any) error {
	if p.contain == nil {
		return fmt.Errorf("%s: panic: %v", what, v)
	}
	return p.contain(what, v)
}

// step advances c on the events epoll reported for it.
func (p *poller) step(c *pollConn, events uint32) {
	switch c.state {
	case pollConnecting:
		if err := c.sa.connect(c.fd); err != nil && err != unix.EISCONN {
			if err == unix.EALREADY || err == unix.EINPROGRESS || err == unix.EINTR {
				return
			}
			p.end(c, fmt.Errorf("connecting to %s: %w", c.dialer.Addr, os.NewSyscallError("connect", err)))
			return
		}
		if c.http == nil {
			p.end(c, nil)
			return
		}
		p.send(c)
	case pollSending:
		p.send(c)
	case pollReceiving:
		p.receive(c)
	}
}

// send writes what is left of the request, then waits for the response.
func (p *poller) send(c *pollConn) {
	c.state = pollSending
	for c.sent < len(c.req) {
		// MSG_NOSIGNAL: a server gone by now is an EPIPE, without a
		// SIGPIPE for the runtime to field.
		n, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(c.fd), uintptr(unsafe.Pointer(&c.req[c.sent])), uintptr(len(c.req)-c.sent), unix.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			c.sent += int(n)
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			p.watch(c, unix.EPOLLOUT)
			return
		}
		p.end(c, fmt.Errorf("cannot send get request to %s: %w", c.dialer.Addr, c.ioError("write", e)))
		return
	}
	// The response cannot be there yet: the server has only now been
	// given the request.
	c.state = pollReceiving
	p.watch(c, unix.EPOLLIN)
}

// receive reads what has arrived of the response, or some of it: a
// server sending without end must not keep the poller from the other
// attempts and the deadlines. epoll reports the rest again.
func (p *poller) receive(c *pollConn) {
	for range 16 {
		buf := c.rr.space()
		n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(c.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return
		default:
			p.end(c, c.readError(c.ioError("read", e)))
			return
		}
		done, err := c.rr.advance(int(n), n == 0)
		if err != nil {
			p.end(c, c.readError(err))
			return
		}
		if !done {
			continue
		}
		u := &c.http.URLs[c.url]
		if err := c.http.verify(u, &c.rr.resp); err != nil || c.url == c.last {
			p.end(c, err)
			return
		}
		// The next url, on a connection of its own.
		p.release(c)
		c.url++
		p.connect(c)
		return
	}
}

func (c *pollConn) ioError(op string, e syscall.Errno) error {
	return &os.PathError{Op: op, Path: "tcp " + c.dialer.Addr.String(), Err: e}
}

func (c *pollConn) readError(err error) error {
	return fmt.Errorf("reading %s from %s after %v: %w", c.http.URLs[c.url].Path, c.dialer.Addr,
		time.Since(c.began).Round(time.Millisecond), err)
}

// fail ends c, cut short by its deadline or its context, with the error
// of what it was doing.
func (p *poller) fail(c *pollConn, ioErr error) {
	err := fmt.Errorf("%w (%v)", context.DeadlineExceeded, ioErr)
	if cerr := c.ctx.Err(); cerr != nil {
		err = fmt.Errorf("%w (%v)", cerr, ioErr)
	}
	switch {
	case c.state == pollConnecting:
		err = fmt.Errorf("connecting to %s: %w", c.dialer.Addr, err)
	case c.state == pollSending:
		err = fmt.Errorf("cannot send get request to %s: %w", c.dialer.Addr, err)
	default:
		err = c.readError(err)
	}
	p.end(c, err)
}

// watch registers c's socket for events, and its deadline. The
// registration happens under p.mu, which the poller holds to look c up:
// once registered, c belongs to the poller's goroutine.
func (p *poller) watch(c *pollConn, events uint32) {
	p.mu.Lock()
	if c.index < 0 {
		p.conns[c.fd] = c
		heap.Push(&p.byTime, c)
	}
	if p.deadline.IsZero() || c.deadline.Before(p.deadline) {
		p.setDeadline(c.deadline)
	}
	if c.events == events {
		p.mu.Unlock()
		return
	}
	op := unix.EPOLL_CTL_MOD
	if c.events == 0 {
		op = unix.EPOLL_CTL_ADD
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(c.fd)}
	_, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(p.epfd), uintptr(op), uintptr(c.fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	if e == 0 {
		c.events = events
	}
	p.mu.Unlock()
	if e != 0 {
		p.end(c, fmt.Errorf("watching the check of %s: %w", c.dialer.Addr, os.NewSyscallError("epoll_ctl", e)))
	}
}

// release forgets c's socket and closes it; the close resets the
// connection (SO_LINGER 0) and takes it out of the epoll set.
func (p *poller) release(c *pollConn) {
	p.mu.Lock()
	if c.index >= 0 {
		heap.Remove(&p.byTime, c.index)
		delete(p.conns, c.fd)
	}
	p.mu.Unlock()
	if c.fd >= 0 {
		rawClose(c.fd)
	}
	c.fd, c.events = -1, 0
}

// end releases c and reports its outcome.
func (p *poller) end(c *pollConn, err error) {
	p.release(c)
	done := c.done
	*c = pollConn{fd: -1, index: -1, rr: c.rr, ends: c.ends + 1}
	p.mu.Lock()
	if len(p.free) < maxFree {
		p.free = append(p.free, c)
	}
	p.mu.Unlock()
	done(err)
}

// maxFree bounds the pollConns kept for reuse, and their buffers: a
// burst of servers that hang up to connect_timeout must not pin its
// peak in memory.
const maxFree = 256

// get returns a pollConn, with the buffers of an earlier one if it can.
func (p *poller) get() *pollConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		return c
	}
	return &pollConn{fd: -1, index: -1}
}

// pollHeap orders attempts by deadline.
type pollHeap []*pollConn

func (h pollHeap) Len() int           { return len(h) }
func (h pollHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h pollHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *pollHeap) Push(x any) {
	c := x.(*pollConn)
	c.index = len(*h)
	*h = append(*h, c)
}

func (h *pollHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	c.index = -1
	*h = old[:len(old)-1]
	return c
}
