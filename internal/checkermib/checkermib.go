// Package checkermib builds the health checkers' part of KEEPALIVED-MIB
// (enterprises.9586.100.5.3) from a configuration and the live state of
// its virtual and real servers, with keepalived's rows, index order,
// enumerations and absent columns, and the varbinds of its two checker
// notifications, realServerStateChange and virtualServerQuorumStateChange.
//
// The IPVS statistics columns (connections, packets, bytes and rates of
// every virtual and real server) come from the kernel's counters, which
// the Snapshot carries; a Snapshot without them leaves the columns out.
package checkermib

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// Root is the checkers' subtree of KEEPALIVED-MIB.
var Root = agentx.MustParseOID("1.3.6.1.4.1.9586.100.5.3")

// routerID is KEEPALIVED-MIB's routerId.0, which every checker
// notification carries.
var routerIDOID = agentx.MustParseOID("1.3.6.1.4.1.9586.100.5.1.2.0")

// The notifications, under Root.5.0.
var (
	RealServerStateChange          = Root.Append(5, 0, 1)
	VirtualServerQuorumStateChange = Root.Append(5, 0, 2)
)

// A Snapshot is what the MIB shows at one moment.
type Snapshot struct {
	Config *config.Config
	// Servers is the live state of Config's virtual servers, one per
	// virtual_server block, in the same order.
	Servers []VirtualServer
}

// VirtualServer is a virtual server's live state.
type VirtualServer struct {
	QuorumUp bool
	// QuorumUpScript and QuorumDownScript are its quorum scripts as they
	// run, in keepalived's notation (see Script); empty for none.
	QuorumUpScript, QuorumDownScript string
	// Stats are the kernel's counters of its services; nil leaves the
	// statistics columns out.
	Stats *ipvs.Counters
	// SorryStats are its sorry server's counters.
	SorryStats *RealServerStats
	// Real is the live state of its real servers, one per real_server
	// block, in the same order.
	Real []RealServer
}

// RealServer is a real server's live state.
type RealServer struct {
	Alive bool
	// Weight is the effective weight, as the checkers' dynamic weights
	// left it.
	Weight int
	// FailedCheckers counts the checkers that fail now.
	FailedCheckers int
	// NotifyUp and NotifyDown are its scripts, as VirtualServer's.
	NotifyUp, NotifyDown string
	// Stats are the kernel's counters of its destination; zero when it
	// is not in the table, nil to leave the columns out.
	Stats *RealServerStats
}

// RealServerStats are a real server's counters and connections.
type RealServerStats struct {
	ipvs.Counters
	ActiveConns, InactConns, PersistConns uint32
}

// TruthValue is SNMPv2-TC's TruthValue.
func truth(b bool) int32 {
	if b {
		return 1
	}
	return 2
}

// addrType is INET-ADDRESS-MIB's InetAddressType, as keepalived gives
// it: ipv4(1) for IPv4, ipv6(2) for anything else.
func addrType(a netip.Addr) int32 {
	if a.Is4() || a.Is4In6() {
		return 1
	}
	return 2
}

