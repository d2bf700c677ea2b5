package vrrpd

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// vrrpConfig maps a vrrp_instance to the protocol's and the network's
// settings.
func vrrpConfig(ci *config.Instance, g *config.Global) (vrrp.Config, vrrp.NetConfig, error) {
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
		case "PASS":
			vc.AuthType, vc.AuthPass = vrrp.AuthPass, ci.Auth.Pass
		case "AH":
			vc.AuthType, vc.AuthPass = vrrp.AuthAH, ci.Auth.Pass
		}
	}
	nc := vrrp.NetConfig{
		Interface:        ci.Interface,
		Source:           ci.McastSrcIP,
		Garp:             ci.GarpInterval,
		DontTrackPrimary: ci.DontTrackPrimary,
	}
	if ci.UnicastSrcIP.IsValid() {
		nc.Source = ci.UnicastSrcIP
	}
	for _, p := range ci.UnicastPeers {
		nc.Peers = append(nc.Peers, p.Addr)
	}
	for _, t := range ci.Tracking.Interfaces {
		nc.TrackInterfaces = append(nc.TrackInterfaces, vrrp.TrackedInterface{Name: t.Name, Weight: t.Weight})
	}
	vc.CheckUnicastSrc = ci.CheckUnicastSrc || g.VRRPCheckUnicastSrc
	nc.UseVMAC, nc.VMACName, nc.VMACXmitBase = ci.UseVMAC, ci.VMACName, ci.VMACXmitBase
	for _, a := range ci.VirtualIPs {
		vip, err := vrrpVIP(a)
		if err != nil {
			return vc, nc, err
		}
		nc.VIPs = append(nc.VIPs, vip)
	}
	for _, a := range ci.ExcludedVIPs {
		vip, err := vrrpVIP(a)
		if err != nil {
			return vc, nc, err
		}
		nc.ExcludedVIPs = append(nc.ExcludedVIPs, vip)
	}
	for _, r := range ci.VirtualRoutes {
		vr, err := vrrpRoute(r)
		if err != nil {
			return vc, nc, err
		}
		nc.Routes = append(nc.Routes, vr)
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
	return vc, nc, nil
}

// vrrpVIP maps a virtual_ipaddress line.
func vrrpVIP(a config.Address) (vrrp.VIP, error) {
	v := vrrp.VIP{Prefix: a.Prefix, Device: a.Dev, Label: a.Label}
	switch a.Broadcast {
	case "", "-", "+":
		// "+" asks the kernel's default broadcast; netlink computes it
		// when none is given.
	default:
		b, err := netip.ParseAddr(a.Broadcast)
		if err != nil {
			return v, fmt.Errorf("broadcast %q of %s: %w", a.Broadcast, a.Prefix, err)
		}
		v.Broadcast = b
	}
	scope, err := parseScope(a.Scope)
	if err != nil {
		return v, fmt.Errorf("%w of %s", err, a.Prefix)
	}
	v.Scope = scope
	return v, nil
}

func parseScope(s string) (netlink.Scope, error) {
	switch s {
	case "", "global", "universe":
		return netlink.SCOPE_UNIVERSE, nil
	case "site":
		return netlink.SCOPE_SITE, nil
	case "link":
		return netlink.SCOPE_LINK, nil
	case "host":
		return netlink.SCOPE_HOST, nil
	case "nowhere":
		return netlink.SCOPE_NOWHERE, nil
	}
	return 0, fmt.Errorf("scope %q is not known", s)
}

// vrrpRoute maps a virtual_routes line.
func vrrpRoute(r config.Route) (vrrp.Route, error) {
	vr := vrrp.Route{Dst: r.To, Src: r.Src, Gateway: r.Via, Device: r.Dev, Metric: r.Metric}
	switch r.Type {
	case "", "unicast":
		vr.Type = unix.RTN_UNICAST
	case "blackhole":
		vr.Type = unix.RTN_BLACKHOLE
	case "unreachable":
		vr.Type = unix.RTN_UNREACHABLE
	case "prohibit":
		vr.Type = unix.RTN_PROHIBIT
	default:
		return vr, fmt.Errorf("route type %q of %s is not supported", r.Type, r.To)
	}
	switch r.Table {
	case "", "main":
	case "local":
		vr.Table = unix.RT_TABLE_LOCAL
	case "default":
		vr.Table = unix.RT_TABLE_DEFAULT
	default:
		n, err := strconv.Atoi(r.Table)
		if err != nil {
			return vr, fmt.Errorf("route table %q of %s: only numbers, main, local and default are known", r.Table, r.To)
		}
		vr.Table = n
	}
	if r.Scope != "" {
		scope, err := parseScope(r.Scope)
		if err != nil {
			return vr, fmt.Errorf("%w of route %s", err, r.To)
		}
		vr.Scope = scope
	}
	return vr, nil
}
