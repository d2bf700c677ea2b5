package config

import (
	"net/netip"
	"time"
)

// Defaults keepalived applies when a configuration leaves a setting out.
const (
	DefaultAdvertInt        = time.Second
	DefaultPriority         = 100
	DefaultVRRPVersion      = 2
	DefaultGarpMasterDelay  = 5 * time.Second
	DefaultGarpMasterRepeat = 5
	DefaultDownTimerAdverts = 3
	DefaultDelayLoop        = 60 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
	DefaultSMTPTimeout      = 30 * time.Second
	DefaultSMTPPort         = 25
	DefaultSMTPHeloName     = "smtpchecker.keepalived.org"
)

// resolve fills in defaults and what each block inherits from the block
// or the global_defs around it, so that consumers read final values.
func (p *parser) resolve() {
	c := p.cfg
	g := &c.Global

	if g.SMTPConnectTimeout == 0 {
		g.SMTPConnectTimeout = DefaultSMTPTimeout
	}
	if g.SMTPServer != "" && g.SMTPPort == 0 {
		g.SMTPPort = DefaultSMTPPort
	}
	if !g.VRRPMcastGroup4.IsValid() {
		g.VRRPMcastGroup4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	}
	if !g.VRRPMcastGroup6.IsValid() {
		g.VRRPMcastGroup6 = netip.MustParseAddr("ff02::12")
	}
	set := p.globalSet()
	if !set[nftPrioritySet] {
		g.NFTablesPriority = -1
	}
	if !set["vrrp_garp_master_delay"] {
		g.VRRPGarpMasterDelay = DefaultGarpMasterDelay
	}
	if !set["vrrp_garp_master_repeat"] {
		g.VRRPGarpMasterRepeat = DefaultGarpMasterRepeat
	}
	if !set["vrrp_garp_lower_prio_delay"] {
		g.VRRPGarpLowerPrioDelay = g.VRRPGarpMasterDelay
	}
	if !set["vrrp_garp_lower_prio_repeat"] {
		g.VRRPGarpLowerPrioRepeat = g.VRRPGarpMasterRepeat
	}
	if !set["vrrp_garp_master_refresh_repeat"] {
		g.VRRPGarpMasterRefreshRepeat = 1
	}
	if g.VRRPVersion == 0 {
		g.VRRPVersion = DefaultVRRPVersion
	}
	if g.VRRPDownTimerAdverts == 0 {
		g.VRRPDownTimerAdverts = DefaultDownTimerAdverts
	}

	for i := range c.Instances {
		p.resolveInstance(&c.Instances[i])
	}
	for _, sg := range c.SyncGroups {
		for _, name := range sg.Group {
			for i := range c.Instances {
				if in := &c.Instances[i]; in.Name == name && in.SyncGroup == "" {
					in.SyncGroup = sg.Name
					// keepalived: the instance's own, else its sync
					// group's, else vrrp_notify_priority_changes.
					if !in.set.notifyPriorityChanges && sg.notifyPrioritySet {
						in.NotifyPriorityChanges, in.set.notifyPriorityChanges = sg.NotifyPriorityChanges, true
					}
				}
			}
		}
	}
	for i := range c.Instances {
		if in := &c.Instances[i]; !in.set.notifyPriorityChanges {
			in.NotifyPriorityChanges = g.VRRPNotifyPriorityChanges
		}
	}
	for i := range c.VirtualServers {
		p.resolveVirtualServer(&c.VirtualServers[i])
	}
	if sd := g.LVSSyncDaemon; sd != nil && !sd.idSet {
		for _, in := range c.Instances {
			if in.Name == sd.Instance {
				sd.SyncID = in.VirtualRouterID
			}
		}
	}
}

// globalSet records which global_defs keywords were written, for the
// defaults that depend on whether a keyword was given rather than on
// its value.
func (p *parser) globalSet() map[string]bool {
	return p.globalSeen
}

