package vrrpd

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/vrrp"
)

// staticResubscribe is the pause before a lost netlink subscription of
// the static entries' watch is made again.
const staticResubscribe = time.Second

// watch follows the deletions of static entries that keepalived restores:
// those of addresses without no_track, and those of tracked routes and
// rules of a family whose deletions keepalived hears (staticSet's
// watchRoutes4 and the like). It runs until stop or ctx ends it.
func (s *statics) watch(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx == nil {
		return
	}
	set := s.set
	addrs := slices.ContainsFunc(set.addrs, func(v vrrp.VIP) bool { return !v.NoTrack })
	routes := slices.ContainsFunc(set.routes, func(r staticRoute) bool {
		return !r.noTrack && (r.route.Dst.Addr().Is4() && set.watchRoutes4 || r.route.Dst.Addr().Is6() && set.watchRoutes6)
	})
	rules := slices.ContainsFunc(set.rules, func(r staticRule) bool {
		return !r.noTrack && (!r.rule.Is6() && set.watchRules4 || r.rule.Is6() && set.watchRules6)
	})
	if !addrs && !routes && !rules {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	s.stopWatch = cancel
	if addrs {
		s.follow(ctx, "static address", s.watchAddrs)
	}
	if routes {
		s.follow(ctx, "static route", s.watchRoutes)
	}
	if rules {
		s.follow(ctx, "static rule", s.watchRules)
	}
}

// follow runs run until ctx ends, subscribing again when its subscription
// is lost.
func (s *statics) follow(ctx context.Context, what string, run func(ctx context.Context) error) {
	s.watching.Add(1)
	go func() {
		defer s.watching.Done()
		for ctx.Err() == nil {
			err := run(ctx)
			if ctx.Err() != nil {
				return
			}
			s.log.Errorf("netlink %s subscription lost: %v; subscribing again", what, err)
			select {
			case <-ctx.Done():
			case <-time.After(staticResubscribe):
			}
		}
	}()
}

// watchAddrs restores the static addresses deleted until ctx ends, as
// keepalived's reinstate_static_address does.
func (s *statics) watchAddrs(ctx context.Context) error {
	ch := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribeWithOptions(ch, ctx.Done(), netlink.AddrSubscribeOptions{}); err != nil {
		return fmt.Errorf("subscribing to address changes: %w", err)
	}
	for u := range ch {
		if u.NewAddr || ctx.Err() != nil {
			continue
		}
		a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
		if !ok {
			continue
		}
		s.addressDeleted(u.LinkIndex, a.Unmap())
	}
	return fmt.Errorf("address subscription closed")
}

// findStatic returns the first entry of list that match takes, both
// given the static set under s.mu.
func findStatic[T any](s *statics, list func(staticSet) []T, match func(staticSet, T) bool) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := list(s.set)
	if i := slices.IndexFunc(l, func(v T) bool { return match(s.set, v) }); i >= 0 {
		return l[i], true
	}
	var zero T
	return zero, false
}

// addressDeleted restores the static address addr of interface ifindex,
// unless it is no_track.
func (s *statics) addressDeleted(ifindex int, addr netip.Addr) {
	v, ok := findStatic(s, func(set staticSet) []vrrp.VIP { return set.addrs }, func(_ staticSet, v vrrp.VIP) bool {
		if v.NoTrack || v.Prefix.Addr() != addr {
			return false
		}
		link, err := s.nl.LinkByName(v.Device)
		return err == nil && link.Attrs().Index == ifindex
	})
	if !ok {
		return
	}
	s.logErr(vrrp.NewAddressSet(s.nl, v.Device, []vrrp.VIP{v}).Add())
	s.log.Infof("Restoring deleted static address %s", addressText(v))
}

// watchRoutes restores the static routes deleted until ctx ends, as
// keepalived's reinstate_static_route does.
func (s *statics) watchRoutes(ctx context.Context) error {
	ch := make(chan netlink.RouteUpdate, 64)
	if err := netlink.RouteSubscribeWithOptions(ch, ctx.Done(), netlink.RouteSubscribeOptions{}); err != nil {
		return fmt.Errorf("subscribing to route changes: %w", err)
	}
	for u := range ch {
		if u.Type != unix.RTM_DELROUTE || u.Protocol != vrrp.RouteProtocol || ctx.Err() != nil {
			continue
		}
		s.routeDeleted(u.Route)
	}
	return fmt.Errorf("route subscription closed")
}

// routeDeleted restores the static route r was, found as keepalived's
// route_is_ours finds it: by table, family, destination and tos.
func (s *statics) routeDeleted(r netlink.Route) {
	dst := netip.Prefix{}
	if r.Dst != nil {
		if a, ok := netip.AddrFromSlice(r.Dst.IP); ok {
			bits, _ := r.Dst.Mask.Size()
			dst = netip.PrefixFrom(a.Unmap(), bits)
		}
	}
	sr, ok := findStatic(s, func(set staticSet) []staticRoute { return set.routes }, func(set staticSet, sr staticRoute) bool {
		rt := sr.route
		switch {
		case sr.noTrack, r.Tos != 0, !sameTable(rt.Table, r.Table),
			!(rt.Dst.Addr().Is4() && set.watchRoutes4 || rt.Dst.Addr().Is6() && set.watchRoutes6):
			return false
		case dst.IsValid():
			return rt.Dst == dst
		}
		// A default route has no destination attribute.
		return rt.Dst.Bits() == 0 && rt.Dst.Addr().Is4() == (r.Family == unix.AF_INET)
	})
	if !ok {
		return
	}
	rt := sr.route
	s.logErr(vrrp.NewRouteSet(s.nl, []vrrp.Route{rt}).Add())
	s.log.Infof("Restoring deleted static route %s", routeText(rt))
}

