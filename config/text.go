package config

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// WriteText writes the parsed, defaulted configuration as
// keepalived.conf text: every block with every value it ends up with,
// including those it inherited or took by default. For a configuration
// keepalived accepts, it accepts the text too, and reading the text back
// gives the same Config.
func (c *Config) WriteText(w io.Writer) error {
	tw := &textWriter{w: bufio.NewWriter(w)}
	tw.global(&c.Global)
	// Blocks such as bfd_instance go first: checkers refer to them.
	tw.raws(c.Other)
	for i := range c.BFDInstances {
		tw.bfd(&c.BFDInstances[i])
	}
	// Static entries name track groups defined above them.
	for _, g := range c.TrackGroups {
		tw.open("track_group", g.Name)
		if g.Group != nil {
			tw.open("group")
			for _, name := range g.Group {
				tw.line(name)
			}
			tw.close()
		}
		tw.close()
	}
	for _, g := range c.GarpGroups {
		tw.open("garp_group")
		if g.HasGarp {
			tw.kv("garp_interval", seconds(g.GarpInterval))
		}
		if g.HasGna {
			tw.kv("gna_interval", seconds(g.GnaInterval))
		}
		if len(g.Interfaces) > 0 {
			tw.open("interfaces")
			for _, name := range g.Interfaces {
				tw.line(name)
			}
			tw.close()
		}
		tw.close()
	}
	if len(c.StaticAddresses) > 0 {
		tw.open("static_ipaddress")
		for _, a := range c.StaticAddresses {
			tw.line(addressText(a))
		}
		tw.close()
	}
	if len(c.StaticRoutes) > 0 {
		tw.open("static_routes")
		for _, r := range c.StaticRoutes {
			tw.line(routeText(r))
		}
		tw.close()
	}
	if len(c.StaticRules) > 0 {
		tw.open("static_rules")
		for _, r := range c.StaticRules {
			tw.line(ruleText(r))
		}
		tw.close()
	}
	for _, f := range c.TrackFiles {
		tw.open("track_file", f.Name)
		tw.kv("file", quote(f.File))
		tw.kv("weight", weightText(f.Weight, f.Reverse))
		if f.InitFile {
			tw.kv("init_file", strconv.Itoa(f.InitValue), flagWord(f.InitOverwrite, "overwrite"))
		}
		tw.close()
	}
	for _, s := range c.Scripts {
		tw.script(&s)
	}
	for i := range c.TrackProcesses {
		tw.trackProcess(&c.TrackProcesses[i])
	}
	for _, g := range c.SyncGroups {
		tw.syncGroup(&g)
	}
	for i := range c.Instances {
		tw.instance(&c.Instances[i])
	}
	for _, g := range c.VirtualServerGroups {
		tw.open("virtual_server_group", g.Name)
		for _, m := range g.Members {
			if m.FWMark != 0 {
				tw.kv("fwmark", strconv.FormatUint(uint64(m.FWMark), 10))
				continue
			}
			addr := m.Addr.String()
			if m.Last.IsValid() {
				b := m.Last.As16()
				if m.Addr.Is4() {
					addr += "-" + strconv.Itoa(int(b[15]))
				} else {
					addr += "-" + strconv.FormatUint(uint64(b[14])<<8|uint64(b[15]), 16)
				}
			}
			tw.kv(addr, portText(m.Port))
		}
		tw.close()
	}
	for i := range c.VirtualServers {
		tw.virtualServer(&c.VirtualServers[i])
	}
	if c.SSL != nil {
		tw.open("SSL")
		tw.kv("password", quote(c.SSL.Password))
		tw.kv("ca", quote(c.SSL.CA))
		tw.kv("certificate", quote(c.SSL.Certificate))
		tw.kv("key", quote(c.SSL.Key))
		tw.close()
	}
	tw.bgp(c)
	if tw.err != nil {
		return fmt.Errorf("writing configuration text: %w", tw.err)
	}
	if err := tw.w.Flush(); err != nil {
		return fmt.Errorf("writing configuration text: %w", err)
	}
	return nil
}

// textWriter writes indented keepalived.conf lines and keeps the first
// error, so that callers check once at the end.
type textWriter struct {
	w     *bufio.Writer
	depth int
	err   error
}

func (tw *textWriter) line(words ...string) {
	if tw.err != nil {
		return
	}
	var b strings.Builder
	b.WriteString(strings.Repeat("    ", tw.depth))
	first := true
	for _, w := range words {
		if w == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		first = false
	}
	b.WriteByte('\n')
	_, tw.err = tw.w.WriteString(b.String())
}

