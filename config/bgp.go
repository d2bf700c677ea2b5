package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The BGP blocks are a gokeepalived extension: keepalived has no such
// keywords, and refuses a configuration that has them.
//
//	bgp_speaker {
//	    router_id 10.0.0.11
//	    local_as 65011
//	    hold_time 9
//	    graceful_restart
//	    restart_time 120
//	    neighbor 10.99.0.254 {
//	        remote_as 65000
//	        password SECRET
//	        multihop 2
//	        source_ip 10.99.0.11
//	        bfd RT
//	    }
//	}
//	bgp_announce WEB {
//	    prefix 10.10.10.10/32
//	    track_virtual_server 10.10.10.10 80 TCP
//	    track_instance VI_1
//	    community 65000:100
//	    large_community 65000:1:100
//	    med 10
//	    next_hop 10.99.0.12
//	}

// BGPSpeaker is the bgp_speaker block: the embedded BGP speaker that
// announces the bgp_announce prefixes to its neighbors.
type BGPSpeaker struct {
	Pos      Pos        `json:"pos,omitzero"`
	RouterID netip.Addr `json:"router_id"`
	LocalAS  uint32     `json:"local_as"`
	// HoldTime is offered to every neighbor; the keepalive interval is
	// a third of it.
	HoldTime time.Duration `json:"hold_time"`
	// GracefulRestart advertises graceful restart (RFC 4724) to every
	// neighbor: a neighbor that supports it keeps the routes of a
	// daemon that died, as stale, for RestartTime, until the restarted
	// daemon's End-of-RIB. It is the speaker's, not a neighbor's, as
	// what restarts is the one speaker of every session.
	GracefulRestart bool          `json:"graceful_restart,omitempty"`
	RestartTime     time.Duration `json:"restart_time,omitempty"`
	Neighbors       []BGPNeighbor `json:"neighbors,omitempty"`
}

// BGPNeighbor is a neighbor block of bgp_speaker.
type BGPNeighbor struct {
	Pos      Pos        `json:"pos,omitzero"`
	Addr     netip.Addr `json:"addr"`
	RemoteAS uint32     `json:"remote_as"`
	// Password is the TCP MD5 signature key (RFC 2385).
	Password string `json:"password,omitempty"`
	// Multihop is the TTL of an eBGP session to a neighbor beyond the
	// connected networks; 0 leaves it 1.
	Multihop uint8      `json:"multihop,omitempty"`
	SourceIP netip.Addr `json:"source_ip,omitzero"`
	// BFD names the bfd_instance watching the neighbor: its session is
	// dropped, and dialled again, when that BFD session goes Down.
	BFD string `json:"bfd,omitempty"`
}

// BGPAnnounce is a bgp_announce block: a prefix announced while every
// virtual server and VRRP instance it tracks is up.
type BGPAnnounce struct {
	Pos    Pos          `json:"pos,omitzero"`
	Name   string       `json:"name"`
	Prefix netip.Prefix `json:"prefix"`
	// TrackVirtualServers must each have their quorum up.
	TrackVirtualServers []BGPTrackedServer `json:"track_virtual_server,omitempty"`
	// TrackInstances must each be MASTER.
	TrackInstances []string `json:"track_instance,omitempty"`
	// Communities are ASN:value in one number each.
	Communities []uint32 `json:"communities,omitempty"`
	// LargeCommunities are RFC 8092's, global administrator first.
	LargeCommunities [][3]uint32 `json:"large_communities,omitempty"`
	MED              *uint32     `json:"med,omitempty"`
	// NextHop is the next hop announced; invalid, the session's local
	// address ("next_hop self").
	NextHop netip.Addr `json:"next_hop,omitzero"`
}

// BGPTrackedServer names a virtual server by address, port and protocol.
type BGPTrackedServer struct {
	Addr     netip.AddrPort `json:"addr"`
	Protocol Protocol       `json:"protocol"`
}

// bgpExtension names the extension in the notice of each of its blocks.
const bgpExtension = "gokeepalived extension (BGP announcement of VIPs), not a keepalived keyword: keepalived refuses it"

