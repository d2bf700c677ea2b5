package vrrpd

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// vrrpConfig maps a vrrp_instance to the protocol's and the network's
// settings.
func vrrpConfig(ci *config.Instance, g *config.Global) (vrrp.Config, vrrp.NetConfig) {
	vc := vrrp.Config{
		Name:                    ci.Name,
		VRID:                    uint8(ci.VirtualRouterID),
		Priority:                uint8(ci.Priority),
		Version:                 ci.Version,
		Interval:                ci.AdvertInt,
		Nopreempt:               ci.Nopreempt,
		PreemptDelay:            ci.PreemptDelay,
		SkipCheckAdvAddr:        ci.SkipCheckAdvAddr,
		DownTimerAdverts:        ci.DownTimerAdverts,
		LowerPrioNoAdvert:       ci.LowerPrioNoAdvert,
		NotifyPriorityChanges:   ci.NotifyPriorityChanges,
		HigherPrioSendAdvert:    ci.HigherPrioSendAdvert,
		GarpMasterRepeat:        ci.GarpMasterRepeat,
		GarpMasterDelay:         ci.GarpMasterDelay,
		GarpMasterRefresh:       ci.GarpMasterRefresh,
		GarpMasterRefreshRepeat: ci.GarpMasterRefreshRepeat,
		GarpLowerPrioRepeat:     ci.GarpLowerPrioRepeat,
		GarpLowerPrioDelay:      ci.GarpLowerPrioDelay,
	}
	if ci.Auth != nil {
		switch ci.Auth.Type {
		case config.AuthNone:
		case config.AuthPass:
			vc.AuthType, vc.AuthPass = vrrp.AuthPass, ci.Auth.Pass
		case config.AuthAH:
			vc.AuthType, vc.AuthPass = vrrp.AuthAH, ci.Auth.Pass
		default:
			panic("unknown config.AuthType " + ci.Auth.Type.String())
		}
	}
	nc := vrrp.NetConfig{
		Interface:        ci.Interface,
		Source:           ci.McastSrcIP,
		Garp:             ci.GarpInterval,
		DontTrackPrimary: ci.DontTrackPrimary,
		// keepalived's vrrp_handle_accept_mode: the address owner
		// accepts whatever accept says.
		Firewall: !ci.Accept && ci.Priority != 255,
	}
	if ci.UnicastSrcIP.IsValid() {
		nc.Source = ci.UnicastSrcIP
	}
	nc.ConfigFault = configFault(ci)
	vc.GarpExtraIf = garpExtraIf(ci, g)
	// track_src_ip is not mapped: keepalived 2.2.7 compares a removed
	// address with the start of the source's socket address rather than
	// with the address itself, so it never acts on it (a bug kept, so
	// that an instance fails over as keepalived's does).
	if len(ci.UnicastPeers) > 0 {
		nc.UnicastTTL, nc.HasUnicastTTL = uint8(ci.UnicastTTL), ci.HasUnicastTTL()
	}
	for _, p := range ci.UnicastPeers {
		nc.Peers = append(nc.Peers, p.Addr)
		if p.MinTTL != 0 || p.MaxTTL != 0 {
			if vc.PeerTTL == nil {
				vc.PeerTTL = make(map[netip.Addr]vrrp.TTLRange)
			}
			vc.PeerTTL[p.Addr] = vrrp.TTLRange{Min: p.MinTTL, Max: cmp.Or(p.MaxTTL, 255)}
		}
	}
	for _, t := range ci.Tracking.Interfaces {
		if t.Name == ci.Interface {
			// keepalived ignores it ("Ignoring track_interface ...
			// since own interface"): the instance's own interface is
			// tracked unless dont_track_primary says not to.
			continue
		}
		nc.TrackInterfaces = append(nc.TrackInterfaces, vrrp.TrackedInterface{Name: t.Name, Weight: t.Weight, Reverse: t.Reverse})
	}
	vc.CheckUnicastSrc = ci.CheckUnicastSrc || g.VRRPCheckUnicastSrc
	nc.UseVMAC, nc.VMACName, nc.VMACXmitBase = ci.UseVMAC, ci.VMACName, ci.VMACXmitBase
	if ci.UseVMAC && ci.VMACAddr != "" {
		nc.VMACAddr = vmacAddr(ci.VMACAddr, uint8(ci.VirtualRouterID))
	}
	for _, a := range ci.VirtualIPs {
		nc.VIPs = append(nc.VIPs, vrrpVIP(a))
	}
	for _, a := range ci.ExcludedVIPs {
		nc.ExcludedVIPs = append(nc.ExcludedVIPs, vrrpVIP(a))
	}
	for _, r := range ci.VirtualRoutes {
		nc.Routes = append(nc.Routes, vrrpRoute(r))
	}
	for _, r := range ci.VirtualRules {
		nc.Rules = append(nc.Rules, vrrpRule(r))
	}
	switch {
	case ci.McastDstIP.IsValid():
		nc.Group = ci.McastDstIP
	case len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6():
		nc.Group = g.VRRPMcastGroup6
	default:
		nc.Group = g.VRRPMcastGroup4
	}
	if len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6() && ci.GnaInterval != 0 {
		nc.Garp = ci.GnaInterval
	}
	return vc, nc
}

