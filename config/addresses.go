package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// addresses reads the lines of a virtual_ipaddress,
// virtual_ipaddress_excluded or static_ipaddress block:
// "ADDR[/LEN] [brd ADDR] [dev IF] [scope S] [label L] [peer ADDR] ...".
func (p *parser) addresses(lines []*node, list []Address, vrrp bool) []Address {
	for _, n := range lines {
		a, ok := p.address(n, vrrp)
		if ok {
			list = append(list, a)
		}
	}
	return list
}

func (p *parser) address(n *node, vrrp bool) (Address, bool) {
	w := n.words
	// keepalived's static addresses go through the same parser as the
	// instances' and give the same "VRRP" message.
	pfx, ok := p.ipPrefix(n.pos, w[0])
	if !ok {
		return Address{}, false
	}
	a := Address{Pos: n.pos, Prefix: pfx}
	value := func(i int) (string, bool) {
		if i+1 >= len(w) {
			p.errorf(n.pos, "%s requires a value", w[i])
			return "", false
		}
		return w[i+1], true
	}
	for i := 1; i < len(w); i++ {
		switch w[i] {
		case "brd", "broadcast":
			v, ok := value(i)
			if !ok {
				return Address{}, false
			}
			if pfx.Addr().Is6() {
				p.errorf(n.pos, "VRRP is trying to assign a broadcast %s to the IPv6 address %s !!?? WTF... skipping VIP...", w[i], w[0])
				return Address{}, false
			}
			brd, valid := parseBroadcast(v)
			if !valid {
				p.errorf(n.pos, "VRRP is trying to assign invalid broadcast %s. skipping VIP...", v)
				return Address{}, false
			}
			a.Broadcast = brd
			i++
		case "dev":
			v, ok := value(i)
			if !ok {
				p.errorf(n.pos, "VRRP parsed invalid IP dev. skipping IP...")
				return Address{}, false
			}
			a.Dev = v
			i++
		case "scope":
			v, ok := value(i)
			if !ok {
				return Address{}, false
			}
			if scope, valid := parseScope(v, p.rt); valid {
				a.Scope = scope
			} else {
				p.errorf(n.pos, "Invalid scope '%s' specified for %s - ignoring", v, w[0])
			}
			i++
		case "label":
			v, ok := value(i)
			if !ok {
				return Address{}, false
			}
			if len(v) >= 16 {
				p.errorf(n.pos, "Label '%s' is too long - ignoring", v)
			} else {
				a.Label = v
			}
			i++
		case "peer":
			v, ok := value(i)
			if !ok {
				return Address{}, false
			}
			peer, valid := parsePrefix(v)
			if !valid || peer.Addr().Is4() != pfx.Addr().Is4() {
				p.errorf(n.pos, "Invalid peer address %s", v)
				return Address{}, false
			}
			if strings.Contains(w[0], "/") {
				p.errorf(n.pos, "Cannot specify address prefix when specifying peer address - ignoring")
				a.Prefix = netip.PrefixFrom(pfx.Addr(), pfx.Addr().BitLen())
			}
			a.Peer = peer
			i++
		case "preferred_lft":
			v, ok := value(i)
			if !ok {
				return Address{}, false
			}
			if v != "forever" {
				if _, err := strconv.ParseUint(v, 10, 32); err != nil {
					p.errorf(n.pos, "Invalid preferred_lft %s", v)
					return Address{}, false
				}
			}
			a.PreferredLft = v
			i++
		case "track_group":
			v, ok := value(i)
			if !ok {
				return Address{}, false
			}
			a.TrackGroup = v
			i++
		case "home":
			a.Home = true
		case "-nodad":
			a.NoDAD = true
		case "mngtmpaddr":
			a.MngTmpAddr = true
		case "noprefixroute":
			a.NoPrefixRoute = true
		case "autojoin":
			a.AutoJoin = true
		case "no_track":
			a.NoTrack = true
		case "use_vmac":
			a.UseVMAC = true
		default:
			p.errorf(n.pos, "Unknown configuration entry '%s' for ip address - ignoring", w[i])
		}
	}
	if a.Broadcast.Kind != BroadcastNone && a.Peer.IsValid() {
		p.errorf(n.pos, "Cannot specify broadcast and peer addresses - ignoring broadcast address")
		a.Broadcast = Broadcast{}
	}
	if (a.Broadcast.Kind == BroadcastOnes || a.Broadcast.Kind == BroadcastZeros) && a.Prefix.Bits() > 30 {
		p.errorf(n.pos, "Address prefix length %d too long for broadcast", a.Prefix.Bits())
	}
	if pfx.Addr().Is6() && a.Scope != ScopeGlobal {
		p.errorf(n.pos, "Cannot specify scope for IPv6 addresses (%s) - ignoring scope", w[0])
		a.Scope = ScopeGlobal
	}
	if !vrrp {
		// The daemon installs a static address with the options of a
		// virtual one; these it takes but does not apply.
		for _, o := range []struct {
			set  bool
			name string
		}{
			{a.TrackGroup != "", "track_group"}, {a.UseVMAC, "use_vmac"}, {a.NoDAD && pfx.Addr().Is4(), "nodad"},
		} {
			if o.set {
				p.d.unimplemented(n.pos, "static_ipaddress option "+o.name)
			}
		}
	}
	return a, true
}

