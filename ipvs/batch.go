package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Changes to services and destinations are encoded straight into one
// buffer the conn keeps and sent many to a datagram: the kernel runs the
// messages of a datagram in order and answers a message that fails with
// an error carrying its sequence number, whether or not it asked for an
// acknowledgement. Only the last message of a datagram asks for one, so
// that its acknowledgement, which comes after every error of the messages
// before it, closes the exchange in a single read when all goes well.

const (
	// batchMessages bounds the messages of one datagram, so that an error
	// answer for every one of them still fits the socket's receive buffer
	// (212992 bytes by default, each small answer taking about a kilobyte
	// of it) and none is dropped.
	batchMessages = 128

	// batchBytes bounds the datagram, well under the socket's send buffer.
	batchBytes = 32 << 10

	nlmsgHeaderLen  = unix.SizeofNlMsghdr
	nlattrHeaderLen = unix.SizeofNlAttr
)

// batchKernel is a Kernel that takes many changes to services and
// destinations at once and reports the outcome of each.
type batchKernel interface {
	// apply issues the ops in order and returns the outcome of each; an
	// op that is not a change to a service or destination fails without
	// being issued.
	apply(ops []Op) []error
}

// apply implements batchKernel.
func (h *Handle) apply(ops []Op) []error {
	errs := make([]error, len(ops))
	family, err := h.ipvsFamily()
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i := 0; i < len(ops); {
		if _, ok := command(ops[i].Kind); !ok {
			errs[i] = fmt.Errorf("IPVS operation %v is not a change to a service or destination", ops[i].Kind)
			i++
			continue
		}
		j := i + 1
		for j < len(ops) {
			if _, ok := command(ops[j].Kind); !ok {
				break
			}
			j++
		}
		h.conn.batch(family, ops[i:j], errs[i:j])
		i = j
	}
	return errs
}

// applyOne issues one change to a service or destination.
func (h *Handle) applyOne(op Op) error {
	return h.apply([]Op{op})[0]
}

// command is the IPVS command that makes a change of kind k.
func command(k OpKind) (uint8, bool) {
	switch k {
	case AddService:
		return cmdNewService, true
	case UpdateService:
		return cmdSetService, true
	case DeleteService:
		return cmdDelService, true
	case AddDestination:
		return cmdNewDest, true
	case UpdateDestination:
		return cmdSetDest, true
	case DeleteDestination:
		return cmdDelDest, true
	}
	return 0, false
}

// batch sends ops, all changes to services and destinations, to the kernel
// in datagrams of many messages and stores the outcome of each in errs.
func (c *conn) batch(family uint16, ops []Op, errs []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(ops) > 0 {
		c.out = c.out[:0]
		first := c.seq + 1
		n, last := 0, 0
		for n < len(ops) && n < batchMessages && len(c.out) < batchBytes {
			c.seq++
			last = len(c.out)
			c.appendOp(family, c.seq, &ops[n])
			n++
		}
		// The flags are bytes 6 and 7 of the netlink header.
		flags := binary.NativeEndian.Uint16(c.out[last+6:])
		binary.NativeEndian.PutUint16(c.out[last+6:], flags|unix.NLM_F_ACK)
		c.roundTrip(first, errs[:n])
		ops, errs = ops[n:], errs[n:]
	}
}

// roundTrip sends the messages in c.out, numbered from first, and reads
// their answers into errs, one per message.
func (c *conn) roundTrip(first uint32, errs []error) {
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	fd := c.sock.GetFd()
	deadline := time.Now().Add(socketTimeout)
	for {
		err := send(fd, c.out)
		if err == nil {
			break
		}
		if err = wait(fd, unix.POLLOUT, deadline, err); err != nil {
			fail(fmt.Errorf("sending %d netlink requests: %w", len(errs), err))
			return
		}
	}
	last := uint32(len(errs) - 1)
	for {
		n, err := recv(fd, c.buf)
		if err != nil {
			if err = wait(fd, unix.POLLIN, deadline, err); err != nil {
				// ENOBUFS among others: an answer was lost, and with it
				// which of the requests not yet answered took effect.
				fail(fmt.Errorf("reading the kernel's netlink answers: %w", err))
				return
			}
			continue
		}
		for b := c.buf[:n]; len(b) >= nlmsgHeaderLen; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < nlmsgHeaderLen || l > len(b) {
				fail(fmt.Errorf("parsing netlink answer: %w", syscall.EINVAL))
				return
			}
			typ := binary.NativeEndian.Uint16(b[4:])
			i := binary.NativeEndian.Uint32(b[8:]) - first // wraps past the end for stale answers
			data := b[nlmsgHeaderLen:l]
			b = b[min(nlmsgAlign(l), len(b)):]
			switch {
			case i > last:
				continue // the answer to a request that gave up waiting
			case typ == unix.NLMSG_OVERRUN:
				fail(errors.New("netlink answer overran the receive buffer"))
				return
			case typ != unix.NLMSG_ERROR:
				continue
			}
			if len(data) >= 4 {
				if errno := int32(binary.NativeEndian.Uint32(data)); errno != 0 {
					errs[i] = syscall.Errno(-errno)
				}
			}
			if i == last {
				return
			}
		}
	}
}

func nlmsgAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// appendOp encodes op, a change to a service or destination, as one
// generic netlink message with sequence number seq at the end of c.out.
func (c *conn) appendOp(family uint16, seq uint32, op *Op) {
	cmd, _ := command(op.Kind)
	m := message{b: c.out}
	start := m.begin(family, unix.NLM_F_REQUEST, seq, cmd)
	switch op.Kind {
	case AddService, UpdateService:
		m.service(&op.Service)
	default:
		m.serviceKey(&op.Service)
	}
	switch op.Kind {
	case AddDestination, UpdateDestination, DeleteDestination:
		m.destination(&op.Destination)
	}
	m.end(start)
	c.out = m.b
}