// kv writes a keyword and its values; an empty first value drops the line.
func (tw *textWriter) trackProcess(tp *TrackProcess) {
	tw.open("vrrp_track_process", tp.Name)
	tw.kv("process", append([]string{quote(tp.Process)}, tp.Params...)...)
	if tp.ParamMatch != ParamMatchNone && tp.ParamMatch != ParamMatchExact {
		tw.kv("param_match", string(tp.ParamMatch))
	} else if tp.ParamMatch == ParamMatchExact && len(tp.Params) == 0 {
		tw.kv("param_match")
	}
	if tp.FullCommand {
		tw.kv("full_command")
	}
	if tp.Weight != 0 {
		tw.kv("weight", strconv.Itoa(tp.Weight), flagWord(tp.Reverse, "reverse"))
	}
	// quorum_max before quorum, which may not exceed it; without a
	// quorum_max there is no limit.
	if tp.QuorumMax != math.MaxUint32 {
		tw.kv("quorum_max", strconv.FormatUint(uint64(tp.QuorumMax), 10))
	}
	if tp.QuorumMax > 0 && tp.Quorum != 1 {
		tw.kv("quorum", strconv.FormatUint(uint64(tp.Quorum), 10))
	}
	if tp.TerminateDelay > 0 {
		tw.kv("terminate_delay", seconds(tp.TerminateDelay))
	}
	if tp.ForkDelay > 0 {
		tw.kv("fork_delay", seconds(tp.ForkDelay))
	}
	tw.close()
}

// garpExtraIf writes garp_extra_if or vrrp_garp_extra_if when set; only
// the instance keyword (zeroOK) takes a delay of 0.
func (tw *textWriter) garpExtraIf(key string, d time.Duration, all, zeroOK bool) {
	if d <= 0 && !(zeroOK && all) {
		return
	}
	v := []string{strconv.FormatInt(int64(d/time.Second), 10)}
	if all {
		v = append(v, "all")
	}
	tw.kv(key, v...)
}

func (tw *textWriter) kv(key string, values ...string) {
	if len(values) > 0 && values[0] == "" {
		return
	}
	tw.line(append([]string{key}, values...)...)
}

// flag writes a keyword that takes no value when on is true.
func (tw *textWriter) flag(key string, on bool) {
	if on {
		tw.line(key)
	}
}

func (tw *textWriter) open(words ...string) {
	tw.line(append(words, "{")...)
	tw.depth++
}

func (tw *textWriter) close() {
	tw.depth--
	tw.line("}")
}

func (tw *textWriter) raws(rs []Raw) {
	for _, r := range rs {
		words := make([]string, len(r.Words))
		for i, w := range r.Words {
			words[i] = quote(w)
		}
		if len(r.Block) == 0 {
			tw.line(words...)
			continue
		}
		tw.open(words...)
		tw.raws(r.Block)
		tw.close()
	}
}

func (tw *textWriter) notify(key string, n *Notify) {
	if n != nil {
		tw.line(key, quote(n.Cmd), n.User, n.Group)
	}
}

func (tw *textWriter) notifies(ns *Notifies) {
	tw.notify("notify_master", ns.Master)
	tw.notify("notify_backup", ns.Backup)
	tw.notify("notify_fault", ns.Fault)
	tw.notify("notify_stop", ns.Stop)
	tw.notify("notify_deleted", ns.Deleted)
	tw.notify("notify", ns.Any)
	tw.notify("notify_master_rx_lower_pri", ns.MasterRxLowerPri)
}

func (tw *textWriter) tracking(t *Tracking) {
	for _, b := range []struct {
		key  string
		list []Track
	}{
		{"track_interface", t.Interfaces}, {"track_script", t.Scripts}, {"track_file", t.Files},
		{"track_process", t.Processes}, {"track_bfd", t.BFDs},
	} {
		if len(b.list) == 0 {
			continue
		}
		tw.open(b.key)
		for _, e := range b.list {
			switch {
			case e.HasWeight && e.NoReverse:
				tw.line(e.Name, "weight", strconv.Itoa(e.Weight), "noreverse")
			case e.HasWeight:
				tw.line(e.Name, "weight", weightText(e.Weight, e.Reverse))
			default:
				tw.line(e.Name)
			}
		}
		tw.close()
	}
}

