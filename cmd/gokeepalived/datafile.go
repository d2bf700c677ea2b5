package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// The USR1 data file: the VRRP Topology part in keepalived 2.2.7's
// layout (vrrp_data.c's dump_vrrp), line for line for what an instance
// here has. Lines about keepalived's own machinery that gokeepalived does
// not have (socket descriptors, the socket pool and interface sections)
// are left out, and the two timers the vrrp package does not expose are
// estimated, as noted where they are written.

// Dump writes the instances, as keepalived's VRRP process writes them.
func (v *vrrpLoop) Dump(w io.Writer) {
	fmt.Fprintf(w, "------< VRRP Topology >------\n")
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	for _, inst := range v.instances {
		st := inst.Status()
		ci := v.configs[st.Name]
		if ci == nil {
			continue
		}
		dumpInstance(w, st, ci, v.scripts[st.Name], v.groupOf(st.Name), now)
	}
}

// groupOf names the sync group of an instance, or "". v.mu is held.
func (v *vrrpLoop) groupOf(name string) string {
	return v.memberOf[name]
}

func dumpInstance(w io.Writer, st vrrp.Status, ci *config.Instance, scripts *notify.Instance, group string, now time.Time) {
	p := func(format string, a ...any) { fmt.Fprintf(w, "   "+format+"\n", a...) }
	version := ci.Version
	if version == 0 {
		version = 2
	}
	unicast := len(ci.UnicastPeers) > 0
	fmt.Fprintf(w, " VRRP Instance = %s\n", st.Name)
	p("VRRP Version = %d", version)
	if group != "" {
		p("Sync group = %s", group)
	}
	if len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6() {
		p("Using Native IPv6")
	}
	p("State = %s", st.State)
	masterInt := ci.AdvertInt
	if st.MasterInterval > 0 {
		masterInt = st.MasterInterval
	}
	if st.State == vrrp.StateBackup {
		master := "0.0.0.0"
		if st.Master.IsValid() {
			master = st.Master.String()
		}
		p("Master router = %s", master)
		p("Master priority = %d", st.MasterPriority)
		if version == 3 {
			p("Master advert int = %.2f sec", masterInt.Seconds())
		}
	}
	// keepalived 2.2.7 lists its flags word: nopreempt is one of its
	// bits without a line of its own.
	switch {
	case unicast:
		p("Flags:")
		p("  Using unicast")
	case ci.Nopreempt:
		p("Flags:")
	default:
		p("Flags: none")
	}
	p("Wantstate = %s", st.State)
	p("Number of config faults = 0")
	faults := 0
	if st.State == vrrp.StateFault {
		faults = 1
	}
	p("Number of interface and track script faults = %d", faults)
	p("Number of track scripts init = 0")
	last := st.LastTransition
	if last.IsZero() {
		last = now
	}
	p("Last transition = %s", dataTime(last))
	// The vrrp package does not expose its timers: a master's next
	// advert is at most an interval away, and a backup's down timer
	// at most the master down interval.
	downTimer := 3*masterInt + time.Duration(256-int(st.EffectivePriority))*masterInt/256
	switch st.State {
	case vrrp.StateMaster:
		p("Read timeout = %s", dataTime(now.Add(ci.AdvertInt)))
	case vrrp.StateBackup:
		p("Read timeout = %s", dataTime(now.Add(downTimer)))
	default:
		p("Read timeout = DISABLED")
	}
	p("Master down timer = %d usecs", downTimer.Microseconds())
	p("Interface = %s", ci.Interface)
	if ci.DontTrackPrimary {
		p("VRRP interface tracking disabled")
	}
	if ci.SkipCheckAdvAddr {
		p("Skip checking advert IP addresses")
	}
	if ci.StrictMode {
		p("Enforcing strict VRRP compliance")
	}
	src, fromConfig := ci.McastSrcIP, ci.McastSrcIP.IsValid()
	if ci.UnicastSrcIP.IsValid() {
		src, fromConfig = ci.UnicastSrcIP, true
	}
	if !src.IsValid() {
		src = primaryAddr(ci)
	}
	srcText := "(none)"
	if src.IsValid() {
		srcText = src.String()
	}
	if fromConfig {
		srcText += " (from configuration)"
	}
	p("Using src_ip = %s", srcText)
	if !unicast {
		group := ci.McastDstIP
		if !group.IsValid() {
			group = netip.MustParseAddr("224.0.0.18")
			if src.Is6() {
				group = netip.MustParseAddr("ff02::12")
			}
		}
		p("Multicast address %s", group)
	}
	p("Gratuitous ARP delay = %d", int(ci.GarpMasterDelay.Seconds()))
	p("Gratuitous ARP repeat = %d", ci.GarpMasterRepeat)
	p("Gratuitous ARP refresh = %d", int(ci.GarpMasterRefresh.Seconds()))
	p("Gratuitous ARP refresh repeat = %d", ci.GarpMasterRefreshRepeat)
	p("Gratuitous ARP lower priority delay = %d", int(ci.GarpLowerPrioDelay.Seconds()))
	p("Gratuitous ARP lower priority repeat = %d", ci.GarpLowerPrioRepeat)
	p("Down timer adverts = %d", orInt(ci.DownTimerAdverts, 3))
	p("Send advert after receive lower priority advert = %t", !ci.LowerPrioNoAdvert)
	p("Send advert after receive higher priority advert = %t", ci.HigherPrioSendAdvert)
	p("Virtual Router ID = %d", st.VRID)
	p("Priority = %d", st.Priority)
	p("Effective priority = %d", st.EffectivePriority)
	p("Total priority = %d", st.EffectivePriority)
	if version == 2 {
		p("Advert interval = %d sec", int(ci.AdvertInt.Seconds()))
	} else {
		p("Advert interval = %d milli-sec", ci.AdvertInt.Milliseconds())
		if st.State == vrrp.StateBackup {
			p("Master advert interval = %d milli-sec", masterInt.Milliseconds())
		}
	}
	p("Accept = %s", enabled(ci.Accept))
	p("Preempt = %s", enabled(!ci.Nopreempt))
	if ci.PreemptDelay > 0 {
		p("Preempt delay = %g secs", ci.PreemptDelay.Seconds())
	}
	p("Promote_secondaries = %s", enabled(ci.PromoteSecondaries))
	switch {
	case ci.Auth != nil && ci.Auth.Type == config.AuthPass:
		p("Authentication type = SIMPLE_PASSWORD")
		p("Password = %s", ci.Auth.Pass)
	case ci.Auth != nil && ci.Auth.Type == config.AuthAH:
		p("Authentication type = IPSEC_AH")
	case version == 2:
		p("Authentication type = none")
	}
	if len(ci.VirtualIPs) > 0 {
		p("Virtual IP (%d):", len(ci.VirtualIPs))
		for _, a := range ci.VirtualIPs {
			p("  %s", dataAddress(a, ci.Interface, st.State == vrrp.StateMaster))
		}
	}
	if len(ci.ExcludedVIPs) > 0 {
		p("Virtual IP Excluded (%d):", len(ci.ExcludedVIPs))
		for _, a := range ci.ExcludedVIPs {
			p("  %s", dataAddress(a, ci.Interface, st.State == vrrp.StateMaster))
		}
	}
	if unicast {
		p("Unicast TTL = %d", orInt(ci.UnicastTTL, 255))
		p("Check unicast src : %s", yesNo(ci.CheckUnicastSrc))
		p("Unicast Peer :")
		for _, peer := range ci.UnicastPeers {
			p("  %s min_ttl %d max_ttl %d", peer.Addr, peer.MinTTL, orInt(peer.MaxTTL, 255))
		}
		p("Unicast checksum compatibility = no")
	}
	p("Using smtp notification = %s", yesNo(ci.SMTPAlert))
	p("Notify deleted = Fault")
	if scripts != nil {
		for _, s := range []struct {
			what   string
			script *notify.Script
		}{
			{"Backup", scripts.Backup}, {"Master", scripts.Master}, {"Fault", scripts.Fault},
			{"Stop", scripts.Stop}, {"Deleted", scripts.Deleted}, {"Generic", scripts.Notify},
			{"Master rx lower pri", scripts.MasterRxLowerPri},
		} {
			if s.script != nil {
				p("%s state transition script = %s, uid:gid %d:%d", s.what, quoteArgs(s.script.Args), s.script.Cred.UID, s.script.Cred.GID)
			}
		}
	}
	p("Notify priority changes = false")
}