func addrBytes(a netip.Addr) []byte {
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// isV6 says whether the virtual server balances IPv6: its address, its
// family for a fwmark, its group's first member for a group.
func isV6(vs *config.VirtualServer, groups map[string]*config.VirtualServerGroup) bool {
	switch {
	case vs.Group != "":
		if g := groups[vs.Group]; g != nil {
			for _, m := range g.Members {
				if m.FWMark == 0 {
					return m.Addr.Is6() && !m.Addr.Is4In6()
				}
			}
		}
		return vs.IPFamily == config.FamilyInet6
	case vs.FWMark != 0:
		return vs.IPFamily == config.FamilyInet6
	}
	return vs.Addr.Is6() && !vs.Addr.Is4In6()
}

// schedulers numbers lb_algo as virtualServerLoadBalancingAlgo does;
// others are 99.
var schedulers = map[string]int32{
	"rr": 1, "wrr": 2, "lc": 3, "wlc": 4, "lblc": 5, "lblcr": 6, "dh": 7, "sh": 8,
	"sed": 9, "nq": 10, "fo": 11, "ovf": 12, "mh": 13, "twos": 14,
}

func scheduler(s config.Scheduler) int32 {
	if n, ok := schedulers[s.String()]; ok {
		return n
	}
	return 99
}

// kind is virtualServerLoadBalancingKind: nat(1), dr(2), tun(3).
func kind(f config.Forwarding) int32 {
	switch f.Method {
	case config.LBKindDR:
		return 2
	case config.LBKindTUN:
		return 3
	}
	return 1
}

// protocol is virtualServerProtocol: tcp(1), udp(2), sctp(3), none(4).
func protocol(p config.Protocol) int32 {
	switch p {
	case config.ProtocolTCP:
		return 1
	case config.ProtocolUDP:
		return 2
	case config.ProtocolSCTP:
		return 3
	}
	return 4
}

// The scheduler flags as the kernel's IP_VS_SVC_F_SCHED1..3 bits: sh-
// and mh-fallback are flag-1, sh- and mh-port flag-2.
const (
	sched1 = 1 << iota
	sched2
	sched3
)

func schedFlags(flags []config.SchedFlag) int {
	var f int
	for _, fl := range flags {
		switch fl {
		case config.SchedFlag1, config.SHFallback, config.MHFallback:
			f |= sched1
		case config.SchedFlag2, config.SHPort, config.MHPort:
			f |= sched2
		case config.SchedFlag3:
			f |= sched3
		}
	}
	return f
}

// Script is a configured notify script as keepalived's cmd_str_r shows
// it, each word in single quotes but a leading redirection, before its
// path is resolved; "" for none.
func Script(n *config.Notify) string {
	if n == nil {
		return ""
	}
	words, err := notify.SplitWords(n.Cmd)
	if err != nil || len(words) == 0 {
		return n.Cmd
	}
	return (&notify.Script{Args: words}).String()
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }
func micros(d time.Duration) uint32  { return uint32(d / time.Microsecond) }

// realWeight is the weight IPVS is given for an effective weight:
// keepalived's real_weight, clamped to 0..65535.
func realWeight(w int) int32 { return int32(min(max(w, 0), 65535)) }

// Fill adds the subtree's variables of s to b.
func Fill(b *agentx.Builder, s Snapshot) {
	cfg := s.Config
	if cfg == nil {
		return
	}
	groups := make(map[string]*config.VirtualServerGroup, len(cfg.VirtualServerGroups))
	for i := range cfg.VirtualServerGroups {
		g := &cfg.VirtualServerGroups[i]
		groups[g.Name] = g
		fillGroup(b, uint32(i+1), g)
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		var live VirtualServer
		if i < len(s.Servers) {
			live = s.Servers[i]
		}
		fillVirtualServer(b, uint32(i+1), vs, live, isV6(vs, groups))
		fillRealServers(b, uint32(i+1), vs, live)
	}
	fillGlobal(b, &cfg.Global)
}

// fillGroup adds a virtualServerGroupTable row and its
// virtualServerGroupMemberTable rows: keepalived numbers a group's
// fwmark members first, then its addresses and ranges.
func fillGroup(b *agentx.Builder, gi uint32, g *config.VirtualServerGroup) {
	b.String(Root.Append(1, 1, 2, gi), g.Name)
	col := func(c uint32, mi uint32) agentx.OID { return Root.Append(2, 1, c, gi, mi) }
	var mi uint32
	for _, m := range g.Members {
		if m.FWMark == 0 {
			continue
		}
		mi++
		b.Int(col(2, mi), 1)
		b.Gauge(col(3, mi), m.FWMark)
	}
	for _, m := range g.Members {
		if m.FWMark != 0 {
			continue
		}
		mi++
		isRange := m.Last.IsValid() && m.Last != m.Addr
		if isRange {
			b.Int(col(2, mi), 3)
		} else {
			b.Int(col(2, mi), 2)
		}
		b.Int(col(4, mi), addrType(m.Addr))
		if isRange {
			b.Bytes(col(6, mi), addrBytes(m.Addr))
			b.Bytes(col(7, mi), addrBytes(m.Last))
		} else {
			b.Bytes(col(5, mi), addrBytes(m.Addr))
		}
		b.Gauge(col(8, mi), uint32(m.Port))
	}
}

// granularity is the persistence granularity as keepalived keeps it, a
// 32-bit word: an IPv4 netmask in network order or an IPv6 prefix length,
// all ones when unset.
func granularity(vs *config.VirtualServer, v6 bool) [4]byte {
	g := vs.PersistenceGranularity
	if g == "" {
		return [4]byte{0xff, 0xff, 0xff, 0xff}
	}
	if v6 {
		var w [4]byte
		if p, err := netip.ParsePrefix("::/" + g); err == nil {
			binary.NativeEndian.PutUint32(w[:], uint32(p.Bits()))
		}
		return w
	}
	if a, err := netip.ParseAddr(g); err == nil && a.Is4() {
		return a.As4()
	}
	return [4]byte{0xff, 0xff, 0xff, 0xff}
}

func fillVirtualServer(b *agentx.Builder, vi uint32, vs *config.VirtualServer, live VirtualServer, v6 bool) {
	col := func(c uint32) agentx.OID { return Root.Append(3, 1, c, vi) }
	switch {
	case vs.Group != "":
		b.Int(col(2), 3)
		b.String(col(3), vs.Group)
	case vs.FWMark != 0:
		b.Int(col(2), 1)
		b.Gauge(col(4), vs.FWMark)
	default:
		b.Int(col(2), 2)
	}
	if v6 {
		b.Int(col(5), 2)
	} else {
		b.Int(col(5), 1)
	}
	if vs.Group == "" && vs.FWMark == 0 {
		b.Bytes(col(6), addrBytes(vs.Addr))
		b.Gauge(col(7), uint32(vs.Port))
	}
	if vs.FWMark == 0 {
		b.Int(col(8), protocol(vs.Protocol))
	}
	b.Int(col(9), scheduler(vs.Scheduler))
	b.Int(col(10), kind(vs.Forwarding))
	// The virtual server is in the IPVS table while the checkers run.
	b.Int(col(11), truth(true))
	if vs.Virtualhost != "" {
		b.String(col(12), vs.Virtualhost)
	}
	b.Int(col(13), truth(vs.PersistenceTimeout != 0))
	if vs.PersistenceTimeout != 0 {
		b.Gauge(col(14), vs.PersistenceTimeout)
	}
	// keepalived shows the IPv4 column for an IPv4 address, the IPv6
	// one for an IPv6 address, and both for a fwmark or a group, whose
	// own address has no family; the IPv6 column reads the word as a
	// number.
	g := granularity(vs, v6)
	addrless := vs.Group != "" || vs.FWMark != 0
	if !v6 || addrless {
		b.Bytes(col(15), g[:])
	}
	if v6 || addrless {
		b.Gauge(col(51), binary.NativeEndian.Uint32(g[:]))
	}
	b.Gauge(col(16), seconds(vs.Timing.DelayLoop))
	b.Int(col(17), truth(vs.HASuspend))
	b.Int(col(18), truth(vs.Timing.Alpha))
	b.Int(col(19), truth(vs.Omega))
	up := 0
	for _, r := range live.Real {
		if r.Alive {
			up++
		}
	}
	b.Gauge(col(20), uint32(len(vs.RealServers)))
	b.Gauge(col(21), uint32(up))
	b.Gauge(col(22), vs.Quorum)
	b.Int(col(23), truth(live.QuorumUp))
	if live.QuorumUpScript != "" {
		b.String(col(24), live.QuorumUpScript)
	}
	if live.QuorumDownScript != "" {
		b.String(col(25), live.QuorumDownScript)
	}
	b.Gauge(col(26), vs.Hysteresis)
	if c := live.Stats; c != nil {
		fillCounters(b, col, c, 27, 38)
	}
	b.Int(col(37), truth(vs.OPS))
	flags := schedFlags(vs.SchedFlags)
	// IP_VS_SVC_F_HASHED is the kernel's own flag, never part of the
	// configuration's.
	b.Int(col(52), truth(false))
	b.Int(col(53), truth(flags&sched1 != 0))
	b.Int(col(54), truth(flags&sched2 != 0))
	b.Int(col(55), truth(flags&sched3 != 0))
	b.Int(col(56), truth(!vs.InhibitOnFailure))
	b.Gauge(col(57), uint32(vs.Timing.Retry))
	b.Gauge(col(58), seconds(vs.Timing.DelayBeforeRetry))
	b.Gauge(col(59), seconds(vs.Timing.Warmup))
	b.Int(col(60), int32(vs.Weight()))
	b.Int(col(61), truth(vs.SMTPAlert))
	b.Int(col(62), truth(flags&sched1 != 0))
	b.Int(col(63), truth(flags&sched2 != 0))
	b.Gauge(col(64), micros(vs.Timing.DelayLoop))
	b.Gauge(col(65), micros(vs.Timing.DelayBeforeRetry))
	b.Gauge(col(66), micros(vs.Timing.Warmup))
	b.Gauge(col(67), micros(vs.Timing.ConnectTimeout))
	fillTunnel(b, col(68), col(69), col(70), vs.Forwarding)
	if vs.SNMPName != "" {
		b.String(col(71), vs.SNMPName)
	}
}

// fillTunnel adds the tunnel type, port and checksum columns of an
// lvs_method TUN server: the port for GUE only, the checksum for all but
// IPIP.
func fillTunnel(b *agentx.Builder, typ, port, csum agentx.OID, f config.Forwarding) {
	if f.Method != config.LBKindTUN {
		return
	}
	t := config.Tunnel{}
	if f.Tunnel != nil {
		t = *f.Tunnel
	}
	b.Int(typ, int32(t.Type)+1)
	if t.Type == config.TunnelGUE {
		b.Gauge(port, uint32(t.Port))
	}
	if t.Type != config.TunnelIPIP {
		b.Int(csum, int32(t.Checksum)+1)
	}
}

// fillRealServers adds a virtual server's realServerTable rows: its sorry
// server first, then its real servers in configuration order.
func fillRealServers(b *agentx.Builder, vi uint32, vs *config.VirtualServer, live VirtualServer) {
	var ri uint32
	if ss := vs.SorryServer; ss != nil {
		ri++
		col := func(c uint32) agentx.OID { return Root.Append(4, 1, c, vi, ri) }
		b.Int(col(2), truth(false))
		b.Int(col(3), addrType(ss.Addr))
		b.Bytes(col(4), addrBytes(ss.Addr))
		b.Gauge(col(5), uint32(ss.Port))
		fillRealStats(b, col, live.SorryStats)
		b.Int(col(40), kind(ss.Forwarding))
		// The sorry server takes no timing nor smtp_alert from its
		// virtual server: keepalived shows them all 0 or false.
		b.Int(col(42), truth(false))
		b.Gauge(col(43), 0)
		b.Gauge(col(44), 0)
		b.Gauge(col(45), 0)
		b.Gauge(col(46), 0)
		b.Int(col(47), truth(false))
		b.Gauge(col(48), 0)
		b.Gauge(col(49), 0)
		b.Gauge(col(50), 0)
		b.Gauge(col(51), 0)
		fillTunnel(b, col(52), col(53), col(54), ss.Forwarding)
	}
	for j := range vs.RealServers {
		rs := &vs.RealServers[j]
		var st RealServer
		if j < len(live.Real) {
			st = live.Real[j]
		}
		ri++
		col := func(c uint32) agentx.OID { return Root.Append(4, 1, c, vi, ri) }
		b.Int(col(2), truth(true))
		b.Int(col(3), addrType(rs.Addr))
		b.Bytes(col(4), addrBytes(rs.Addr))
		b.Gauge(col(5), uint32(rs.Port))
		b.Int(col(6), truth(st.Alive))
		b.Int(col(7), realWeight(st.Weight))
		if rs.UThreshold != 0 {
			b.Gauge(col(8), rs.UThreshold)
		}
		if rs.LThreshold != 0 {
			b.Gauge(col(9), rs.LThreshold)
		}
		b.Int(col(10), truth(!rs.InhibitOnFailure))
		if st.NotifyUp != "" {
			b.String(col(11), st.NotifyUp)
		}
		if st.NotifyDown != "" {
			b.String(col(12), st.NotifyDown)
		}
		b.Gauge(col(13), uint32(st.FailedCheckers))
		fillRealStats(b, col, st.Stats)
		b.Int(col(40), kind(rs.Forwarding))
		// keepalived's real server shows only its own virtualhost;
		// its checkers take the virtual server's.
		if vh := rs.OwnVirtualhost(); vh != "" {
			b.String(col(41), vh)
		}
		b.Int(col(42), truth(rs.Timing.Alpha))
		b.Gauge(col(43), uint32(rs.Timing.Retry))
		b.Gauge(col(44), seconds(rs.Timing.DelayBeforeRetry))
		b.Gauge(col(45), seconds(rs.Timing.Warmup))
		b.Gauge(col(46), seconds(rs.Timing.DelayLoop))
		b.Int(col(47), truth(rs.SMTPAlert))
		b.Gauge(col(48), micros(rs.Timing.DelayBeforeRetry))
		b.Gauge(col(49), micros(rs.Timing.Warmup))
		b.Gauge(col(50), micros(rs.Timing.DelayLoop))
		b.Gauge(col(51), micros(rs.Timing.ConnectTimeout))
		fillTunnel(b, col(52), col(53), col(54), rs.Forwarding)
		if rs.SNMPName != "" {
			b.String(col(55), rs.SNMPName)
		}
	}
}

// fillCounters adds the counter columns of a virtualServerEntry (from
// 27 and 38) or a realServerEntry (from 18 and 27): packets and bytes,
// rates, then the 64-bit counters and each rate's low and high halves.
// keepalived 2.2.7 answers each low half from the wrong variable (the
// last Counter64 it built); the low 32 bits of the rate are given here,
// as the MIB describes.
func fillCounters(b *agentx.Builder, col func(uint32) agentx.OID, c *ipvs.Counters, first, first64 uint32) {
	n := first
	if first == 27 { // a virtual server's connections come first
		b.Gauge(col(n), uint32(c.Conns))
		n++
	}
	b.Counter(col(n), uint32(c.InPkts))
	b.Counter(col(n+1), uint32(c.OutPkts))
	b.Counter64(col(n+2), c.InBytes)
	b.Counter64(col(n+3), c.OutBytes)
	for i, r := range []uint64{c.CPS, c.InPPS, c.OutPPS, c.InBPS, c.OutBPS} {
		b.Gauge(col(n+4+uint32(i)), uint32(r))
	}
	b.Counter64(col(first64), c.Conns)
	b.Counter64(col(first64+1), c.InPkts)
	b.Counter64(col(first64+2), c.OutPkts)
	for i, r := range []uint64{c.CPS, c.InPPS, c.OutPPS, c.InBPS, c.OutBPS} {
		b.Gauge(col(first64+3+2*uint32(i)), uint32(r))
		b.Gauge(col(first64+4+2*uint32(i)), uint32(r>>32))
	}
}

// fillRealStats adds a realServerEntry's statistics columns, 14 to 39.
func fillRealStats(b *agentx.Builder, col func(uint32) agentx.OID, s *RealServerStats) {
	if s == nil {
		return
	}
	b.Gauge(col(14), uint32(s.Conns))
	b.Gauge(col(15), s.ActiveConns)
	b.Gauge(col(16), s.InactConns)
	b.Gauge(col(17), s.PersistConns)
	fillCounters(b, col, &s.Counters, 18, 27)
}

// fillGlobal adds the LVS sync daemon and timeout scalars: each is absent
// when the configuration does not set it.
func fillGlobal(b *agentx.Builder, g *config.Global) {
	sd := g.LVSSyncDaemon
	b.Int(Root.Append(6, 1, 0), truth(sd != nil))
	if sd != nil {
		b.String(Root.Append(6, 2, 0), sd.Interface)
		if sd.Instance != "" {
			b.String(Root.Append(6, 3, 0), sd.Instance)
		}
		// keepalived's checker process knows an id only when the line
		// gives one; without an instance it runs the daemon itself,
		// with id 0; otherwise the VRRP process takes the instance's
		// VRID and the checker shows its "unset" (all ones: -1).
		id := int32(sd.SyncID)
		switch {
		case sd.IDSet():
		case sd.Instance == "":
			id = 0
		default:
			id = -1
		}
		b.Int(Root.Append(6, 4, 0), id)
		b.Int(Root.Append(6, 5, 0), int32(sd.MaxLen))
		b.Int(Root.Append(6, 6, 0), int32(sd.Port))
		b.Int(Root.Append(6, 7, 0), int32(sd.TTL))
		if sd.Group.IsValid() {
			b.Int(Root.Append(6, 8, 0), addrType(sd.Group))
			b.Bytes(Root.Append(6, 9, 0), addrBytes(sd.Group))
		}
	}
	t := g.LVSTimeouts
	for i, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
		if d != 0 {
			b.Int(Root.Append(7, uint32(i+1), 0), int32(d/time.Second))
		}
	}
}