func (tw *textWriter) global(g *Global) {
	tw.open("global_defs")
	tw.kv("router_id", quote(g.RouterID))
	if len(g.NotificationEmail) > 0 {
		tw.open("notification_email")
		for _, e := range g.NotificationEmail {
			tw.line(quote(e))
		}
		tw.close()
	}
	tw.kv("notification_email_from", quote(g.NotificationEmailFrom))
	if g.SMTPServer != "" {
		tw.kv("smtp_server", g.SMTPServer, strconv.Itoa(int(g.SMTPPort)))
	}
	tw.kv("smtp_helo_name", quote(g.SMTPHeloName))
	tw.kv("smtp_connect_timeout", seconds(g.SMTPConnectTimeout))
	tw.kv("smtp_alert", optBool(g.SMTPAlert))
	tw.kv("smtp_alert_vrrp", optBool(g.SMTPAlertVRRP))
	tw.kv("smtp_alert_checker", optBool(g.SMTPAlertChecker))
	tw.flag("no_email_faults", g.NoEmailFaults)
	tw.flag("enable_script_security", g.EnableScriptSecurity)
	tw.flag("enable_dbus", g.EnableDBus)
	tw.kv("dbus_service_name", quote(g.DBusServiceName))
	tw.flag("enable_snmp_vrrp", g.EnableSNMPVRRP)
	tw.flag("enable_snmp_checker", g.EnableSNMPChecker)
	tw.flag("enable_snmp_rfcv2", g.EnableSNMPRFCv2)
	tw.flag("enable_snmp_rfcv3", g.EnableSNMPRFCv3)
	tw.flag("enable_traps", g.EnableTraps)
	tw.kv("snmp_socket", quote(g.SNMPSocket))
	tw.kv("script_user", g.ScriptUser, g.ScriptGroup)
	if g.Umask != nil {
		tw.kv("umask", fmt.Sprintf("%#o", *g.Umask))
	}
	tw.notify("startup_script", g.StartupScript)
	if g.StartupScript != nil {
		tw.kv("startup_script_timeout", seconds(g.StartupScriptTimeout))
	}
	tw.notify("shutdown_script", g.ShutdownScript)
	if g.ShutdownScript != nil {
		tw.kv("shutdown_script_timeout", seconds(g.ShutdownScriptTimeout))
	}
	tw.kv("vrrp_mcast_group4", g.VRRPMcastGroup4.String())
	tw.kv("vrrp_mcast_group6", g.VRRPMcastGroup6.String())
	// vrrp_min_garp first: the values after it are the ones in force.
	tw.flag("vrrp_min_garp", g.VRRPMinGarp)
	tw.kv("vrrp_garp_master_delay", seconds(g.VRRPGarpMasterDelay))
	tw.kv("vrrp_garp_master_repeat", strconv.Itoa(g.VRRPGarpMasterRepeat))
	tw.kv("vrrp_garp_lower_prio_delay", seconds(g.VRRPGarpLowerPrioDelay))
	tw.kv("vrrp_garp_lower_prio_repeat", strconv.Itoa(g.VRRPGarpLowerPrioRepeat))
	tw.kv("vrrp_garp_master_refresh", seconds(g.VRRPGarpMasterRefresh))
	// 0, which only vrrp_min_garp sets, is not a value the keyword takes.
	if g.VRRPGarpMasterRefreshRepeat > 0 {
		tw.kv("vrrp_garp_master_refresh_repeat", strconv.Itoa(g.VRRPGarpMasterRefreshRepeat))
	}
	if g.VRRPGarpInterval > 0 {
		tw.kv("vrrp_garp_interval", seconds(g.VRRPGarpInterval))
	}
	if g.VRRPGnaInterval > 0 {
		tw.kv("vrrp_gna_interval", seconds(g.VRRPGnaInterval))
	}
	tw.garpExtraIf("vrrp_garp_extra_if", g.VRRPGarpExtraIf, g.VRRPGarpExtraIfAll, false)
	tw.flag("vrrp_lower_prio_no_advert", g.VRRPLowerPrioNoAdvert)
	tw.flag("vrrp_higher_prio_send_advert", g.VRRPHigherPrioSendAdvert)
	tw.kv("vrrp_version", strconv.Itoa(g.VRRPVersion))
	tw.flag("vrrp_strict", g.VRRPStrict)
	tw.kv("vmac_prefix", g.VMACPrefix)
	tw.kv("default_interface", g.DefaultInterface)
	tw.flag("vrrp_skip_check_adv_addr", g.VRRPSkipCheckAdvAddr)
	tw.flag("vrrp_check_unicast_src", g.VRRPCheckUnicastSrc)
	// nftables resets the priority: it goes first.
	tw.kv("nftables", g.NFTables)
	if g.NFTablesPriority != -1 {
		tw.kv("nftables_priority", strconv.Itoa(int(g.NFTablesPriority)))
	}
	tw.flag("nftables_ifindex", g.NFTablesIfindex)
	tw.flag("nftables_counters", g.NFTablesCounters)
	tw.kv("vrrp_down_timer_adverts", strconv.Itoa(g.VRRPDownTimerAdverts))
	if g.VRRPStartupDelay > 0 {
		tw.kv("vrrp_startup_delay", seconds(g.VRRPStartupDelay))
	}
	if g.MaxAutoPriority != 0 {
		tw.kv("max_auto_priority", strconv.Itoa(g.MaxAutoPriority))
	}
	if g.DynamicInterfaces {
		tw.line("dynamic_interfaces", flagWord(g.DynamicInterfacesAllowIfChanges, "allow_if_changes"))
	}
	tw.flag("vrrp_notify_priority_changes", g.VRRPNotifyPriorityChanges)
	tw.flag("fifo_write_vrrp_states_on_reload", g.FIFOWriteVRRPStatesOnReload)
	for _, f := range []struct {
		key  string
		fifo *FIFO
	}{{"notify_fifo", &g.NotifyFIFO}, {"vrrp_notify_fifo", &g.VRRPNotifyFIFO}, {"lvs_notify_fifo", &g.LVSNotifyFIFO}} {
		if f.fifo.Path != "" {
			tw.line(f.key, quote(f.fifo.Path), f.fifo.User, f.fifo.Group)
		}
		tw.notify(f.key+"_script", f.fifo.Script)
	}
	if t := g.LVSTimeouts; t != (LVSTimeouts{}) {
		tw.line("lvs_timeouts", "tcp", seconds(t.TCP), "tcpfin", seconds(t.TCPFin), "udp", seconds(t.UDP))
	}
	tw.flag("lvs_flush", g.LVSFlush)
	tw.flag("lvs_sloppy_tcp", g.LVSSloppyTCP)
	tw.flag("lvs_sloppy_sctp", g.LVSSloppySCTP)
	switch g.LVSFlushOnStop {
	case FlushOnStopNone:
	case FlushOnStopAll:
		tw.line("lvs_flush_on_stop")
	case FlushOnStopVS:
		tw.line("lvs_flush_on_stop", "VS")
	default:
		panic("config: unknown FlushOnStop " + g.LVSFlushOnStop.String())
	}
	if sd := g.LVSSyncDaemon; sd != nil {
		words := []string{"lvs_sync_daemon", sd.Interface, sd.Instance}
		if sd.SyncID != 0 {
			words = append(words, "id", strconv.Itoa(sd.SyncID))
		}
		if sd.MaxLen != 0 {
			words = append(words, "maxlen", strconv.Itoa(sd.MaxLen))
		}
		if sd.Port != 0 {
			words = append(words, "port", strconv.Itoa(int(sd.Port)))
		}
		if sd.TTL != 0 {
			words = append(words, "ttl", strconv.Itoa(sd.TTL))
		}
		if sd.Group.IsValid() {
			words = append(words, "group", sd.Group.String())
		}
		tw.line(words...)
	}
	tw.flag("checker_log_all_failures", g.CheckerLogAllFailures)
	tw.flag("no_checker_emails", g.NoCheckerEmails)
	tw.flag("rs_init_notifies", g.RSInitNotifies)
	tw.raws(g.Other)
	tw.close()
}

