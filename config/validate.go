package config

import (
	"net/netip"
	"slices"
	"strconv"
)

// validate checks what keepalived checks once the whole configuration is
// read: references between blocks and settings that only make sense
// together, correcting the model as keepalived corrects its own.
// keepalived reports most of these without a position; here each carries
// the position of the block or line concerned.
func (p *parser) validate() {
	c := p.cfg
	scripts := make(map[string]bool, len(c.Scripts))
	for _, s := range c.Scripts {
		scripts[s.Name] = true
	}
	files := make(map[string]bool, len(c.TrackFiles))
	for _, f := range c.TrackFiles {
		files[f.Name] = true
	}
	tracked := trackedNames{scripts: scripts, files: files,
		processes: make(map[string]bool, len(c.TrackProcesses)), bfds: make(map[string]bool)}
	for _, tp := range c.TrackProcesses {
		tracked.processes[tp.Name] = true
	}
	for name := range p.bfdVRRP {
		tracked.bfds[name] = true
	}
	for i := range c.Instances {
		p.validateInstance(&c.Instances[i], tracked)
	}
	p.validateVRIDs()
	p.validateSyncGroups(tracked)
	groups := make(map[string]*VirtualServerGroup, len(c.VirtualServerGroups))
	for i := range c.VirtualServerGroups {
		groups[c.VirtualServerGroups[i].Name] = &c.VirtualServerGroups[i]
	}
	for i := range c.VirtualServers {
		p.validateVirtualServer(&c.VirtualServers[i], groups)
	}
	p.validateBGP()
}

// trackedNames are the names of what instances and sync groups may track.
type trackedNames struct {
	scripts, files, processes, bfds map[string]bool
}

// existingTracks drops, with keepalived's message, the tracked entries
// of owner (an instance or sync group) that name nothing configured.
func (p *parser) existingTracks(t *Tracking, names trackedNames, owner string) {
	t.Scripts = p.existing(t.Scripts, names.scripts, "(%s) track script %s not found, ignoring...", owner)
	t.Files = p.existing(t.Files, names.files, "(%s) track file %s not found, ignoring...", owner)
	t.Processes = p.existing(t.Processes, names.processes, "(%s) track process %s not found, ignoring...", owner)
	t.BFDs = p.existing(t.BFDs, names.bfds, "(%s) track bfd %s not found, ignoring...", owner)
}