// A message appends a generic netlink message of the IPVS family to b.
type message struct{ b []byte }

// begin appends the netlink and generic netlink headers and returns where
// the message starts, for end.
func (m *message) begin(family, flags uint16, seq uint32, cmd uint8) int {
	start := len(m.b)
	m.b = binary.NativeEndian.AppendUint32(m.b, 0) // length, set by end
	m.b = binary.NativeEndian.AppendUint16(m.b, family)
	m.b = binary.NativeEndian.AppendUint16(m.b, flags)
	m.b = binary.NativeEndian.AppendUint32(m.b, seq)
	m.b = binary.NativeEndian.AppendUint32(m.b, 0) // port id: the kernel's
	m.b = append(m.b, cmd, 1, 0, 0)                // command, version 1, reserved
	return start
}

func (m *message) end(start int) {
	binary.NativeEndian.PutUint32(m.b[start:], uint32(len(m.b)-start))
}

// nest opens a nested attribute and returns where it starts, for endNest.
func (m *message) nest(typ uint16) int {
	start := len(m.b)
	m.b = binary.NativeEndian.AppendUint16(m.b, 0)
	m.b = binary.NativeEndian.AppendUint16(m.b, typ|unix.NLA_F_NESTED)
	return start
}

func (m *message) endNest(start int) {
	binary.NativeEndian.PutUint16(m.b[start:], uint16(len(m.b)-start))
}

// attr appends an attribute and the padding after it.
func (m *message) attr(typ uint16, value ...byte) {
	m.b = binary.NativeEndian.AppendUint16(m.b, uint16(nlattrHeaderLen+len(value)))
	m.b = binary.NativeEndian.AppendUint16(m.b, typ)
	m.b = append(m.b, value...)
	m.pad()
}

// string appends a NUL-terminated string attribute.
func (m *message) string(typ uint16, v string) {
	m.b = binary.NativeEndian.AppendUint16(m.b, uint16(nlattrHeaderLen+len(v)+1))
	m.b = binary.NativeEndian.AppendUint16(m.b, typ)
	m.b = append(m.b, v...)
	m.b = append(m.b, 0)
	m.pad()
}

func (m *message) pad() {
	for len(m.b)%unix.NLA_ALIGNTO != 0 {
		m.b = append(m.b, 0)
	}
}

func (m *message) uint8(typ uint16, v uint8) { m.attr(typ, v) }

func (m *message) uint16(typ uint16, v uint16) {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], v)
	m.attr(typ, b[:]...)
}

func (m *message) uint32(typ uint16, v uint32) {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	m.attr(typ, b[:]...)
}

// port appends a port in network byte order.
func (m *message) port(typ uint16, v uint16) {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	m.attr(typ, b[:]...)
}

// serviceKey appends the part of a service the kernel looks it up by.
func (m *message) serviceKey(s *Service) {
	start := m.nest(cmdAttrService)
	m.serviceKeyFields(s)
	m.endNest(start)
}

func (m *message) serviceKeyFields(s *Service) {
	m.uint16(svcAttrAF, uint16(s.family()))
	if s.FWMark != 0 {
		m.uint32(svcAttrFWMark, s.FWMark)
		return
	}
	m.uint16(svcAttrProtocol, uint16(s.Protocol))
	if a := s.Addr.Addr(); a.Is4() {
		b := a.As4()
		m.attr(svcAttrAddr, b[:]...)
	} else {
		b := a.As16()
		m.attr(svcAttrAddr, b[:]...)
	}
	m.port(svcAttrPort, s.Addr.Port())
}

// service appends the whole service, as adding or updating it takes it.
func (m *message) service(s *Service) {
	start := m.nest(cmdAttrService)
	m.serviceKeyFields(s)
	m.string(svcAttrSchedName, s.Scheduler)
	// struct ip_vs_flags: the flags, then the mask of those to set; all
	// of them, as ipvsadm does.
	var flags [8]byte
	binary.NativeEndian.PutUint32(flags[:], uint32(s.Flags&^flagHashed))
	binary.NativeEndian.PutUint32(flags[4:], ^uint32(0))
	m.attr(svcAttrFlags, flags[:]...)
	m.uint32(svcAttrTimeout, uint32(s.Timeout/time.Second))
	m.uint32(svcAttrNetmask, s.netmaskBits())
	m.endNest(start)
}

func (m *message) destination(d *Destination) {
	start := m.nest(cmdAttrDest)
	a := d.Addr.Addr()
	if a.Is4() {
		m.uint16(destAttrAddrFamily, uint16(IPv4))
		b := a.As4()
		m.attr(destAttrAddr, b[:]...)
	} else {
		m.uint16(destAttrAddrFamily, uint16(IPv6))
		b := a.As16()
		m.attr(destAttrAddr, b[:]...)
	}
	m.port(destAttrPort, d.Addr.Port())
	m.uint32(destAttrFwdMethod, uint32(d.Method))
	m.uint32(destAttrWeight, uint32(d.Weight))
	m.uint32(destAttrUThresh, d.UpperThreshold)
	m.uint32(destAttrLThresh, d.LowerThreshold)
	m.uint8(destAttrTunType, uint8(d.TunnelType))
	m.port(destAttrTunPort, d.TunnelPort)
	m.uint16(destAttrTunFlags, uint16(d.TunnelFlags))
	m.endNest(start)
}