// sameTable reports whether a route of table configured is in the kernel's
// table got: zero is main.
func sameTable(configured, got int) bool {
	if configured == 0 {
		configured = unix.RT_TABLE_MAIN
	}
	return configured == got
}

// watchRules restores the static rules deleted until ctx ends, as
// keepalived's reinstate_static_rule does. netlink has no rule
// subscription: the messages are read from a socket of the rule groups.
func (s *statics) watchRules(ctx context.Context) error {
	sock, err := nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		return fmt.Errorf("subscribing to rule changes: %w", err)
	}
	stop := context.AfterFunc(ctx, sock.Close)
	defer func() {
		if stop() {
			sock.Close()
		}
	}()
	for {
		msgs, _, err := sock.Receive()
		if err != nil {
			return fmt.Errorf("reading rule changes: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_DELRULE || ctx.Err() != nil {
				continue
			}
			if ru, ok := parseRuleMsg(m.Data); ok {
				s.ruleDeleted(ru)
			}
		}
	}
}

// deletedRule is what a RTM_DELRULE message says of the rule, to find it
// as keepalived's compare_rule does.
type deletedRule struct {
	family   uint8
	action   uint8
	invert   bool
	tos      uint8
	table    int
	priority int
	hasPrio  bool
	src, dst netip.Prefix
	protocol uint8
	hasProto bool
	fwmark   uint32
	hasMark  bool
	fwmask   uint32
	hasMask  bool
	iif, oif string
	gotoPrio int
}

// parseRuleMsg reads a fib_rule_hdr and its attributes.
func parseRuleMsg(b []byte) (deletedRule, bool) {
	const hdrLen = 12 // struct fib_rule_hdr
	if len(b) < hdrLen {
		return deletedRule{}, false
	}
	d := deletedRule{family: b[0], tos: b[3], table: int(b[4]), action: b[7],
		invert: binary.NativeEndian.Uint32(b[8:12])&netlink.FibRuleInvert != 0}
	dstLen, srcLen := int(b[1]), int(b[2])
	attrs, err := nl.ParseRouteAttr(b[hdrLen:])
	if err != nil {
		return deletedRule{}, false
	}
	u32 := func(v []byte) uint32 {
		if len(v) < 4 {
			return 0
		}
		return binary.NativeEndian.Uint32(v)
	}
	prefix := func(v []byte, bits int) netip.Prefix {
		a, ok := netip.AddrFromSlice(v)
		if !ok {
			return netip.Prefix{}
		}
		return netip.PrefixFrom(a, bits)
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case nl.FRA_PRIORITY:
			d.priority, d.hasPrio = int(u32(a.Value)), true
		case nl.FRA_TABLE:
			d.table = int(u32(a.Value))
		case nl.FRA_SRC:
			d.src = prefix(a.Value, srcLen)
		case nl.FRA_DST:
			d.dst = prefix(a.Value, dstLen)
		case nl.FRA_FWMARK:
			d.fwmark, d.hasMark = u32(a.Value), true
		case nl.FRA_FWMASK:
			d.fwmask, d.hasMask = u32(a.Value), true
		case nl.FRA_IIFNAME:
			d.iif = cString(a.Value)
		case nl.FRA_OIFNAME:
			d.oif = cString(a.Value)
		case nl.FRA_GOTO:
			d.gotoPrio = int(u32(a.Value))
		case nl.FRA_PROTOCOL:
			if len(a.Value) > 0 {
				d.protocol, d.hasProto = a.Value[0], true
			}
		}
	}
	return d, true
}

// cString is a NUL-terminated attribute as a string.
func cString(b []byte) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// matches reports whether d is ru, as keepalived's compare_rule decides.
func (d deletedRule) matches(ru vrrp.Rule) bool {
	family := uint8(unix.AF_INET)
	if ru.Is6() {
		family = unix.AF_INET6
	}
	table := 0
	if ru.Action == vrrp.RuleToTable {
		table = cmp.Or(ru.Table, unix.RT_TABLE_MAIN)
	}
	mask := uint32(0xffffffff)
	if ru.HasFwMask {
		mask = ru.FwMask
	}
	switch {
	case d.family != family, !d.hasPrio || d.priority != ru.Priority, d.action != uint8(ru.Action),
		d.action == uint8(vrrp.RuleGoto) && d.gotoPrio != ru.Goto, d.table != table, d.invert != ru.Invert,
		d.src.Masked() != ru.From.Masked(), d.dst.Masked() != ru.To.Masked(),
		d.tos != ru.Tos, d.hasMark != ru.HasFwmark, d.hasMark && d.fwmark != ru.Fwmark,
		d.hasMask && d.fwmask != mask, d.iif != ru.Iif, d.oif != ru.Oif:
		return false
	}
	return true
}

// ruleDeleted restores the static rule d was, unless it is no_track or of
// a family keepalived does not hear of.
func (s *statics) ruleDeleted(d deletedRule) {
	if d.hasProto && d.protocol != vrrp.RouteProtocol {
		// Not one of keepalived's tracked rules.
		return
	}
	sr, ok := findStatic(s, func(set staticSet) []staticRule { return set.rules }, func(set staticSet, sr staticRule) bool {
		v6 := sr.rule.Is6()
		return !sr.noTrack && (v6 && set.watchRules6 || !v6 && set.watchRules4) && d.matches(sr.rule)
	})
	if !ok {
		return
	}
	ru := sr.rule
	s.logErr(vrrp.NewRuleSet(s.nl, []vrrp.Rule{ru}).Add())
	s.log.Infof("Restoring deleted static rule %s", ru)
}
