package config

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
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
	// Device names, labels and table names are kept: the words are
	// copies (see keep).
	w := p.keepAll(n.words)
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
			if vrrp {
				p.errorf(n.pos, "Unknown configuration entry '%s' for ip address - ignoring", w[i])
				continue
			}
			v, ok := value(i)
			if !ok {
				return Address{}, false
			}
			i++
			if a.TrackGroup != "" {
				// keepalived reads no further.
				p.errorf(n.pos, "track_group %s is a duplicate", v)
				i = len(w)
				continue
			}
			a.TrackGroup = p.trackGroup(n.pos, v)
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
	if pfx.Addr().Is6() && a.Label != "" {
		p.errorf(n.pos, "Cannot specify label for IPv6 addresses (%s) - ignoring label", w[0])
		a.Label = ""
	}
	if vrrp && a.UseVMAC {
		// A VMAC of its own for an address on another interface,
		// which use_vmac_addr asks for every such address.
		p.d.unimplemented(n.pos, "virtual_ipaddress option use_vmac")
	}
	if !vrrp {
		// The daemon installs a static address with the options of a
		// virtual one; these it takes but does not apply.
		for _, o := range []struct {
			set  bool
			name string
		}{
			{a.UseVMAC, "use_vmac"}, {a.NoDAD && pfx.Addr().Is4(), "nodad"},
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
		r, ok := p.route(n, !vrrp)
		if !ok {
			continue
		}
		if r.Dev == "" && !r.NoTrack {
			p.errorf(n.pos, "Warning - cannot track route %s with no interface specified, not tracking", r.To)
			r.NoTrack = true
			// keepalived has made it its own (RTPROT_KEEPALIVED)
			// before it gives up tracking it, and installs it so.
			r.Protocol = RouteProtocolKeepalived
		}
		if r.TrackGroup != "" && r.Dev == "" {
			p.errorf(n.pos, "Static route cannot have track group if no oif specified")
			r.TrackGroup = ""
		}
		list = append(list, r)
	}
	return list
}

func (p *parser) route(n *node, static bool) (Route, bool) {
	// Device names, labels and table names are kept: the words are
	// copies (see keep).
	w := p.keepAll(n.words)
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
			p.errorf(n.pos, "\"or\" for routes is deprecated. Please use \"nexthop\"")
			if len(r.Nexthops) > 0 {
				p.errorf(n.pos, "\"or\" route already specified - ignoring subsequent")
				i++
				continue
			}
			var a netip.Addr
			if !addr(i, &a) {
				return Route{}, false
			}
			// keepalived makes the route's via and the or address
			// the two nexthops of a multipath route.
			r.Nexthops = []Nexthop{{Via: r.Via}, {Via: a}}
			r.Via = netip.Addr{}
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
			"rto_min", "initcwnd", "initrwnd", "features", "quickack", "congctl",
			"fastopen_no_cookie", "hoplimit", "tos", "dsfield":
			next, ok := p.routeOption(n, w, i, &r)
			if !ok {
				return Route{}, false
			}
			i = next
		case "nexthop":
			if len(r.Nexthops) > 0 {
				p.errorf(n.pos, "Cannot specify nexthops with \"or\" route")
				p.errorf(n.pos, "Route has trailing nonsense - %s", w[i])
				return Route{}, false
			}
			p.nexthops(n, w, i, &r)
			i = len(w)
		case "track_group":
			if !static {
				p.errorf(n.pos, "VRRP parsed invalid IP %s. skipping IP...", w[i])
				p.errorf(n.pos, "unknown route keyword %s", w[i])
				return Route{}, false
			}
			if i+1 >= len(w) {
				p.errorf(n.pos, "Route %s requires a value", w[i])
				return Route{}, false
			}
			i++
			if r.TrackGroup != "" {
				// keepalived stops there, and refuses the rest.
				p.errorf(n.pos, "track_group %s is a duplicate", w[i])
				p.errorf(n.pos, "Route has trailing nonsense - %s", w[i])
				return Route{}, false
			}
			r.TrackGroup = p.trackGroup(n.pos, w[i])
		case "add":
			r.Mode = RouteAdd
		case "append":
			r.Mode = RouteAppend
		case "prepend":
			r.Mode = RoutePrepend
		case "inet6", "inet":
			// keepalived's alloc_route steps over the word after
			// them as well.
			if v6 := w[i] == "inet6"; r.To.IsValid() && r.To.Addr().Is6() != v6 {
				p.errorf(n.pos, "%s specified for IPv%s route", w[i], map[bool]string{true: "4", false: "6"}[v6])
				return Route{}, false
			}
			i++
		case "pref", "expires", "encap":
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
			// A word keepalived does not know is a destination, which
			// replaces any before it.
			dest := w[i]
			var pfx netip.Prefix
			switch dest {
			case "default", "any", "all":
				// Of the family of the gateway or source, as
				// keepalived's; IPv4 when the route has neither.
				pfx, isDefault = netip.PrefixFrom(netip.IPv4Unspecified(), 0), true
			default:
				var ok bool
				if pfx, ok = p.ipPrefix(n.pos, dest); !ok {
					p.errorf(n.pos, "unknown route keyword %s", dest)
					return Route{}, false
				}
				isDefault = false
			}
			if haveDest && !isDefault && pfx.Addr().Is4() != r.To.Addr().Is4() {
				p.errorf(n.pos, "Cannot mix IPv4 and IPv6 addresses for route (%s)", dest)
				return Route{}, false
			}
			r.To, haveDest = pfx.Masked(), true
		}
	}
	if !haveDest {
		p.errorf(n.pos, "Route must have a destination")
		return Route{}, false
	}
	if isDefault && (r.Via.Is6() || r.Src.Is6() || len(r.Nexthops) > 0 && r.Nexthops[0].Via.Is6()) {
		r.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	if !r.NoTrack && protoSet && r.Protocol != RouteProtocolKeepalived {
		p.errorf(n.pos, "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(%d), resetting protocol", RouteProtocolKeepalived)
		r.Protocol = RouteProtocolKeepalived
	}
	if r.Realms != 0 && r.To.Addr().Is6() {
		p.errorf(n.pos, "realms are only valid for IPv4")
		return Route{}, false
	}
	if r.Metrics.Lock&^(1<<metricNumbers["mtu"]|1<<metricNumbers["rto_min"]) != 0 {
		// The netlink library locks only these two.
		p.d.unimplemented(n.pos, "route option lock (other than on mtu and rto_min)")
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
	case "pervasive", "ttl-propagate", "invert", "l3mdev":
		return true
	}
	return false
}