// dataTime formats a time as keepalived's data file does:
// "1796172154.397689 (Wed Dec  2 00:42:34.397689 2026)".
func dataTime(t time.Time) string {
	t = t.Local()
	us := t.Nanosecond() / 1000
	return fmt.Sprintf("%d.%06d (%s.%06d %d)", t.Unix(), us, t.Format("Mon Jan _2 15:04:05"), us, t.Year())
}

// dataAddress formats a virtual address as keepalived's dump of an
// ip_address: "10.0.0.1/24 dev eth0 scope global", and " set" while the
// instance holds it.
func dataAddress(a config.Address, iface string, set bool) string {
	dev := a.Dev
	if dev == "" {
		dev = iface
	}
	s := fmt.Sprintf("%s dev %s scope %s", a.Prefix, dev, a.Scope)
	if a.Label != "" {
		s += " label " + a.Label
	}
	if set {
		s += " set"
	}
	return s
}

// primaryAddr is the address keepalived sends from without mcast_src_ip:
// the interface's first address of the instance's family.
func primaryAddr(ci *config.Instance) netip.Addr {
	ifi, err := net.InterfaceByName(ci.Interface)
	if err != nil {
		return netip.Addr{}
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	v6 := len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6()
	vips := map[netip.Addr]bool{}
	for _, a := range ci.VirtualIPs {
		vips[a.Prefix.Addr()] = true
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.Is6() != v6 || vips[ip] || (v6 && !ip.IsLinkLocalUnicast()) {
			continue
		}
		return ip
	}
	return netip.Addr{}
}

// quoteArgs writes a command as keepalived's cmd_str: each word quoted.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if i == 0 && filepath.IsAbs(a) {
			// keepalived shows the program in its directory's real
			// path; the program itself may stay a link.
			if dir, err := filepath.EvalSymlinks(filepath.Dir(a)); err == nil {
				a = filepath.Join(dir, filepath.Base(a))
			}
		}
		q[i] = "'" + a + "'"
	}
	return strings.Join(q, " ")
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Dump writes the LVS Topology and Health checkers parts of keepalived's
// checker data file (check_data.c's dump_vs and dump_rs, check_api.c's
// dump_checker), from the configuration and the live state.
func (c *checkers) Dump(w io.Writer) {
	cfg := c.cfg
	status := c.lvs.Status()
	fmt.Fprintf(w, "------< LVS Topology >------\n")
	fmt.Fprintf(w, " System is compiled with LVS v1.2.1\n")
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		var st lvs.VirtualServerStatus
		if i < len(status) {
			st = status[i]
		}
		dumpVS(w, vs, st)
	}
	fmt.Fprintf(w, "------< Health checkers >------\n")
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			alive := false
			if i < len(status) && j < len(status[i].RealServers) {
				alive = status[i].RealServers[j].Alive
			}
			for k := range rs.Checkers {
				c.dumpChecker(w, vs, rs, &rs.Checkers[k], alive)
			}
		}
	}
}

