package proctrack

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The process connector's constants (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc = 1 // CN_IDX_PROC, also its multicast group
	cnValProc = 1 // CN_VAL_PROC

	procCnMcastListen = 1 // PROC_CN_MCAST_LISTEN
	procCnMcastIgnore = 2 // PROC_CN_MCAST_IGNORE

	procEventNone = 0x00000000
	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventComm = 0x00000200
	procEventExit = 0x80000000

	cnMsgLen = 20 // struct cn_msg: id (idx, val), seq, ack, len, flags
)

// An event is one process connector message, decoded.
type event struct {
	what     uint32
	cpu      uint32
	seq, ack uint32
	// pid and tgid are the thread and its process; for a fork, the
	// child's, with parent the parent's process.
	pid, tgid, parent int
	comm              string
}

// connector is a subscription to the kernel's process events.
type connector struct {
	c *netlink.Conn
}

// dialConnector opens the process connector and subscribes to its events.
// In a network namespace other than the initial one the kernel has no
// connector and the subscription fails with ECONNREFUSED.
func dialConnector(rcvbuf int) (*connector, error) {
	c, err := netlink.Dial(unix.NETLINK_CONNECTOR, &netlink.Config{Groups: cnIdxProc})
	if err != nil {
		return nil, fmt.Errorf("opening process monitoring socket: %w", err)
	}
	if rcvbuf > 0 {
		if err := c.SetReadBuffer(rcvbuf); err != nil {
			c.Close()
			return nil, fmt.Errorf("setting process monitor SO_RCVBUF to %d: %w", rcvbuf, err)
		}
	}
	pc := &connector{c: c}
	if err := pc.listen(true); err != nil {
		c.Close()
		return nil, err
	}
	return pc, nil
}

// listen subscribes to the events, or ends the subscription.
func (pc *connector) listen(on bool) error {
	op := uint32(procCnMcastListen)
	if !on {
		op = procCnMcastIgnore
	}
	b := make([]byte, cnMsgLen+4)
	binary.NativeEndian.PutUint32(b[0:], cnIdxProc)
	binary.NativeEndian.PutUint32(b[4:], cnValProc)
	binary.NativeEndian.PutUint16(b[16:], 4)
	binary.NativeEndian.PutUint32(b[cnMsgLen:], op)
	_, err := pc.c.Send(netlink.Message{Header: netlink.Header{Type: netlink.Done}, Data: b})
	if err != nil {
		return fmt.Errorf("setting process event listen: %w", err)
	}
	return nil
}

// errOverflow is the socket's receive buffer having overflowed: events
// were lost.
var errOverflow = errors.New("process events lost")

// receive returns the next events; errOverflow when some were lost.
func (pc *connector) receive() ([]event, error) {
	msgs, err := pc.c.Receive()
	if err != nil {
		if errors.Is(err, unix.ENOBUFS) {
			return nil, errOverflow
		}
		return nil, fmt.Errorf("receiving process events: %w", err)
	}
	evs := make([]event, 0, len(msgs))
	for _, m := range msgs {
		if m.Header.Type == netlink.Error || m.Header.Type == netlink.Noop {
			continue
		}
		if ev, ok := decodeEvent(m.Data); ok {
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

// decodeEvent reads a cn_msg holding a struct proc_event: what, cpu and
// timestamp, then the event's data.
func decodeEvent(b []byte) (event, bool) {
	ne := binary.NativeEndian
	if len(b) < cnMsgLen+16 || ne.Uint32(b[0:]) != cnIdxProc || ne.Uint32(b[4:]) != cnValProc {
		return event{}, false
	}
	ev := event{seq: ne.Uint32(b[8:]), ack: ne.Uint32(b[12:])}
	b = b[cnMsgLen:]
	ev.what, ev.cpu = ne.Uint32(b[0:]), ne.Uint32(b[4:])
	d := b[16:]
	need := 8
	switch ev.what {
	case procEventFork:
		need = 16
	case procEventComm:
		need = 24
	}
	if len(d) < need {
		return event{}, false
	}
	switch ev.what {
	case procEventFork:
		ev.parent = int(ne.Uint32(d[4:]))
		ev.pid, ev.tgid = int(ne.Uint32(d[8:])), int(ne.Uint32(d[12:]))
	case procEventExec, procEventExit, procEventComm:
		ev.pid, ev.tgid = int(ne.Uint32(d[0:])), int(ne.Uint32(d[4:]))
		if ev.what == procEventComm {
			c := d[8:24]
			for k, x := range c {
				if x == 0 {
					c = c[:k]
					break
				}
			}
			ev.comm = string(c)
		}
	}
	return ev, true
}

// close ends the subscription and closes the socket, interrupting a
// receive.
func (pc *connector) close() error {
	pc.listen(false)
	return pc.c.Close()
}
