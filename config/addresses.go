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
	pfx, ok := parsePrefix(w[0])
	if !ok {
		if vrrp {
			p.errorf(n.pos, "VRRP parsed invalid IP %s. skipping IP...", w[0])
		} else {
			p.errorf(n.pos, "Static IP parsed invalid IP %s. skipping IP...", w[0])
		}
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
			if _, valid := parseAddr(v); !valid && v != "+" && v != "-" {
				p.errorf(n.pos, "VRRP is trying to assign invalid broadcast %s. skipping VIP...", v)
				return Address{}, false
			}
			a.Broadcast = v
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
			if !validScope(v) {
				p.errorf(n.pos, "Invalid scope '%s' specified for %s - setting to global", v, w[0])
				v = "global"
			}
			a.Scope = v
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
		case "-nodad", "nodad":
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
	return a, true
}

func validScope(s string) bool {
	switch s {
	case "global", "site", "link", "host", "nowhere", "universe":
		return true
	}
	_, err := strconv.ParseUint(s, 10, 8)
	return err == nil
}

// routes reads the lines of a virtual_routes or static_routes block.
// Routes of an instance are tracked unless they say no_track, which
// needs an interface.
func (p *parser) routes(lines []*node, list []Route, vrrp bool) []Route {
	for _, n := range lines {
		r, ok := p.route(n)
		if !ok {
			continue
		}
		if vrrp && r.Dev == "" && !r.NoTrack {
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
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "blackhole", "unreachable", "prohibit", "throw", "local", "broadcast", "anycast", "multicast", "nat", "unicast":
			if i == 0 {
				r.Type = w[i]
				continue
			}
			r.Options = append(r.Options, w[i])
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
		case "dev", "table", "scope", "protocol", "proto":
			if i+1 >= len(w) {
				p.errorf(n.pos, "Route %s requires a value", w[i])
				return Route{}, false
			}
			switch w[i] {
			case "dev":
				r.Dev = w[i+1]
			case "table":
				r.Table = w[i+1]
			case "scope":
				r.Scope = w[i+1]
			default:
				r.Protocol = w[i+1]
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
		case "onlink", "pervasive", "ttl-propagate":
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
			if haveDest {
				p.errorf(n.pos, "Unknown route parameter %s", w[i])
				return Route{}, false
			}
			dest := w[i]
			if dest == "default" {
				dest = "0.0.0.0/0"
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
		p.errorf(n.pos, "Route has no destination")
		return Route{}, false
	}
	return r, true
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
			pfx, ok := parsePrefix(w[i+1])
			if !ok && w[i+1] != "all" {
				p.errorf(n.pos, "Invalid rule %s address %s", w[i], w[i+1])
				return Rule{}, false
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
			r.Table = w[i+1]
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
		case "blackhole", "unreachable", "prohibit", "nop":
			r.Action = w[i]
		case "no_track", "invert", "not":
			if w[i] == "no_track" {
				r.NoTrack = true
			} else {
				r.Options = append(r.Options, w[i])
			}
		case "iif", "oif", "fwmark", "tos", "dsfield", "uidrange", "ipproto", "sport", "dport",
			"goto", "realms", "suppress_prefixlength", "suppress_ifgroup", "l3mdev", "protocol", "track_group":
			if !needValue() {
				return Rule{}, false
			}
			r.Options = append(r.Options, w[i], w[i+1])
			i++
		default:
			p.errorf(n.pos, "Unknown rule option %s", w[i])
			return Rule{}, false
		}
	}
	return r, true
}