// defaultHoldTime is RFC 4271's suggested hold time.
const defaultHoldTime = 90 * time.Second

// DefaultRestartTime is the restart time graceful_restart advertises
// without restart_time: BIRD's and FRR's default.
const DefaultRestartTime = 120 * time.Second

func bgpTopKeywords(h handlers[Config]) {
	h["bgp_speaker"] = (*parser).bgpSpeakerBlock
	h["bgp_announce"] = (*parser).bgpAnnounceBlock
}

func (p *parser) bgpSpeakerBlock(c *Config, n *node) {
	p.d.extension(n.pos, n.words[0], bgpExtension)
	if c.BGPSpeaker != nil {
		p.errorf(n.pos, "bgp_speaker: a second bgp_speaker block - ignoring it")
		p.skipBlock()
		return
	}
	s := BGPSpeaker{Pos: n.pos, HoldTime: defaultHoldTime, RestartTime: DefaultRestartTime}
	end := block(p, n, &s, bgpSpeakerKeywords())
	switch {
	case !s.RouterID.IsValid():
		p.errorf(end, "bgp_speaker: no router_id - ignoring the BGP speaker")
	case s.LocalAS == 0:
		p.errorf(end, "bgp_speaker: no local_as - ignoring the BGP speaker")
	default:
		c.BGPSpeaker = &s
	}
}

func bgpSpeakerKeywords() handlers[BGPSpeaker] {
	return handlers[BGPSpeaker]{
		"router_id": func(p *parser, s *BGPSpeaker, n *node) {
			if w, ok := p.word(n, 1); ok {
				a, err := netip.ParseAddr(w)
				if err != nil || !a.Is4() {
					p.errorf(n.pos, "bgp_speaker: router_id %s is not an IPv4 address", w)
					return
				}
				s.RouterID = a
			}
		},
		"local_as": func(p *parser, s *BGPSpeaker, n *node) {
			if v, ok := p.uintArg(n, 1, 1, 1<<32-1); ok {
				s.LocalAS = uint32(v)
			}
		},
		"hold_time": func(p *parser, s *BGPSpeaker, n *node) {
			// RFC 4271 4.2: zero or at least three seconds.
			w, ok := p.word(n, 1)
			if !ok {
				return
			}
			if v, ok := p.uintValue(n.pos, w, 0, 65535); ok {
				if v != 0 && v < 3 {
					p.errorf(n.pos, "bgp_speaker: hold_time %d must be 0 or at least 3 seconds", v)
					return
				}
				s.HoldTime = time.Duration(v) * time.Second
			}
		},
		"graceful_restart": func(p *parser, s *BGPSpeaker, n *node) {
			if len(n.words) > 1 {
				p.errorf(n.pos, "bgp_speaker: graceful_restart takes no argument - ignoring %s", strings.Join(n.words[1:], " "))
			}
			s.GracefulRestart = true
		},
		"restart_time": func(p *parser, s *BGPSpeaker, n *node) {
			// RFC 4724 3: a 12-bit number of seconds.
			if v, ok := p.uintArg(n, 1, 1, 4095); ok {
				s.RestartTime = time.Duration(v) * time.Second
			}
		},
		"neighbor": func(p *parser, s *BGPSpeaker, n *node) {
			w, ok := p.word(n, 1)
			if !ok {
				p.skipBlock()
				return
			}
			a, err := netip.ParseAddr(w)
			if err != nil {
				p.errorf(n.pos, "bgp_speaker: neighbor %s is not an IP address - ignoring it", w)
				p.skipBlock()
				return
			}
			nb := BGPNeighbor{Pos: n.pos, Addr: a.Unmap()}
			end := block(p, n, &nb, bgpNeighborKeywords())
			switch {
			case nb.RemoteAS == 0:
				p.errorf(end, "bgp_speaker: neighbor %s has no remote_as - ignoring it", nb.Addr)
			case nb.SourceIP.IsValid() && nb.SourceIP.Is4() != nb.Addr.Is4():
				p.errorf(end, "bgp_speaker: neighbor %s and its source_ip %s are not of the same family - ignoring it", nb.Addr, nb.SourceIP)
			default:
				for _, o := range s.Neighbors {
					if o.Addr == nb.Addr {
						p.errorf(n.pos, "bgp_speaker: neighbor %s already configured - ignoring it", nb.Addr)
						return
					}
				}
				s.Neighbors = append(s.Neighbors, nb)
			}
		},
	}
}

