package lvs

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// MaxWeight is the highest weight a destination is given: a real server's
// configured weight plus the adjustments of dynamic checkers may go
// beyond it, and below zero, but the kernel's table holds 0 to MaxWeight.
const MaxWeight = 65535

// State is the live state of one virtual server, what keepalived keeps
// in its virtual_server_t and real_server_t structures.
type State struct {
	// QuorumUp says whether the weights of the live real servers reached
	// the quorum. While it is down, a sorry server, if there is one,
	// replaces the real servers in the pool.
	QuorumUp bool
	// RealServers is the state of each of the virtual server's real
	// servers, in the order of its RealServers.
	RealServers []RealServerState
}

// RealServerState is the live state of one real server.
type RealServerState struct {
	// Alive says whether every checker of the real server is up.
	Alive bool
	// Weight is the effective weight: the configured weight plus the
	// adjustments of dynamic checkers (MISC_CHECK misc_dynamic,
	// FILE_CHECK).
	Weight int
	// Drained says an operator drains the server: it is in the pool at
	// weight 0, while alive, until Removed says it has left. The quorum
	// counts its health as usual: a drain is no failure.
	Drained, Removed bool
}

// realWeight clamps an effective weight into what the kernel takes, as
// keepalived's real_weight does.
func realWeight(w int) int {
	return min(max(w, 0), MaxWeight)
}

// liveWeight is the sum of the live real servers' weights, which the
// quorum is compared with.
func (st *State) liveWeight() int64 {
	var sum int64
	for _, rs := range st.RealServers {
		if rs.Alive {
			sum += int64(realWeight(rs.Weight))
		}
	}
	return sum
}

// Services returns the IPVS services that vs calls for in state st: one
// for an address or fwmark virtual server, one per address and per fwmark
// of its virtual_server_group otherwise (groups holds the configuration's
// groups). With ha_suspend, an address service exists only while owned
// reports its address as a virtual address of a VRRP instance that is
// MASTER here; a nil owned owns every address.
//
// The destinations follow keepalived's rules: a live real server is in the
// pool at its effective weight; a failed one is out, or in at weight 0
// with inhibit_on_failure; while the quorum is down the sorry server is in
// at weight 1 and the real servers are out (at weight 0 with
// inhibit_on_failure); otherwise the sorry server is out, or in at weight
// 0 with sorry_server_inhibit.
//
// Their ports follow ipvswrapper's: only NAT rewrites the port, so a DR or
// TUN destination takes its service's port, that of each address entry
// of a group, and no port under a firewall mark; a NAT destination keeps
// the real server's own.
func Services(vs *config.VirtualServer, groups []config.VirtualServerGroup, st State, owned func(netip.Addr) bool) []ipvs.Service {
	hdr := ipvs.Service{
		Scheduler: vs.Scheduler.String(), // config's names are IPVS's
		Flags:     serviceFlags(vs),
	}
	if vs.PersistenceTimeout > 0 {
		hdr.Flags |= ipvs.FlagPersistent
		hdr.Timeout = time.Duration(vs.PersistenceTimeout) * time.Second
		// keepalived names the engine only with persistence.
		hdr.PE = vs.PersistenceEngine
	}
	suspended := func(a netip.Addr) bool { return vs.HASuspend && owned != nil && !owned(a) }
	persistent := hdr.Flags&ipvs.FlagPersistent != 0
	// keepalived's group commands reset the service's netmask for each
	// entry, so that persistence_granularity applies to a lone virtual
	// server only.
	granularity := vs.PersistenceGranularity
	if vs.Group != "" {
		granularity = ""
	}

	var out []ipvs.Service
	addAddr := func(a netip.Addr, port uint16) {
		if suspended(a) {
			return
		}
		s := hdr
		s.Addr = netip.AddrPortFrom(a, port)
		s.Protocol = protocol(vs.Protocol)
		s.Netmask = netmask(granularity, a.Is6(), persistent)
		s.Destinations = destinations(vs, st, port)
		out = append(out, s)
	}
	addMark := func(mark uint32) {
		s := hdr
		s.FWMark = mark
		s.Family = markFamily(vs)
		s.Netmask = netmask(granularity, s.Family == ipvs.IPv6, persistent)
		s.Destinations = destinations(vs, st, 0)
		out = append(out, s)
	}

	switch {
	case vs.Group != "":
		for _, g := range groups {
			if g.Name != vs.Group {
				continue
			}
			for _, m := range g.Members {
				switch {
				case m.FWMark != 0:
					addMark(m.FWMark)
				case m.Last.IsValid():
					for a := m.Addr; a.IsValid() && a.Compare(m.Last) <= 0; a = a.Next() {
						addAddr(a, m.Port)
					}
				default:
					addAddr(m.Addr, m.Port)
				}
			}
			break
		}
	case vs.FWMark != 0:
		addMark(vs.FWMark)
	default:
		addAddr(vs.Addr, vs.Port)
	}
	return out
}

