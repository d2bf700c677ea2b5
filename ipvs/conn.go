package ipvs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// A conn sends generic netlink requests on one socket and collects their
// replies in a buffer it keeps. Programming a large table is one request
// per entry, and the netlink library's own exchange allocates and clears a
// 64 KiB buffer for every reply.
type conn struct {
	mu   sync.Mutex
	sock *nl.NetlinkSocket
	seq  uint32
	buf  []byte // answers
	out  []byte // requests of a batch
}

// recvBuffer is the size of the largest message batch the kernel sends a
// dumping socket, which it bounds by the receive buffers it has been given,
// up to 32 KiB.
const recvBuffer = 32 << 10

// newConn makes sock non-blocking, which send and recv need, and returns
// a conn on it.
func newConn(sock *nl.NetlinkSocket) (*conn, error) {
	if err := unix.SetNonblock(sock.GetFd(), true); err != nil {
		return nil, fmt.Errorf("setting the generic netlink socket non-blocking: %w", os.NewSyscallError("fcntl", err))
	}
	return &conn{sock: sock, buf: make([]byte, recvBuffer)}, nil
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
	c.sock.Close()
	return nil
}

// execute sends one request of the generic netlink family to the kernel,
// asking for an acknowledgement, and returns copies of the payloads of the
// replies, generic netlink header included. flags may add NLM_F_DUMP.
func (c *conn) execute(family uint16, cmd uint8, flags int, attrs ...*nl.RtAttr) ([][]byte, error) {
	var out [][]byte
	err := c.each(family, cmd, flags, func(m []byte) error {
		out = append(out, bytes.Clone(m))
		return nil
	}, attrs...)
	return out, err
}

// each is execute without the copies: it calls fn with the payload of
// every reply, in c's buffer and valid only during the call. A dump of a
// large service's destinations then reads as many bytes as the kernel
// sends and allocates nothing more. The first error of fn is returned,
// once the rest of the reply has been read, so that none of it is left
// on the socket.
func (c *conn) each(family uint16, cmd uint8, flags int, fn func(m []byte) error, attrs ...*nl.RtAttr) error {
	req := nl.NewNetlinkRequest(int(family), unix.NLM_F_ACK|flags)
	req.AddData(&nl.Genlmsg{Command: cmd, Version: 1})
	for _, a := range attrs {
		req.AddData(a)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	req.Seq = c.seq
	fd := c.sock.GetFd()
	deadline := time.Now().Add(socketTimeout)
	b := req.Serialize()
	for {
		err := send(fd, b)
		if err == nil {
			break
		}
		if err = wait(fd, unix.POLLOUT, deadline, err); err != nil {
			return err
		}
	}

	var fnErr error
	for {
		n, err := recv(fd, c.buf)
		if err != nil {
			if err = wait(fd, unix.POLLIN, deadline, err); err != nil {
				return err
			}
			continue
		}
		for rest := c.buf[:n]; len(rest) > 0; {
			var h unix.NlMsghdr
			var data []byte
			h, data, rest, err = nextMessage(rest)
			if err != nil {
				return fmt.Errorf("parsing netlink reply: %w", err)
			}
			if h.Seq != req.Seq {
				continue // the answer to a request that gave up waiting
			}
			switch h.Type {
			case unix.NLMSG_NOOP:
				continue
			case unix.NLMSG_OVERRUN:
				return errors.New("netlink reply overran the receive buffer")
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				// A dump ends with DONE, anything else with the
				// acknowledgement; both may carry an error.
				if len(data) >= 4 {
					if errno := int32(binary.NativeEndian.Uint32(data)); errno != 0 {
						return syscall.Errno(-errno)
					}
				}
				return fnErr
			}
			if fnErr == nil {
				fnErr = fn(data)
			}
		}
	}
}

// nextMessage splits the first netlink message off b: its header, its
// payload and the messages after it.
func nextMessage(b []byte) (h unix.NlMsghdr, data, rest []byte, err error) {
	if len(b) < unix.SizeofNlMsghdr {
		return h, nil, nil, fmt.Errorf("%d bytes left, short of a message header", len(b))
	}
	h = unix.NlMsghdr{
		Len:   binary.NativeEndian.Uint32(b[0:4]),
		Type:  binary.NativeEndian.Uint16(b[4:6]),
		Flags: binary.NativeEndian.Uint16(b[6:8]),
		Seq:   binary.NativeEndian.Uint32(b[8:12]),
		Pid:   binary.NativeEndian.Uint32(b[12:16]),
	}
	if h.Len < unix.SizeofNlMsghdr || int(h.Len) > len(b) {
		return h, nil, nil, fmt.Errorf("message of %d bytes in %d", h.Len, len(b))
	}
	next := min(nlAlign(int(h.Len)), len(b))
	return h, b[unix.SizeofNlMsghdr:h.Len], b[next:], nil
}

// nextAttr splits the first netlink attribute off b: its type, with the
// nested and byte-order flags cleared, its value and the attributes after
// it. It allocates nothing, unlike nl.ParseRouteAttr, which a dump of
// thousands of destinations would call for each.
func nextAttr(b []byte) (typ uint16, value, rest []byte, err error) {
	if len(b) < unix.SizeofNlAttr {
		return 0, nil, nil, fmt.Errorf("%d bytes left, short of an attribute header", len(b))
	}
	n := int(binary.NativeEndian.Uint16(b[0:2]))
	typ = binary.NativeEndian.Uint16(b[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	if n < unix.SizeofNlAttr || n > len(b) {
		return 0, nil, nil, fmt.Errorf("attribute of %d bytes in %d", n, len(b))
	}
	return typ, b[unix.SizeofNlAttr:n], b[min(nlAlign(n), len(b)):], nil
}

// nlAlign rounds n up to netlink's 4-byte alignment.
func nlAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

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