// garpExtraIf is the instance's garp_extra_if delay, or the global
// vrrp_garp_extra_if's when it sets none. keepalived keeps it only where
// there is something to send: without a VMAC, that is with "all" and a
// VIP on another interface than the instance's. A VMAC instance's extra
// interfaces are left out.
func garpExtraIf(ci *config.Instance, g *config.Global) time.Duration {
	d, all := ci.GarpExtraIf, ci.GarpExtraIfAll
	if d == 0 && !all {
		d, all = g.VRRPGarpExtraIf, g.VRRPGarpExtraIfAll
	}
	if d == 0 || !all || ci.UseVMAC {
		return 0
	}
	for _, a := range slices.Concat(ci.VirtualIPs, ci.ExcludedVIPs) {
		if a.Dev != "" && a.Dev != ci.Interface {
			return d
		}
	}
	return 0
}

// configFault reports whether keepalived counts a config fault against
// the instance, which keeps it in FAULT: unicast_fault_no_peer without
// unicast peers.
func configFault(ci *config.Instance) bool {
	return ci.UnicastFaultNoPeer && len(ci.UnicastPeers) == 0
}

// vrrpVIP maps a virtual_ipaddress line. config.Scope is the kernel's
// scope number, as vrrp.Scope is.
func vrrpVIP(a config.Address) vrrp.VIP {
	v := vrrp.VIP{Prefix: a.Prefix, Device: a.Dev, Label: a.Label,
		Broadcast: a.BroadcastAddr(), Scope: vrrp.Scope(a.Scope), NoTrack: a.NoTrack,
		Peer: a.Peer, Home: a.Home, MngTmpAddr: a.MngTmpAddr, NoPrefixRoute: a.NoPrefixRoute,
		AutoJoin: a.AutoJoin, DAD: a.NoDAD}
	if a.Peer.IsValid() {
		// The address takes the peer's prefix length.
		v.Prefix = netip.PrefixFrom(a.Prefix.Addr(), a.Peer.Bits())
	}
	if a.Prefix.Addr().Is6() {
		// keepalived deprecates an IPv6 /128 given no preferred_lft.
		switch a.PreferredLft {
		case "":
			v.Deprecating = a.Prefix.Bits() == 128
		case "forever":
		default:
			n, _ := strconv.ParseUint(a.PreferredLft, 10, 32) // checked by the parser
			v.PreferredLft, v.Deprecating = uint32(n), true
		}
	}
	return v
}

// vrrpRoute maps a virtual_routes line. config.Table and config.Scope are
// the kernel's numbers, as vrrp.Route's are.
func vrrpRoute(r config.Route) vrrp.Route {
	vr := vrrp.Route{Dst: r.To, Src: r.Src, Gateway: r.Via, Device: r.Dev, Metric: r.Metric,
		Table: int(r.Table), Scope: vrrp.Scope(r.Scope), Protocol: uint8(r.Protocol), OnLink: r.OnLink, NoTrack: r.NoTrack,
		Tos: r.Tos, Realms: r.Realms}
	switch r.Mode {
	case config.RouteAdd:
		vr.Mode = vrrp.RouteAdd
	case config.RouteAppend:
		vr.Mode = vrrp.RouteAppend
	}
	m := r.Metrics
	vr.Metrics = vrrp.RouteMetrics{MTU: m.MTU, Hoplimit: m.Hoplimit, AdvMSS: m.AdvMSS, RTT: m.RTT, RTTVar: m.RTTVar,
		Reordering: m.Reordering, Window: m.Window, Cwnd: m.Cwnd, Ssthresh: m.Ssthresh, RtoMin: m.RtoMin,
		InitCwnd: m.InitCwnd, InitRwnd: m.InitRwnd, QuickACK: m.QuickACK, FastOpenNoCookie: m.FastOpenNoCookie,
		MTULock: m.Lock&(1<<unix.RTAX_MTU) != 0, RtoMinLock: m.Lock&(1<<unix.RTAX_RTO_MIN) != 0,
		FeatureECN: m.FeatureECN, Congctl: m.Congctl}
	for _, nh := range r.Nexthops {
		vr.Nexthops = append(vr.Nexthops, vrrp.Nexthop{Gateway: nh.Via, Device: nh.Dev, Weight: nh.Weight, OnLink: nh.OnLink})
	}
	switch r.Type {
	case config.RouteUnspec, config.RouteUnicast:
		vr.Type = vrrp.RouteUnicast
	case config.RouteLocal:
		vr.Type = vrrp.RouteLocal
	case config.RouteBroadcast:
		vr.Type = vrrp.RouteBroadcast
	case config.RouteAnycast:
		vr.Type = vrrp.RouteAnycast
	case config.RouteMulticast:
		vr.Type = vrrp.RouteMulticast
	case config.RouteBlackhole:
		vr.Type = vrrp.RouteBlackhole
	case config.RouteUnreachable:
		vr.Type = vrrp.RouteUnreachable
	case config.RouteProhibit:
		vr.Type = vrrp.RouteProhibit
	case config.RouteThrow:
		vr.Type = vrrp.RouteThrow
	case config.RouteNAT:
		vr.Type = vrrp.RouteNAT
	case config.RouteXResolve:
		vr.Type = vrrp.RouteXResolve
	default:
		panic("unknown config.RouteType " + r.Type.String())
	}
	return vr
}