func (tw *textWriter) script(s *Script) {
	tw.open("vrrp_script", s.Name)
	tw.kv("script", quote(s.Cmd))
	tw.kv("interval", seconds(s.Interval))
	tw.kv("timeout", seconds(s.Timeout))
	tw.kv("weight", weightText(s.Weight, s.Reverse))
	tw.kv("rise", strconv.Itoa(s.Rise))
	tw.kv("fall", strconv.Itoa(s.Fall))
	tw.kv("user", s.User, s.Group)
	tw.flag("init_fail", s.InitFail)
	tw.close()
}

func (tw *textWriter) syncGroup(g *SyncGroup) {
	tw.open("vrrp_sync_group", g.Name)
	tw.open("group")
	for _, name := range g.Group {
		tw.line(name)
	}
	tw.close()
	tw.tracking(&g.Tracking)
	tw.notifies(&g.Notify)
	tw.kv("notify_priority_changes", boolText(g.NotifyPriorityChanges))
	tw.kv("smtp_alert", boolText(g.SMTPAlert))
	tw.flag("sync_group_tracking_weight", g.SyncGroupTrackingWeight)
	tw.close()
}

func (tw *textWriter) instance(in *Instance) {
	tw.open("vrrp_instance", in.Name)
	tw.kv("state", in.State.String())
	tw.kv("interface", in.Interface)
	tw.kv("vrf", in.VRF)
	if in.UseVMAC {
		tw.line("use_vmac", in.VMACName, in.VMACAddr)
	}
	tw.flag("vmac_xmit_base", in.VMACXmitBase)
	tw.flag("native_ipv6", in.NativeIPv6)
	tw.flag("dont_track_primary", in.DontTrackPrimary)
	tw.tracking(&in.Tracking)
	tw.kv("mcast_src_ip", addrText(in.McastSrcIP))
	tw.kv("unicast_src_ip", addrText(in.UnicastSrcIP))
	tw.kv("mcast_dst_ip", addrText(in.McastDstIP))
	tw.flag("track_src_ip", in.TrackSrcIP)
	tw.kv("version", strconv.Itoa(in.Version))
	tw.flag("check_unicast_src", in.CheckUnicastSrc && len(in.UnicastPeers) > 0)
	if len(in.UnicastPeers) > 0 {
		tw.open("unicast_peer")
		for _, peer := range in.UnicastPeers {
			words := []string{peer.Addr.String()}
			if peer.MinTTL != 0 {
				words = append(words, "min_ttl", strconv.Itoa(peer.MinTTL))
			}
			if peer.MaxTTL != 0 {
				words = append(words, "max_ttl", strconv.Itoa(peer.MaxTTL))
			}
			tw.line(words...)
		}
		tw.close()
	}
	tw.flag("unicast_fault_no_peer", in.UnicastFaultNoPeer)
	if len(in.UnicastPeers) > 0 {
		tw.kv("unicast_ttl", strconv.Itoa(in.UnicastTTL))
	}
	tw.kv("garp_master_delay", seconds(in.GarpMasterDelay))
	tw.kv("garp_master_repeat", strconv.Itoa(in.GarpMasterRepeat))
	tw.kv("garp_lower_prio_delay", seconds(in.GarpLowerPrioDelay))
	tw.kv("garp_lower_prio_repeat", strconv.Itoa(in.GarpLowerPrioRepeat))
	tw.kv("garp_master_refresh", seconds(in.GarpMasterRefresh))
	// 0 comes only from the global vrrp_min_garp, which the instance
	// inherits again.
	if in.GarpMasterRefreshRepeat > 0 {
		tw.kv("garp_master_refresh_repeat", strconv.Itoa(in.GarpMasterRefreshRepeat))
	}
	tw.kv("down_timer_adverts", strconv.Itoa(in.DownTimerAdverts))
	if in.BFDTakeover != "" {
		tw.kv("bfd_takeover", in.BFDTakeover)
	}
	tw.garpExtraIf("garp_extra_if", in.GarpExtraIf, in.GarpExtraIfAll, true)
	tw.kv("lower_prio_no_advert", boolText(in.LowerPrioNoAdvert))
	tw.kv("higher_prio_send_advert", boolText(in.HigherPrioSendAdvert))
	tw.kv("virtual_router_id", strconv.Itoa(in.VirtualRouterID))
	tw.kv("priority", strconv.Itoa(in.Priority))
	tw.kv("advert_int", seconds(in.AdvertInt))
	if in.Auth != nil {
		tw.open("authentication")
		tw.kv("auth_type", in.Auth.Type.String())
		tw.kv("auth_pass", quote(in.Auth.Pass))
		tw.close()
	}
	for _, b := range []struct {
		key  string
		list []Address
	}{{"virtual_ipaddress", in.VirtualIPs}, {"virtual_ipaddress_excluded", in.ExcludedVIPs}} {
		if len(b.list) == 0 {
			continue
		}
		tw.open(b.key)
		for _, a := range b.list {
			tw.line(addressText(a))
		}
		tw.close()
	}
	tw.flag("promote_secondaries", in.PromoteSecondaries)
	if len(in.VirtualRoutes) > 0 {
		tw.open("virtual_routes")
		for _, r := range in.VirtualRoutes {
			tw.line(routeText(r))
		}
		tw.close()
	}
	if len(in.VirtualRules) > 0 {
		tw.open("virtual_rules")
		for _, r := range in.VirtualRules {
			tw.line(ruleText(r))
		}
		tw.close()
	}
	if in.Accept {
		tw.line("accept")
	} else {
		tw.line("no_accept")
	}
	tw.flag("nopreempt", in.Nopreempt)
	if in.PreemptDelay > 0 {
		tw.kv("preempt_delay", seconds(in.PreemptDelay))
	}
	tw.kv("skip_check_adv_addr", boolText(in.SkipCheckAdvAddr))
	tw.kv("strict_mode", boolText(in.StrictMode))
	if in.Debug != 0 {
		tw.kv("debug", strconv.Itoa(in.Debug))
	}
	tw.notifies(&in.Notify)
	tw.kv("notify_priority_changes", boolText(in.NotifyPriorityChanges))
	tw.kv("smtp_alert", boolText(in.SMTPAlert))
	tw.raws(in.Other)
	tw.close()
}