func dumpVS(w io.Writer, vs *config.VirtualServer, st lvs.VirtualServerStatus) {
	p := func(format string, a ...any) { fmt.Fprintf(w, "   "+format+"\n", a...) }
	fmt.Fprintf(w, " ------< Virtual server >------\n")
	family := "inet"
	switch {
	case vs.FWMark != 0:
		fmt.Fprintf(w, " VS FWMARK = %d\n", vs.FWMark)
		if vs.IPFamily == config.FamilyInet6 {
			family = "inet6"
		}
	case vs.Group != "":
		fmt.Fprintf(w, " VS GROUP = %s\n", vs.Group)
	default:
		fmt.Fprintf(w, " VS VIP = %s, VPORT = %d\n", vs.Addr, vs.Port)
		if vs.Addr.Is6() {
			family = "inet6"
		}
	}
	p("Address family = %s", family)
	p("connection timeout = %f", vs.Timing.ConnectTimeout.Seconds())
	p("delay_loop = %f", vs.Timing.DelayLoop.Seconds())
	p("lvs_sched = %s", vs.Scheduler)
	flags := map[config.SchedFlag]bool{}
	for _, f := range vs.SchedFlags {
		flags[f] = true
	}
	p("Hashed = %s", enabled(flags[config.SHFallback] || flags[config.SchedFlag1]))
	p("flag-1 = %s", enabled(flags[config.SchedFlag1] || flags[config.SHFallback] || flags[config.MHFallback]))
	p("flag-2 = %s", enabled(flags[config.SchedFlag2] || flags[config.SHPort] || flags[config.MHPort]))
	p("flag-3 = %s", enabled(flags[config.SchedFlag3]))
	p("One packet scheduling = %s", enabled(vs.OPS))
	if vs.PersistenceTimeout != 0 {
		p("persistence timeout = %d", vs.PersistenceTimeout)
	}
	if vs.PersistenceGranularity != "" {
		p("persistence granularity = %s", vs.PersistenceGranularity)
	}
	proto := vs.Protocol.String()
	if vs.FWMark != 0 || vs.Protocol == config.ProtocolNone {
		proto = "none"
	}
	p("protocol = %s", proto)
	p("alpha is %s", onOff(vsAlpha(vs)))
	p("omega is %s", onOff(vs.Omega))
	p("Inhibit on failure is %s", onOff(vs.InhibitOnFailure))
	p("quorum = %d, hysteresis = %d", vs.Quorum, vs.Hysteresis)
	if vs.QuorumUp != nil {
		p("Quorum up notify script = %s, uid:gid 0:0", quoteArgs(splitOrRaw(vs.QuorumUp.Cmd)))
	}
	if vs.QuorumDown != nil {
		p("Quorum down notify script = %s, uid:gid 0:0", quoteArgs(splitOrRaw(vs.QuorumDown.Cmd)))
	}
	p("Using smtp notification = %s", yesNo(vs.SMTPAlert))
	p("default forwarding method = %s", vs.Forwarding.Method)
	if ss := vs.SorryServer; ss != nil {
		p("sorry server = %s", (&config.RealServer{Addr: ss.Addr, Port: ss.Port}).Name(vs))
		p("  forwarding method = %s", ss.Forwarding.Method)
		p("  Inhibit on failure is %s", onOff(ss.Inhibit))
	}
	p("alive = 1")
	p("quorum_state_up = %d", b2i(st.QuorumUp))
	p("reloaded = 0")
	for j := range vs.RealServers {
		rs := &vs.RealServers[j]
		var rst lvs.RealServerStatus
		if j < len(st.RealServers) {
			rst = st.RealServers[j]
		}
		p("------< Real server >------")
		p("RIP = %s, RPORT = %d, WEIGHT = %d EFF WEIGHT = %d", rs.Addr, rs.Port, rs.Weight, rst.Weight)
		p("forwarding method = %s", rs.Forwarding.Method)
		p("Alpha is %s", onOff(rsAlpha(rs)))
		p("connection timeout = %f", rs.Timing.ConnectTimeout.Seconds())
		p("connection limit range = %d -> %d", rs.LThreshold, rs.UThreshold)
		p("Delay loop = %f", rs.Timing.DelayLoop.Seconds())
		p("Inhibit on failure is %s", onOff(rs.InhibitOnFailure))
		if rs.NotifyUp != nil {
			p("  RS up notify script = %s, uid:gid 0:0", quoteArgs(splitOrRaw(rs.NotifyUp.Cmd)))
		}
		if rs.NotifyDown != nil {
			p("  RS down notify script = %s, uid:gid 0:0", quoteArgs(splitOrRaw(rs.NotifyDown.Cmd)))
		}
		p("Using smtp notification = %s", yesNo(rs.SMTPAlert))
		p("initial weight = %d", rs.Weight)
		p("effective weight = %d", rst.Weight)
		p("previous effective_weight = 0")
		p("alive = %d", b2i(rst.Alive))
		failed := 0
		if !rst.Alive {
			failed = max(1, len(rs.Checkers))
		}
		p("num failed checkers = %d", failed)
		p("RS set = %d", b2i(rst.InPool))
		p("reloaded = 0")
	}
}