// rules reads the lines of a virtual_rules or static_rules block.
func (p *parser) rules(lines []*node, list []Rule, static bool) []Rule {
	for _, n := range lines {
		r, ok := p.rule(n, static)
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

func (p *parser) rule(n *node, static bool) (Rule, bool) {
	// Device names, labels and table names are kept: the words are
	// copies (see keep).
	w := p.keepAll(n.words)
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
		case "l3mdev":
			if acted {
				p.errorf(n.pos, "Cannot specify l3mdev with other action")
				return Rule{}, false
			}
			acted = true
			// The netlink library cannot send FRA_L3MDEV.
			r.Options = append(r.Options, w[i])
		case "tos", "dsfield", "uidrange", "ipproto", "sport", "dport", "tunnel-id",
			"realms", "suppress_prefixlength", "sup_pl", "suppress_ifgroup", "sup_group":
			if !needValue() {
				return Rule{}, false
			}
			if !p.ruleOption(n, w[i], w[i+1], &r) {
				return Rule{}, false
			}
			i++
		case "track_group":
			if !static {
				p.errorf(n.pos, "Unknown rule option %s", w[i])
				return Rule{}, false
			}
			if !needValue() {
				return Rule{}, false
			}
			i++
			if r.TrackGroup != "" {
				p.errorf(n.pos, "track_group %s is a duplicate", w[i])
				i = len(w)
				continue
			}
			r.TrackGroup = p.trackGroup(n.pos, w[i])
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
	if r.Realms != 0 && (r.IPv6 || r.From.Addr().Is6() || r.To.Addr().Is6()) {
		// realms made the rule IPv4 before an IPv6 address came.
		p.errorf(n.pos, "rule specification has mixed IPv4 and IPv6")
		return Rule{}, false
	}
	if (r.Realms != 0 || r.SuppressPrefixlen != nil || r.SuppressIfgroup != nil) && r.Action != RuleToTable {
		p.errorf(n.pos, "suppressor/realm specified for non table action - skipping")
		return Rule{}, false
	}
	if r.TrackGroup != "" && r.Iif == "" {
		p.errorf(n.pos, "Static rule cannot have track_group if dev/iif not specified")
		r.TrackGroup = ""
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

// routeOption reads the route option at w[i] and its value into r, as
// keepalived's alloc_route does, and returns the index of the last word
// it read.
func (p *parser) routeOption(n *node, w []string, i int, r *Route) (int, bool) {
	o := w[i]
	i++
	if i >= len(w) {
		p.errorf(n.pos, "Route %s requires a value", o)
		return i, false
	}
	m := &r.Metrics
	// lock fixes the metric: the kernel's own path MTU discovery and
	// the like leave it alone.
	lock := func() bool {
		if w[i] != "lock" {
			return true
		}
		i++
		if i >= len(w) {
			p.errorf(n.pos, "Route %s requires a value", o)
			return false
		}
		m.Lock |= 1 << metricNumbers[o]
		return true
	}
	u32 := func(dst *uint32, max uint64, msg string) bool {
		v, ok := p.uintValue(n.pos, w[i], 0, max)
		if !ok {
			p.errorf(n.pos, msg, w[i])
			return false
		}
		*dst = uint32(v)
		return true
	}
	ok := true
	switch o {
	case "tos", "dsfield":
		v, found := findRTEntry(w[i], p.rt.list("rt_dsfield", 255), nil, 255)
		if !found {
			p.errorf(n.pos, "TOS value %s is invalid", w[i])
			return i, false
		}
		r.Tos = uint8(v)
	case "realms":
		v, found := p.realms(w[i])
		if !found {
			p.errorf(n.pos, "Invalid realms %s for route", w[i])
			return i, false
		}
		r.Realms = v
	case "mtu":
		ok = lock() && u32(&m.MTU, math.MaxUint32, "Invalid MTU %s specified for route")
	case "hoplimit":
		ok = u32(&m.Hoplimit, 255, "Invalid hoplimit %s specified for route")
	case "advmss":
		ok = lock() && u32(&m.AdvMSS, math.MaxUint32, "Invalid advmss %s specified for route")
	case "rtt":
		ok = lock() && p.rtt(n.pos, w[i], &m.RTT, 8, "Invalid rtt %s for route")
	case "rttvar":
		ok = lock() && p.rtt(n.pos, w[i], &m.RTTVar, 4, "Invalid rttvar %s for route")
	case "reordering":
		ok = lock() && u32(&m.Reordering, math.MaxUint32, "Invalid reordering value %s specified for route")
	case "window":
		ok = u32(&m.Window, math.MaxUint32, "Invalid window value %s specified for route")
	case "cwnd":
		ok = lock() && u32(&m.Cwnd, math.MaxUint32, "Invalid cwnd value %s specified for route")
	case "ssthresh":
		ok = lock() && u32(&m.Ssthresh, math.MaxUint32, "Invalid ssthresh value %s specified for route")
	case "rto_min":
		ok = lock() && p.rtt(n.pos, w[i], &m.RtoMin, 1, "Invalid rto_min value %s specified for route")
	case "initcwnd":
		ok = u32(&m.InitCwnd, math.MaxUint32, "Invalid initcwnd value %s specified for route")
	case "initrwnd":
		ok = u32(&m.InitRwnd, math.MaxUint32, "Invalid initrwnd value %s specified for route")
	case "features":
		if w[i] == "ecn" {
			m.FeatureECN = true
		} else {
			p.errorf(n.pos, "feature %s not supported", w[i])
		}
	case "quickack":
		ok = u32(&m.QuickACK, 1, "Invalid quickack value %s specified for route")
	case "fastopen_no_cookie":
		ok = u32(&m.FastOpenNoCookie, 1, "Invalid fastopen_no_cookie value %s specified for route")
	case "congctl":
		if ok = lock(); ok {
			m.Congctl = w[i]
		}
	}
	return i, ok
}

// rtt reads a round trip time as keepalived's get_time_rtt does: a
// number in the kernel's units of 1/unit ms, or with s, sec, secs or ms
// after it a time, which it multiplies out; both held between 200 ms and
// 120 s.
func (p *parser) rtt(pos Pos, s string, dst *uint32, unit uint32, msg string) bool {
	const minMS, maxMS = 200, 120000
	str := trimBlanksLeft(s)
	raw, shift := true, 0
	if k := strings.IndexAny(str, "sS"); k >= 0 {
		switch strings.ToLower(str[k:]) {
		case "s", "sec", "secs":
		default:
			p.errorf(pos, msg, s)
			return false
		}
		raw, shift = false, 3
		if k > 0 && (str[k-1] == 'm' || str[k-1] == 'M') {
			shift = 0
			k--
		}
		if k == 0 {
			p.errorf(pos, msg, s)
			return false
		}
		str = str[:k]
	}
	if strings.ContainsAny(str, "eE") {
		p.errorf(pos, msg, s)
		return false
	}
	v, ok := p.decimalValue(pos, str, uint64(maxMS*unit), shift)
	if !ok {
		p.errorf(pos, msg, s)
		return false
	}
	if !raw {
		v *= uint64(unit)
	}
	v = min(max(v, uint64(minMS*unit)), uint64(maxMS*unit))
	*dst = uint32(v)
	return true
}

// decimalValue reads s as keepalived's read_decimal_unsigned does: a
// number with at most shift decimal places, scaled by 10^shift.
func (p *parser) decimalValue(pos Pos, s string, hi uint64, shift int) (uint64, bool) {
	digits, roundUp, ok := p.decimalDigits(pos, s, shift)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		p.errorf(pos, "invalid number '%s'", s)
		return 0, false
	}
	if roundUp {
		v++
	}
	if v > hi {
		p.errorf(pos, "number '%s' outside range [0, %d]", s, hi)
		return 0, false
	}
	return v, true
}

// decimalDigits is the first step of keepalived's read_decimal_unsigned:
// s without its decimal point, with shift decimal places, and whether
// the places cut off round it up. A negative number is refused, too
// many places reported.
func (p *parser) decimalDigits(pos Pos, s string, shift int) (digits string, roundUp, ok bool) {
	if strings.HasPrefix(s, "-") {
		p.errorf(pos, "negative number '%s'", s)
		return "", false, false
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) > shift {
		p.errorf(pos, "number '%s' has too many decimal places", s)
		roundUp = frac[shift] >= '5'
		frac = frac[:shift]
	}
	return intPart + frac + strings.Repeat("0", shift-len(frac)), roundUp, true
}

// realms reads realms: a realm, or source/destination realms, each a
// number or a name of rt_realms.
func (p *parser) realms(s string) (uint32, bool) {
	list := p.rt.list("rt_realms", 255)
	src, dst, pair := strings.Cut(s, "/")
	v, ok := findRTEntry(src, list, nil, 255)
	if !ok {
		return 0, false
	}
	if pair {
		d, ok := findRTEntry(dst, list, nil, 255)
		if !ok {
			return 0, false
		}
		v = v<<16 | d
	}
	return v, true
}

// nexthops reads the nexthop clauses from w[i] to the end of the line,
// as keepalived's parse_nexthops does: a clause it cannot read ends the
// list, keeping the nexthops read before it.
func (p *parser) nexthops(n *node, w []string, i int, r *Route) {
	for i < len(w) && w[i] == "nexthop" {
		i++
		nh := Nexthop{}
	clause:
		for ; i < len(w); i++ {
			val := func() (string, bool) {
				if i+1 >= len(w) {
					p.errorf(n.pos, "Route %s requires a value", w[i])
					return "", false
				}
				i++
				return w[i], true
			}
			switch w[i] {
			case "via":
				v, ok := val()
				if !ok {
					return
				}
				if v == "inet" || v == "inet6" {
					if v, ok = val(); !ok {
						return
					}
				}
				a, ok := parseAddr(v)
				if !ok {
					p.errorf(n.pos, "invalid nexthop address %s", v)
					return
				}
				if r.To.IsValid() && a.Is4() != r.To.Addr().Is4() {
					p.errorf(n.pos, "Address family mismatch for next hop")
					return
				}
				nh.Via = a
			case "dev":
				v, ok := val()
				if !ok {
					return
				}
				nh.Dev = v
			case "weight":
				v, ok := val()
				if !ok {
					return
				}
				wt, ok := p.uintValue(n.pos, v, 0, 256)
				if !ok {
					p.errorf(n.pos, "Invalid weight %s specified for route", v)
					return
				}
				if wt == 0 {
					p.errorf(n.pos, "Invalid weight 0 specified for route")
					return
				}
				nh.Weight = int(wt)
			case "onlink":
				nh.OnLink = true
			case "encap", "realms":
				if _, ok := val(); !ok {
					return
				}
				p.d.unimplemented(n.pos, "route option nexthop "+w[i-1])
			case "as":
				if i+1 < len(w) && w[i+1] == "to" {
					i++
				}
				p.errorf(n.pos, "'as [to]' (nat) not supported")
				return
			default:
				break clause
			}
		}
		r.Nexthops = append(r.Nexthops, nh)
	}
	if i < len(w) {
		p.errorf(n.pos, "Route has trailing nonsense after nexthops - %s", w[i])
	}
}

// metricNumbers are the kernel's numbers of the route metrics (RTAX_*),
// by keyword: a lock is the bit of its metric's number.
var metricNumbers = map[string]uint{
	"mtu": 2, "window": 3, "rtt": 4, "rttvar": 5, "ssthresh": 6, "cwnd": 7, "advmss": 8,
	"reordering": 9, "hoplimit": 10, "initcwnd": 11, "features": 12, "rto_min": 13,
	"initrwnd": 14, "quickack": 15, "congctl": 16, "fastopen_no_cookie": 17,
}

// ruleOption reads the rule option o and its value v into r, as
// keepalived's alloc_rule does; false drops the rule.
func (p *parser) ruleOption(n *node, o, v string, r *Rule) bool {
	switch o {
	case "tos", "dsfield":
		t, ok := findRTEntry(v, p.rt.list("rt_dsfield", 255), nil, 255)
		if !ok {
			p.errorf(n.pos, "TOS value %s is invalid", v)
			return false
		}
		r.Tos = uint8(t)
	case "realms":
		re, ok := p.realms(v)
		if !ok {
			p.errorf(n.pos, "invalid realms %s for rule", v)
			return false
		}
		if r.IPv6 || r.From.Addr().Is6() || r.To.Addr().Is6() {
			p.errorf(n.pos, "realms is only valid for IPv4")
			return false
		}
		r.Realms = re
	case "suppress_prefixlength", "sup_pl":
		l, ok := p.uintValue(n.pos, v, 0, math.MaxInt32)
		if !ok {
			p.errorf(n.pos, "Invalid suppress_prefixlength %s specified", o)
			return false
		}
		r.SuppressPrefixlen = &[]int{int(l)}[0]
	case "suppress_ifgroup", "sup_group":
		g, ok := findRTEntry(v, p.rt.list("group", math.MaxInt32), nil, math.MaxInt32)
		if !ok {
			p.errorf(n.pos, "suppress_group %s is invalid", v)
			return false
		}
		r.SuppressIfgroup = &[]uint32{g}[0]
	case "tunnel-id":
		t := trimBlanksLeft(v)
		id, err := strconv.ParseUint(t, 10, 64)
		if err != nil || strings.HasPrefix(t, "-") {
			if strings.HasPrefix(t, "-") {
				p.errorf(n.pos, "negative number '%s'", v)
			} else {
				p.errorf(n.pos, "invalid number '%s'", v)
			}
			p.errorf(n.pos, "Invalid tunnel-id %s specified", o)
			return false
		}
		// Checked, not installed: the netlink library sends
		// FRA_TUN_ID in 32 bits, which the kernel refuses.
		r.Options = append(r.Options, o, strconv.FormatUint(id, 10))
	case "uidrange":
		var lo, hi uint32
		if c, _ := fmt.Sscanf(v, "%d-%d", &lo, &hi); c != 2 {
			p.errorf(n.pos, "Invalid uidrange %s specified", o)
			return false
		}
		r.UIDRange = &[2]uint32{lo, hi}
	case "ipproto":
		proto, ok := ipProto(v)
		if !ok {
			p.errorf(n.pos, "Invalid ipproto %s", v)
			return true
		}
		r.IPProto = &proto
	case "sport", "dport":
		var lo, hi uint16
		// keepalived's sscanf wants both ends: a single port is
		// refused, and the rule kept without it.
		if c, _ := fmt.Sscanf(v, "%d-%d", &lo, &hi); c != 2 {
			p.errorf(n.pos, "invalid %s range %s", o, v)
			return true
		}
		if o == "sport" {
			r.Sport = &[2]uint16{lo, hi}
		} else {
			r.Dport = &[2]uint16{lo, hi}
		}
	}
	return true
}

// ipProto reads an IP protocol as keepalived's inet_proto_a2n does: a
// number below 128, or a name of /etc/protocols.
func ipProto(s string) (uint8, bool) {
	s = trimBlanksLeft(s)
	if s == "" || s[0] == '-' {
		return 0, false
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	v, err := strconv.ParseUint(s[:end], 10, 64)
	if end > 0 && (err != nil || v > math.MaxInt8) {
		return 0, false
	}
	if end == len(s) {
		return uint8(v), true
	}
	b, err := os.ReadFile("/etc/protocols")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if f[0] == s || slices.Contains(f[2:], s) {
			if n, err := strconv.ParseUint(f[1], 10, 8); err == nil {
				return uint8(n), true
			}
		}
	}
	return 0, false
}

// trackGroup returns name when a track_group of that name is defined
// above, as keepalived looks it up while it reads; "" otherwise.
func (p *parser) trackGroup(pos Pos, name string) string {
	for _, g := range p.cfg.TrackGroups {
		if g.Name == name {
			return name
		}
	}
	p.errorf(pos, "track_group %s not found", name)
	return ""
}