func (p *parser) validateInstance(in *Instance, tracked trackedNames) {
	p.validateBFDTakeover(in, tracked.bfds)
	if in.VirtualRouterID == 0 {
		p.errorf(in.Pos, "(%s) the virtual router id must be set", in.Name)
	} else if in.Interface == "" {
		// keepalived 2.2.7 checks for an interface before it marks an
		// instance unicast, so that an instance without one, which
		// unicast would allow, is refused all the same.
		p.errorf(in.Pos, "(%s) Unknown interface!", in.Name)
	}
	if in.VRF != "" && in.Interface != "" {
		p.errorf(in.Pos, "(%s) vrf can only be specified without interface - clearing", in.Name)
		in.VRF = ""
	}
	v6 := len(in.VirtualIPs) > 0 && in.VirtualIPs[0].Prefix.Addr().Is6()
	if v6 && in.Version == 2 {
		// VRRP version 2 has no IPv6; keepalived takes version 3 unless
		// the instance asked for 2, which strict mode refuses.
		if in.StrictMode && in.set.version {
			p.errorf(in.Pos, "(%s) cannot use IPv6 with VRRP version 2; setting version 3", in.Name)
		}
		if in.StrictMode || !in.set.version {
			in.Version = 3
		}
	}
	if in.StrictMode && in.set.state && (in.State == StateMaster) != (in.Priority == 255) {
		p.errorf(in.Pos, "(%s) State MASTER must match being address owner", in.Name)
		in.State = StateBackup
		if in.Priority == 255 {
			in.State = StateMaster
		}
	}
	if in.Auth != nil && in.StrictMode {
		p.errorf(in.Auth.Pos, "(%s) Strict mode does not support authentication. Ignoring.", in.Name)
		in.Auth = nil
	}
	if in.Auth != nil && in.Version == 3 {
		p.errorf(in.Auth.Pos, "(%s) VRRP version 3 does not support authentication. Ignoring.", in.Name)
		in.Auth = nil
	}
	if v6 && len(in.UnicastPeers) == 0 && in.StrictMode && !in.VirtualIPs[0].Prefix.Addr().IsLinkLocalUnicast() {
		p.errorf(in.Pos, "(%s) the first IPv6 VIP address must be link local", in.Name)
	}
	if in.Priority == 255 && in.Nopreempt {
		p.errorf(in.Pos, "(%s) nopreempt is incompatible with priority 255. resetting nopreempt", in.Name)
		in.Nopreempt = false
	}
	if in.Auth != nil && in.Auth.Type == AuthNone {
		in.Auth = nil
	}
	if in.State == StateMaster && in.Auth != nil && in.Auth.Type == AuthAH {
		p.errorf(in.Pos, "(%s) Initial state master is incompatible with AH authentication - clearing", in.Name)
		in.State = StateBackup
	}
	if in.Nopreempt && in.State == StateMaster {
		p.errorf(in.Pos, "(%s) Warning - nopreempt will not work with initial state MASTER - clearing", in.Name)
		in.Nopreempt = false
	}
	if in.PreemptDelay > 0 && in.Nopreempt {
		p.errorf(in.Pos, "(%s) preempt_delay is incompatible with nopreempt mode - resetting", in.Name)
		in.PreemptDelay = 0
	}
	if in.PreemptDelay > 0 && in.StrictMode {
		p.errorf(in.Pos, "(%s) preempt_delay is incompatible with strict mode - resetting", in.Name)
		in.PreemptDelay = 0
	}
	if in.PreemptDelay > 0 && in.State == StateMaster {
		p.errorf(in.Pos, "(%s) Warning - preempt delay will not work with initial state MASTER - clearing", in.Name)
		in.PreemptDelay = 0
	}
	// unicast_fault_no_peer turns keepalived's warning into a fault,
	// which it logs when the VRRP process starts.
	if (in.set.checkUnicastSrc || in.UnicastSrcIP.IsValid()) && len(in.UnicastPeers) == 0 && !in.UnicastFaultNoPeer {
		p.errorf(in.Pos, "(%s) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.", in.Name)
	}
	if in.UseVMAC && in.PromoteSecondaries {
		p.errorf(in.Pos, "(%s) promote_secondaries is automatically set for vmacs - ignoring", in.Name)
	}
	if !in.ttlPos.IsZero() && len(in.UnicastPeers) == 0 {
		// keepalived resets it to 0, not to its default, and then
		// builds its IPv4 multicast adverts with TTL 0, which the
		// kernel does not send: the default is kept here instead.
		p.errorf(in.endPos, "(%s): Cannot use unicast_ttl without unicast peers - resetting", in.Name)
		in.UnicastTTL = 255
	}
	if len(in.VirtualIPs) == 0 {
		if in.Version == 3 || in.StrictMode {
			p.errorf(in.Pos, "(%s) No VIP specified; at least one is required", in.Name)
		} else {
			p.errorf(in.Pos, "(%s) No VIP specified; at least one is sensible", in.Name)
		}
	} else {
		v6 := in.VirtualIPs[0].Prefix.Addr().Is6()
		vips := in.VirtualIPs[:0]
		for _, a := range in.VirtualIPs {
			if a.Prefix.Addr().Is6() != v6 {
				p.errorf(a.Pos, "(%s): address family must match VRRP instance [%s] - ignoring", in.Name, hostOrPrefix(a.Prefix))
				continue
			}
			vips = append(vips, a)
		}
		in.VirtualIPs = vips
		// The count is one byte of the advertisement, which must fit in
		// a 1500 byte frame; the rest are kept, but not advertised.
		room := (1500 - 14 - 20 - 8 - 8) / 4
		switch {
		case v6:
			room = (1500 - 14 - 40 - 8) / 16
		case in.Version == 2 && in.Auth != nil && in.Auth.Type == AuthAH:
			room = (1500 - 14 - 20 - 8 - 8 - 24) / 4
		case in.Version == 3:
			room = (1500 - 14 - 20 - 8) / 4
		}
		room = min(room, 255)
		if len(in.VirtualIPs) > room {
			p.errorf(in.Pos, "(%s) Number of VIPs (%d) exceeds maximum/space available in packet (max %d addresses) - excess moved to eVIPs", in.Name, len(in.VirtualIPs), room)
			in.ExcludedVIPs = append(in.ExcludedVIPs, in.VirtualIPs[room:]...)
			in.VirtualIPs = in.VirtualIPs[:room]
		}
		for _, peer := range in.UnicastPeers {
			if peer.Addr.Is6() != v6 {
				p.errorf(peer.Pos, "(%s) unicast peer %s is not of the instance's address family", in.Name, peer.Addr)
			}
		}
	}
	p.existingTracks(&in.Tracking, tracked, in.Name)
}

