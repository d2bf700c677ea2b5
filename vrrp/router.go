package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NetConfig is where an instance lives on the network: the parts of a
// vrrp_instance that are not the protocol's.
type NetConfig struct {
	Interface string     // interface
	Group     netip.Addr // vrrp_mcast_group4/6; zero: the default group
	Source    netip.Addr // mcast_src_ip or unicast_src_ip; zero: the interface's
	Peers     []netip.Addr
	VIPs      []VIP         // virtual_ipaddress
	Garp      time.Duration // garp_interval (gna_interval for IPv6)

	TrackInterfaces  []TrackedInterface // track_interface
	DontTrackPrimary bool               // dont_track_primary
}

// A TrackedInterface is a track_interface entry. With a zero weight the
// instance goes to FAULT while the interface is down; a positive weight is
// added to the priority while it is up, a negative one while it is down.
type TrackedInterface struct {
	Name   string
	Weight int
}

// A Router runs VRRP instances on the host's interfaces: one socket per
// interface, family and group, shared by the instances there, and FAULT
// or a priority change when an instance's interface or a tracked one
// loses carrier (netlink link notifications, not polling). Instances it
// returns from Add may be joined with NewSyncGroup before Run.
type Router struct {
	nl    *netlink.Handle
	log   logrus.FieldLogger
	clock Clock

	mu      sync.Mutex
	conns   map[connKey]*Conn
	members []*member
	running bool
}

type connKey struct {
	ifindex int
	v6      bool
	group   netip.Addr // invalid for unicast
}

type member struct {
	inst         *Instance
	ifindex      int
	trackPrimary bool
	track        []trackedLink
	net          *linkNetwork
}

type trackedLink struct {
	ifindex int
	weight  int
}

// NewRouter returns a router that manages addresses through nl (nil: the
// caller's network namespace) and logs to log.
func NewRouter(nl *netlink.Handle, log logrus.FieldLogger) *Router {
	if nl == nil {
		nl = &netlink.Handle{}
	}
	return &Router{nl: nl, log: log, clock: SystemClock(), conns: make(map[connKey]*Conn)}
}

// Add creates an instance of cfg on nc's interface, filling in what cfg
// leaves to the network: the advertised addresses (from nc.VIPs), the
// source address and Unicast.
func (r *Router) Add(cfg Config, nc NetConfig) (*Instance, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil, fmt.Errorf("adding vrrp instance %s: router already running", cfg.Name)
	}
	ifi, err := net.InterfaceByName(nc.Interface)
	if err != nil {
		return nil, fmt.Errorf("vrrp instance %s: interface %s: %w", cfg.Name, nc.Interface, err)
	}
	if len(nc.VIPs) == 0 {
		return nil, fmt.Errorf("vrrp instance %s: no VIP specified", cfg.Name)
	}
	v6 := nc.VIPs[0].Prefix.Addr().Is6()
	if cfg.Addresses == nil {
		for _, v := range nc.VIPs {
			cfg.Addresses = append(cfg.Addresses, v.Prefix.Addr())
		}
	}
	src := nc.Source
	if !src.IsValid() {
		if src, err = primaryAddress(ifi, v6, cfg.Addresses); err != nil {
			return nil, fmt.Errorf("vrrp instance %s: %w", cfg.Name, err)
		}
	}
	cfg.Primary = src
	cfg.Unicast = len(nc.Peers) > 0

	key := connKey{ifindex: ifi.Index, v6: v6}
	dsts := nc.Peers
	if !cfg.Unicast {
		key.group = nc.Group
		if !key.group.IsValid() {
			key.group = DefaultGroup4()
			if v6 {
				key.group = DefaultGroup6()
			}
		}
		dsts = []netip.Addr{key.group}
	}
	conn := r.conns[key]
	if conn == nil {
		if cfg.Unicast {
			conn, err = ListenUnicast(ifi, v6, r.log)
		} else {
			conn, err = Listen(ifi, key.group, r.log)
		}
		if err != nil {
			return nil, fmt.Errorf("vrrp instance %s: %w", cfg.Name, err)
		}
		r.conns[key] = conn
	}
	var onLink []netip.Addr
	for _, v := range nc.VIPs {
		if v.Device == "" || v.Device == ifi.Name {
			onLink = append(onLink, v.Prefix.Addr())
		}
	}
	ann, err := NewAnnouncer(cfg.Name, ifi, onLink, nc.Garp, r.log)
	if err != nil {
		return nil, fmt.Errorf("vrrp instance %s: %w", cfg.Name, err)
	}
	ln := &linkNetwork{conn: conn, src: src, dsts: dsts, addrs: NewAddressSet(r.nl, ifi.Name, nc.VIPs), ann: ann}
	inst, err := NewInstance(cfg, ln, r.clock, r.log)
	if err != nil {
		ann.Close()
		return nil, err
	}
	if err := conn.Register(cfg.VRID, inst); err != nil {
		ann.Close()
		return nil, fmt.Errorf("vrrp instance %s: %w", cfg.Name, err)
	}
	m := &member{inst: inst, ifindex: ifi.Index, trackPrimary: !nc.DontTrackPrimary, net: ln}
	for _, ti := range nc.TrackInterfaces {
		tifi, err := net.InterfaceByName(ti.Name)
		if err != nil {
			ann.Close()
			return nil, fmt.Errorf("vrrp instance %s: track_interface %s: %w", cfg.Name, ti.Name, err)
		}
		m.track = append(m.track, trackedLink{ifindex: tifi.Index, weight: ti.Weight})
	}
	r.members = append(r.members, m)
	return inst, nil
}