// smallPool is the largest number of real servers whose destinations
// are told apart by a scan rather than an index.
const smallPool = 16

// destinations lists the destinations of vs in state st for one of its
// services, whose port is svcPort (0 for a firewall mark).
func destinations(vs *config.VirtualServer, st State, svcPort uint16) []ipvs.Destination {
	sorryIn := vs.SorryServer != nil && !st.QuorumUp
	var ds []ipvs.Destination
	// A virtual server of a few real servers finds a destination already
	// in the pool by a scan, one of many through an index: every reload
	// computes the destinations of every virtual server.
	var index map[netip.AddrPort]int
	if len(vs.RealServers) > smallPool {
		index = make(map[netip.AddrPort]int, len(vs.RealServers))
	}
	find := func(a netip.AddrPort) (int, bool) {
		if index != nil {
			i, ok := index[a]
			return i, ok
		}
		for i := range ds {
			if ds[i].Addr == a {
				return i, true
			}
		}
		return 0, false
	}
	// add puts d in the pool; a destination already there stays, as the
	// kernel refuses to add it twice (two real servers whose ports DR
	// or TUN reset to the service's are one destination), unless replace
	// says that d takes its place.
	add := func(d ipvs.Destination, replace bool) {
		i, ok := find(d.Addr)
		switch {
		case !ok:
			if ds == nil {
				ds = make([]ipvs.Destination, 0, len(vs.RealServers)+1)
			}
			if index != nil {
				index[d.Addr] = len(ds)
			}
			ds = append(ds, d)
		case replace:
			ds[i] = d
		}
	}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		var s RealServerState
		if i < len(st.RealServers) {
			s = st.RealServers[i]
		}
		w := realWeight(s.Weight)
		switch {
		case s.Removed:
			continue
		case s.Drained && s.Alive && !sorryIn:
			w = 0
		case s.Alive && !sorryIn:
		case rs.InhibitOnFailure:
			w = 0
		default:
			continue
		}
		d := destination(destAddr(rs.Addr, rs.Port, rs.Forwarding, svcPort), rs.Forwarding, w)
		d.UpperThreshold, d.LowerThreshold = rs.UThreshold, rs.LThreshold
		add(d, false)
	}
	if ss := vs.SorryServer; ss != nil {
		addr := destAddr(ss.Addr, ss.Port, ss.Forwarding, svcPort)
		switch {
		case sorryIn:
			// A sorry server that is also a real server is one
			// destination: the sorry server's while it is in the pool.
			add(destination(addr, ss.Forwarding, 1), true)
		case ss.Inhibit:
			add(destination(addr, ss.Forwarding, 0), false)
		}
	}
	return ds
}

// destAddr is the address a real or sorry server has as a destination of
// a service whose port is svcPort: its own port under NAT, the service's
// otherwise, as ipvswrapper's ipvs_cmd and ipvs_group_cmd set it.
func destAddr(a netip.Addr, port uint16, f config.Forwarding, svcPort uint16) netip.AddrPort {
	if f.Method != config.LBKindNAT {
		port = svcPort
	}
	return netip.AddrPortFrom(a, port)
}

