package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
)

// network returns p's Network on conn.
func (r *Router) network(p *plan, conn *routerConn, old *Announcer) (*linkNetwork, error) {
	// An instance whose announcements are unchanged keeps its
	// announcer, and with it the rounds it is sending.
	ann := old
	if !old.announces(p.cfg.Name, p.ifi, p.onLink, p.spec.Net.Garp) {
		var err error
		ann, err = r.host.announcers.announcer(p.cfg.Name, p.ifi, p.onLink, p.spec.Net.Garp, r.log)
		if err != nil {
			return nil, fmt.Errorf("vrrp instance %s: %w", p.cfg.Name, err)
		}
		ann.guard.parent = &r.guard
	}
	send := conn.Conn
	if p.out != nil {
		send = p.out
	}
	ln := &linkNetwork{
		conn: send, src: p.cfg.Primary, dsts: p.dsts, ann: ann,
		nl: r.host.nl, device: p.ifi.Name, vips: p.vips, routes: p.spec.Net.Routes, rules: p.spec.Net.Rules,
		addrs: NewAddressSet(r.host.nl, p.ifi.Name, p.vips), unicast: p.cfg.Unicast, ttl: -1,
	}
	if p.cfg.Unicast && p.spec.Net.HasUnicastTTL {
		ln.ttl = int(p.spec.Net.UnicastTTL)
	}
	if p.key.ah {
		ln.ahKey = []byte(p.cfg.AuthPass)
	}
	if p.spec.Net.Firewall {
		ln.fw = r.host.fw
	}
	ln.ifindex, ln.dontTrackPrimary = p.ifi.Index, p.spec.Net.DontTrackPrimary
	if p.vmac == "" {
		ln.extra = r.otherAnnouncers(p)
	}
	return ln, nil
}

// otherAnnouncers returns an announcer for each interface other than
// the instance's that VIPs are on (dev), of those VIPs: keepalived
// announces every VIP on its own interface.
func (r *Router) otherAnnouncers(p *plan) []*Announcer {
	var devs []string
	addrs := make(map[string][]netip.Addr)
	for _, v := range p.vips {
		if v.Device == "" || v.Device == p.ifi.Name {
			continue
		}
		if addrs[v.Device] == nil {
			devs = append(devs, v.Device)
		}
		addrs[v.Device] = append(addrs[v.Device], v.Prefix.Addr())
	}
	var out []*Announcer
	for _, dev := range devs {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			r.log.Warnf("(%s) announcing VIPs on %s: %v", p.cfg.Name, dev, err)
			continue
		}
		a, err := r.host.announcers.announcer(p.cfg.Name, ifi, addrs[dev], p.spec.Net.Garp, r.log)
		if err != nil {
			r.log.Warnf("(%s) announcing VIPs on %s: %v", p.cfg.Name, dev, err)
			continue
		}
		a.guard.parent = &r.guard
		out = append(out, a)
	}
	return out
}

// AnnounceExtra announces the first VIP on each other interface once,
// for garp_extra_if, as keepalived sends one per interface.
func (n *linkNetwork) AnnounceExtra() error {
	var errs []error
	for _, a := range n.extra {
		errs = append(errs, a.announce(a.addrs[:1], 1))
	}
	return errors.Join(errs...)
}

// closeExtra closes the announcers of the other interfaces.
func (n *linkNetwork) closeExtra() {
	for _, a := range n.extra {
		a.Close()
	}
	n.extra = nil
}

// linkNetwork is an instance's Network on a Linux interface.
type linkNetwork struct {
	conn   *Conn
	src    netip.Addr
	dsts   []netip.Addr
	nl     *netlink.Handle
	device string
	vips   []VIP
	routes []Route
	rules  []Rule
	addrs  *AddressSet
	ann    *Announcer
	// extra announces the VIPs on other interfaces, one announcer per
	// interface.
	extra []*Announcer
	// ahKey is the AH key (auth_pass), nil without AH; unicast leaves
	// the TTL out of its ICV.
	ahKey   []byte
	unicast bool
	// ttl is unicast_ttl for an instance with unicast peers, -1 for the
	// socket's.
	ttl int
	// fw holds the VIPs while they are on the host; nil for an instance
	// in accept mode or a router without a firewall.
	fw *firewall
	// fwHeld is set while the VIPs are this network's in fw: adding
	// twice or removing twice changes nothing, as keepalived's per
	// address nftable_rule_set.
	fwHeld           bool
	ifindex          int // device's
	dontTrackPrimary bool
}

// fwElems is vips as elements of fw's sets.
func (n *linkNetwork) fwElems(vips []VIP) ([]fwElem, error) {
	if n.fw == nil {
		return nil, nil
	}
	var elems []fwElem
	var errs []error
	for _, v := range vips {
		dev, idx := n.device, n.ifindex
		if v.Device != "" && v.Device != n.device {
			dev = v.Device
			if v.Prefix.Addr().IsLinkLocalUnicast() {
				link, err := n.nl.LinkByName(dev)
				if err != nil {
					errs = append(errs, fmt.Errorf("firewalling VIP %s on %s: %w", v.Prefix, dev, err))
					continue
				}
				idx = link.Attrs().Index
			}
		}
		// keepalived keys a link-local VIP by interface name only for
		// an instance with dont_track_primary, when the VIP is on the
		// instance's interface or is no_track.
		byName := !n.fw.cfg.Ifindex && n.dontTrackPrimary && (dev == n.device || v.NoTrack)
		elems = append(elems, fwElemOf(v.Prefix.Addr(), idx, dev, byName))
	}
	return elems, errors.Join(errs...)
}

