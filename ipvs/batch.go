package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"

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
		c.out = encoder{b: c.out.b[:0]}
		first := c.seq + 1
		n, last := 0, 0
		for n < len(ops) && n < batchMessages && len(c.out.b) < batchBytes {
			c.seq++
			last = len(c.out.b)
			c.out.op(family, c.seq, &ops[n])
			n++
		}
		if err := c.out.err; err != nil {
			for i := range errs[:n] {
				errs[i] = err
			}
		} else {
			// The flags are bytes 6 and 7 of the netlink header.
			flags := binary.NativeEndian.Uint16(c.out.b[last+6:])
			binary.NativeEndian.PutUint16(c.out.b[last+6:], flags|unix.NLM_F_ACK)
			c.roundTrip(first, errs[:n])
		}
		ops, errs = ops[n:], errs[n:]
	}
}

// roundTrip sends the messages in c.out, numbered from first, and reads
// their answers into errs, one per message.
func (c *conn) roundTrip(first uint32, errs []error) {
	last := uint32(len(errs) - 1)
	err := c.exchange(func(typ uint16, seq uint32, data []byte) (bool, error) {
		i := seq - first // wraps past the end for stale answers
		switch {
		case i > last:
			return false, nil // the answer to a request that gave up waiting
		case typ == unix.NLMSG_OVERRUN:
			return true, errors.New("netlink answer overran the receive buffer")
		case typ != unix.NLMSG_ERROR:
			return false, nil
		}
		if errno := replyErrno(data); errno != 0 {
			errs[i] = errno
		}
		return i == last, nil
	})
	if err != nil {
		// An answer was lost, and with it which of the requests not yet
		// answered took effect.
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%d netlink requests: %w", len(errs), err)
			}
		}
	}
}

// op appends op, a change to a service or destination, as one generic
// netlink message with sequence number seq.
func (e *encoder) op(family uint16, seq uint32, op *Op) {
	cmd, _ := command(op.Kind)
	start := e.Message(family, unix.NLM_F_REQUEST, seq, cmd)
	switch op.Kind {
	case AddService, UpdateService:
		e.service(&op.Service)
	default:
		e.serviceKey(&op.Service)
	}
	switch op.Kind {
	case AddDestination, UpdateDestination, DeleteDestination:
		e.destination(&op.Destination)
	}
	e.EndMessage(start)
}
