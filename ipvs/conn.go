package ipvs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A conn sends generic netlink requests on one socket and collects their
// replies in a buffer it keeps. Programming a large table is one request
// per entry, and a netlink library's own exchange allocates and clears a
// 64 KiB buffer for every reply.
//
// Every request, a single one or a batch, is built in out by the same
// encoder and goes through exchange.
type conn struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	buf []byte  // answers
	out encoder // requests
}

// recvBuffer is the size of the largest message batch the kernel sends a
// dumping socket, which it bounds by the receive buffers it has been given,
// up to 32 KiB.
const recvBuffer = 32 << 10

// openSocket opens a non-blocking generic netlink socket in the network
// namespace ns, or in the caller's when ns is netns.None(). A socket
// stays in the namespace it was made in, so only its creation needs the
// thread moved there.
func openSocket(ns netns.NsHandle) (int, error) {
	if ns != netns.None() {
		runtime.LockOSThread()
		cur, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			return -1, fmt.Errorf("reading the thread's network namespace: %w", err)
		}
		defer cur.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			return -1, fmt.Errorf("entering network namespace: %w", err)
		}
		defer func() {
			// A thread that cannot go back stays locked, so that the
			// runtime ends it with this goroutine instead of running
			// other goroutines in the wrong namespace.
			if netns.Set(cur) == nil {
				runtime.UnlockOSThread()
			}
		}()
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_GENERIC)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	return fd, nil
}

// newConn returns a conn on fd, a non-blocking generic netlink socket,
// which it closes.
func newConn(fd int) *conn {
	return &conn{fd: fd, buf: make([]byte, recvBuffer)}
}

// send and recv are sendto(2) to the kernel and recvfrom(2) through
// RawSyscall, without the scheduler hand-off of Syscall: the kernel
// builds a dump of a large service's destinations inside the call, and
// where that takes longer than 20µs the runtime's monitor would hand the
// processor to another thread in the middle of each, then poll every
// 20µs while the checks run, as check's fast path explains. Neither
// blocks: the socket is non-blocking, and wait does the waiting.
func send(fd int, b []byte) error {
	if _, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

func recv(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func (c *conn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// An encodeFunc appends the attributes of one request to e.
type encodeFunc func(e *encoder)

// execute sends one request of the generic netlink family to the kernel,
// asking for an acknowledgement, and returns copies of the payloads of the
// replies, generic netlink header included. flags may add NLM_F_DUMP;
// attrs may be nil.
func (c *conn) execute(family uint16, cmd uint8, flags uint16, attrs encodeFunc) ([][]byte, error) {
	var out [][]byte
	err := c.each(family, cmd, flags, attrs, func(m []byte) error {
		out = append(out, bytes.Clone(m))
		return nil
	})
	return out, err
}

// each is execute without the copies: it calls fn with the payload of
// every reply, in c's buffer and valid only during the call. A dump of a
// large service's destinations then reads as many bytes as the kernel
// sends and allocates nothing more. The first error of fn is returned,
// once the rest of the reply has been read, so that none of it is left
// on the socket.
func (c *conn) each(family uint16, cmd uint8, flags uint16, attrs encodeFunc, fn func(m []byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	seq := c.seq
	c.out = encoder{b: c.out.b[:0]}
	start := c.out.Message(family, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags, seq, cmd)
	if attrs != nil {
		attrs(&c.out)
	}
	c.out.EndMessage(start)
	if c.out.err != nil {
		return c.out.err
	}

	var fnErr error
	err := c.exchange(func(typ uint16, s uint32, data []byte) (bool, error) {
		if s != seq {
			return false, nil // the answer to a request that gave up waiting
		}
		switch typ {
		case unix.NLMSG_NOOP:
			return false, nil
		case unix.NLMSG_OVERRUN:
			return true, errors.New("netlink reply overran the receive buffer")
		case unix.NLMSG_DONE, unix.NLMSG_ERROR:
			// A dump ends with DONE, anything else with the
			// acknowledgement; both may carry an error.
			if errno := replyErrno(data); errno != 0 {
				return true, errno
			}
			return true, nil
		}
		if fnErr == nil {
			fnErr = fn(data)
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	return fnErr
}

// replyErrno is the error an NLMSG_ERROR or NLMSG_DONE message carries,
// zero for an acknowledgement.
func replyErrno(data []byte) syscall.Errno {
	if len(data) >= 4 {
		if errno := int32(binary.NativeEndian.Uint32(data)); errno < 0 {
			return syscall.Errno(-errno)
		}
	}
	return 0
}

// exchange sends the messages in c.out as one datagram and reads the
// answers, calling handle with the type, sequence number and payload of
// each, until handle is done or fails. It returns handle's error, or the
// socket's. The caller holds c.mu.
func (c *conn) exchange(handle func(typ uint16, seq uint32, data []byte) (done bool, err error)) error {
	if c.fd < 0 {
		return fmt.Errorf("netlink socket: %w", os.ErrClosed)
	}
	deadline := time.Now().Add(socketTimeout)
	for {
		err := send(c.fd, c.out.b)
		if err == nil {
			break
		}
		if err = wait(c.fd, unix.POLLOUT, deadline, err); err != nil {
			return fmt.Errorf("sending netlink request: %w", err)
		}
	}
	for {
		n, err := recv(c.fd, c.buf)
		if err != nil {
			if err = wait(c.fd, unix.POLLIN, deadline, err); err != nil {
				// ENOBUFS among others: an answer was lost.
				return fmt.Errorf("reading the kernel's netlink answer: %w", err)
			}
			continue
		}
		for rest := c.buf[:n]; len(rest) > 0; {
			var h unix.NlMsghdr
			var data []byte
			h, data, rest, err = nextMessage(rest)
			if err != nil {
				return fmt.Errorf("parsing netlink answer: %w", err)
			}
			if done, err := handle(h.Type, h.Seq, data); done || err != nil {
				return err
			}
		}
	}
}

// nextMessage splits the first netlink message off b: its header, its
// payload and the messages after it.
func nextMessage(b []byte) (h unix.NlMsghdr, data, rest []byte, err error) {
	if len(b) < nlmsgHeaderLen {
		return h, nil, nil, fmt.Errorf("%d bytes left, short of a message header", len(b))
	}
	h = unix.NlMsghdr{
		Len:   binary.NativeEndian.Uint32(b[0:4]),
		Type:  binary.NativeEndian.Uint16(b[4:6]),
		Flags: binary.NativeEndian.Uint16(b[6:8]),
		Seq:   binary.NativeEndian.Uint32(b[8:12]),
		Pid:   binary.NativeEndian.Uint32(b[12:16]),
	}
	if h.Len < nlmsgHeaderLen || uint64(h.Len) > uint64(len(b)) {
		return h, nil, nil, fmt.Errorf("message of %d bytes in %d", h.Len, len(b))
	}
	next := min(nlAlign(int(h.Len)), len(b))
	return h, b[nlmsgHeaderLen:h.Len], b[next:], nil
}

// wait waits, up to the deadline, for fd to be ready for events after an
// operation on it failed with err, and returns err itself if that is not
// the socket having to wait.
func wait(fd int, events int16, deadline time.Time, err error) error {
	switch {
	case errors.Is(err, unix.EINTR):
		return nil
	case !errors.Is(err, unix.EAGAIN):
		return err
	}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("waiting for the kernel's netlink reply: %w", unix.ETIMEDOUT)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: events}}, int(left.Milliseconds())+1)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n > 0:
			return nil
		}
	}
}