func bgpNeighborKeywords() handlers[BGPNeighbor] {
	return handlers[BGPNeighbor]{
		"remote_as": func(p *parser, nb *BGPNeighbor, n *node) {
			if v, ok := p.uintArg(n, 1, 1, 1<<32-1); ok {
				nb.RemoteAS = uint32(v)
			}
		},
		"password": func(p *parser, nb *BGPNeighbor, n *node) {
			if w, ok := p.arg(n, 1); ok {
				// RFC 2385 keys are at most 80 bytes (TCP_MD5SIG_MAXKEYLEN).
				if len(w) > 80 {
					p.errorf(n.pos, "bgp_speaker: neighbor %s password longer than 80 characters - ignoring it", nb.Addr)
					return
				}
				nb.Password = w
			}
		},
		"multihop": func(p *parser, nb *BGPNeighbor, n *node) {
			if v, ok := p.uintArg(n, 1, 1, 255); ok {
				nb.Multihop = uint8(v)
			}
		},
		"source_ip": func(p *parser, nb *BGPNeighbor, n *node) {
			if w, ok := p.word(n, 1); ok {
				a, err := netip.ParseAddr(w)
				if err != nil {
					p.errorf(n.pos, "bgp_speaker: neighbor %s source_ip %s is not an IP address - ignoring it", nb.Addr, w)
					return
				}
				nb.SourceIP = a.Unmap()
			}
		},
		"bfd": func(p *parser, nb *BGPNeighbor, n *node) {
			if w, ok := p.arg(n, 1); ok {
				nb.BFD = w
			}
		},
	}
}

func (p *parser) bgpAnnounceBlock(c *Config, n *node) {
	p.d.extension(n.pos, n.words[0], bgpExtension)
	name, ok := p.arg(n, 1)
	if !ok {
		p.skipBlock()
		return
	}
	a := BGPAnnounce{Pos: n.pos, Name: name}
	end := block(p, n, &a, bgpAnnounceKeywords())
	if a.NextHop.IsValid() && a.Prefix.IsValid() && a.NextHop.Is4() != a.Prefix.Addr().Is4() {
		p.errorf(end, "bgp_announce %s: next_hop %s and prefix %s are not of the same family - announcing with next_hop self", name, a.NextHop, a.Prefix)
		a.NextHop = netip.Addr{}
	}
	for _, o := range c.BGPAnnounces {
		if o.Name == name {
			p.errorf(n.pos, "bgp_announce %s already configured - ignoring it", name)
			return
		}
	}
	switch {
	case !a.Prefix.IsValid():
		p.errorf(end, "bgp_announce %s: no prefix - ignoring it", name)
	case len(a.TrackVirtualServers) == 0 && len(a.TrackInstances) == 0:
		p.errorf(end, "bgp_announce %s: neither track_virtual_server nor track_instance - ignoring it", name)
	default:
		c.BGPAnnounces = append(c.BGPAnnounces, a)
	}
}