// hostOrPrefix writes a prefix as keepalived's ipaddresstos does: the
// address alone for a host, else with its length.
func hostOrPrefix(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// validateVRIDs reports instances that share a VRID on one interface and
// address family, which would make them one router to their peers.
func (p *parser) validateVRIDs() {
	type key struct {
		iface string
		v6    bool
		id    int
	}
	seen := make(map[key]string)
	for _, in := range p.cfg.Instances {
		if in.VirtualRouterID == 0 || in.Interface == "" {
			continue
		}
		v6 := len(in.VirtualIPs) > 0 && in.VirtualIPs[0].Prefix.Addr().Is6()
		k := key{in.Interface, v6, in.VirtualRouterID}
		if other, dup := seen[k]; dup {
			family := "IPv4"
			if v6 {
				family = "IPv6"
			}
			p.errorf(in.Pos, "%s and %s both use VRID %d with %s on interface %s", other, in.Name, in.VirtualRouterID, family, in.Interface)
			continue
		}
		seen[k] = in.Name
	}
}

func (p *parser) validateSyncGroups(tracked trackedNames) {
	c := p.cfg
	instances := make(map[string]bool, len(c.Instances))
	for _, in := range c.Instances {
		instances[in.Name] = true
	}
	inGroup := make(map[string]string)
	groups := c.SyncGroups[:0]
	for _, g := range c.SyncGroups {
		var members []string
		for _, name := range g.Group {
			if !instances[name] {
				p.errorf(g.Pos, "Virtual router %s specified in sync group %s doesn't exist - ignoring", name, g.Name)
				continue
			}
			if _, ok := inGroup[name]; ok {
				p.errorf(g.Pos, "Virtual router %s cannot exist in more than one sync group; ignoring %s", name, g.Name)
				continue
			}
			inGroup[name] = g.Name
			members = append(members, name)
		}
		declared := len(g.Group)
		g.Group = members
		switch {
		case declared == 0:
			p.errorf(g.Pos, "Sync group %s has no virtual router(s). removing", g.Name)
			continue
		case len(members) == 0:
			p.errorf(g.Pos, "Sync group %s, no matching virtual router found in group declaration - removing", g.Name)
			continue
		case len(members) == 1:
			p.errorf(g.Pos, "Sync group %s has only %d virtual router(s) - this probably isn't what you want", g.Name, len(members))
		}
		p.existingTracks(&g.Tracking, tracked, g.Name)
		groups = append(groups, g)
	}
	c.SyncGroups = groups
	trackWeight := make(map[string]bool, len(groups))
	for _, g := range groups {
		trackWeight[g.Name] = g.SyncGroupTrackingWeight
	}
	scriptByName := make(map[string]*Script, len(c.Scripts))
	for i := range c.Scripts {
		scriptByName[c.Scripts[i].Name] = &c.Scripts[i]
	}
	fileByName := make(map[string]*TrackFile, len(c.TrackFiles))
	for i := range c.TrackFiles {
		fileByName[c.TrackFiles[i].Name] = &c.TrackFiles[i]
	}
	bfdWeight := make(map[string]int, len(c.BFDInstances))
	for _, b := range c.BFDInstances {
		bfdWeight[b.Name] = b.Weight
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		in.SyncGroup = inGroup[in.Name]
		if in.SyncGroup != "" && !trackWeight[in.SyncGroup] {
			p.dropTrackWeights(in, scriptByName, fileByName)
			p.dropWeightedBFDs(in, bfdWeight)
		}
	}
	p.groupTrackedTwice(c)
}

// groupTrackedTwice reports a sync group's track_interface on an
// interface a member tracks already, as keepalived's
// add_vrrp_to_interface does: the member's own interface counts unless
// dont_track_primary, and the member's track_interface of its own
// interface, which keepalived drops, does not.
func (p *parser) groupTrackedTwice(c *Config) {
	byName := make(map[string]*Instance, len(c.Instances))
	for i := range c.Instances {
		byName[c.Instances[i].Name] = &c.Instances[i]
	}
	for _, g := range c.SyncGroups {
		for _, e := range g.Tracking.Interfaces {
			for _, name := range g.Group {
				in := byName[name]
				own := e.Name == in.Interface
				tracked := own && !in.DontTrackPrimary
				for _, t := range in.Tracking.Interfaces {
					tracked = tracked || !own && t.Name == e.Name
				}
				if tracked {
					p.errorf(e.Pos, "(%s) track_interface %s is configured on VRRP instance and sync group. Remove vrrp instance or sync group config", in.Name, e.Name)
				}
			}
		}
	}
}

// dropTrackWeights zeroes the tracking weights of an instance in a sync
// group: members moving priorities on their own would split the group.
func (p *parser) dropTrackWeights(in *Instance, scripts map[string]*Script, files map[string]*TrackFile) {
	t := &in.Tracking
	for i := range t.Interfaces {
		if e := &t.Interfaces[i]; e.Weight != 0 {
			p.errorf(e.Pos, "(%s) ignoring %s tracked interface weight due to SYNC group", in.Name, e.Name)
			e.Weight, e.HasWeight = 0, true
		}
	}
	for i := range t.Scripts {
		e := &t.Scripts[i]
		w := e.Weight
		if s := scripts[e.Name]; !e.HasWeight && s != nil {
			w = s.Weight
		}
		if w != 0 {
			p.errorf(e.Pos, "(%s) ignoring tracked script %s with weights due to SYNC group", in.Name, e.Name)
			e.Weight, e.HasWeight = 0, true
		}
	}
	for i := range t.Files {
		e := &t.Files[i]
		switch {
		case e.HasWeight && e.Weight != 0:
			p.errorf(e.Pos, "(%s) ignoring tracked file %s with weight %d due to SYNC group", in.Name, e.Name, e.Weight)
		case e.HasWeight:
			continue
		default:
			f := files[e.Name]
			if f == nil || f.Weight == 0 {
				continue
			}
			if f.weightSet {
				p.errorf(e.Pos, "(%s) ignoring tracked file %s with weight %d due to SYNC group", in.Name, e.Name, f.Weight)
			} else {
				p.errorf(e.Pos, "(%s) ignoring weight from tracked file %s due to SYNC group. specify weight 0", in.Name, e.Name)
			}
		}
		e.Weight, e.HasWeight = 0, true
	}
}

// dropWeightedBFDs removes the weighted track_bfd entries of an
// instance in a sync group, as keepalived does, where it keeps the
// unweighted ones: the entry's own weight, or the bfd_instance's.
func (p *parser) dropWeightedBFDs(in *Instance, weights map[string]int) {
	in.Tracking.BFDs = slices.DeleteFunc(in.Tracking.BFDs, func(e Track) bool {
		w := e.Weight
		if !e.HasWeight {
			w = weights[e.Name]
		}
		if w != 0 {
			p.errorf(e.Pos, "(%s) ignoring tracked bfd %s with weight %d due to SYNC group", in.Name, e.Name, w)
		}
		return w != 0
	})
}

func (p *parser) validateVirtualServer(vs *VirtualServer, groups map[string]*VirtualServerGroup) {
	if vs.FWMark != 0 && vs.Protocol != ProtocolNone {
		p.errorf(vs.Pos, "Warning: Virtual server %s: protocol specified for fwmark - protocol will be ignored", vs.Name())
		vs.Protocol = ProtocolNone
	}
	if vs.FWMark == 0 && vs.Protocol == ProtocolNone {
		// keepalived 2.2.7 says, and does, exactly this.
		p.errorf(vs.Pos, "Virtual server %s: no protocol set - defaulting to UDP", vs.Name())
		vs.Protocol = ProtocolUDP
	}
	if vs.PersistenceTimeout == 0 && zeroPort(vs, groups) {
		// keepalived makes a service without a port persistent, with
		// IPVS's default timeout.
		p.errorf(vs.Pos, "Virtual server %s: zero port only valid for persistent services - setting", vs.Name())
		vs.PersistenceTimeout = 360
	}
	if !vs.fwd {
		p.errorf(vs.Pos, "Virtual server %s: no forwarding method set, setting default NAT", vs.Name())
	}
	if !vs.schedSet {
		p.errorf(vs.Pos, "Virtual server %s: no scheduler set, setting default 'wlc'", vs.Name())
	}
	groupHasFWMark := false
	if vs.Group != "" {
		g := groups[vs.Group]
		if g == nil {
			// keepalived -t accepts this; the checker process drops the
			// virtual server when it starts.
			p.d.warnf(vs.Pos, "Virtual server group %s specified but not configured - ignoring virtual server %s", vs.Group, vs.Name())
		} else {
			for _, m := range g.Members {
				groupHasFWMark = groupHasFWMark || m.FWMark != 0
			}
		}
	}
	p.dropDuplicateRealServers(vs)
	if len(vs.RealServers) == 0 && vs.SorryServer == nil {
		p.errorf(vs.Pos, "Virtual server %s has no real servers - ignoring", vs.Name())
	}
	p.validateQuorum(vs)
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		if vs.Addr.IsValid() && rs.Addr.Is4() != vs.Addr.Is4() && rs.Forwarding.Method != LBKindTUN {
			p.errorf(rs.Pos, "Virtual server %s: real server %s address family must match VS address family", vs.Name(), rs.Addr)
		}
		// Only NAT rewrites ports, and a fwmark service has none.
		switch {
		case vs.FWMark != 0 && rs.Forwarding.Method != LBKindNAT && rs.portSet && rs.Port != 0:
			p.errorf(rs.Pos, "WARNING - fwmark virtual server %s, real server %s has port specified - clearing", vs.Name(), rs.Name(vs))
			rs.Port = 0
		case groupHasFWMark && rs.Forwarding.Method != LBKindNAT && rs.portSet && rs.Port != 0:
			p.errorf(rs.Pos, "WARNING - fwmark virtual server %s, real server %s has port specified - port will be ignored", vs.Name(), rs.Name(vs))
		case vs.Addr.IsValid() && rs.Forwarding.Method != LBKindNAT && rs.portSet && rs.Port != vs.Port:
			p.errorf(rs.Pos, "WARNING - virtual server %s and real server %s ports don't match - resetting", vs.Name(), rs.Name(vs))
			rs.Port = vs.Port
		}
		// keepalived's checker process drops a BFD_CHECK whose session
		// it does not hear of.
		rs.Checkers = slices.DeleteFunc(rs.Checkers, func(ck Checker) bool {
			if ck.BFD != nil && !p.hasBFD(ck.BFD.Name) {
				p.errorf(ck.BFD.namePos, "(%s) BFD_CHECK - BFD %s not configured", rs.Name(vs), ck.BFD.Name)
				return true
			}
			return false
		})
	}
	if g := groups[vs.Group]; g != nil {
		p.validateGroupPorts(vs, g, groupHasFWMark)
	} else {
		p.validateSorryPort(vs)
	}
}