// routes reads the lines of a virtual_routes or static_routes block.
// Routes are tracked unless they say no_track, which needs an interface.
func (p *parser) routes(lines []*node, list []Route, vrrp bool) []Route {
	for _, n := range lines {
		r, ok := p.route(n)
		if !ok {
			continue
		}
		if r.Dev == "" && !r.NoTrack {
			p.errorf(n.pos, "Warning - cannot track route %s with no interface specified, not tracking", r.To)
			r.NoTrack = true
		}
		list = append(list, r)
	}
	return list
}

func (p *parser) route(n *node) (Route, bool) {
	w := n.words
	r := Route{Pos: n.pos}
	haveDest := false
	addr := func(i int, dst *netip.Addr) bool {
		if i+1 >= len(w) {
			p.errorf(n.pos, "Route %s requires a value", w[i])
			return false
		}
		a, ok := parseAddr(w[i+1])
		if !ok {
			p.errorf(n.pos, "Invalid route %s address %s", w[i], w[i+1])
			return false
		}
		*dst = a
		return true
	}
	protoSet, isDefault := false, false
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "src":
			if !addr(i, &r.Src) {
				return Route{}, false
			}
			i++
		case "via", "gw":
			if w[i] == "gw" {
				p.errorf(n.pos, "\"gw\" for routes is deprecated. Please use \"via\"")
			}
			if !addr(i, &r.Via) {
				return Route{}, false
			}
			i++
		case "or":
			if len(r.OrVia) == 0 {
				p.errorf(n.pos, "\"or\" for routes is deprecated. Please use \"nexthop\"")
			}
			var a netip.Addr
			if !addr(i, &a) {
				return Route{}, false
			}
			r.OrVia = append(r.OrVia, a)
			i++
		case "to":
			continue
		case "dev", "oif", "table", "scope", "protocol":
			if i+1 >= len(w) {
				p.errorf(n.pos, "Route %s requires a value", w[i])
				return Route{}, false
			}
			v := w[i+1]
			switch w[i] {
			case "dev", "oif":
				r.Dev = v
			case "table":
				t, ok := parseTable(v, p.rt)
				if !ok {
					p.errorf(n.pos, "Routing table %s not found for route", v)
					return Route{}, false
				}
				r.Table = t
			case "scope":
				s, ok := parseScope(v, p.rt)
				if !ok {
					p.errorf(n.pos, "Scope %s not found or invalid for route", v)
					return Route{}, false
				}
				r.Scope = s
			case "protocol":
				proto, ok := parseRouteProtocol(v, p.rt)
				if !ok {
					p.errorf(n.pos, "Protocol %s not found or invalid for route", v)
					return Route{}, false
				}
				r.Protocol, protoSet = proto, true
			}
			i++
		case "metric", "priority", "preference":
			if i+1 >= len(w) {
				p.errorf(n.pos, "Route %s requires a value", w[i])
				return Route{}, false
			}
			v, ok := p.uintValue(n.pos, w[i+1], 0, math.MaxUint32)
			if !ok {
				return Route{}, false
			}
			r.Metric = int(v)
			i++
		case "no_track":
			r.NoTrack = true
		case "onlink":
			r.OnLink = true
		case "pervasive", "ttl-propagate":
			r.Options = append(r.Options, w[i])
		case "mtu", "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh", "realms",
			"rto_min", "initcwnd", "initrwnd", "features", "quickack", "congctl", "pref",
			"fastopen_no_cookie", "hoplimit", "expires", "nexthop", "encap", "tos", "dsfield", "track_group":
			r.Options = append(r.Options, w[i])
			if i+1 < len(w) {
				r.Options = append(r.Options, w[i+1])
				i++
			}
		default:
			// As in keepalived, a route type is the word before the
			// destination.
			if t, ok := parseRouteType(w[i]); ok && i+1 < len(w) {
				if t > RouteXResolve {
					p.warnf(n.pos, "Route type %s is not one the kernel has - ignoring route", w[i])
					return Route{}, false
				}
				if t == RouteNAT || t == RouteXResolve {
					p.warnf(n.pos, "The kernel refuses %s routes: installing route %s will fail", t, w[i+1])
				}
				r.Type = t
				i++
			}
			if haveDest {
				p.errorf(n.pos, "Unknown route parameter %s", w[i])
				return Route{}, false
			}
			dest := w[i]
			if dest == "default" {
				// Of the family of the gateway or source, as
				// keepalived's; IPv4 when the route has neither.
				dest, isDefault = "0.0.0.0/0", true
			}
			pfx, ok := parsePrefix(dest)
			if !ok {
				p.errorf(n.pos, "Invalid route destination %s", w[i])
				return Route{}, false
			}
			r.To, haveDest = pfx.Masked(), true
		}
	}
	if !haveDest {
		p.errorf(n.pos, "Route must have a destination")
		return Route{}, false
	}
	if isDefault && (r.Via.Is6() || r.Src.Is6() || len(r.OrVia) > 0 && r.OrVia[0].Is6()) {
		r.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	if !r.NoTrack && protoSet && r.Protocol != RouteProtocolKeepalived {
		p.errorf(n.pos, "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(%d), resetting protocol", RouteProtocolKeepalived)
		r.Protocol = RouteProtocolKeepalived
	}
	p.unappliedOptions(n.pos, "route", r.Options)
	return r, true
}