func bgpAnnounceKeywords() handlers[BGPAnnounce] {
	return handlers[BGPAnnounce]{
		"prefix": func(p *parser, a *BGPAnnounce, n *node) {
			w, ok := p.word(n, 1)
			if !ok {
				return
			}
			pf, err := netip.ParsePrefix(w)
			if err != nil {
				if ad, aerr := netip.ParseAddr(w); aerr == nil {
					pf, err = netip.PrefixFrom(ad, ad.BitLen()), nil
				}
			}
			if err != nil {
				p.errorf(n.pos, "bgp_announce %s: prefix %s is not an address or prefix", a.Name, w)
				return
			}
			a.Prefix = pf.Masked()
		},
		"track_virtual_server": func(p *parser, a *BGPAnnounce, n *node) {
			if len(n.words) != 4 {
				p.errorf(n.pos, "bgp_announce %s: track_virtual_server takes ADDRESS PORT PROTOCOL", a.Name)
				return
			}
			ad, err := netip.ParseAddr(n.words[1])
			port, perr := strconv.ParseUint(n.words[2], 10, 16)
			proto, pok := parseProtocol(n.words[3])
			if err != nil || perr != nil || !pok {
				p.errorf(n.pos, "bgp_announce %s: track_virtual_server %s is not ADDRESS PORT TCP|UDP|SCTP", a.Name, strings.Join(n.words[1:], " "))
				return
			}
			a.TrackVirtualServers = append(a.TrackVirtualServers,
				BGPTrackedServer{Addr: netip.AddrPortFrom(ad.Unmap(), uint16(port)), Protocol: proto})
		},
		"track_instance": func(p *parser, a *BGPAnnounce, n *node) {
			if w, ok := p.arg(n, 1); ok {
				a.TrackInstances = append(a.TrackInstances, w)
			}
		},
		"community": func(p *parser, a *BGPAnnounce, n *node) {
			if len(n.words) < 2 {
				p.word(n, 1)
				return
			}
			for _, w := range n.words[1:] {
				c, ok := parseCommunity(w)
				if !ok {
					p.errorf(n.pos, "bgp_announce %s: community %s is not ASN:VALUE (each 0-65535)", a.Name, w)
					continue
				}
				a.Communities = append(a.Communities, c)
			}
		},
		"large_community": func(p *parser, a *BGPAnnounce, n *node) {
			if len(n.words) < 2 {
				p.word(n, 1)
				return
			}
			for _, w := range n.words[1:] {
				c, ok := parseLargeCommunity(w)
				if !ok {
					p.errorf(n.pos, "bgp_announce %s: large_community %s is not ASN:VALUE:VALUE (each 0-4294967295)", a.Name, w)
					continue
				}
				a.LargeCommunities = append(a.LargeCommunities, c)
			}
		},
		"next_hop": func(p *parser, a *BGPAnnounce, n *node) {
			w, ok := p.word(n, 1)
			if !ok {
				return
			}
			if w == "self" {
				a.NextHop = netip.Addr{}
				return
			}
			ad, err := netip.ParseAddr(w)
			if err != nil || ad.Zone() != "" || ad.IsUnspecified() || ad.IsMulticast() {
				p.errorf(n.pos, "bgp_announce %s: next_hop %s is not a unicast IP address or self", a.Name, w)
				return
			}
			a.NextHop = ad.Unmap()
		},
		"med": func(p *parser, a *BGPAnnounce, n *node) {
			if v, ok := p.uintArg(n, 1, 0, 1<<32-1); ok {
				m := uint32(v)
				a.MED = &m
			}
		},
	}
}

// parseCommunity reads "ASN:VALUE".
func parseCommunity(w string) (uint32, bool) {
	hi, lo, ok := strings.Cut(w, ":")
	if !ok {
		return 0, false
	}
	h, err1 := strconv.ParseUint(hi, 10, 16)
	l, err2 := strconv.ParseUint(lo, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return uint32(h)<<16 | uint32(l), true
}

// parseLargeCommunity reads "ASN:VALUE:VALUE".
func parseLargeCommunity(w string) ([3]uint32, bool) {
	var c [3]uint32
	f := strings.Split(w, ":")
	if len(f) != 3 {
		return c, false
	}
	for i, s := range f {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return c, false
		}
		c[i] = uint32(v)
	}
	return c, true
}

