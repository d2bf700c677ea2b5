package vrrpd

import (
	"context"
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
		return !r.route.NoTrack && (r.route.Dst.Addr().Is4() && set.watchRoutes4 || r.route.Dst.Addr().Is6() && set.watchRoutes6)
	})
	rules := slices.ContainsFunc(set.rules, func(r staticRule) bool {
		return !r.rule.NoTrack && (!r.rule.Is6() && set.watchRules4 || r.rule.Is6() && set.watchRules6)
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
// route_is_ours finds it.
func (s *statics) routeDeleted(r netlink.Route) {
	sr, ok := findStatic(s, func(set staticSet) []staticRoute { return set.routes }, func(set staticSet, sr staticRoute) bool {
		rt := sr.route
		v4 := rt.Dst.Addr().Is4()
		return !sr.route.NoTrack && (v4 && set.watchRoutes4 || !v4 && set.watchRoutes6) && rt.IsKernel(r)
	})
	if !ok {
		return
	}
	rt := sr.route
	s.logErr(vrrp.NewRouteSet(s.nl, []vrrp.Route{rt}).Add())
	s.log.Infof("Restoring deleted static route %s", routeText(rt))
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
			if ru, ok := vrrp.ParseDeletedRule(m.Data); ok {
				s.ruleDeleted(ru)
			}
		}
	}
}

// ruleDeleted restores the static rule d was, unless it is no_track or of
// a family keepalived does not hear of.
func (s *statics) ruleDeleted(d vrrp.DeletedRule) {
	if !d.Ours() {
		// Not one of keepalived's tracked rules.
		return
	}
	sr, ok := findStatic(s, func(set staticSet) []staticRule { return set.rules }, func(set staticSet, sr staticRule) bool {
		v6 := sr.rule.Is6()
		return !sr.rule.NoTrack && (v6 && set.watchRules6 || !v6 && set.watchRules4) && d.Is(sr.rule)
	})
	if !ok {
		return
	}
	ru := sr.rule
	s.logErr(vrrp.NewRuleSet(s.nl, []vrrp.Rule{ru}).Add())
	s.log.Infof("Restoring deleted static rule %s", ru)
}