func (c *checkers) dumpChecker(w io.Writer, vs *config.VirtualServer, rs *config.RealServer, ck *config.Checker, rsAlive bool) {
	p := func(format string, a ...any) { fmt.Fprintf(w, "   "+format+"\n", a...) }
	fmt.Fprintf(w, " %s -> %s\n", vs.Name(), rs.Name(vs))
	ok, ran, last := c.alerts.lastAttempt(vs, rs, ck.Type)
	// A checker is up while its real server is; of a failed real
	// server's checkers, those whose latest attempt passed.
	up := rsAlive || (ran && ok) || (!ran && !ck.Timing.Alpha)
	p("Enabled = yes")
	p("Up = %s", yesNo(up))
	p("Has run = %s", yesNo(ran))
	p("Current weight = 0")
	if ck.Type != config.FileCheck {
		p("Alpha = %s", yesNo(ck.Timing.Alpha))
		p("Delay loop = %d us", ck.Timing.DelayLoop.Microseconds())
		p("Warmup = %d us", ck.Timing.Warmup.Microseconds())
		p("Retries = %d", ck.Timing.Retry)
		if ck.Timing.Retry > 0 {
			p("Delay before retry = %d us", ck.Timing.DelayBeforeRetry.Microseconds())
			p("Retries iterations = 0")
		}
		p("Default delay before retry = %d us", check.DefaultTiming(ck.Type, ck.Timing.DelayLoop).DelayBeforeRetry.Microseconds())
	}
	p("Log all failures = %s", yesNo(ck.LogAllFailures))
	if ck.Type != config.MiscCheck && ck.Type != config.FileCheck {
		addr, port := rs.Addr, rs.Port
		if ck.ConnectIP.IsValid() {
			addr = ck.ConnectIP
		}
		if ck.ConnectPort != 0 {
			port = ck.ConnectPort
		}
		p("Connection")
		p("  Dest = [%s]:%d", addr, port)
		if ck.BindTo.IsValid() {
			p("  Bind to = [%s]:%d", ck.BindTo, ck.BindPort)
		}
		if ck.BindIf != "" {
			p("  Bind i/f = %s", ck.BindIf)
		}
		if ck.FWMark != 0 {
			p("  Mark = %d", ck.FWMark)
		}
		p("  Timeout = %f", ck.Timing.ConnectTimeout.Seconds())
	}
	switch {
	case ck.HTTP != nil:
		p("Keepalive method = %s, http protocol %s", ck.Type, ck.HTTP.Protocol)
		p("Enable SNI %s", setUnset(ck.HTTP.EnableSNI))
		p("Fast recovery %s", setUnset(ck.HTTP.FastRecovery))
		for _, u := range ck.HTTP.URLs {
			p("Checked url = %s", u.Path)
			if u.Digest != "" {
				p("  digest = %s", u.Digest)
			}
			if len(u.StatusCodes) > 0 {
				p("  HTTP Status Code(s)")
				for _, r := range u.StatusCodes {
					if r.Lo == r.Hi {
						p("    %d", r.Lo)
					} else {
						p("    %d-%d", r.Lo, r.Hi)
					}
				}
			}
		}
		if !up && len(ck.HTTP.URLs) > 0 {
			p("Failed URL = %s", ck.HTTP.URLs[0].Path)
		}
	case ck.Misc != nil:
		p("Keepalive method = MISC_CHECK")
		p("script = %s", quoteArgs(splitOrRaw(ck.Misc.Path)))
		p("timeout = %d", int(ck.Misc.Timeout.Seconds()))
		p("dynamic = %s", strings.ToUpper(yesNo(ck.Misc.Dynamic)))
		p("uid:gid = 0:0")
		status := 0
		if ran && !ok {
			status = 1 // the exit status itself is not kept
		}
		p("Last ran = %s", ctimeMicro(last))
		p("Last status = %d", status)
	default:
		p("Keepalive method = %s", ck.Type)
	}
}