// validateBGP checks what the bgp_announce blocks name once every block
// is read.
func (p *parser) validateBGP() {
	c := p.cfg
	if len(c.BGPAnnounces) > 0 && c.BGPSpeaker == nil {
		p.errorf(c.BGPAnnounces[0].Pos, "bgp_announce %s: no bgp_speaker to announce it", c.BGPAnnounces[0].Name)
	}
	if s := c.BGPSpeaker; s != nil {
		bfds := make(map[string]bool, len(c.BFDInstances))
		for _, b := range c.BFDInstances {
			bfds[b.Name] = true
		}
		for i := range s.Neighbors {
			if nb := &s.Neighbors[i]; nb.BFD != "" && !bfds[nb.BFD] {
				p.errorf(nb.Pos, "bgp_speaker: neighbor %s bfd %s names no bfd_instance - ignoring it", nb.Addr, nb.BFD)
				nb.BFD = ""
			}
		}
	}
	instances := make(map[string]bool, len(c.Instances))
	for _, in := range c.Instances {
		instances[in.Name] = true
	}
	servers := make(map[BGPTrackedServer]bool, len(c.VirtualServers))
	for _, vs := range c.VirtualServers {
		if vs.Addr.IsValid() {
			servers[BGPTrackedServer{Addr: netip.AddrPortFrom(vs.Addr, vs.Port), Protocol: vs.Protocol}] = true
		}
	}
	for _, a := range c.BGPAnnounces {
		for _, name := range a.TrackInstances {
			if !instances[name] {
				p.errorf(a.Pos, "bgp_announce %s: track_instance %s names no vrrp_instance", a.Name, name)
			}
		}
		for _, s := range a.TrackVirtualServers {
			if !servers[s] {
				p.errorf(a.Pos, "bgp_announce %s: track_virtual_server %s %s names no virtual_server", a.Name, s.Addr, s.Protocol)
			}
		}
	}
	p.refuseNATUnderECMP()
}

// bgp writes the BGP blocks.
func (tw *textWriter) bgp(c *Config) {
	if s := c.BGPSpeaker; s != nil {
		tw.open("bgp_speaker")
		tw.kv("router_id", s.RouterID.String())
		tw.kv("local_as", strconv.FormatUint(uint64(s.LocalAS), 10))
		tw.kv("hold_time", strconv.Itoa(int(s.HoldTime/time.Second)))
		tw.flag("graceful_restart", s.GracefulRestart)
		if s.RestartTime != DefaultRestartTime {
			tw.kv("restart_time", strconv.Itoa(int(s.RestartTime/time.Second)))
		}
		for _, nb := range s.Neighbors {
			tw.open("neighbor", nb.Addr.String())
			tw.kv("remote_as", strconv.FormatUint(uint64(nb.RemoteAS), 10))
			if nb.Password != "" {
				tw.kv("password", nb.Password)
			}
			if nb.Multihop != 0 {
				tw.kv("multihop", strconv.Itoa(int(nb.Multihop)))
			}
			if nb.SourceIP.IsValid() {
				tw.kv("source_ip", nb.SourceIP.String())
			}
			if nb.BFD != "" {
				tw.kv("bfd", nb.BFD)
			}
			tw.close()
		}
		tw.close()
	}
	for _, a := range c.BGPAnnounces {
		tw.open("bgp_announce", a.Name)
		tw.kv("prefix", a.Prefix.String())
		for _, s := range a.TrackVirtualServers {
			tw.kv("track_virtual_server", s.Addr.Addr().String(), strconv.Itoa(int(s.Addr.Port())), s.Protocol.String())
		}
		for _, name := range a.TrackInstances {
			tw.kv("track_instance", name)
		}
		for _, cm := range a.Communities {
			tw.kv("community", strconv.Itoa(int(cm>>16))+":"+strconv.Itoa(int(cm&0xFFFF)))
		}
		for _, lc := range a.LargeCommunities {
			tw.kv("large_community", fmt.Sprintf("%d:%d:%d", lc[0], lc[1], lc[2]))
		}
		if a.MED != nil {
			tw.kv("med", strconv.FormatUint(uint64(*a.MED), 10))
		}
		if a.NextHop.IsValid() {
			tw.kv("next_hop", a.NextHop.String())
		}
		tw.close()
	}
}
