package config

import (
	"fmt"
	"net/netip"
	"slices"
)

// refuseNATUnderECMP ignores, with an error, each bgp_announce whose
// prefix covers the address of a virtual server with a NAT real server
// (or NAT sorry server), unless it tracks a VRRP instance. A prefix announced over BGP is announced by
// several directors at once, the router spreading clients over them
// (ECMP); a NAT real server sends its replies to its gateway, which is
// one director, not necessarily the one that took the request and holds
// the connection: those replies are lost. DR and TUN real servers answer
// the client directly and have no such bond.
func (p *parser) refuseNATUnderECMP() {
	c := p.cfg
	groups := make(map[string]*VirtualServerGroup, len(c.VirtualServerGroups))
	for i := range c.VirtualServerGroups {
		groups[c.VirtualServerGroups[i].Name] = &c.VirtualServerGroups[i]
	}
	c.BGPAnnounces = slices.DeleteFunc(c.BGPAnnounces, func(a BGPAnnounce) bool {
		// An announcement that tracks a VRRP instance comes from its
		// master alone: one next hop at the router, and the NAT
		// gateway on the same director, as without BGP.
		if len(a.TrackInstances) > 0 {
			return false
		}
		for i := range c.VirtualServers {
			vs := &c.VirtualServers[i]
			nat := natServer(vs)
			if nat == "" || !covers(a.Prefix, vs, groups) {
				continue
			}
			p.errorf(a.Pos, "bgp_announce %s: prefix %s covers virtual_server %s (%s), whose %s uses lb_kind NAT:"+
				" a NAT real server replies through its gateway, not through the director that took the connection,"+
				" when several directors announce the prefix (ECMP) - ignoring the bgp_announce;"+
				" use lb_kind DR or TUN", a.Name, a.Prefix, vsName(vs), vs.Pos, nat)
			return true
		}
		return false
	})
}

// natServer names the first real server, or the sorry server, of vs that
// forwards by NAT, or returns "" when none does.
func natServer(vs *VirtualServer) string {
	for _, rs := range vs.RealServers {
		if rs.Forwarding.Method == LBKindNAT {
			return fmt.Sprintf("real_server %s %d", rs.Addr, rs.Port)
		}
	}
	if ss := vs.SorryServer; ss != nil && ss.Forwarding.Method == LBKindNAT {
		return fmt.Sprintf("sorry_server %s %d", ss.Addr, ss.Port)
	}
	return ""
}

// vsName is the virtual server as its block's first line names it.
func vsName(vs *VirtualServer) string {
	switch {
	case vs.Group != "":
		return "group " + vs.Group
	case vs.FWMark != 0:
		return fmt.Sprintf("fwmark %d", vs.FWMark)
	}
	return fmt.Sprintf("%s %d", vs.Addr, vs.Port)
}

// covers reports whether prefix holds an address of vs: its own, or one
// of its group's addresses and ranges. A firewall mark has no address.
func covers(prefix netip.Prefix, vs *VirtualServer, groups map[string]*VirtualServerGroup) bool {
	if vs.Addr.IsValid() {
		return prefix.Contains(vs.Addr)
	}
	g := groups[vs.Group]
	if g == nil {
		return false
	}
	for _, m := range g.Members {
		if !m.Addr.IsValid() {
			continue
		}
		last := m.Last
		if !last.IsValid() {
			last = m.Addr
		}
		first := prefix.Masked().Addr()
		if prefix.Contains(m.Addr) || prefix.Contains(last) ||
			(first.BitLen() == m.Addr.BitLen() && m.Addr.Compare(first) <= 0 && first.Compare(last) <= 0) {
			return true
		}
	}
	return false
}
