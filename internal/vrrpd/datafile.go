package vrrpd

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/dump"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// The USR1 data file: the VRRP Topology part in keepalived 2.2.7's
// layout (vrrp_data.c's dump_vrrp), line for line for what an instance
// here has. Lines about keepalived's own machinery that gokeepalived does
// not have (socket descriptors, the socket pool and interface sections)
// are left out, and the read timeout, which the vrrp package does not
// expose, is estimated, as noted where it is written.

// Dump writes the instances, as keepalived's VRRP process writes them.
func (l *Loop) Dump(w io.Writer) {
	fmt.Fprintf(w, "------< VRRP Topology >------\n")
	now := time.Now()
	for _, in := range l.running() {
		dumpInstance(w, in.vrrp.Status(), in.cfg, in.scripts, in.group, now)
	}
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
	case ci.UnicastFaultNoPeer:
		p("Flags:")
		p("  Unicast config option specified but using multicast")
	case ci.Nopreempt:
		p("Flags:")
	default:
		p("Flags: none")
	}
	if ci.UnicastFaultNoPeer {
		p("  If unicast go to fault state if no peers")
	}
	p("Wantstate = %s", st.State)
	p("Number of config faults = %d", dump.Int(configFault(ci)))
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
	p("Last transition = %s", dump.Time(last))
	// The vrrp package does not expose when its timer fires next: a
	// master's next advert is at most an interval away, and a backup's
	// down timer at most the master down interval.
	switch st.State {
	case vrrp.StateMaster:
		p("Read timeout = %s", dump.Time(now.Add(ci.AdvertInt)))
	case vrrp.StateBackup:
		p("Read timeout = %s", dump.Time(now.Add(st.DownInterval)))
	default:
		p("Read timeout = DISABLED")
	}
	p("Master down timer = %d usecs", st.DownInterval.Microseconds())
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
	p("Down timer adverts = %d", dump.OrInt(ci.DownTimerAdverts, 3))
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
	p("Accept = %s", dump.Enabled(ci.Accept))
	p("Preempt = %s", dump.Enabled(!ci.Nopreempt))
	if ci.PreemptDelay > 0 {
		p("Preempt delay = %g secs", ci.PreemptDelay.Seconds())
	}
	p("Promote_secondaries = %s", dump.Enabled(ci.PromoteSecondaries))
	switch {
	case ci.Auth != nil && ci.Auth.Type == config.AuthPass:
		p("Authentication type = SIMPLE_PASSWORD")
		p("Password = %s", ci.Auth.Pass)
	case ci.Auth != nil && ci.Auth.Type == config.AuthAH:
		p("Authentication type = IPSEC_AH")
	case version == 2:
		p("Authentication type = none")
	}
	if ci.Debug != 0 {
		// keepalived's only use of an instance's debug.
		p("Debug level = %d", ci.Debug)
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
		p("Unicast TTL = %d", dump.OrInt(ci.UnicastTTL, 255))
		p("Check unicast src : %s", dump.YesNo(ci.CheckUnicastSrc))
		p("Unicast Peer :")
		for _, peer := range ci.UnicastPeers {
			p("  %s min_ttl %d max_ttl %d", peer.Addr, peer.MinTTL, dump.OrInt(peer.MaxTTL, 255))
		}
		p("Unicast checksum compatibility = no")
	}
	p("Using smtp notification = %s", dump.YesNo(ci.SMTPAlert))
	if ci.Notify.Deleted != nil {
		p("Notify deleted = Deleted")
	} else {
		p("Notify deleted = Fault")
	}
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
				p("%s state transition script = %s, uid:gid %d:%d", s.what, dump.QuoteArgs(s.script.Args), s.script.Cred.UID, s.script.Cred.GID)
			}
		}
	}
	p("Notify priority changes = %t", ci.NotifyPriorityChanges)
}

// dataAddress formats a virtual address as keepalived's dump of an
// ip_address: "10.0.0.1/24 dev eth0 scope global", and " set" while the
// instance holds it.
func dataAddress(a config.Address, iface string, set bool) string {
	dev := a.Dev
	if dev == "" {
		dev = iface
	}
	s := fmt.Sprintf("%s dev %s scope %s", prefixText(a.Prefix), dev, a.Scope)
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