func (tw *textWriter) virtualServer(vs *VirtualServer) {
	switch {
	case vs.Group != "":
		tw.open("virtual_server", "group", vs.Group)
	case vs.FWMark != 0:
		tw.open("virtual_server", "fwmark", strconv.FormatUint(uint64(vs.FWMark), 10))
	default:
		tw.open("virtual_server", vs.Addr.String(), portText(vs.Port))
	}
	tw.kv("lvs_sched", vs.Scheduler.String())
	for _, f := range vs.SchedFlags {
		tw.line(f.String())
	}
	tw.flag("ops", vs.OPS)
	tw.line(append([]string{"lvs_method"}, forwardingText(vs.Forwarding)...)...)
	tw.kv("persistence_engine", vs.PersistenceEngine)
	if vs.PersistenceTimeout != 0 {
		tw.kv("persistence_timeout", strconv.FormatUint(uint64(vs.PersistenceTimeout), 10))
	}
	tw.kv("persistence_granularity", vs.PersistenceGranularity)
	tw.kv("protocol", vs.Protocol.String())
	tw.kv("ip_family", vs.IPFamily.String())
	tw.flag("ha_suspend", vs.HASuspend)
	tw.kv("smtp_alert", boolText(vs.SMTPAlert))
	tw.kv("virtualhost", quote(vs.Virtualhost))
	tw.kv("snmp_name", quote(vs.SNMPName))
	tw.flag("omega", vs.Omega)
	tw.kv("quorum", strconv.FormatUint(uint64(vs.Quorum), 10))
	tw.kv("hysteresis", strconv.FormatUint(uint64(vs.Hysteresis), 10))
	tw.notify("quorum_up", vs.QuorumUp)
	tw.notify("quorum_down", vs.QuorumDown)
	if s := vs.SorryServer; s != nil {
		tw.line("sorry_server", s.Addr.String(), portText(s.Port))
		tw.flag("sorry_server_inhibit", s.Inhibit)
		tw.line(append([]string{"sorry_server_lvs_method"}, forwardingText(s.Forwarding)...)...)
	}
	tw.kv("inhibit_on_failure", boolText(vs.InhibitOnFailure))
	tw.timing(&vs.Timing, timingSet{connectTimeout: true, retry: vs.set.retry, delayBeforeRetry: vs.set.delayBeforeRetry, warmup: vs.set.warmup})
	tw.raws(vs.Other)
	for i := range vs.RealServers {
		tw.realServer(&vs.RealServers[i])
	}
	tw.close()
}

