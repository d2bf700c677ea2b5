package vrrp

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// IsKernel reports whether the kernel's route k is rt, as keepalived's
// route_is_ours finds it: by table, family, destination and tos.
func (rt Route) IsKernel(k netlink.Route) bool {
	if k.Tos != 0 || !sameTable(rt.Table, k.Table) {
		return false
	}
	if k.Dst != nil {
		a, ok := netip.AddrFromSlice(k.Dst.IP)
		if !ok {
			return false
		}
		bits, _ := k.Dst.Mask.Size()
		return rt.Dst == netip.PrefixFrom(a.Unmap(), bits)
	}
	// A default route has no destination attribute.
	return rt.Dst.Bits() == 0 && rt.Dst.Addr().Is4() == (k.Family == unix.AF_INET)
}

// sameTable reports whether a route of table configured is in the kernel's
// table got: zero is main.
func sameTable(configured, got int) bool {
	if configured == 0 {
		configured = unix.RT_TABLE_MAIN
	}
	return configured == got
}

// A DeletedRule is what a RTM_DELRULE message says of the rule deleted,
// to find it among the configured ones as keepalived's compare_rule
// does.
type DeletedRule struct {
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

// ParseDeletedRule reads a RTM_DELRULE message's fib_rule_hdr and its
// attributes.
func ParseDeletedRule(b []byte) (DeletedRule, bool) {
	const hdrLen = 12 // struct fib_rule_hdr
	if len(b) < hdrLen {
		return DeletedRule{}, false
	}
	d := DeletedRule{family: b[0], tos: b[3], table: int(b[4]), action: b[7],
		invert: binary.NativeEndian.Uint32(b[8:12])&netlink.FibRuleInvert != 0}
	dstLen, srcLen := int(b[1]), int(b[2])
	attrs, err := nl.ParseRouteAttr(b[hdrLen:])
	if err != nil {
		return DeletedRule{}, false
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

// Ours reports whether the rule could be one of keepalived's: one the
// kernel gives a protocol must have keepalived's.
func (d DeletedRule) Ours() bool { return !d.hasProto || d.protocol == RouteProtocol }

// Is reports whether d is ru, as keepalived's compare_rule decides.
func (d DeletedRule) Is(ru Rule) bool {
	family := uint8(unix.AF_INET)
	if ru.Is6() {
		family = unix.AF_INET6
	}
	table := 0
	if ru.Action == RuleToTable {
		table = cmp.Or(ru.Table, unix.RT_TABLE_MAIN)
	}
	mask := uint32(0xffffffff)
	if ru.HasFwMask {
		mask = ru.FwMask
	}
	switch {
	case d.family != family, !d.hasPrio || d.priority != ru.Priority, d.action != uint8(ru.Action),
		d.action == uint8(RuleGoto) && d.gotoPrio != ru.Goto, d.table != table, d.invert != ru.Invert,
		d.src.Masked() != ru.From.Masked(), d.dst.Masked() != ru.To.Masked(),
		d.tos != ru.Tos, d.hasMark != ru.HasFwmark, d.hasMark && d.fwmark != ru.Fwmark,
		d.hasMask && d.fwmask != mask, d.iif != ru.Iif, d.oif != ru.Oif:
		return false
	}
	return true
}

// A deletion is a route of keepalived's protocol or a rule the kernel
// reports deleted: one of them is set.
type deletion struct {
	route *netlink.Route
	rule  *DeletedRule
}

// subscribeDeletions reports the routes of keepalived's protocol and the
// rules deleted until done is closed; the channel closes when either
// subscription fails.
func (h *host) subscribeDeletions(ctx context.Context, done <-chan struct{}) (<-chan deletion, error) {
	routes := make(chan netlink.RouteUpdate, 16)
	failed := make(chan struct{})
	var fail sync.Once
	stop := func() { fail.Do(func() { close(failed) }) }
	// The route subscription ends with failed too, for when the rule
	// socket is the one lost.
	routeDone := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-failed:
		}
		close(routeDone)
	}()
	if err := netlink.RouteSubscribeWithOptions(routes, routeDone, netlink.RouteSubscribeOptions{
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				h.log.Errorf("netlink route subscription: %v", err)
			}
		},
	}); err != nil {
		stop()
		return nil, fmt.Errorf("subscribing to route changes: %w", err)
	}
	// netlink has no rule subscription: the messages are read from a
	// socket of the rule groups.
	sock, err := nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		stop()
		return nil, fmt.Errorf("subscribing to rule changes: %w", err)
	}
	out := make(chan deletion, 16)
	send := func(d deletion) bool {
		select {
		case out <- d:
			return true
		case <-done:
			return false
		case <-failed:
			return false
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer stop()
		for u := range routes {
			if u.Type != unix.RTM_DELROUTE || u.Protocol != RouteProtocol {
				continue
			}
			if !send(deletion{route: &u.Route}) {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer stop()
		for {
			msgs, _, err := sock.Receive()
			if err != nil {
				if ctx.Err() == nil {
					h.log.Errorf("netlink rule subscription: %v", err)
				}
				return
			}
			for _, m := range msgs {
				if m.Header.Type != unix.RTM_DELRULE {
					continue
				}
				if d, ok := ParseDeletedRule(m.Data); ok && d.Ours() {
					if !send(deletion{rule: &d}) {
						return
					}
				}
			}
		}
	}()
	go func() {
		// A socket read does not see done: closing it ends the read.
		select {
		case <-done:
		case <-failed:
		}
		sock.Close()
	}()
	go func() {
		wg.Wait()
		close(out)
	}()
	return out, nil
}