// firewall adds vips to the firewall, or removes them.
func (n *linkNetwork) firewall(vips []VIP, add bool) error {
	if n.fw == nil || n.fwHeld == add {
		return nil
	}
	n.fwHeld = add
	elems, err := n.fwElems(vips)
	if add {
		return errors.Join(err, n.fw.add(elems))
	}
	return errors.Join(err, n.fw.remove(elems))
}

func (n *linkNetwork) Advertise(a *Advertisement) error {
	var errs []error
	for _, dst := range n.dsts {
		// Marshal per destination: the version 3 checksum covers it.
		b, err := a.Marshal(n.src, dst)
		if err == nil && n.ahKey != nil {
			// The identification is covered by the ICV: it must not
			// be 0, which the kernel would replace.
			id := uint16(a.ahSeq)
			if id == 0 {
				id = 1
			}
			b = marshalAH(b, n.src, dst, id, a.ahSeq, n.ahKey, n.unicast, n.ttl)
		}
		if err == nil {
			err = n.conn.WriteToTTL(b, n.src, dst, n.ttl)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AddAddresses firewalls the VIPs, so that none accepts a packet before
// it is, adds them, then the routes, which may depend on them, then the
// rules, as keepalived's vrrp_state_become_master does.
func (n *linkNetwork) AddAddresses() error {
	return errors.Join(n.firewall(n.vips, true), n.addrs.Add(), NewRouteSet(n.nl, n.routes).Add(),
		NewRuleSet(n.nl, n.rules).Add())
}

// RemoveAddresses removes the rules, the routes, then the VIPs, then
// their firewall elements, as keepalived's vrrp_restore_interface does.
func (n *linkNetwork) RemoveAddresses() error {
	return errors.Join(NewRuleSet(n.nl, n.rules).Remove(), NewRouteSet(n.nl, n.routes).Remove(), n.addrs.Remove(),
		n.firewall(n.vips, false))
}

func (n *linkNetwork) Announce(rounds int) error {
	errs := []error{n.ann.Announce(rounds)}
	for _, a := range n.extra {
		errs = append(errs, a.Announce(rounds))
	}
	return errors.Join(errs...)
}

// UpdateAddresses removes the rules, routes and VIPs of old that n lacks, then
// adds those new to n and announces the new VIPs; those they share stay
// untouched. Removal comes first: a VIP whose options changed is removed
// under its old ones before it is added with the new.
func (n *linkNetwork) UpdateAddresses(old Network, rounds int) error {
	o, ok := old.(*linkNetwork)
	if !ok {
		return fmt.Errorf("updating VIPs on %s: cannot take over from a %T", n.device, old)
	}
	gone := missing(o.vips, n.vips)
	added := missing(n.vips, o.vips)
	var errs []error
	if rules := missing(o.rules, n.rules); len(rules) > 0 {
		errs = append(errs, NewRuleSet(o.nl, rules).Remove())
	}
	if routes := missingFunc(o.routes, n.routes, Route.Equal); len(routes) > 0 {
		errs = append(errs, NewRouteSet(o.nl, routes).Remove())
	}
	if len(gone) > 0 {
		errs = append(errs, NewAddressSet(o.nl, o.device, gone).Remove())
	}
	// The firewall follows: the old elements that are not new ones go,
	// the new that were not old come, which also covers an instance
	// whose accept mode changed.
	var oldElems, newElems []fwElem
	if o.fwHeld {
		var err error
		oldElems, err = o.fwElems(o.vips)
		errs = append(errs, err)
	}
	if n.fw != nil {
		var err error
		newElems, err = n.fwElems(n.vips)
		errs = append(errs, err)
	}
	if drop := missing(oldElems, newElems); len(drop) > 0 {
		errs = append(errs, o.fw.remove(drop))
	}
	if add := missing(newElems, oldElems); len(add) > 0 {
		errs = append(errs, n.fw.add(add))
	}
	o.fwHeld, n.fwHeld = false, n.fw != nil
	if len(added) > 0 {
		errs = append(errs, NewAddressSet(n.nl, n.device, added).Add())
		var announce []netip.Addr
		for _, v := range added {
			if slices.Contains(n.ann.addrs, v.Prefix.Addr()) {
				announce = append(announce, v.Prefix.Addr())
			}
		}
		if len(announce) > 0 && rounds > 0 {
			errs = append(errs, n.ann.announce(announce, rounds))
		}
	}
	if routes := missingFunc(n.routes, o.routes, Route.Equal); len(routes) > 0 {
		errs = append(errs, NewRouteSet(n.nl, routes).Add())
	}
	if rules := missing(n.rules, o.rules); len(rules) > 0 {
		errs = append(errs, NewRuleSet(n.nl, rules).Add())
	}
	return errors.Join(errs...)
}

// missing returns the elements of a that b lacks.
func missing[T comparable](a, b []T) []T {
	return missingFunc(a, b, func(x, y T) bool { return x == y })
}

// missingFunc returns the elements of a that b lacks, by eq.
func missingFunc[T any](a, b []T, eq func(T, T) bool) []T {
	var out []T
	for _, v := range a {
		if !slices.ContainsFunc(b, func(w T) bool { return eq(v, w) }) {
			out = append(out, v)
		}
	}
	return out
}

var _ AddressUpdater = (*linkNetwork)(nil)