// timing writes checker timing. Retry, delay_before_retry and warmup
// have per-checker defaults, so a virtual or real server that did not set
// them must not write them or its checkers would inherit the zero.
func (tw *textWriter) timing(t *Timing, set timingSet) {
	tw.kv("delay_loop", seconds(t.DelayLoop))
	if set.connectTimeout {
		tw.kv("connect_timeout", seconds(t.ConnectTimeout))
	}
	if set.retry {
		tw.kv("retry", strconv.Itoa(t.Retry))
	}
	if set.delayBeforeRetry {
		tw.kv("delay_before_retry", seconds(t.DelayBeforeRetry))
	}
	if set.warmup {
		tw.kv("warmup", seconds(t.Warmup))
	}
	tw.kv("alpha", boolText(t.Alpha))
}

func (tw *textWriter) realServer(rs *RealServer) {
	tw.open("real_server", rs.Addr.String(), portText(rs.Port))
	tw.kv("weight", strconv.Itoa(rs.Weight))
	tw.line(append([]string{"lvs_method"}, forwardingText(rs.Forwarding)...)...)
	tw.notify("notify_up", rs.NotifyUp)
	tw.notify("notify_down", rs.NotifyDown)
	if rs.UThreshold != 0 {
		tw.kv("uthreshold", strconv.FormatUint(uint64(rs.UThreshold), 10))
	}
	if rs.LThreshold != 0 {
		tw.kv("lthreshold", strconv.FormatUint(uint64(rs.LThreshold), 10))
	}
	tw.kv("smtp_alert", boolText(rs.SMTPAlert))
	tw.kv("virtualhost", quote(rs.Virtualhost))
	tw.kv("snmp_name", quote(rs.SNMPName))
	tw.kv("inhibit_on_failure", boolText(rs.InhibitOnFailure))
	tw.timing(&rs.Timing, timingSet{connectTimeout: true, retry: rs.set.retry, delayBeforeRetry: rs.set.delayBeforeRetry, warmup: rs.set.warmup})
	for i := range rs.Checkers {
		tw.checker(&rs.Checkers[i])
	}
	tw.raws(rs.Other)
	tw.close()
}

func (tw *textWriter) checker(c *Checker) {
	tw.open(c.Type)
	if c.Type != MiscCheck && c.Type != FileCheck && c.Type != BFDCheck {
		tw.kv("connect_ip", addrText(c.ConnectIP))
		if c.ConnectPort != 0 {
			tw.kv("connect_port", strconv.Itoa(int(c.ConnectPort)))
		}
		tw.kv("bindto", addrText(c.BindTo))
		tw.kv("bind_if", c.BindIf)
		if c.BindPort != 0 {
			tw.kv("bind_port", strconv.Itoa(int(c.BindPort)))
		}
		if c.FWMark != 0 {
			tw.kv("fwmark", strconv.FormatUint(uint64(c.FWMark), 10))
		}
	}
	if c.Type != FileCheck && c.Type != BFDCheck {
		tw.timing(&c.Timing, timingSet{connectTimeout: c.Type != MiscCheck, retry: true, delayBeforeRetry: true, warmup: true})
		tw.kv("log_all_failures", boolText(c.LogAllFailures))
	}
	switch {
	case c.HTTP != nil:
		tw.kv("http_protocol", c.HTTP.Protocol.String())
		tw.kv("fast_recovery", boolText(c.HTTP.FastRecovery))
		if c.Type == SSLGet {
			tw.kv("enable_sni", boolText(c.HTTP.EnableSNI))
		}
		tw.kv("virtualhost", quote(c.HTTP.Virtualhost))
		for _, u := range c.HTTP.URLs {
			tw.url(&u)
		}
	case c.Misc != nil:
		tw.kv("misc_path", quote(c.Misc.Path))
		if c.Misc.Timeout != 0 {
			tw.kv("misc_timeout", strconv.Itoa(int(c.Misc.Timeout/time.Second)))
		}
		tw.flag("misc_dynamic", c.Misc.Dynamic)
		tw.kv("user", c.Misc.User, c.Misc.Group)
	case c.SMTP != nil:
		tw.kv("helo_name", quote(c.SMTP.HeloName))
	case c.DNS != nil:
		tw.kv("type", c.DNS.Type)
		tw.kv("name", quote(c.DNS.Name))
	case c.UDP != nil:
		tw.kv("payload", hexText(c.UDP.Payload, nil))
		if c.UDP.RequireReply {
			tw.line("require_reply", hexText(c.UDP.Reply, c.UDP.ReplyMask))
		}
		tw.kv("min_reply_length", strconv.Itoa(c.UDP.MinReplyLength))
		tw.kv("max_reply_length", strconv.Itoa(c.UDP.MaxReplyLength))
	case c.File != nil:
		tw.kv("track_file", c.File.TrackFile)
		tw.kv("weight", weightText(c.File.Weight, c.File.Reverse))
	case c.BFD != nil:
		tw.kv("name", c.BFD.Name)
	}
	tw.raws(c.Other)
	tw.close()
}