// validateSorryPort gives a lone virtual server's DR or TUN sorry server
// the service's port, and none under a firewall mark, as keepalived does.
func (p *parser) validateSorryPort(vs *VirtualServer) {
	ss := vs.SorryServer
	if ss == nil || vs.Group != "" || ss.Forwarding.Method == LBKindNAT {
		return
	}
	switch {
	case vs.FWMark != 0 && ss.Port != 0:
		p.errorf(ss.Pos, "WARNING - virtual server %s, sorry server has port specified - clearing", vs.Name())
		ss.Port = 0
	case vs.FWMark == 0 && ss.Port != 0 && ss.Port != vs.Port:
		p.errorf(ss.Pos, "WARNING - virtual server %s and sorry server ports don't match - resetting", vs.Name())
		ss.Port = vs.Port
	case vs.FWMark == 0:
		ss.Port = vs.Port
	}
}

// validateGroupPorts reports the DR and TUN real and sorry servers whose
// port the entries of group g will not keep, in keepalived's words; the
// table gives them each entry's port.
func (p *parser) validateGroupPorts(vs *VirtualServer, g *VirtualServerGroup, hasFWMark bool) {
	ss := vs.SorryServer
	if ss != nil && (ss.Forwarding.Method == LBKindNAT || ss.Port == 0) {
		ss = nil
	}
	if hasFWMark && ss != nil {
		p.errorf(ss.Pos, "WARNING - fwmark virtual server %s, sorry server has port specified - port will be ignored", vs.Name())
	}
	for _, m := range g.Members {
		if m.FWMark != 0 {
			continue
		}
		for i := range vs.RealServers {
			rs := &vs.RealServers[i]
			if rs.Forwarding.Method != LBKindNAT && rs.Port != 0 && rs.Port != m.Port {
				p.errorf(rs.Pos, "virtual server %s:[%s] and real server %s ports don't match", vs.Name(), m.entry(), rs.Name(vs))
			}
		}
		if ss != nil && ss.Port != m.Port {
			p.errorf(ss.Pos, "WARNING - virtual server %s, sorry server has port specified - port will be ignored", vs.Name())
		}
	}
}

