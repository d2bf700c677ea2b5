package vrrpd

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

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
	return vrrp.VIP{Prefix: a.Prefix, Device: a.Dev, Label: a.Label,
		Broadcast: a.BroadcastAddr(), Scope: vrrp.Scope(a.Scope), NoTrack: a.NoTrack}
}

// vrrpRoute maps a virtual_routes line. config.Table and config.Scope are
// the kernel's numbers, as vrrp.Route's are.
func vrrpRoute(r config.Route) vrrp.Route {
	vr := vrrp.Route{Dst: r.To, Src: r.Src, Gateway: r.Via, Device: r.Dev, Metric: r.Metric,
		Table: int(r.Table), Scope: vrrp.Scope(r.Scope), Protocol: uint8(r.Protocol), OnLink: r.OnLink}
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
		Goto: r.Goto, Iif: r.Iif, Oif: r.Oif, Invert: r.Invert, Protocol: r.Protocol}
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