func destination(addr netip.AddrPort, f config.Forwarding, weight int) ipvs.Destination {
	d := ipvs.Destination{Addr: addr, Weight: weight}
	switch f.Method {
	case config.LBKindNAT:
		d.Method = ipvs.NAT
	case config.LBKindDR:
		d.Method = ipvs.DirectRoute
	case config.LBKindTUN:
		d.Method = ipvs.Tunnel
		if t := f.Tunnel; t != nil {
			switch t.Type {
			case config.TunnelIPIP:
				d.TunnelType = ipvs.IPIP
			case config.TunnelGUE:
				d.TunnelType, d.TunnelPort = ipvs.GUE, t.Port
			case config.TunnelGRE:
				d.TunnelType = ipvs.GRE
			default:
				panic("lvs: unknown config.TunnelType " + t.Type.String())
			}
			switch t.Checksum {
			case config.NoChecksum:
			case config.Checksum:
				d.TunnelFlags = ipvs.TunnelChecksum
			case config.RemoteChecksum:
				d.TunnelFlags = ipvs.TunnelRemoteChecksum
			default:
				panic("lvs: unknown config.TunnelChecksum " + t.Checksum.String())
			}
		}
	default:
		panic("lvs: unknown config.LBKind " + f.Method.String())
	}
	return d
}

func serviceFlags(vs *config.VirtualServer) ipvs.ServiceFlags {
	var f ipvs.ServiceFlags
	if vs.OPS {
		f |= ipvs.FlagOnePacket
	}
	for _, fl := range vs.SchedFlags {
		switch fl {
		case config.SchedFlag1, config.SHFallback, config.MHFallback:
			f |= ipvs.FlagSched1
		case config.SchedFlag2, config.SHPort, config.MHPort:
			f |= ipvs.FlagSched2
		case config.SchedFlag3:
			f |= ipvs.FlagSched3
		default:
			panic("lvs: unknown config.SchedFlag " + fl.String())
		}
	}
	return f
}

// protocol is an address service's protocol; config gives every one a
// protocol, UDP when the configuration names none.
func protocol(p config.Protocol) ipvs.Protocol {
	switch p {
	case config.ProtocolTCP:
		return ipvs.TCP
	case config.ProtocolUDP, config.ProtocolNone:
		return ipvs.UDP
	case config.ProtocolSCTP:
		return ipvs.SCTP
	}
	panic("lvs: unknown config.Protocol " + p.String())
}

// markFamily is a fwmark service's family: ip_family when given, or else
// IPv6 when a real server is, as keepalived takes it from them.
func markFamily(vs *config.VirtualServer) ipvs.Family {
	switch vs.IPFamily {
	case config.FamilyInet6:
		return ipvs.IPv6
	case config.FamilyInet:
		return ipvs.IPv4
	case config.FamilyUnspec:
	default:
		panic("lvs: unknown config.Family " + vs.IPFamily.String())
	}
	for _, rs := range vs.RealServers {
		if rs.Addr.Is6() && !rs.Addr.Is4In6() {
			return ipvs.IPv6
		}
	}
	return ipvs.IPv4
}

// netmask is persistence_granularity as a mask: a dotted IPv4 netmask or a
// prefix length. Without persistence it is nil, the kernel's default.
func netmask(granularity string, v6, persistent bool) net.IPMask {
	if !persistent || granularity == "" {
		return nil
	}
	bits := 32
	if v6 {
		bits = 128
	}
	if strings.Contains(granularity, ".") {
		if a, err := netip.ParseAddr(granularity); err == nil && a.Is4() && !v6 {
			b := a.As4()
			return net.IPv4Mask(b[0], b[1], b[2], b[3])
		}
		return nil
	}
	n, err := strconv.Atoi(granularity)
	if err != nil || n < 0 || n > bits {
		return nil
	}
	return net.CIDRMask(n, bits)
}
