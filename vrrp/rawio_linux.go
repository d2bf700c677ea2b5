package vrrp

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Receiving is the hot path of a backup: every master on the segment
// sends one advert a second per virtual router, and keepalived sends those
// of all its instances in one burst. The reader below takes them in
// batches with recvmmsg into buffers allocated once per socket, and reads
// the addresses and TTL from the IPv4 header or the IPv6 control messages
// without allocating, so that a packet costs one pass over its bytes.

const (
	// rxBatch is the number of datagrams one recvmmsg call may return.
	rxBatch = 16
	// rxBufLen holds the largest VRRP message: 255 IPv6 addresses
	// (4088 bytes), or an IPv4 header with options, an AH header and
	// 255 IPv4 addresses. Longer datagrams arrive truncated and are
	// dropped for their length.
	rxBufLen = 4096
	// rxOOBLen holds the IPv6 hop limit and packet information.
	rxOOBLen = 128
)

// A rawPacket is one datagram read from a raw socket.
type rawPacket struct {
	// ip is the IPv4 header, nil for IPv6, whose raw sockets do not
	// return it; payload follows it, the bytes after the IP header.
	ip       []byte
	payload  []byte
	src, dst netip.Addr
	ttl      int // TTL or hop limit; 0 when unknown
	trunc    bool
}

// A rawReader reads datagrams from a raw IP socket in batches.
type rawReader struct {
	rc    syscall.RawConn
	v6    bool
	recv  func(fd uintptr) bool // recvmmsg
	n     int                   // its result
	errno syscall.Errno
	hdrs  [rxBatch]unix.Mmsghdr
	iovs  [rxBatch]unix.Iovec
	names [rxBatch]unix.RawSockaddrInet6
	oob   [rxBatch][rxOOBLen]byte
	bufs  [rxBatch][rxBufLen]byte
}

func newRawReader(rc syscall.RawConn, v6 bool) *rawReader {
	r := &rawReader{rc: rc, v6: v6}
	for k := range r.hdrs {
		r.iovs[k].Base = &r.bufs[k][0]
		r.iovs[k].SetLen(rxBufLen)
		h := &r.hdrs[k].Hdr
		h.Iov = &r.iovs[k]
		h.SetIovlen(1)
		if v6 {
			h.Name = (*byte)(unsafe.Pointer(&r.names[k]))
			h.Control = &r.oob[k][0]
		}
	}
	return r
}

// read waits for datagrams and returns how many it read; packet returns
// each. The previous batch is overwritten.
func (r *rawReader) read() (int, error) {
	if r.recv == nil {
		// Made once: a closure made per call would be allocated per
		// call.
		r.recv = r.recvmmsg
	}
	if err := r.rc.Read(r.recv); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, r.errno
	}
	return r.n, nil
}

// recvmmsg reads a batch from fd, reporting false when there is nothing
// to read yet.
func (r *rawReader) recvmmsg(fd uintptr) bool {
	for k := range r.hdrs {
		h := &r.hdrs[k].Hdr
		if r.v6 {
			h.Namelen = unix.SizeofSockaddrInet6
			h.SetControllen(rxOOBLen)
		}
		h.Flags = 0
		r.hdrs[k].Len = 0
	}
	// The socket is non-blocking (the net package made it so), so the
	// call returns at once and need not be announced to the scheduler:
	// doing so would wake the runtime's monitor thread after every idle
	// spell, that is for nearly every packet a backup receives.
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), rxBatch, unix.MSG_DONTWAIT, 0, 0)
	r.n, r.errno = int(n), e
	return e != unix.EAGAIN && e != unix.EWOULDBLOCK && e != unix.EINTR
}

// packet returns datagram k of the last batch; ok is false when it is
// too short to have an IPv4 header.
func (r *rawReader) packet(k int) (p rawPacket, ok bool) {
	m := &r.hdrs[k]
	b := r.bufs[k][:min(int(m.Len), rxBufLen)]
	p.trunc = m.Hdr.Flags&unix.MSG_TRUNC != 0
	if !r.v6 {
		// A raw IPv4 socket returns the header, which has all we
		// need: no control messages.
		return parseIPv4(b, p.trunc)
	}
	p.payload = b
	if m.Hdr.Namelen >= unix.SizeofSockaddrInet6 && r.names[k].Family == unix.AF_INET6 {
		p.src = netip.AddrFrom16(r.names[k].Addr).Unmap()
	}
	parseCmsg6(r.oob[k][:min(int(m.Hdr.Controllen), rxOOBLen)], &p)
	return p, true
}

const ipv4HeaderLen = 20

// parseIPv4 reads a datagram as a raw IPv4 socket returns it, header
// first; ok is false when it is too short to have the header it claims.
func parseIPv4(b []byte, trunc bool) (p rawPacket, ok bool) {
	p.trunc = trunc
	if len(b) < ipv4HeaderLen {
		return p, false
	}
	hl := int(b[0]&0x0f) << 2
	if hl < ipv4HeaderLen || len(b) < hl {
		return p, false
	}
	p.ip, p.payload = b[:hl], b[hl:]
	p.ttl = int(b[8])
	p.src = netip.AddrFrom4([4]byte(b[12:16]))
	p.dst = netip.AddrFrom4([4]byte(b[16:20]))
	return p, true
}

// parseCmsg6 reads the hop limit and destination address from IPv6
// control messages.
func parseCmsg6(b []byte, p *rawPacket) {
	hlen := cmsgAlign(unix.SizeofCmsghdr)
	for len(b) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hlen || l > len(b) {
			return
		}
		data := b[hlen:l]
		if h.Level == unix.IPPROTO_IPV6 {
			switch h.Type {
			case unix.IPV6_HOPLIMIT:
				if len(data) >= 4 {
					p.ttl = int(int32(binary.NativeEndian.Uint32(data)))
				}
			case unix.IPV6_PKTINFO:
				if len(data) >= unix.SizeofInet6Pktinfo {
					p.dst = netip.AddrFrom16([16]byte(data[:16])).Unmap()
				}
			}
		}
		b = b[min(cmsgAlign(l), len(b)):]
	}
}

func cmsgAlign(n int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (n + a - 1) &^ (a - 1)
}

// burstHold is how long the reader lets a burst queue before reading on.
const burstHold = time.Millisecond

// holdBurst sleeps for burstHold without giving up the thread. A master of
// many virtual routers sends their adverts in one burst, keepalived tens
// of microseconds apart. Parked in the runtime's poller, the reader would
// wake for each: the poller watches the socket edge-triggered, whoever
// waits for it. Asleep in the kernel instead, it is woken once, and then
// reads the rest of the burst in batches. Only a packet that follows
// another within two holds waits, at most one hold: the first after a
// quiet spell, such as a lone priority 0 advert, is handled at once. A
// signal, such as the runtime's preemption, ends the hold early.
func holdBurst() {
	ts := unix.NsecToTimespec(int64(burstHold))
	unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}
