package vrrpd

import (
	"cmp"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/dump"
	"github.com/gokeepalived/gokeepalived/internal/kamib"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// MIBState is s as KEEPALIVED-MIB numbers it.
func MIBState(s vrrp.State) kamib.State {
	switch s {
	case vrrp.StateInit:
		return kamib.StateInit
	case vrrp.StateBackup:
		return kamib.StateBackup
	case vrrp.StateMaster:
		return kamib.StateMaster
	case vrrp.StateFault:
		return kamib.StateFault
	case vrrp.StateStop:
		return kamib.StateStop
	}
	return kamib.StateUnknown
}

// InitialState is vrrpInstanceInitialState: the state keyword.
func InitialState(ci *config.Instance) kamib.State {
	if ci.State == config.StateMaster {
		return kamib.StateMaster
	}
	return kamib.StateBackup
}

// MIB returns KEEPALIVED-MIB's VRRP part as it stands: the running
// instances of g's configuration, their sync groups and track scripts.
func (l *Loop) MIB(g *config.Global) kamib.VRRP {
	l.mu.Lock()
	defer l.mu.Unlock()
	var v kamib.VRRP
	index := map[string]int{}
	cfg := l.cfg
	if cfg == nil {
		return v
	}
	files := map[string]*config.TrackFile{}
	for i := range cfg.TrackFiles {
		files[cfg.TrackFiles[i].Name] = &cfg.TrackFiles[i]
	}
	scripts := map[string]*config.Script{}
	for i := range cfg.Scripts {
		scripts[cfg.Scripts[i].Name] = &cfg.Scripts[i]
	}
	// static_ipaddress is on its interfaces while the loop runs.
	for _, a := range cfg.StaticAddresses {
		v.Static = append(v.Static, MIBAddress(a, cmp.Or(cfg.Global.DefaultInterface, config.DefaultInterface), true))
	}
	for _, r := range cfg.StaticRoutes {
		v.StaticRoutes = append(v.StaticRoutes, MIBRoute(r, true))
	}
	for _, r := range cfg.StaticRules {
		v.StaticRules = append(v.StaticRules, MIBRule(r, true))
	}
	for _, in := range l.instances {
		if in.vrrp == nil && in.waiting == nil {
			continue
		}
		index[in.cfg.Name] = len(v.Instances)
		mi := l.mibInstance(g, in)
		for _, t := range in.trackedFiles {
			if f := files[t.File.Name]; f != nil && ownTrack(in.cfg.Tracking.Files, f.Name) {
				mi.TrackedFiles = append(mi.TrackedFiles, kamib.TrackedFile{Name: f.Name, Weight: int32(f.Weight), Reverse: f.Reverse})
			}
		}
		v.Instances = append(v.Instances, mi)
	}
	for i := range cfg.SyncGroups {
		sg := &cfg.SyncGroups[i]
		grp := l.groups[sg.Name]
		if grp == nil {
			continue
		}
		mg := kamib.SyncGroup{Name: sg.Name, State: kamib.StateInit, SMTPAlert: grp.mail,
			TrackingWeight: sg.SyncGroupTrackingWeight}
		if s := grp.scripts; s != nil {
			mg.ScriptMaster, mg.ScriptBackup, mg.ScriptFault = cmdStr(s.Master), cmdStr(s.Backup), cmdStr(s.Fault)
			mg.ScriptStop, mg.Script = cmdStr(s.Stop), cmdStr(s.Notify)
			mg.NotifyExec = s.Master != nil || s.Backup != nil || s.Fault != nil || s.Stop != nil || s.Notify != nil
		}
		for _, t := range sg.Tracking.Interfaces {
			mg.TrackedInterfaces = append(mg.TrackedInterfaces, kamib.TrackedInterface{Name: t.Name, Weight: int32(t.Weight), Reverse: t.Reverse})
		}
		for _, t := range sg.Tracking.Scripts {
			if sc := scripts[t.Name]; sc != nil {
				w := sc.Weight
				if t.HasWeight {
					w = t.Weight
				}
				mg.TrackedScripts = append(mg.TrackedScripts, kamib.TrackedScript{Name: t.Name, Weight: int32(w), Reverse: t.Reverse != sc.Reverse})
			}
		}
		for _, t := range sg.Tracking.Files {
			if f := files[t.Name]; f != nil {
				mg.TrackedFiles = append(mg.TrackedFiles, kamib.TrackedFile{Name: f.Name, Weight: int32(f.Weight), Reverse: f.Reverse})
			}
		}
		for _, m := range sg.Group {
			in := l.byName[m]
			if in == nil {
				continue
			}
			if _, ok := index[m]; !ok {
				continue
			}
			mg.Members = append(mg.Members, m)
			if in.vrrp != nil {
				if sgr := in.vrrp.SyncGroup(); sgr != nil {
					mg.State = MIBState(sgr.State())
				}
			}
		}
		v.Groups = append(v.Groups, mg)
	}
	for i := range cfg.Scripts {
		s := &cfg.Scripts[i]
		res, ok := l.router.ScriptResult(s.Name)
		if !ok {
			// keepalived drops the scripts no instance tracks.
			continue
		}
		ms := kamib.Script{Name: s.Name, Command: dump.Command(s.Cmd), Interval: int32(s.Interval / time.Second),
			Weight: int32(s.Weight), Reverse: s.Reverse, Rise: uint32(max(s.Rise, 1)), Fall: uint32(max(s.Fall, 1))}
		switch res {
		case vrrp.ScriptInit:
			ms.Result = kamib.ScriptInit
		case vrrp.ScriptInitFailed:
			ms.Result = kamib.ScriptInitFailed
		case vrrp.ScriptGood:
			ms.Result = kamib.ScriptGood
		default:
			ms.Result = kamib.ScriptBad
		}
		v.Scripts = append(v.Scripts, ms)
	}
	for i := range cfg.TrackFiles {
		f := &cfg.TrackFiles[i]
		val, ok := l.router.FileValue(f.Name)
		if !ok {
			continue
		}
		v.Files = append(v.Files, kamib.File{Name: f.Name, Path: f.File, Value: int32(val), Weight: int32(f.Weight), Reverse: f.Reverse})
	}
	return v
}

// mibInstance is in's row of vrrpInstanceTable, with its tracking and
// addresses.
func (l *Loop) mibInstance(g *config.Global, in *instance) kamib.Instance {
	ci := in.cfg
	var st vrrp.Status
	if in.vrrp != nil {
		st = in.vrrp.Status()
	} else {
		// Held back for a missing interface: FAULT.
		st = vrrp.Status{Name: ci.Name, VRID: uint8(ci.VirtualRouterID), State: vrrp.StateFault,
			Priority: uint8(ci.Priority), EffectivePriority: uint8(ci.Priority)}
	}
	version := ci.Version
	if version == 0 {
		version = config.DefaultVRRPVersion
	}
	master := st.State == vrrp.StateMaster
	mi := kamib.Instance{
		Name:              ci.Name,
		VRID:              uint8(ci.VirtualRouterID),
		State:             MIBState(st.State),
		Initial:           InitialState(ci),
		Wants:             MIBState(st.State),
		BasePriority:      int32(st.Priority),
		EffectivePriority: int32(st.EffectivePriority),
		VIPsSet:           master && len(ci.VirtualIPs) > 0,
		Interface:         ci.Interface,
		Preempt:           !ci.Nopreempt,
		PreemptDelay:      uint32(ci.PreemptDelay / time.Second),
		SyncGroup:         in.group,
		GarpDelay:         uint32(ci.GarpMasterDelay / time.Second),
		SMTPAlert:         ci.SMTPAlert,
		Accept:            ci.Accept,
		// keepalived's promote_secondaries column shows the instance's
		// own setting.
		PromoteSecondaries: ci.PromoteSecondaries,
		Version:            int32(version),
		NotifyDeleted:      ci.Notify.Deleted != nil,
	}
	if version == 2 {
		mi.AdvertInt = uint32(ci.AdvertInt / time.Second)
		if a := ci.Auth; a != nil {
			switch a.Type {
			case config.AuthPass:
				mi.AuthType = 1
			case config.AuthAH:
				mi.AuthType = 2
			}
		}
	} else {
		mi.AdvertInt = uint32(ci.AdvertInt / (10 * time.Millisecond))
	}
	if sd := l.syncd.Load(); sd != nil && sd.follows(ci.Name) && g.LVSSyncDaemon != nil {
		mi.LVSSyncInterface = g.LVSSyncDaemon.Interface
	}
	if s := in.scripts; s != nil {
		mi.ScriptMaster, mi.ScriptBackup, mi.ScriptFault = cmdStr(s.Master), cmdStr(s.Backup), cmdStr(s.Fault)
		mi.ScriptStop, mi.ScriptDeleted, mi.Script = cmdStr(s.Stop), cmdStr(s.Deleted), cmdStr(s.Notify)
		mi.ScriptMasterRxLowerPri = cmdStr(s.MasterRxLowerPri)
		mi.NotifyExec = anyScript(s)
	}
	if len(ci.UnicastPeers) == 0 {
		v6 := ci.NativeIPv6 || len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6()
		switch {
		case ci.McastDstIP.IsValid():
			mi.McastGroup = ci.McastDstIP
		case v6:
			mi.McastGroup = g.VRRPMcastGroup6
		default:
			mi.McastGroup = g.VRRPMcastGroup4
		}
	}
	// keepalived's tables show the instance's own track_interface and
	// track_script lines, with the weights it tracks them with; its sync
	// group's tracking has tables of its own.
	for _, t := range in.tracked {
		if ownTrack(ci.Tracking.Interfaces, t.Name) {
			mi.TrackedInterfaces = append(mi.TrackedInterfaces, kamib.TrackedInterface{Name: t.Name, Weight: int32(t.Weight), Reverse: t.Reverse})
		}
	}
	for _, t := range in.trackedScripts {
		if ownTrack(ci.Tracking.Scripts, t.Script.Name) {
			mi.TrackedScripts = append(mi.TrackedScripts, kamib.TrackedScript{Name: t.Script.Name, Weight: int32(t.Weight), Reverse: t.Reverse})
		}
	}
	dev := ci.Interface
	if in.vmac != "" {
		dev = in.vmac
	}
	for _, a := range ci.VirtualIPs {
		mi.VIPs = append(mi.VIPs, MIBAddress(a, dev, master))
	}
	for _, a := range ci.ExcludedVIPs {
		mi.ExcludedVIPs = append(mi.ExcludedVIPs, MIBAddress(a, dev, master))
	}
	for _, r := range ci.VirtualRoutes {
		mi.Routes = append(mi.Routes, MIBRoute(r, master))
	}
	for _, r := range ci.VirtualRules {
		mi.Rules = append(mi.Rules, MIBRule(r, master))
	}
	return mi
}

// anyScript reports whether an instance has a notify script: keepalived's
// notify_exec.
func anyScript(s *notify.Instance) bool {
	return s.Master != nil || s.Backup != nil || s.Fault != nil || s.Stop != nil || s.Deleted != nil ||
		s.Notify != nil || s.MasterRxLowerPri != nil
}

// MIBAddress is a configured address's row of vrrpAddressTable: on its
// own device or dev, set when the instance holds its addresses (set) and
// the address is there.
func MIBAddress(a config.Address, dev string, set bool) kamib.Address {
	if a.Dev != "" {
		dev = a.Dev
	}
	ma := kamib.Address{Prefix: a.Prefix, Scope: uint8(a.Scope), IfName: dev, Label: a.Label}
	if ifi, err := net.InterfaceByName(dev); err == nil {
		ma.IfIndex = int32(ifi.Index)
		// keepalived's flag is whether its add succeeded (and the
		// address was not taken away since): an address the kernel
		// refused is not set, though the instance is master.
		ma.Set = set && hasAddr(ifi, a.Prefix.Addr())
	}
	if a.Peer.IsValid() {
		ma.Peer = a.Peer.Addr()
	}
	if p := a.Prefix; p.Addr().Is4() {
		switch a.Broadcast.Kind {
		case config.BroadcastAddr:
			ma.Broadcast = a.Broadcast.Addr
		case config.BroadcastOnes:
			b := p.Masked().Addr().As4()
			host := ^uint32(0) >> p.Bits()
			for i := range 4 {
				b[i] |= byte(host >> (24 - 8*i))
			}
			ma.Broadcast = netip.AddrFrom4(b)
		case config.BroadcastZeros:
			ma.Broadcast = p.Masked().Addr()
		}
	}
	return ma
}

// hasAddr reports whether ifi has the address a.
func hasAddr(ifi *net.Interface, a netip.Addr) bool {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok {
			if b, ok := netip.AddrFromSlice(n.IP); ok && b.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// SyncGroupOf returns the sync group the instance name runs in and the
// group's members, in the configuration's order; "" and nil for none.
func (l *Loop) SyncGroupOf(name string) (string, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.byName[name]
	if in == nil || in.group == "" {
		return "", nil
	}
	return in.group, l.membersLocked(in.group)
}

// SyncGroupMembers returns the members of sync group g.
func (l *Loop) SyncGroupMembers(g string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.membersLocked(g)
}

func (l *Loop) membersLocked(g string) []string {
	var out []string
	for _, in := range l.instances {
		if in.group == g {
			out = append(out, in.cfg.Name)
		}
	}
	return out
}

// ownTrack reports whether the tracking lines ts name name.
func ownTrack(ts []config.Track, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

// mibRouteTypes maps the configuration's route types to vrrpRouteType.
var mibRouteTypes = map[config.RouteType]kamib.RouteType{
	config.RouteBlackhole: kamib.RouteBlackhole, config.RouteAnycast: kamib.RouteAnycast,
	config.RouteMulticast: kamib.RouteMulticast, config.RouteBroadcast: kamib.RouteBroadcast,
	config.RouteUnreachable: kamib.RouteUnreachable, config.RouteProhibit: kamib.RouteProhibit,
	config.RouteThrow: kamib.RouteThrow, config.RouteNAT: kamib.RouteNAT, config.RouteXResolve: kamib.RouteXResolve,
}

// The kernel's RTAX_* numbers of the locked metrics.
const (
	rtaxMTU        = 2
	rtaxRTT        = 4
	rtaxRTTVar     = 5
	rtaxSsthresh   = 6
	rtaxCwnd       = 7
	rtaxAdvMSS     = 8
	rtaxReordering = 9
	rtaxRtoMin     = 13
)

// MIBRoute is a configured route's row of vrrpRouteTable, installed or
// not (set). A metric of 0 counts as not given.
func MIBRoute(r config.Route, set bool) kamib.Route {
	m := r.Metrics
	metric := func(v uint32, rtax uint) kamib.RouteMetric {
		return kamib.RouteMetric{Set: v != 0, Value: v, Locked: m.Lock&(1<<rtax) != 0}
	}
	mr := kamib.Route{
		Dst: r.To, Via: r.Via, Pref: r.Src, Metric: uint32(r.Metric), Scope: uint8(r.Scope),
		Type: kamib.RouteUnicast, Table: uint32(r.Table), IfName: r.Dev, Set: set,
		Tos: r.Tos, HasTos: r.Tos != 0, ECN: m.FeatureECN, QuickAck: m.QuickACK != 0,
		MTU: metric(m.MTU, rtaxMTU), Hoplimit: metric(m.Hoplimit, 0), AdvMSS: metric(m.AdvMSS, rtaxAdvMSS),
		RTT: metric(m.RTT, rtaxRTT), RTTVar: metric(m.RTTVar, rtaxRTTVar), Reordering: metric(m.Reordering, rtaxReordering),
		Window: metric(m.Window, 0), Cwnd: metric(m.Cwnd, rtaxCwnd), Ssthresh: metric(m.Ssthresh, rtaxSsthresh),
		RtoMin: metric(m.RtoMin, rtaxRtoMin), InitCwnd: metric(m.InitCwnd, 0), InitRwnd: metric(m.InitRwnd, 0),
		Congctl: m.Congctl, FastOpenNoCookie: metric(m.FastOpenNoCookie, 0), Realms: r.Realms,
	}
	if t, ok := mibRouteTypes[r.Type]; ok {
		mr.Type = t
	}
	if r.Table == config.TableUnspec {
		mr.Table = uint32(config.TableMain)
	}
	mr.IfIndex = ifIndex(r.Dev)
	switch {
	case r.Protocol != 0:
		mr.Protocol, mr.HasProtocol = uint8(r.Protocol), true
	case !r.NoTrack:
		// keepalived marks the routes it tracks as its own.
		mr.Protocol, mr.HasProtocol = uint8(config.RouteProtocolKeepalived), true
	}
	for _, nh := range r.Nexthops {
		mr.NextHops = append(mr.NextHops, kamib.NextHop{Via: nh.Via, IfName: nh.Dev, IfIndex: ifIndex(nh.Dev),
			Weight: uint32(nh.Weight), OnLink: nh.OnLink})
	}
	return mr
}

// ifIndex is the index of the interface named name, 0 when there is
// none.
func ifIndex(name string) int32 {
	if name == "" {
		return 0
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0
	}
	return int32(ifi.Index)
}

// mibRuleActions maps the configuration's rule actions to vrrpRuleAction.
var mibRuleActions = map[config.RuleAction]kamib.RuleAction{
	config.RuleToTable: kamib.RuleToTable, config.RuleNop: kamib.RuleNop, config.RuleBlackhole: kamib.RuleBlackhole,
	config.RuleUnreachable: kamib.RuleUnreachable, config.RuleProhibit: kamib.RuleProhibit, config.RuleGoto: kamib.RuleGoto,
}

// MIBRule is a configured rule's row of vrrpRuleTable, installed or not
// (set).
func MIBRule(r config.Rule, set bool) kamib.Rule {
	mr := kamib.Rule{From: r.From, To: r.To, Action: mibRuleActions[r.Action], Table: uint32(r.Table), Goto: uint32(r.Goto),
		Set: set, Invert: r.Invert, Tos: r.Tos, Realms: r.Realms, Iif: r.Iif, Oif: r.Oif, Priority: uint32(r.Priority)}
	if f := r.Fwmark; f != nil {
		mr.Fwmark, mr.HasFwmark = f.Mark, true
		mr.Fwmask, mr.HasFwmask = f.Mask, f.HasMask
	}
	if p := r.SuppressPrefixlen; p != nil {
		mr.SuppressPrefixlen, mr.HasSuppressPrefixlen = uint32(*p), true
	}
	if g := r.SuppressIfgroup; g != nil {
		// keepalived names the group from rt_group; a number is
		// what it shows for one it does not name, and 0 is
		// "default".
		mr.SuppressGroup = strconv.FormatUint(uint64(*g), 10)
		if *g == 0 {
			mr.SuppressGroup = "default"
		}
	}
	if u := r.UIDRange; u != nil {
		mr.UIDRange, mr.HasUIDRange = *u, true
	}
	return mr
}