func (tw *textWriter) url(u *URL) {
	tw.open("url")
	tw.kv("path", quote(u.Path))
	tw.kv("digest", u.Digest)
	if len(u.StatusCodes) > 0 {
		words := []string{"status_code"}
		for _, r := range u.StatusCodes {
			if r.Lo == r.Hi {
				words = append(words, strconv.Itoa(r.Lo))
			} else {
				words = append(words, strconv.Itoa(r.Lo)+"-"+strconv.Itoa(r.Hi))
			}
		}
		tw.line(words...)
	}
	tw.kv("virtualhost", quote(u.Virtualhost))
	tw.kv("regex", quote(u.Regex))
	tw.flag("regex_no_match", u.RegexNoMatch)
	if len(u.RegexOptions) > 0 {
		tw.line(append([]string{"regex_options"}, u.RegexOptions...)...)
	}
	if u.RegexStack != [2]int{} {
		tw.line("regex_stack", strconv.Itoa(u.RegexStack[0]), strconv.Itoa(u.RegexStack[1]))
	}
	if u.RegexMinOffset != 0 {
		tw.kv("regex_min_offset", strconv.Itoa(u.RegexMinOffset))
	}
	if u.RegexMaxOffset != 0 {
		tw.kv("regex_max_offset", strconv.Itoa(u.RegexMaxOffset))
	}
	tw.close()
}

func addressText(a Address) string {
	words := []string{a.Prefix.String()}
	if a.Peer.IsValid() {
		// keepalived takes the prefix from the peer then.
		words[0] = a.Prefix.Addr().String()
	}
	add := func(k, v string) {
		if v != "" {
			words = append(words, k, v)
		}
	}
	add("brd", a.Broadcast.String())
	add("dev", a.Dev)
	if a.Scope != ScopeGlobal {
		add("scope", a.Scope.String())
	}
	add("label", a.Label)
	if a.Peer.IsValid() {
		if a.Peer.IsSingleIP() {
			add("peer", a.Peer.Addr().String())
		} else {
			add("peer", a.Peer.String())
		}
	}
	for _, f := range []struct {
		on   bool
		word string
	}{{a.Home, "home"}, {a.NoDAD, "-nodad"}, {a.MngTmpAddr, "mngtmpaddr"}, {a.NoPrefixRoute, "noprefixroute"},
		{a.AutoJoin, "autojoin"}, {a.NoTrack, "no_track"}, {a.UseVMAC, "use_vmac"}} {
		if f.on {
			words = append(words, f.word)
		}
	}
	add("preferred_lft", a.PreferredLft)
	add("track_group", a.TrackGroup)
	return strings.Join(words, " ")
}

func routeText(r Route) string {
	var words []string
	if r.Type != RouteUnspec {
		words = append(words, r.Type.String())
	}
	if r.Src.IsValid() {
		words = append(words, "src", r.Src.String())
	}
	words = append(words, r.To.String())
	if r.Via.IsValid() {
		words = append(words, "via", r.Via.String())
	}
	if r.Dev != "" {
		words = append(words, "dev", r.Dev)
	}
	if r.Table != TableUnspec {
		words = append(words, "table", r.Table.String())
	}
	if r.Scope != ScopeGlobal {
		words = append(words, "scope", r.Scope.String())
	}
	if r.Protocol != 0 {
		words = append(words, "protocol", r.Protocol.String())
	}
	if r.Metric != 0 {
		words = append(words, "metric", strconv.Itoa(r.Metric))
	}
	if r.OnLink {
		words = append(words, "onlink")
	}
	if r.Tos != 0 {
		words = append(words, "tos", strconv.Itoa(int(r.Tos)))
	}
	if r.Realms != 0 {
		words = append(words, "realms", fmt.Sprintf("%d/%d", r.Realms>>16, r.Realms&0xffff))
	}
	words = append(words, metricsText(r.Metrics)...)
	words = append(words, r.Options...)
	if r.TrackGroup != "" {
		words = append(words, "track_group", r.TrackGroup)
	}
	switch r.Mode {
	case RouteAdd:
		words = append(words, "add")
	case RouteAppend:
		words = append(words, "append")
	}
	if r.NoTrack {
		words = append(words, "no_track")
	}
	for _, nh := range r.Nexthops {
		words = append(words, "nexthop")
		if nh.Via.IsValid() {
			words = append(words, "via", nh.Via.String())
		}
		if nh.Dev != "" {
			words = append(words, "dev", nh.Dev)
		}
		if nh.Weight != 0 {
			words = append(words, "weight", strconv.Itoa(nh.Weight))
		}
		if nh.OnLink {
			words = append(words, "onlink")
		}
	}
	return strings.Join(words, " ")
}