func (p *parser) resolveInstance(in *Instance) {
	g := &p.cfg.Global
	if !in.set.state && in.Priority == 255 {
		in.State = StateMaster
	}
	s := in.set
	if !s.strictMode {
		in.StrictMode = g.VRRPStrict
	}
	if !s.version {
		in.Version = g.VRRPVersion
	}
	if !s.garpMasterDelay {
		in.GarpMasterDelay = g.VRRPGarpMasterDelay
	}
	if !s.garpMasterRepeat {
		in.GarpMasterRepeat = g.VRRPGarpMasterRepeat
	}
	if !s.garpLowerPrioDelay {
		in.GarpLowerPrioDelay = g.VRRPGarpLowerPrioDelay
		if s.garpMasterDelay && !p.globalSeen["vrrp_garp_lower_prio_delay"] {
			in.GarpLowerPrioDelay = in.GarpMasterDelay
		}
	}
	if !s.garpLowerPrioRepeat {
		in.GarpLowerPrioRepeat = g.VRRPGarpLowerPrioRepeat
		if s.garpMasterRepeat && !p.globalSeen["vrrp_garp_lower_prio_repeat"] {
			in.GarpLowerPrioRepeat = in.GarpMasterRepeat
		}
	}
	if !s.garpMasterRefresh {
		in.GarpMasterRefresh = g.VRRPGarpMasterRefresh
	}
	if !s.garpMasterRefreshRepeat {
		in.GarpMasterRefreshRepeat = g.VRRPGarpMasterRefreshRepeat
	}
	// Instances cannot set these themselves in keepalived 2.2: a
	// garp_group sets them for its interfaces, in place of the global
	// ones.
	in.GarpInterval = g.VRRPGarpInterval
	in.GnaInterval = g.VRRPGnaInterval
	for _, gg := range p.cfg.GarpGroups {
		for _, name := range gg.Interfaces {
			if name == in.Interface {
				in.GarpInterval, in.GnaInterval = 0, 0
				if gg.HasGarp {
					in.GarpInterval = gg.GarpInterval
				}
				if gg.HasGna {
					in.GnaInterval = gg.GnaInterval
				}
			}
		}
	}
	if !s.downTimerAdverts {
		in.DownTimerAdverts = g.VRRPDownTimerAdverts
	}
	if !s.lowerPrioNoAdvert {
		in.LowerPrioNoAdvert = g.VRRPLowerPrioNoAdvert
	}
	if !s.higherPrioSendAdvert {
		in.HigherPrioSendAdvert = g.VRRPHigherPrioSendAdvert
	}
	if !s.skipCheckAdvAddr {
		in.SkipCheckAdvAddr = g.VRRPSkipCheckAdvAddr
	}
	if !s.checkUnicastSrc {
		in.CheckUnicastSrc = g.VRRPCheckUnicastSrc
	}
	if !s.smtpAlert {
		in.SMTPAlert = firstSet(g.SMTPAlertVRRP, g.SMTPAlert, false)
	}
	if in.accept.set {
		in.Accept = in.accept.v
	} else {
		in.Accept = in.Priority == 255 || !in.StrictMode
	}
	if in.StrictMode {
		p.strictInstance(in)
	}
}

// strictInstance forces on an instance in strict mode (vrrp_strict or
// strict_mode) the settings RFC 5798 requires, with keepalived's messages
// for those the configuration set otherwise (vrrp.c
// vrrp_complete_instance). Settings the instance did not write itself
// take the strict value without a word, whatever global_defs says.
func (p *parser) strictInstance(in *Instance) {
	s := in.set
	if in.Accept && in.Priority != 255 && in.Version == 2 {
		p.errorf(in.Pos, "(%s) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting", in.Name)
		in.Accept = false
	}
	if s.garpLowerPrioRepeat && in.GarpLowerPrioRepeat != 0 {
		p.errorf(in.Pos, "(%s) Strict mode requires no repeat garps. resetting", in.Name)
	}
	in.GarpLowerPrioRepeat = 0
	if s.garpLowerPrioDelay && in.GarpLowerPrioDelay != 0 {
		p.errorf(in.Pos, "(%s) Strict mode requires no repeat garp delay. resetting", in.Name)
	}
	in.GarpLowerPrioDelay = 0
	if s.lowerPrioNoAdvert && !in.LowerPrioNoAdvert {
		p.errorf(in.Pos, "(%s) Strict mode requires no lower priority advert. resetting", in.Name)
	}
	in.LowerPrioNoAdvert = true
	if s.higherPrioSendAdvert && in.HigherPrioSendAdvert {
		p.errorf(in.Pos, "(%s) strict mode requires higher_prio_send_advert to be clear. resetting", in.Name)
	}
	in.HigherPrioSendAdvert = false
	if in.DownTimerAdverts != DefaultDownTimerAdverts {
		p.errorf(in.Pos, "(%s) down_timer_adverts is incompatible with strict mode - resetting", in.Name)
		in.DownTimerAdverts = DefaultDownTimerAdverts
	}
	if in.UseVMAC && in.VMACAddr != "" {
		p.errorf(in.Pos, "(%s): cannot specify MAC address with strict mode - clearing", in.Name)
		in.VMACAddr = ""
	}
	if in.UseVMAC && in.VMACXmitBase {
		p.errorf(in.Pos, "(%s) xmit_base is incompatible with strict mode - resetting", in.Name)
		in.VMACXmitBase = false
	}
}

// firstSet returns the first of the optional values that is set.
func firstSet(a, b *bool, def bool) bool {
	if a != nil {
		return *a
	}
	if b != nil {
		return *b
	}
	return def
}

