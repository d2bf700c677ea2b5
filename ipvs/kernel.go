package ipvs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	mobyipvs "github.com/moby/ipvs"
	"github.com/vishvananda/netlink/nl"
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

// socketTimeout bounds each request on the handle's own socket.
const socketTimeout = 10 * time.Second

// A Handle programs the IPVS table of one network namespace over generic
// netlink.
type Handle struct {
	// h reads the services and the timeouts, and flushes.
	h *mobyipvs.Handle

	// conn carries every change to services and destinations, the
	// destination reads and the sync daemon commands.
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
	sock, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("opening generic netlink socket: %w", err)
	}
	h, err := mobyipvs.New(nsPath)
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("opening IPVS netlink socket: %w", err)
	}
	c, err := newConn(sock)
	if err != nil {
		h.Close()
		sock.Close()
		return nil, err
	}
	return &Handle{h: h, conn: c}, nil
}

// Close releases the handle's netlink sockets.
func (h *Handle) Close() error {
	h.h.Close()
	return h.conn.close()
}

// Services implements Kernel.
func (h *Handle) Services() ([]Service, error) {
	ks, err := h.h.GetServices()
	if err != nil {
		return nil, fmt.Errorf("listing IPVS services: %w", err)
	}
	out := make([]Service, 0, len(ks))
	for _, k := range ks {
		s, err := fromKernelService(k)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// LookupService implements LookupKernel.
func (h *Handle) LookupService(s Service) (Service, bool, error) {
	k, err := h.h.GetService(toKernelService(&s))
	switch {
	case errors.Is(err, unix.ESRCH):
		// The kernel's answer for a service it does not have.
		return Service{}, false, nil
	case err != nil:
		return Service{}, false, err
	}
	have, err := fromKernelService(k)
	if err != nil {
		return Service{}, false, err
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
func (h *Handle) Flush() error { return h.h.Flush() }

// SetTimeouts implements Kernel.
func (h *Handle) SetTimeouts(t Timeouts) error {
	return h.h.SetConfig(&mobyipvs.Config{TimeoutTCP: t.TCP, TimeoutTCPFin: t.TCPFin, TimeoutUDP: t.UDP})
}

// Timeouts implements Kernel.
func (h *Handle) Timeouts() (Timeouts, error) {
	c, err := h.h.GetConfig()
	if err != nil {
		return Timeouts{}, fmt.Errorf("reading IPVS timeouts: %w", err)
	}
	return Timeouts{TCP: c.TimeoutTCP, TCPFin: c.TimeoutTCPFin, UDP: c.TimeoutUDP}, nil
}

func toKernelService(s *Service) *mobyipvs.Service {
	k := &mobyipvs.Service{
		AddressFamily: uint16(s.family()),
		SchedName:     s.Scheduler,
		Flags:         uint32(s.Flags &^ flagHashed),
		Timeout:       uint32(s.Timeout / time.Second),
		Netmask:       s.netmaskBits(),
	}
	if s.FWMark != 0 {
		k.FWMark = s.FWMark
		return k
	}
	k.Address = net.IP(s.Addr.Addr().AsSlice())
	k.Port = s.Addr.Port()
	k.Protocol = uint16(s.Protocol)
	return k
}

func fromKernelService(k *mobyipvs.Service) (Service, error) {
	s := Service{
		Family:    Family(k.AddressFamily),
		FWMark:    k.FWMark,
		Scheduler: k.SchedName,
		Flags:     ServiceFlags(k.Flags) &^ flagHashed,
		Timeout:   time.Duration(k.Timeout) * time.Second,
		Netmask:   netmaskFromBits(Family(k.AddressFamily), k.Netmask),
	}
	if k.FWMark == 0 {
		a, ok := netip.AddrFromSlice(k.Address)
		if !ok {
			return Service{}, fmt.Errorf("reading IPVS service: bad address %v", k.Address)
		}
		s.Addr = netip.AddrPortFrom(a.Unmap(), k.Port)
		s.Protocol = Protocol(k.Protocol)
		s.Family = 0
	}
	return s, nil
}