func ruleText(r Rule) string {
	var words []string
	if r.IPv6 {
		words = append(words, "inet6")
	}
	if r.Invert {
		words = append(words, "not")
	}
	if r.From.IsValid() {
		words = append(words, "from", r.From.String())
	}
	if r.To.IsValid() {
		words = append(words, "to", r.To.String())
	}
	if r.Table != TableUnspec {
		words = append(words, "table", r.Table.String())
	}
	if r.Priority != 0 {
		words = append(words, "priority", strconv.Itoa(r.Priority))
	}
	if r.Fwmark != nil {
		m := "0x" + strconv.FormatUint(uint64(r.Fwmark.Mark), 16)
		if r.Fwmark.HasMask {
			m += "/0x" + strconv.FormatUint(uint64(r.Fwmark.Mask), 16)
		}
		words = append(words, "fwmark", m)
	}
	if r.Iif != "" {
		words = append(words, "iif", r.Iif)
	}
	if r.Oif != "" {
		words = append(words, "oif", r.Oif)
	}
	if r.Protocol != 0 && (r.NoTrack || r.Protocol != uint8(RouteProtocolKeepalived)) {
		words = append(words, "protocol", strconv.Itoa(int(r.Protocol)))
	}
	switch r.Action {
	case RuleToTable:
	case RuleGoto:
		words = append(words, "goto", strconv.Itoa(r.Goto))
	default:
		words = append(words, r.Action.String())
	}
	if r.Tos != 0 {
		words = append(words, "tos", strconv.Itoa(int(r.Tos)))
	}
	if r.Realms != 0 {
		words = append(words, "realms", fmt.Sprintf("%d/%d", r.Realms>>16, r.Realms&0xffff))
	}
	if r.SuppressPrefixlen != nil {
		words = append(words, "suppress_prefixlength", strconv.Itoa(*r.SuppressPrefixlen))
	}
	if r.SuppressIfgroup != nil {
		words = append(words, "suppress_ifgroup", strconv.FormatUint(uint64(*r.SuppressIfgroup), 10))
	}
	if u := r.UIDRange; u != nil {
		words = append(words, "uidrange", fmt.Sprintf("%d-%d", u[0], u[1]))
	}
	if r.IPProto != nil {
		words = append(words, "ipproto", strconv.Itoa(int(*r.IPProto)))
	}
	if pr := r.Sport; pr != nil {
		words = append(words, "sport", fmt.Sprintf("%d-%d", pr[0], pr[1]))
	}
	if pr := r.Dport; pr != nil {
		words = append(words, "dport", fmt.Sprintf("%d-%d", pr[0], pr[1]))
	}
	if r.TrackGroup != "" {
		words = append(words, "track_group", r.TrackGroup)
	}
	words = append(words, r.Options...)
	if r.NoTrack {
		words = append(words, "no_track")
	}
	return strings.Join(words, " ")
}

func forwardingText(f Forwarding) []string {
	words := []string{f.Method.String()}
	if t := f.Tunnel; t != nil {
		words = append(words, "type", t.Type.String())
		if t.Port != 0 {
			words = append(words, "port", strconv.Itoa(int(t.Port)))
		}
		if t.Checksum != NoChecksum {
			words = append(words, t.Checksum.String())
		}
	}
	return words
}

func hexText(data, mask []byte) string {
	var b strings.Builder
	for i, v := range data {
		for shift := 4; shift >= 0; shift -= 4 {
			if mask != nil && mask[i]>>shift&0xf == 0 {
				b.WriteByte('x')
				continue
			}
			b.WriteByte("0123456789abcdef"[v>>shift&0xf])
		}
	}
	return b.String()
}

// seconds writes a duration as keepalived's timers read it.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

func portText(p uint16) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(int(p))
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func weightText(w int, reverse bool) string {
	if reverse {
		return strconv.Itoa(w) + " reverse"
	}
	return strconv.Itoa(w)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func optBool(b *bool) string {
	if b == nil {
		return ""
	}
	return boolText(*b)
}

func flagWord(on bool, word string) string {
	if on {
		return word
	}
	return ""
}

// quote writes a word so that it reads back as one word: with double
// quotes when it holds blanks, braces or comment characters.
func quote(s string) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, " \t{}!#") {
		return `"` + s + `"`
	}
	return s
}

// metricsText writes a route's metrics as options.
func metricsText(m RouteMetrics) []string {
	var words []string
	add := func(key string, v uint32) {
		if v == 0 {
			return
		}
		words = append(words, key)
		if m.Lock&(1<<metricNumbers[key]) != 0 {
			words = append(words, "lock")
		}
		words = append(words, strconv.FormatUint(uint64(v), 10))
	}
	add("mtu", m.MTU)
	add("hoplimit", m.Hoplimit)
	add("advmss", m.AdvMSS)
	add("rtt", m.RTT)
	add("rttvar", m.RTTVar)
	add("reordering", m.Reordering)
	add("window", m.Window)
	add("cwnd", m.Cwnd)
	add("ssthresh", m.Ssthresh)
	add("rto_min", m.RtoMin)
	add("initcwnd", m.InitCwnd)
	add("initrwnd", m.InitRwnd)
	add("quickack", m.QuickACK)
	add("fastopen_no_cookie", m.FastOpenNoCookie)
	if m.FeatureECN {
		words = append(words, "features", "ecn")
	}
	if m.Congctl != "" {
		words = append(words, "congctl")
		if m.Lock&(1<<metricNumbers["congctl"]) != 0 {
			words = append(words, "lock")
		}
		words = append(words, m.Congctl)
	}
	return words
}