func (p *parser) resolveVirtualServer(vs *VirtualServer) {
	g := &p.cfg.Global
	t := &vs.Timing
	if !vs.set.delayLoop {
		t.DelayLoop = DefaultDelayLoop
	}
	if !vs.set.connectTimeout {
		t.ConnectTimeout = DefaultConnectTimeout
	}
	vs.InhibitOnFailure = vs.inh.v
	vs.SMTPAlert = firstSet(g.SMTPAlertChecker, g.SMTPAlert, false)
	if vs.smtp.set {
		vs.SMTPAlert = vs.smtp.v
	}
	if vs.SorryServer != nil {
		vs.SorryServer.Inhibit = vs.sorryInhibit
		vs.SorryServer.Forwarding = vs.Forwarding
		if vs.sorryFwd != nil {
			vs.SorryServer.Forwarding = *vs.sorryFwd
		}
	}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		inheritTiming(&rs.Timing, &rs.set, &vs.Timing, vs.set)
		if !rs.fwd {
			rs.Forwarding = vs.Forwarding
		}
		rs.InhibitOnFailure = vs.InhibitOnFailure
		if rs.inh.set {
			rs.InhibitOnFailure = rs.inh.v
		}
		rs.SMTPAlert = firstSet(g.SMTPAlertChecker, g.SMTPAlert, true)
		if rs.smtp.set {
			rs.SMTPAlert = rs.smtp.v
		}
		if !rs.vhost {
			rs.Virtualhost = vs.Virtualhost
		}
		if !rs.portSet && vs.FWMark == 0 {
			rs.Port = vs.Port
		}
	}
}

// resolveCheckers runs after validation, which may change a real
// server's port; checkers connect by default to the port its line gives.
func (p *parser) resolveCheckers() {
	for i := range p.cfg.VirtualServers {
		vs := &p.cfg.VirtualServers[i]
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			for k := range rs.Checkers {
				p.resolveChecker(&rs.Checkers[k], rs)
			}
		}
	}
}

// inheritTiming copies into t what the inner block did not set itself;
// the copied values count as set for the next block in.
func inheritTiming(t *Timing, set *timingSet, outer *Timing, outerSet timingSet) {
	if !set.delayLoop {
		t.DelayLoop = outer.DelayLoop
	}
	if !set.connectTimeout {
		t.ConnectTimeout = outer.ConnectTimeout
	}
	if !set.retry && outerSet.retry {
		t.Retry, set.retry = outer.Retry, true
	}
	if !set.delayBeforeRetry && outerSet.delayBeforeRetry {
		t.DelayBeforeRetry, set.delayBeforeRetry = outer.DelayBeforeRetry, true
	}
	if !set.warmup && outerSet.warmup {
		t.Warmup, set.warmup = outer.Warmup, true
	}
	if !set.alpha {
		t.Alpha = outer.Alpha
	}
	set.delayLoop, set.connectTimeout = true, true
}

func (p *parser) resolveChecker(c *Checker, rs *RealServer) {
	inheritTiming(&c.Timing, &c.set, &rs.Timing, rs.set)
	t := &c.Timing
	if !c.set.retry {
		switch c.Type {
		case DNSCheck:
			t.Retry = 3
		case MiscCheck:
			t.Retry = 0
		default:
			t.Retry = 1
		}
	}
	if !c.set.delayBeforeRetry {
		switch c.Type {
		case HTTPGet, SSLGet:
			t.DelayBeforeRetry = 3 * time.Second
		case DNSCheck:
			t.DelayBeforeRetry = t.DelayLoop
		default:
			t.DelayBeforeRetry = time.Second
		}
	}
	if !c.set.warmup {
		t.Warmup = t.DelayLoop
	}
	if c.Type == MiscCheck || c.Type == FileCheck || c.Type == BFDCheck {
		return
	}
	if !c.ConnectIP.IsValid() {
		c.ConnectIP = rs.Addr
	}
	if c.ConnectPort == 0 {
		c.ConnectPort = rs.written
	}
	switch c.Type {
	case HTTPGet, SSLGet:
		if c.HTTP.Virtualhost == "" {
			c.HTTP.Virtualhost = rs.Virtualhost
		}
		for i := range c.HTTP.URLs {
			u := &c.HTTP.URLs[i]
			if u.Virtualhost == "" {
				u.Virtualhost = c.HTTP.Virtualhost
			}
			if len(u.StatusCodes) == 0 && u.Digest == "" {
				u.StatusCodes = []StatusRange{{Lo: 200, Hi: 299}}
			}
		}
	case SMTPCheck:
		if c.SMTP.HeloName == "" {
			c.SMTP.HeloName = DefaultSMTPHeloName
		}
	}
}