// entry formats an address entry of a group as keepalived's format_vsge
// does: "192.0.2.1-192.0.2.3,80".
func (m *VSGMember) entry() string {
	a := m.Addr.String()
	if m.Last.IsValid() && m.Last != m.Addr {
		a += "-" + m.Last.String()
	}
	return a + "," + strconv.Itoa(int(m.Port))
}

// zeroPort reports whether an address service of vs has no port.
func zeroPort(vs *VirtualServer, groups map[string]*VirtualServerGroup) bool {
	if vs.Group == "" {
		return vs.FWMark == 0 && vs.Port == 0
	}
	if g := groups[vs.Group]; g != nil {
		for _, m := range g.Members {
			if m.FWMark == 0 && m.Port == 0 {
				return true
			}
		}
	}
	return false
}

// dropDuplicateRealServers keeps the first of real servers with the same
// address and port, as keepalived does.
func (p *parser) dropDuplicateRealServers(vs *VirtualServer) {
	// A few dozen real servers are compared with each other faster than
	// a map of them is made.
	const linear = 32
	var seen map[netip.AddrPort]bool
	if len(vs.RealServers) > linear {
		seen = make(map[netip.AddrPort]bool, len(vs.RealServers))
	}
	kept := vs.RealServers[:0]
	for _, rs := range vs.RealServers {
		ap := netip.AddrPortFrom(rs.Addr, rs.Port)
		dup := seen[ap]
		if seen == nil {
			for i := range kept {
				if kept[i].Addr == rs.Addr && kept[i].Port == rs.Port {
					dup = true
					break
				}
			}
		}
		if dup {
			p.errorf(rs.Pos, "VS %s: real server %s is duplicated - removing second rs", vs.Name(), rs.Name(vs))
			continue
		}
		if seen != nil {
			seen[ap] = true
		}
		kept = append(kept, rs)
	}
	vs.RealServers = kept
}