// unappliedOptions reports the options of a route or rule line that the
// daemon takes but does not install: the words of opts that are not the
// values of the one before.
func (p *parser) unappliedOptions(pos Pos, what string, opts []string) {
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		p.d.unimplemented(pos, what+" option "+o)
		if !flagOption(o) {
			i++
		}
	}
}

// flagOption reports whether a route or rule option stands alone, with
// no value after it.
func flagOption(o string) bool {
	switch o {
	case "pervasive", "ttl-propagate", "invert":
		return true
	}
	return false
}

// rules reads the lines of a virtual_rules or static_rules block.
func (p *parser) rules(lines []*node, list []Rule) []Rule {
	for _, n := range lines {
		r, ok := p.rule(n)
		if !ok {
			continue
		}
		if r.Priority == 0 {
			// keepalived counts down from 16384 for every rule, static or
			// virtual, that sets no preference.
			if p.rulePriority == 0 {
				p.rulePriority = 16384
			}
			r.Priority = p.rulePriority
			p.errorf(n.pos, "Rule has no preference specified - setting to %d. This is probably not what you want.", r.Priority)
			p.rulePriority--
		}
		list = append(list, r)
	}
	return list
}

func (p *parser) rule(n *node) (Rule, bool) {
	w := n.words
	r := Rule{Pos: n.pos}
	// acted is whether the rule has its action yet: a table, goto, nop,
	// blackhole, unreachable, prohibit or l3mdev.
	acted := false
	protoSet := false
	act := func(keyword string) bool {
		if acted {
			// keepalived names l3mdev only where it checks an action word.
			if keyword == "table" || keyword == "lookup" {
				p.errorf(n.pos, "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule")
			} else {
				p.errorf(n.pos, "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule")
			}
			return false
		}
		acted = true
		return true
	}
	for i := 0; i < len(w); i++ {
		needValue := func() bool {
			if i+1 >= len(w) {
				p.errorf(n.pos, "Rule %s requires a value", w[i])
				return false
			}
			return true
		}
		switch w[i] {
		case "from", "to":
			if !needValue() {
				return Rule{}, false
			}
			var pfx netip.Prefix
			if (w[i+1] == "all" || w[i+1] == "default" || w[i+1] == "any") && r.IPv6 {
				// keepalived's "all" is an IPv4 address.
				p.errorf(n.pos, "rule specification has mixed IPv4 and IPv6")
				return Rule{}, false
			}
			if w[i+1] != "all" && w[i+1] != "default" && w[i+1] != "any" {
				var ok bool
				if pfx, ok = p.ipPrefix(n.pos, w[i+1]); !ok {
					p.errorf(n.pos, "Invalid rule %s address %s", w[i], w[i+1])
					return Rule{}, false
				}
			}
			if w[i] == "from" {
				r.From = pfx
			} else {
				r.To = pfx
			}
			i++
		case "table", "lookup":
			if !needValue() {
				return Rule{}, false
			}
			t, ok := parseTable(w[i+1], p.rt)
			if !ok {
				p.errorf(n.pos, "Routing table %s not found for rule", w[i+1])
				return Rule{}, false
			}
			if t == TableUnspec {
				p.errorf(n.pos, "Table 0 is not valid")
				return Rule{}, false
			}
			if !act(w[i]) {
				return Rule{}, false
			}
			r.Table, r.Action = t, RuleToTable
			i++
		case "priority", "preference", "prio", "pref":
			if !needValue() {
				return Rule{}, false
			}
			v, ok := p.uintValue(n.pos, w[i+1], 0, math.MaxUint32)
			if !ok {
				return Rule{}, false
			}
			r.Priority = int(v)
			i++
		case "type":
			if !needValue() {
				return Rule{}, false
			}
			i++
			a, ok := parseRuleAction(w[i])
			if !ok {
				p.errorf(n.pos, "Invalid rule action %s", w[i])
				return Rule{}, false
			}
			if !act(w[i]) {
				return Rule{}, false
			}
			r.Action = a
		case "no_track":
			r.NoTrack = true
		case "not":
			r.Invert = true
		case "invert":
			r.Options = append(r.Options, w[i])
		case "inet6", "inet":
			// keepalived's alloc_rule steps over the word after
			// inet6 or inet as well.
			r.IPv6 = w[i] == "inet6"
			i++
		case "iif", "dev", "oif":
			if !needValue() {
				return Rule{}, false
			}
			if w[i] == "oif" {
				r.Oif = w[i+1]
			} else {
				r.Iif = w[i+1]
			}
			i++
		case "fwmark":
			if !needValue() {
				return Rule{}, false
			}
			m, ok := parseFwmark(w[i+1])
			if !ok {
				p.errorf(n.pos, "Invalid rule fwmark %s specified", w[i+1])
				return Rule{}, false
			}
			r.Fwmark = &m
			i++
		case "goto":
			if !needValue() {
				return Rule{}, false
			}
			if !act(w[i]) {
				return Rule{}, false
			}
			v, ok := p.uintValue(n.pos, w[i+1], 0, math.MaxUint32)
			if !ok {
				return Rule{}, false
			}
			r.Action, r.Goto = RuleGoto, int(v)
			i++
		case "protocol":
			if !needValue() {
				return Rule{}, false
			}
			i++
			v, err := strconv.ParseUint(w[i], 10, 8)
			if err != nil {
				p.errorf(n.pos, "Invalid protocol %s", w[i])
				continue
			}
			r.Protocol, protoSet = uint8(v), true
		case "tos", "dsfield", "uidrange", "ipproto", "sport", "dport",
			"realms", "suppress_prefixlength", "suppress_ifgroup", "l3mdev", "track_group":
			if !needValue() {
				return Rule{}, false
			}
			if w[i] == "l3mdev" && !act(w[i]) {
				return Rule{}, false
			}
			r.Options = append(r.Options, w[i], w[i+1])
			i++
		default:
			a, ok := parseRuleAction(w[i])
			if !ok {
				if _, isType := parseRouteType(w[i]); isType {
					p.errorf(n.pos, "Invalid rule action %s", w[i])
				} else {
					p.errorf(n.pos, "Unknown rule option %s", w[i])
				}
				return Rule{}, false
			}
			if !act(w[i]) {
				return Rule{}, false
			}
			r.Action = a
		}
	}
	if !acted {
		p.errorf(n.pos, "No action specified for rule - ignoring")
		return Rule{}, false
	}
	if !r.NoTrack {
		// A tracked rule is known by keepalived's protocol.
		if protoSet && r.Protocol != uint8(RouteProtocolKeepalived) {
			p.errorf(n.pos, "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(%d), resetting protocol", RouteProtocolKeepalived)
		}
		r.Protocol = uint8(RouteProtocolKeepalived)
	}
	p.unappliedOptions(n.pos, "rule", r.Options)
	return r, true
}

// parseFwmark reads a rule's fwmark, "MARK[/MASK]", each a number in C's
// bases, as keepalived's strtoul does.
func parseFwmark(s string) (Fwmark, bool) {
	mark, mask, hasMask := strings.Cut(s, "/")
	var m Fwmark
	v, err := strconv.ParseUint(mark, 0, 32)
	if err != nil || strings.HasPrefix(mark, "-") {
		return Fwmark{}, false
	}
	m.Mark = uint32(v)
	if hasMask {
		v, err := strconv.ParseUint(mask, 0, 32)
		if err != nil {
			return Fwmark{}, false
		}
		m.Mask, m.HasMask = uint32(v), true
	}
	return m, true
}