func vsAlpha(vs *config.VirtualServer) bool { return vs.Timing.Alpha }

func rsAlpha(rs *config.RealServer) bool { return rs.Timing.Alpha }

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

func setUnset(b bool) string {
	if b {
		return "set"
	}
	return "unset"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// splitOrRaw splits a configured command into its words, or keeps it
// whole when it does not split.
func splitOrRaw(cmd string) []string {
	if args, err := notify.SplitWords(cmd); err == nil && len(args) > 0 {
		return args
	}
	return []string{cmd}
}

// dumpGlobal writes the first lines of keepalived's "Global definitions"
// section, those that describe what gokeepalived has; keepalived goes on
// with its process and kernel settings, which are left out.
func dumpGlobal(w io.Writer, g *config.Global) {
	p := func(format string, a ...any) { fmt.Fprintf(w, " "+format+"\n", a...) }
	fmt.Fprintf(w, "------< Global definitions >------\n")
	p("Network namespace = (default)")
	p("Network namespace ipvs = (main namespace)")
	p("Router ID = %s", g.RouterID)
	if g.SMTPServer != "" {
		p("Smtp server = %s", g.SMTPServer)
		p("Smtp server port = %d", orInt(int(g.SMTPPort), notify.DefaultSMTPPort))
	}
	if g.SMTPHeloName != "" {
		p("Smtp HELO name = %s", g.SMTPHeloName)
	}
	if g.SMTPServer != "" {
		p("Smtp server connection timeout = %d", int(g.SMTPConnectTimeout.Seconds()))
	}
	if g.NotificationEmailFrom != "" {
		p("Email notification from = %s", g.NotificationEmailFrom)
	}
	if len(g.NotificationEmail) > 0 {
		p("Email notification to:")
		for _, e := range g.NotificationEmail {
			p("  %s", e)
		}
	}
	p("Default smtp_alert = %s", optBoolText(g.SMTPAlert))
	p("Default smtp_alert_vrrp = %s", optBoolText(g.SMTPAlertVRRP))
	p("Default smtp_alert_checker = %s", optBoolText(g.SMTPAlertChecker))
}

func optBoolText(b *bool) string {
	switch {
	case b == nil:
		return "unset"
	case *b:
		return "on"
	}
	return "off"
}

// ctimeMicro formats a time as keepalived's checker dumps do:
// "1796172211.135366 (Wed Dec  2 00:43:31 2026.135366)"; the zero time is
// the epoch, as for a checker that has not run.
func ctimeMicro(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	t = t.Local()
	us := t.Nanosecond() / 1000
	return fmt.Sprintf("%d.%06d (%s.%06d)", t.Unix(), us, t.Format("Mon Jan _2 15:04:05 2006"), us)
}