// vrrpRule maps a virtual_rules or static_rules line. config.Table is the
// kernel's number, as vrrp.Rule's is.
func vrrpRule(r config.Rule) vrrp.Rule {
	vr := vrrp.Rule{IPv6: r.IPv6, From: r.From, To: r.To, Priority: r.Priority, Table: int(r.Table),
		Goto: r.Goto, Iif: r.Iif, Oif: r.Oif, Invert: r.Invert, Protocol: r.Protocol, NoTrack: r.NoTrack,
		Tos: r.Tos, Realms: r.Realms}
	if v := r.SuppressPrefixlen; v != nil {
		vr.SuppressPrefixlen, vr.HasSuppressPrefixlen = *v, true
	}
	if v := r.SuppressIfgroup; v != nil {
		vr.SuppressIfgroup, vr.HasSuppressIfgroup = *v, true
	}
	if v := r.UIDRange; v != nil {
		vr.UIDRange, vr.HasUIDRange = *v, true
	}
	if v := r.IPProto; v != nil {
		vr.IPProto, vr.HasIPProto = *v, true
	}
	if v := r.Sport; v != nil {
		vr.Sport, vr.HasSport = *v, true
	}
	if v := r.Dport; v != nil {
		vr.Dport, vr.HasDport = *v, true
	}
	if m := r.Fwmark; m != nil {
		vr.HasFwmark, vr.Fwmark, vr.HasFwMask, vr.FwMask = true, m.Mark, m.HasMask, m.Mask
	}
	switch r.Action {
	case config.RuleToTable:
		vr.Action = vrrp.RuleToTable
	case config.RuleGoto:
		vr.Action = vrrp.RuleGoto
	case config.RuleNop:
		vr.Action = vrrp.RuleNop
	case config.RuleBlackhole:
		vr.Action = vrrp.RuleBlackhole
	case config.RuleUnreachable:
		vr.Action = vrrp.RuleUnreachable
	case config.RuleProhibit:
		vr.Action = vrrp.RuleProhibit
	default:
		panic("unknown config.RuleAction " + r.Action.String())
	}
	return vr
}

// vmacAddr is use_vmac's MAC address, checked by the parser: of five
// octets, the VRID is the sixth.
func vmacAddr(s string, vrid uint8) net.HardwareAddr {
	mac, err := net.ParseMAC(s)
	if err != nil {
		// Five octets: net.ParseMAC takes six or more.
		mac, _ = net.ParseMAC(s + ":00")
		mac[5] = vrid
	}
	return mac
}

// vmacNames names each instance's VMAC interface, by its index in
// cfg.Instances: use_vmac's name, or the one keepalived would give it.
func vmacNames(cfg *config.Config) []string {
	names := make([]string, len(cfg.Instances))
	var named []string
	var wants []vrrp.VMACWant
	var unnamed []int
	for i := range cfg.Instances {
		ci := &cfg.Instances[i]
		switch {
		case !ci.UseVMAC:
		case ci.VMACName != "":
			names[i] = ci.VMACName
			named = append(named, ci.VMACName)
		default:
			v6 := len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6()
			wants = append(wants, vrrp.VMACWant{VRID: uint8(ci.VirtualRouterID), IPv6: v6})
			unnamed = append(unnamed, i)
		}
	}
	for k, name := range vrrp.VMACNames(cfg.Global.VMACPrefix, named, wants) {
		names[unnamed[k]] = name
	}
	return names
}