// primaryAddress picks the address adverts come from when none is
// configured: the interface's first IPv4 address, or its IPv6 link-local
// address as RFC 5798 section 5.1.2.1 requires.
func primaryAddress(ifi *net.Interface, v6 bool, vips []netip.Addr) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("listing addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipn.IP)
		ip = ip.Unmap()
		if slices.Contains(vips, ip) {
			continue
		}
		if (!v6 && ip.Is4()) || (v6 && ip.Is6() && ip.IsLinkLocalUnicast()) {
			return ip, nil
		}
	}
	family := "IPv4"
	if v6 {
		family = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address", ifi.Name, family)
}

// Run starts every instance and runs them until ctx is done; then masters
// send priority 0 and release their addresses before Run returns.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("vrrp router already running")
	}
	r.running = true
	r.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	links := make(chan netlink.LinkUpdate, 16)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				r.log.Errorf("netlink link subscription: %v", err)
			}
		},
	}); err != nil {
		return fmt.Errorf("subscribing to link changes: %w", err)
	}

	// The sockets outlive ctx: stopping masters still send priority 0.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	var wg sync.WaitGroup
	errc := make(chan error, len(r.conns)+1)
	for _, c := range r.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Serve(serveCtx); err != nil {
				errc <- err
				cancel()
			}
		}()
	}
	// Subscribed first, read carrier second: no change falls between.
	carrier := make(map[int]bool)
	watch := func(idx int) {
		if _, seen := carrier[idx]; !seen {
			link, err := r.nl.LinkByIndex(idx)
			carrier[idx] = err == nil && running(link.Attrs().RawFlags)
		}
	}
	for _, m := range r.members {
		watch(m.ifindex)
		for _, tl := range m.track {
			watch(tl.ifindex)
		}
		m.apply(carrier)
		if err := m.inst.Start(); err != nil {
			cancel()
			return err
		}
	}

	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case u, ok := <-links:
			if !ok {
				cancel()
				errc <- errors.New("netlink link subscription closed")
				break
			}
			idx := int(u.Index)
			up := running(u.IfInfomsg.Flags)
			was, tracked := carrier[idx]
			if !tracked || up == was {
				continue
			}
			carrier[idx] = up
			if up {
				r.log.Infof("Netlink reports %s up", u.Attrs().Name)
			} else {
				r.log.Infof("Netlink reports %s down", u.Attrs().Name)
			}
			for _, m := range r.members {
				if m.uses(idx) {
					m.apply(carrier)
				}
			}
		}
	}

	for _, m := range r.members {
		m.inst.Stop()
		m.net.ann.Close()
	}
	stopServing()
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Drops returns the counts of messages dropped by the router's sockets
// before reaching an instance; each instance counts its own in its Status.
func (r *Router) Drops() map[DropReason]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[DropReason]uint64)
	for _, c := range r.conns {
		for reason, n := range c.Drops() {
			out[reason] += n
		}
	}
	return out
}

func (m *member) uses(ifindex int) bool {
	if m.ifindex == ifindex {
		return true
	}
	for _, tl := range m.track {
		if tl.ifindex == ifindex {
			return true
		}
	}
	return false
}

// apply sets the instance's fault and priority from the carrier of its
// interface and tracked interfaces, as keepalived's track_interface does.
func (m *member) apply(carrier map[int]bool) {
	fault := m.trackPrimary && !carrier[m.ifindex]
	offset := 0
	for _, tl := range m.track {
		up := carrier[tl.ifindex]
		switch {
		case tl.weight == 0 && !up:
			fault = true
		case tl.weight > 0 && up, tl.weight < 0 && !up:
			offset += tl.weight
		}
	}
	m.inst.SetPriorityOffset(offset)
	m.inst.SetFault(fault)
}

// running reports carrier as keepalived reads it: administratively up and
// IFF_RUNNING.
func running(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}

// linkNetwork is an instance's Network on a Linux interface.
type linkNetwork struct {
	conn  *Conn
	src   netip.Addr
	dsts  []netip.Addr
	addrs *AddressSet
	ann   *Announcer
}

func (n *linkNetwork) Advertise(a *Advertisement) error {
	var errs []error
	for _, dst := range n.dsts {
		// Marshal per destination: the version 3 checksum covers it.
		b, err := a.Marshal(n.src, dst)
		if err == nil {
			err = n.conn.WriteTo(b, n.src, dst)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (n *linkNetwork) AddAddresses() error       { return n.addrs.Add() }
func (n *linkNetwork) RemoveAddresses() error    { return n.addrs.Remove() }
func (n *linkNetwork) Announce(rounds int) error { return n.ann.Announce(rounds) }