// validateQuorum keeps quorum and hysteresis within what the real
// servers' weights can reach.
func (p *parser) validateQuorum(vs *VirtualServer) {
	if len(vs.RealServers) == 0 {
		return
	}
	var total uint64
	for _, rs := range vs.RealServers {
		total += uint64(rs.Weight)
	}
	if uint64(vs.Quorum) > total {
		p.errorf(vs.Pos, "Warning - quorum %d for %s exceeds total weight of real servers %d, reducing quorum to %d", vs.Quorum, vs.Name(), total, total)
		vs.Quorum = uint32(total)
	}
	if vs.Hysteresis >= vs.Quorum {
		// keepalived's unsigned arithmetic: a quorum of 0 gives
		// 4294967295.
		p.errorf(vs.Pos, "Virtual server %s: hysteresis %d >= quorum %d; setting hysteresis to %d", vs.Name(), vs.Hysteresis, vs.Quorum, vs.Quorum-1)
		vs.Hysteresis = vs.Quorum - 1
	}
}

// hasBFD reports whether keepalived's checker process keeps a
// bfd_instance of that name.
func (p *parser) hasBFD(name string) bool { return p.bfdChecker[name] }

// existing drops tracked entries that name nothing configured.
func (p *parser) existing(list []Track, known map[string]bool, format, owner string) []Track {
	out := list[:0]
	for _, t := range list {
		if !known[t.Name] {
			p.errorf(t.Pos, format, owner, t.Name)
			continue
		}
		out = append(out, t)
	}
	return out
}
