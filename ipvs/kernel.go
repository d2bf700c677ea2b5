package ipvs

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Kernel is the part of the IPVS netlink interface a Reconciler needs.
// *Handle implements it on the running kernel.
type Kernel interface {
	// Services returns every service in the kernel's table, without
	// destinations: those are read only for the services that matter.
	Services() ([]Service, error)
	Destinations(Service) ([]Destination, error)

	NewService(Service) error
	UpdateService(Service) error
	DelService(Service) error

	NewDestination(Service, Destination) error
	UpdateDestination(Service, Destination) error
	DelDestination(Service, Destination) error

	// Flush empties the whole table.
	Flush() error

	Timeouts() (Timeouts, error)
	SetTimeouts(Timeouts) error
}

// A LookupKernel can read one service by its key, without listing the
// table; *Handle does. ReconcileServices uses it so that its cost does not
// grow with the table, and falls back to listing every service on a Kernel
// that cannot.
type LookupKernel interface {
	// LookupService returns the kernel's copy of the service with s's
	// key, without destinations; ok is false when the table holds none.
	LookupService(s Service) (have Service, ok bool, err error)
}

// Timeouts are the kernel's connection timeouts, keepalived's lvs_timeouts.
// A zero field leaves that timeout unchanged.
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// socketTimeout bounds each request on the handle's socket.
const socketTimeout = 10 * time.Second

// A Handle programs the IPVS table of one network namespace over generic
// netlink.
type Handle struct {
	// conn carries every request: reads, changes, flushes, timeouts and
	// sync daemon commands.
	conn       *conn
	familyOnce sync.Once
	family     uint16
	familyErr  error
}

// Open returns a handle on the IPVS table of the network namespace at
// nsPath (such as /run/netns/lb1), or of the caller's namespace when nsPath
// is empty.
func Open(nsPath string) (*Handle, error) {
	ns := netns.None()
	if nsPath != "" {
		var err error
		if ns, err = netns.GetFromPath(nsPath); err != nil {
			return nil, fmt.Errorf("opening network namespace %s: %w", nsPath, err)
		}
		defer ns.Close()
	}
	fd, err := openSocket(ns)
	if err != nil {
		return nil, fmt.Errorf("opening generic netlink socket: %w", err)
	}
	return &Handle{conn: newConn(fd)}, nil
}

// Close releases the handle's netlink socket.
func (h *Handle) Close() error {
	return h.conn.close()
}

// request sends one IPVS command on the handle's socket and calls fn, if
// not nil, with the payload of each reply, valid only during the call.
func (h *Handle) request(cmd uint8, flags uint16, attrs encodeFunc, fn func(m []byte) error) error {
	family, err := h.ipvsFamily()
	if err != nil {
		return err
	}
	if fn == nil {
		fn = func([]byte) error { return nil }
	}
	return h.conn.each(family, cmd, flags, attrs, fn)
}

// Services implements Kernel.
func (h *Handle) Services() ([]Service, error) {
	var out []Service
	err := h.request(cmdGetService, unix.NLM_F_DUMP, nil, func(m []byte) error {
		s, err := parseService(m)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing IPVS services: %w", err)
	}
	return out, nil
}

// LookupService implements LookupKernel.
func (h *Handle) LookupService(s Service) (Service, bool, error) {
	var (
		have Service
		n    int
	)
	err := h.request(cmdGetService, 0, func(e *encoder) { e.serviceKey(&s) }, func(m []byte) error {
		var err error
		have, err = parseService(m)
		n++
		return err
	})
	switch {
	case errors.Is(err, unix.ESRCH):
		// The kernel's answer for a service it does not have.
		return Service{}, false, nil
	case err != nil:
		return Service{}, false, fmt.Errorf("reading IPVS service %s: %w", s, err)
	case n != 1:
		return Service{}, false, fmt.Errorf("reading IPVS service %s: %d replies", s, n)
	}
	return have, true, nil
}

// NewService implements Kernel.
func (h *Handle) NewService(s Service) error {
	return h.applyOne(Op{Kind: AddService, Service: s})
}

// UpdateService implements Kernel.
func (h *Handle) UpdateService(s Service) error {
	return h.applyOne(Op{Kind: UpdateService, Service: s})
}

// DelService implements Kernel.
func (h *Handle) DelService(s Service) error {
	return h.applyOne(Op{Kind: DeleteService, Service: s})
}

// Flush implements Kernel.
func (h *Handle) Flush() error {
	if err := h.request(cmdFlush, 0, nil, nil); err != nil {
		return fmt.Errorf("flushing the IPVS table: %w", err)
	}
	return nil
}

// SetTimeouts implements Kernel.
func (h *Handle) SetTimeouts(t Timeouts) error {
	if err := h.request(cmdSetConfig, 0, func(e *encoder) { e.timeouts(&t) }, nil); err != nil {
		return fmt.Errorf("setting IPVS timeouts: %w", err)
	}
	return nil
}

// Timeouts implements Kernel.
func (h *Handle) Timeouts() (Timeouts, error) {
	var (
		t Timeouts
		n int
	)
	err := h.request(cmdGetConfig, 0, nil, func(m []byte) error {
		var err error
		t, err = parseTimeouts(m)
		n++
		return err
	})
	if err == nil && n != 1 {
		err = fmt.Errorf("%d replies", n)
	}
	if err != nil {
		return Timeouts{}, fmt.Errorf("reading IPVS timeouts: %w", err)
	}
	return t, nil
}
