package config

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/check/pcre"
)

// virtualServerGroup reads the members of a virtual_server_group:
// "ADDR[-LAST] [PORT]" or "fwmark N".
func (p *parser) virtualServerGroup(n *node, name string) VirtualServerGroup {
	g := VirtualServerGroup{Pos: n.pos, Name: name}
	for _, c := range p.values(n, 2) {
		w := c.words
		if w[0] == "fwmark" {
			if v, ok := p.uintArg(c, 1, 0, math.MaxUint32); ok {
				g.Members = append(g.Members, VSGMember{Pos: c.pos, FWMark: uint32(v)})
			}
			continue
		}
		m := VSGMember{Pos: c.pos}
		addr, last, isRange := strings.Cut(w[0], "-")
		a, ok := parseAddr(addr)
		if !ok {
			p.errorf(c.pos, "Invalid virtual server group IP address %s - skipping", w[0])
			continue
		}
		m.Addr = a
		if isRange {
			end, ok := rangeEnd(a, last)
			if !ok {
				p.errorf(c.pos, "Invalid virtual server group IP address range %s - skipping", w[0])
				continue
			}
			m.Last = end
		}
		if len(w) > 1 {
			port, ok := p.portValue(c.pos, w[1], 0)
			if !ok {
				continue
			}
			m.Port = port
		}
		g.Members = append(g.Members, m)
	}
	return g
}

// rangeEnd applies the end of an address range, which replaces the last
// byte of an IPv4 address or the last 16-bit group (in hex) of an IPv6 one.
func rangeEnd(first netip.Addr, last string) (netip.Addr, bool) {
	b := first.AsSlice()
	if first.Is4() {
		v, err := strconv.ParseUint(last, 10, 8)
		if err != nil || byte(v) < b[3] {
			return netip.Addr{}, false
		}
		b[3] = byte(v)
	} else {
		v, err := strconv.ParseUint(last, 16, 16)
		start := uint64(b[14])<<8 | uint64(b[15])
		if err != nil || v < start {
			return netip.Addr{}, false
		}
		b[14], b[15] = byte(v>>8), byte(v)
	}
	a, _ := netip.AddrFromSlice(b)
	return a, true
}

// virtualServer reads a virtual_server block and its real servers.
func (p *parser) virtualServer(n *node) (VirtualServer, bool) {
	vs := VirtualServer{Pos: n.pos, Scheduler: SchedWLC, Quorum: 1, Forwarding: Forwarding{Method: LBKindNAT}}
	first, ok := p.arg(n, 1)
	if !ok {
		return vs, false
	}
	switch first {
	case "fwmark":
		v, ok := p.uintArg(n, 2, 1, math.MaxUint32)
		if !ok {
			return vs, false
		}
		vs.FWMark = uint32(v)
	case "group":
		name, ok := p.arg(n, 2)
		if !ok {
			return vs, false
		}
		vs.Group = name
	default:
		a, ok := parseAddr(first)
		// keepalived's alloc_vs: a port of zeros is no port, for the
		// configurations written before no port was allowed.
		port := ""
		if len(n.words) > 2 && strings.Trim(n.words[2], "0") != "" {
			port = n.words[2]
		}
		var pv uint16
		if port != "" {
			var portOK bool
			pv, portOK = p.portValue(n.pos, port, 1)
			ok = ok && portOK
		}
		if !ok {
			if port != "" {
				p.errorf(n.pos, "Invalid virtual server IP address/port %s/%s - skipping", first, port)
			} else {
				p.errorf(n.pos, "Invalid virtual server IP address %s - skipping", first)
			}
			p.skipBlock()
			return vs, false
		}
		vs.Addr, vs.Port = a, pv
	}
	// Real servers collect in a scratch slice that is copied once, as
	// growing each virtual server's own slice copies them many times.
	p.realServers = p.realServers[:0]
	block(p, n, &vs, p.kw.vs)
	// A real server without a weight of its own takes the virtual
	// server's, as keepalived's effective_weight does.
	if vs.weight != 0 {
		for i := range p.realServers {
			if !p.realServers[i].weightSet {
				p.realServers[i].Weight = vs.weight
			}
		}
	}
	vs.RealServers = append(vs.RealServers, p.realServers...)
	return vs, true
}

// forwarding reads "NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]"
// starting at word i.
func (p *parser) forwarding(n *node, i int, what string) (Forwarding, bool) {
	m, ok := p.arg(n, i)
	if !ok {
		return Forwarding{}, false
	}
	method, ok := parseLBKind(m)
	if !ok {
		p.errorf(n.pos, "PARSER : unknown [%s] routing method for %s.", m, what)
		return Forwarding{}, false
	}
	f := Forwarding{Method: method}
	switch method {
	case LBKindNAT, LBKindDR:
		return f, true
	case LBKindTUN:
	}
	w := n.words
	for i++; i < len(w); i++ {
		switch w[i] {
		case "type":
			t, ok := p.arg(n, i+1)
			if !ok {
				return Forwarding{}, false
			}
			tt, ok := parseTunnelType(t)
			if !ok {
				p.errorf(n.pos, "unknown tunnel type %s", t)
				return Forwarding{}, false
			}
			if f.Tunnel == nil {
				f.Tunnel = &Tunnel{}
			}
			f.Tunnel.Type = tt
			i++
		case "port":
			if f.Tunnel == nil || f.Tunnel.Type != TunnelGUE {
				p.errorf(n.pos, "tunnel port specified for non-gue tunnel")
				return Forwarding{}, false
			}
			v, ok := p.uintArg(n, i+1, 1, 65535)
			if !ok {
				return Forwarding{}, false
			}
			f.Tunnel.Port = uint16(v)
			i++
		case "nocsum", "csum", "remcsum":
			if f.Tunnel == nil {
				p.errorf(n.pos, "tunnel checksum specified without tunnel type")
				return Forwarding{}, false
			}
			c, _ := parseTunnelChecksum(w[i])
			if c == RemoteChecksum && f.Tunnel.Type != TunnelGUE {
				p.errorf(n.pos, "remcsum is only valid for gue tunnels")
				return Forwarding{}, false
			}
			f.Tunnel.Checksum = c
		default:
			p.errorf(n.pos, "unknown TUN option %s", w[i])
			return Forwarding{}, false
		}
	}
	if f.Tunnel != nil && f.Tunnel.Type == TunnelGUE && f.Tunnel.Port == 0 {
		p.errorf(n.pos, "gue tunnel requires a port")
		return Forwarding{}, false
	}
	return f, true
}

// timingKeywords adds delay_loop, connect_timeout, retry,
// delay_before_retry, warmup and alpha to the handler table of a block;
// level ("virtual server", "real server" or "checker") is how
// keepalived's messages name the block.
func timingKeywords[T any](h handlers[T], level string, get func(*T) (*Timing, *timingSet)) {
	// invalid is keepalived's second message about a bad value, if any.
	timer := func(field func(*Timing) *time.Duration, set func(*timingSet) *bool, lo time.Duration, invalid string) func(*parser, *T, *node) {
		return func(p *parser, obj *T, n *node) {
			t, s := get(obj)
			v, ok := p.timerArg(n, 1, lo, 0)
			if !ok {
				if invalid != "" && len(n.words) > 1 {
					p.errorf(n.pos, invalid, level, n.words[1])
				}
				return
			}
			*field(t) = v
			*set(s) = true
		}
	}
	h["delay_loop"] = timer(func(t *Timing) *time.Duration { return &t.DelayLoop },
		func(s *timingSet) *bool { return &s.delayLoop }, time.Microsecond, "%s delay loop '%s' invalid - ignoring")
	h["connect_timeout"] = timer(func(t *Timing) *time.Duration { return &t.ConnectTimeout },
		func(s *timingSet) *bool { return &s.connectTimeout }, time.Microsecond, "%s connect_timeout %s invalid - ignoring")
	h["delay_before_retry"] = timer(func(t *Timing) *time.Duration { return &t.DelayBeforeRetry },
		func(s *timingSet) *bool { return &s.delayBeforeRetry }, 0, "")
	h["warmup"] = timer(func(t *Timing) *time.Duration { return &t.Warmup },
		func(s *timingSet) *bool { return &s.warmup }, 0, "")
	retry := func(p *parser, obj *T, n *node) {
		t, s := get(obj)
		v, ok := p.uintArg(n, 1, 0, math.MaxUint32)
		if !ok {
			if len(n.words) > 1 {
				p.errorf(n.pos, "Invalid retry connection value '%s'", n.words[1])
			}
			return
		}
		t.Retry, s.retry = int(v), true
	}
	h["retry"] = retry
	h["alpha"] = func(p *parser, obj *T, n *node) {
		t, s := get(obj)
		if v, ok := p.boolArg(n, "alpha"); ok {
			t.Alpha, s.alpha = v, true
		}
	}
}

func virtualServerKeywords() handlers[VirtualServer] {
	flag := func(f func(*VirtualServer) *bool) func(*parser, *VirtualServer, *node) {
		return func(p *parser, vs *VirtualServer, n *node) { *f(vs) = true }
	}
	// schedFlag follows keepalived's lbflags_handler: the sh and mh
	// flags need that scheduler set first, and one scheduler ignores the
	// other's flags.
	schedFlag := func(p *parser, vs *VirtualServer, n *node) {
		f, _ := parseSchedFlag(n.words[0])
		switch f {
		case SchedFlag1, SchedFlag2, SchedFlag3:
		case SHPort, SHFallback, MHPort, MHFallback:
			sh, mh := vs.schedSet && vs.Scheduler == SchedSH, vs.schedSet && vs.Scheduler == SchedMH
			switch {
			case !sh && !mh:
				p.errorf(n.pos, "%s only applies to sh scheduler - ignoring", n.words[0])
				return
			case sh != (f == SHPort || f == SHFallback):
				return
			}
		}
		vs.SchedFlags = append(vs.SchedFlags, f)
	}
	sched := func(p *parser, vs *VirtualServer, n *node) {
		s, ok := p.arg(n, 1)
		if !ok {
			return
		}
		if v, ok := parseScheduler(s); ok {
			vs.Scheduler, vs.schedSet = v, true
		} else {
			p.errorf(n.pos, "Invalid lvs_scheduler '%s' - ignoring", s)
		}
	}
	method := func(p *parser, vs *VirtualServer, n *node) {
		if f, ok := p.forwarding(n, 1, "virtual server"); ok {
			vs.Forwarding, vs.fwd = f, true
		}
	}
	h := handlers[VirtualServer]{
		"lb_algo":     sched,
		"lvs_sched":   sched,
		"lb_kind":     method,
		"lvs_method":  method,
		"flag-1":      schedFlag,
		"flag-2":      schedFlag,
		"flag-3":      schedFlag,
		"sh-port":     schedFlag,
		"sh-fallback": schedFlag,
		"mh-port":     schedFlag,
		"mh-fallback": schedFlag,
		"ops":         flag(func(vs *VirtualServer) *bool { return &vs.OPS }),
		// hashed is a flag of keepalived 1.x: 2.2.7 still takes it, and
		// only the sh and mh schedulers pass it over without a word.
		"hashed": func(p *parser, vs *VirtualServer, n *node) {
			if !vs.schedSet || vs.Scheduler != SchedSH && vs.Scheduler != SchedMH {
				p.errorf(n.pos, "%s only applies to sh scheduler - ignoring", n.words[0])
			}
		},
		"weight": func(p *parser, vs *VirtualServer, n *node) {
			if v, ok := p.uintArg(n, 1, 1, math.MaxInt32); ok {
				vs.weight = int(v)
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "Virtual server weight %s is outside range 1-%d", n.words[1], math.MaxInt32)
			}
		},
		"ha_suspend": flag(func(vs *VirtualServer) *bool { return &vs.HASuspend }),
		"omega":      flag(func(vs *VirtualServer) *bool { return &vs.Omega }),
		"persistence_engine": func(p *parser, vs *VirtualServer, n *node) {
			if s, ok := p.arg(n, 1); ok {
				vs.PersistenceEngine = s
			}
		},
		"persistence_timeout": func(p *parser, vs *VirtualServer, n *node) {
			vs.PersistenceTimeout = 360
			if len(n.words) > 1 {
				if v, ok := p.uintArg(n, 1, 1, 86400*31); ok {
					vs.PersistenceTimeout = uint32(v)
				} else {
					p.errorf(n.pos, "persistence_timeout invalid")
				}
			}
		},
		"persistence_granularity": func(p *parser, vs *VirtualServer, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if a, ok := parseAddr(s); ok && a.Is4() {
				vs.PersistenceGranularity = s
				return
			}
			if v, err := strconv.ParseUint(s, 10, 8); err == nil && v >= 1 && v <= 128 {
				vs.PersistenceGranularity = s
				return
			}
			p.errorf(n.pos, "Invalid persistence_granularity %s", s)
		},
		"protocol": func(p *parser, vs *VirtualServer, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if v, ok := parseProtocol(s); ok {
				vs.Protocol, vs.protoSet = v, true
			} else {
				p.errorf(n.pos, "Unknown protocol %s - ignoring", s)
			}
		},
		"ip_family": func(p *parser, vs *VirtualServer, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			f, ok := parseFamily(s)
			if !ok {
				p.errorf(n.pos, "unknown address family %s", s)
				return
			}
			vs.IPFamily = f
		},
		"smtp_alert": func(p *parser, vs *VirtualServer, n *node) {
			if v, ok := p.boolArg(n, "virtual_server smtp_alert"); ok {
				vs.smtp = opt[bool]{v, true}
			}
		},
		"virtualhost": func(p *parser, vs *VirtualServer, n *node) {
			if s, ok := p.arg(n, 1); ok {
				vs.Virtualhost = s
			}
		},
		"snmp_name": func(p *parser, vs *VirtualServer, n *node) {
			if s, ok := p.arg(n, 1); ok {
				vs.SNMPName = s
			}
		},
		"quorum": func(p *parser, vs *VirtualServer, n *node) {
			if v, ok := p.uintArg(n, 1, 1, math.MaxUint32); ok {
				vs.Quorum = uint32(v)
			}
		},
		"hysteresis": func(p *parser, vs *VirtualServer, n *node) {
			if v, ok := p.uintArg(n, 1, 0, math.MaxUint32); ok {
				vs.Hysteresis = uint32(v)
			}
		},
		"quorum_up":   func(p *parser, vs *VirtualServer, n *node) { vs.QuorumUp = p.notifyArg(n) },
		"quorum_down": func(p *parser, vs *VirtualServer, n *node) { vs.QuorumDown = p.notifyArg(n) },
		"sorry_server": func(p *parser, vs *VirtualServer, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			a, ok := parseAddr(s)
			port := "0"
			if len(n.words) > 2 {
				port = n.words[2]
			}
			pv, portOK := p.portValue(n.pos, port, 0)
			if !ok || !portOK {
				p.errorf(n.pos, "Invalid sorry server IP address/port %s/%s - skipping", s, port)
				return
			}
			vs.SorryServer = &SorryServer{Pos: n.pos, Addr: a, Port: pv}
		},
		"sorry_server_inhibit": func(p *parser, vs *VirtualServer, n *node) { vs.sorryInhibit = true },
		"sorry_server_lvs_method": func(p *parser, vs *VirtualServer, n *node) {
			if f, ok := p.forwarding(n, 1, "sorry server"); ok {
				vs.sorryFwd = &f
			}
		},
		"inhibit_on_failure": func(p *parser, vs *VirtualServer, n *node) {
			if v, ok := p.boolArg(n, "inhibit_on_failure"); ok {
				vs.inh = opt[bool]{v, true}
			}
		},
		"real_server": func(p *parser, _ *VirtualServer, n *node) { p.realServer(n) },
	}
	timingKeywords(h, "virtual server", func(vs *VirtualServer) (*Timing, *timingSet) { return &vs.Timing, &vs.set })
	return h
}

// realServer reads a real_server block into the virtual server's
// scratch list of real servers, in place: a real server is too large to
// build and then copy.
func (p *parser) realServer(n *node) {
	s, ok := p.arg(n, 1)
	if !ok {
		return
	}
	a, ok := parseAddr(s)
	port := "0"
	if len(n.words) > 2 {
		port = n.words[2]
	}
	pv, portOK := p.portValue(n.pos, port, 0)
	if !ok || !portOK {
		p.errorf(n.pos, "Invalid real server ip address/port %s/%s - skipping", s, port)
		p.skipBlock()
		return
	}
	// Real servers do not nest: the list does not grow while rs is read.
	p.realServers = append(p.realServers, RealServer{Pos: n.pos, Weight: 1})
	rs := &p.realServers[len(p.realServers)-1]
	rs.Addr, rs.Port, rs.portSet = a, pv, len(n.words) > 2
	rs.written = pv
	block(p, n, rs, p.kw.rs)
}

func realServerKeywords() handlers[RealServer] {
	h := handlers[RealServer]{
		"weight": func(p *parser, rs *RealServer, n *node) {
			if v, ok := p.uintArg(n, 1, 0, math.MaxInt32); ok {
				rs.Weight, rs.weightSet = int(v), true
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "Real server weight %s is outside range 0-%d", n.words[1], math.MaxInt32)
			}
		},
		"lvs_method": func(p *parser, rs *RealServer, n *node) {
			if f, ok := p.forwarding(n, 1, "real server"); ok {
				rs.Forwarding, rs.fwd = f, true
			}
		},
		"notify_up":   func(p *parser, rs *RealServer, n *node) { rs.NotifyUp = p.notifyArg(n) },
		"notify_down": func(p *parser, rs *RealServer, n *node) { rs.NotifyDown = p.notifyArg(n) },
		"uthreshold": func(p *parser, rs *RealServer, n *node) {
			if v, ok := p.uintArg(n, 1, 0, math.MaxUint32); ok {
				rs.UThreshold = uint32(v)
			}
		},
		"lthreshold": func(p *parser, rs *RealServer, n *node) {
			if v, ok := p.uintArg(n, 1, 0, math.MaxUint32); ok {
				rs.LThreshold = uint32(v)
			}
		},
		"smtp_alert": func(p *parser, rs *RealServer, n *node) {
			if v, ok := p.boolArg(n, "real_server smtp_alert"); ok {
				rs.smtp = opt[bool]{v, true}
			}
		},
		"virtualhost": func(p *parser, rs *RealServer, n *node) {
			if s, ok := p.arg(n, 1); ok {
				rs.Virtualhost, rs.vhost = s, true
			}
		},
		"snmp_name": func(p *parser, rs *RealServer, n *node) {
			if s, ok := p.arg(n, 1); ok {
				rs.SNMPName = s
			}
		},
		"inhibit_on_failure": func(p *parser, rs *RealServer, n *node) {
			if v, ok := p.boolArg(n, "inhibit_on_failure"); ok {
				rs.inh = opt[bool]{v, true}
			}
		},
	}
	timingKeywords(h, "real server", func(rs *RealServer) (*Timing, *timingSet) { return &rs.Timing, &rs.set })
	for _, kind := range []string{HTTPGet, SSLGet, TCPCheck, MiscCheck, SMTPCheck, DNSCheck, UDPCheck, PingCheck, FileCheck, BFDCheck} {
		h[kind] = func(p *parser, rs *RealServer, n *node) {
			// The checker is read in place, at the end of the real
			// server's list, which does not grow while it is read.
			i := len(rs.Checkers)
			rs.Checkers = append(rs.Checkers, Checker{Pos: n.pos, Type: kind})
			c := &rs.Checkers[i]
			switch kind {
			case HTTPGet, SSLGet:
				c.HTTP = &HTTPChecker{}
			case MiscCheck:
				c.Misc = &MiscChecker{}
			case SMTPCheck:
				c.SMTP = &SMTPChecker{}
			case DNSCheck:
				c.DNS = &DNSChecker{Type: "SOA", Name: "."}
			case UDPCheck:
				c.UDP = &UDPChecker{MaxReplyLength: 255}
			case FileCheck:
				c.File = &FileChecker{Weight: 1}
			case BFDCheck:
				c.BFD = &BFDChecker{}
			}
			end := block(p, n, c, p.kw.checker[kind])
			switch {
			case !p.checkerComplete(c, rs, end):
				rs.Checkers[i] = Checker{}
				rs.Checkers = rs.Checkers[:i]
			case c.SMTP != nil && len(c.SMTP.hosts) > 0:
				rs.Checkers = append(rs.Checkers[:i], p.smtpHosts(c)...)
			}
		}
	}
	return h
}

// checkerComplete reports checkers keepalived drops, when their block
// closes at end, for a missing mandatory setting.
func (p *parser) checkerComplete(c *Checker, rs *RealServer, end Pos) bool {
	switch c.Type {
	case HTTPGet, SSLGet:
		if len(c.HTTP.URLs) == 0 {
			p.errorf(end, "HTTP/SSL_GET checker has no urls specified - ignoring")
			return false
		}
	case MiscCheck:
		if c.Misc.Path == "" {
			p.errorf(end, "No script path has been specified for MISC_CHECKER - skipping")
			return false
		}
	case FileCheck:
		if c.File.TrackFile == "" {
			p.errorf(end, "FILE_CHECK has no track_file specified - ignoring")
			return false
		}
	case BFDCheck:
		if c.BFD.Name == "" {
			// The virtual server is not known yet; keepalived names the
			// real server with its address and port only.
			p.errorf(end, "([%s]:tcp:%d) No name has been specified for BFD_CHECKER - skipping", rs.Addr, rs.Port)
			return false
		}
	}
	return true
}

func checkerKeywords() map[string]handlers[Checker] {
	common := func() handlers[Checker] {
		h := handlers[Checker]{
			"connect_ip": func(p *parser, c *Checker, n *node) {
				s, ok := p.arg(n, 1)
				if !ok {
					return
				}
				a, ok := parseAddr(s)
				if !ok {
					p.errorf(n.pos, "Invalid connect_ip address %s - ignoring", s)
					return
				}
				c.ConnectIP = a
			},
			"connect_port": func(p *parser, c *Checker, n *node) {
				if v, ok := p.uintArg(n, 1, 1, 65535); ok {
					c.ConnectPort = uint16(v)
				} else if len(n.words) > 1 {
					p.errorf(n.pos, "Invalid checker connect_port '%s'", n.words[1])
				}
			},
			"bindto": func(p *parser, c *Checker, n *node) {
				s, ok := p.arg(n, 1)
				if !ok {
					return
				}
				a, ok := parseAddr(s)
				if !ok {
					p.errorf(n.pos, "Invalid bindto address %s - ignoring", s)
					return
				}
				c.BindTo = a
			},
			"bind_if": func(p *parser, c *Checker, n *node) {
				if s, ok := p.arg(n, 1); ok {
					c.BindIf = s
				}
			},
			"bind_port": func(p *parser, c *Checker, n *node) {
				if v, ok := p.uintArg(n, 1, 1, 65535); ok {
					c.BindPort = uint16(v)
				}
			},
			"fwmark": func(p *parser, c *Checker, n *node) {
				if v, ok := p.uintArg(n, 1, 0, math.MaxUint32); ok {
					c.FWMark = uint32(v)
				} else if len(n.words) > 1 {
					p.errorf(n.pos, "Invalid fwmark connection value '%s'", n.words[1])
				}
			},
		}
		timingKeywords(h, "checker", func(c *Checker) (*Timing, *timingSet) { return &c.Timing, &c.set })
		h["log_all_failures"] = func(p *parser, c *Checker, n *node) {
			if v, ok := p.boolArg(n, "log_all_failures"); ok {
				c.LogAllFailures = v
				switch c.Type {
				case HTTPGet, SSLGet, TCPCheck, UDPCheck, SMTPCheck:
				default:
					if v {
						p.warnf(n.pos, "log_all_failures of %s: gokeepalived does not implement it, only the verdicts are logged", c.Type)
					}
				}
			}
		}
		return h
	}
	str := func(f func(*Checker) *string) func(*parser, *Checker, *node) {
		return func(p *parser, c *Checker, n *node) {
			if s, ok := p.arg(n, 1); ok {
				*f(c) = s
			}
		}
	}

	http := common()
	http["http_protocol"] = func(p *parser, c *Checker, n *node) {
		s, ok := p.arg(n, 1)
		if !ok {
			return
		}
		if v, ok := parseHTTPProtocol(s); ok {
			c.HTTP.Protocol = v
		} else {
			p.errorf(n.pos, "Invalid http_protocol version %s", s)
		}
	}
	http["fast_recovery"] = func(p *parser, c *Checker, n *node) {
		if v, ok := p.boolArg(n, "fast_recovery"); ok {
			c.HTTP.FastRecovery = v
		}
	}
	http["virtualhost"] = str(func(c *Checker) *string { return &c.HTTP.Virtualhost })
	http["url"] = func(p *parser, c *Checker, n *node) {
		// The url is read in place, as the last of the checker's.
		i := len(c.HTTP.URLs)
		c.HTTP.URLs = append(c.HTTP.URLs, URL{Pos: n.pos})
		u := &c.HTTP.URLs[i]
		end := block(p, n, u, p.kw.url)
		if u.Path == "" {
			p.errorf(end, "HTTP/SSL_GET checker url has no path - ignoring")
			c.HTTP.URLs[i] = URL{}
			c.HTTP.URLs = c.HTTP.URLs[:i]
			return
		}
		p.urlRegex(u, end)
	}
	// nb_get_retry is retry's old name, for HTTP_GET and SSL_GET only;
	// keepalived 2.2.7 refuses it with a message, and still sets retry.
	http["nb_get_retry"] = func(p *parser, c *Checker, n *node) {
		p.errorf(n.pos, "nb_get_retry is deprecated - please use 'retry'")
		v, ok := p.uintArg(n, 1, 0, math.MaxUint32)
		if !ok {
			if len(n.words) > 1 {
				p.errorf(n.pos, "Invalid nb_get_retry value '%s'", n.words[1])
			}
			return
		}
		c.Timing.Retry, c.set.retry = int(v), true
	}
	// keepalived takes enable_sni in HTTP_GET too, where it does nothing.
	http["enable_sni"] = func(p *parser, c *Checker, n *node) {
		if v, ok := p.boolArg(n, "enable_sni"); ok {
			c.HTTP.EnableSNI = v
		}
	}
	ssl := common()
	for k, v := range http {
		ssl[k] = v
	}

	smtp := common()
	smtp["helo_name"] = str(func(c *Checker) *string { return &c.SMTP.HeloName })
	// A host block's connection keywords are the host's; its other
	// keywords, timing among them, are the SMTP_CHECK's own, as
	// keepalived reads them into the checker it is building.
	hostKW := handlers[smtpHost]{}
	for k, f := range common() {
		if smtpHostConn[k] {
			hostKW[k] = func(p *parser, h *smtpHost, n *node) { f(p, h.conn, n) }
		} else {
			hostKW[k] = func(p *parser, h *smtpHost, n *node) { f(p, h.main, n) }
		}
	}
	smtp["host"] = func(p *parser, c *Checker, n *node) {
		host := Checker{Pos: n.pos, Type: SMTPCheck}
		block(p, n, &smtpHost{main: c, conn: &host}, hostKW)
		c.SMTP.hosts = append(c.SMTP.hosts, host)
	}

	dns := common()
	dns["type"] = func(p *parser, c *Checker, n *node) {
		s, ok := p.arg(n, 1)
		if !ok {
			return
		}
		switch strings.ToUpper(s) {
		case "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA":
			c.DNS.Type = strings.ToUpper(s)
		default:
			p.errorf(n.pos, "Unknown DNS check type %s - ignoring", s)
		}
	}
	dns["name"] = str(func(c *Checker) *string { return &c.DNS.Name })

	udp := common()
	udp["payload"] = func(p *parser, c *Checker, n *node) {
		if b, _, ok := p.hexArg(n); ok {
			c.UDP.Payload = b
		}
	}
	udp["require_reply"] = func(p *parser, c *Checker, n *node) {
		c.UDP.RequireReply = true
		if len(n.words) > 1 {
			if b, mask, ok := p.hexArg(n); ok {
				c.UDP.Reply, c.UDP.ReplyMask = b, mask
			}
		}
	}
	udp["min_reply_length"] = func(p *parser, c *Checker, n *node) {
		if v, ok := p.uintArg(n, 1, 0, 65535); ok {
			c.UDP.MinReplyLength = int(v)
		}
	}
	udp["max_reply_length"] = func(p *parser, c *Checker, n *node) {
		if v, ok := p.uintArg(n, 1, 0, 65535); ok {
			c.UDP.MaxReplyLength = int(v)
		}
	}

	// MISC_CHECK has only the options from alpha on.
	misc := handlers[Checker]{}
	timingKeywords(misc, "checker", func(c *Checker) (*Timing, *timingSet) { return &c.Timing, &c.set })
	delete(misc, "connect_timeout")
	misc["log_all_failures"] = common()["log_all_failures"]
	misc["misc_path"] = str(func(c *Checker) *string { return &c.Misc.Path })
	misc["misc_timeout"] = func(p *parser, c *Checker, n *node) {
		if v, ok := p.uintArg(n, 1, 0, math.MaxUint32/1000000); ok {
			c.Misc.Timeout = time.Duration(v) * time.Second
		}
	}
	misc["misc_dynamic"] = func(p *parser, c *Checker, n *node) { c.Misc.Dynamic = true }
	misc["user"] = func(p *parser, c *Checker, n *node) {
		if u, ok := p.arg(n, 1); ok {
			c.Misc.User = u
			if len(n.words) > 2 {
				c.Misc.Group = p.keep(n.words[2])
			}
		}
	}

	file := handlers[Checker]{
		// A track_file must be defined before the checker using it.
		"track_file": func(p *parser, c *Checker, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if !slices.ContainsFunc(p.cfg.TrackFiles, func(f TrackFile) bool { return f.Name == s }) {
				p.errorf(n.pos, "track_file %s not found", s)
				return
			}
			c.File.TrackFile = s
		},
		"weight": func(p *parser, c *Checker, n *node) {
			if v, ok := p.intArg(n, 1, -math.MaxInt32, math.MaxInt32); ok {
				c.File.Weight = int(v)
			}
			if len(n.words) > 2 {
				if n.words[2] == "reverse" {
					c.File.Reverse = true
				} else {
					p.errorf(n.pos, "FILE_CHECK unknown weight option %s", n.words[2])
				}
			}
		},
	}

	bfd := handlers[Checker]{"name": func(p *parser, c *Checker, n *node) {
		if s, ok := p.arg(n, 1); ok {
			c.BFD.Name, c.BFD.namePos = s, n.pos
		}
	}}
	// keepalived's BFD_CHECK takes alpha but no other timing keyword.
	bfd["alpha"] = common()["alpha"]

	return map[string]handlers[Checker]{
		HTTPGet: http, SSLGet: ssl, TCPCheck: common(), MiscCheck: misc, SMTPCheck: smtp,
		DNSCheck: dns, UDPCheck: udp, PingCheck: common(), FileCheck: file, BFDCheck: bfd,
	}
}

// hexArg reads UDP_CHECK's free-format hex string: the words after the
// keyword, where each word is split into bytes from its start and an odd
// last digit is a byte of its own. 'x' digits are wildcards in mask.
func (p *parser) hexArg(n *node) (data, mask []byte, ok bool) {
	if _, ok := p.arg(n, 1); !ok {
		return nil, nil, false
	}
	for _, w := range n.words[1:] {
		for i := 0; i < len(w); i += 2 {
			end := min(i+2, len(w))
			var b, m byte
			for _, c := range []byte(w[i:end]) {
				v, vm, ok := hexDigit(c)
				if !ok {
					p.errorf(n.pos, "Invalid hex string %s", w)
					return nil, nil, false
				}
				b, m = b<<4|v, m<<4|vm
			}
			data, mask = append(data, b), append(mask, m)
		}
	}
	return data, mask, true
}

func hexDigit(c byte) (v, mask byte, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', 0xf, true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, 0xf, true
	case c|0x20 == 'x':
		return 0, 0, true
	}
	return 0, 0, false
}

func urlKeywords() handlers[URL] {
	str := func(f func(*URL) *string) func(*parser, *URL, *node) {
		return func(p *parser, u *URL, n *node) {
			if s, ok := p.arg(n, 1); ok {
				*f(u) = s
			}
		}
	}
	offset := func(f func(*URL) *int) func(*parser, *URL, *node) {
		return func(p *parser, u *URL, n *node) {
			if v, ok := p.uintArg(n, 1, 0, math.MaxUint32); ok {
				*f(u) = int(v)
			}
		}
	}
	return handlers[URL]{
		"path":        str(func(u *URL) *string { return &u.Path }),
		"virtualhost": str(func(u *URL) *string { return &u.Virtualhost }),
		"regex": func(p *parser, u *URL, n *node) {
			if len(n.words) != 2 {
				p.warnf(n.pos, "regex missing or too many fields")
				return
			}
			u.Regex = p.keep(n.words[1])
		},
		"digest": func(p *parser, u *URL, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if len(s) != 32 {
				p.errorf(n.pos, "digest '%s' character length should be 32 rather than %d", s, len(s))
				return
			}
			if strings.Trim(strings.ToLower(s), "0123456789abcdef") != "" {
				p.errorf(n.pos, "digest '%s' is not a valid MD5 digest - ignoring", s)
				return
			}
			u.Digest = strings.ToLower(s)
		},
		"status_code": func(p *parser, u *URL, n *node) {
			if _, ok := p.arg(n, 1); !ok {
				return
			}
			for _, w := range n.words[1:] {
				lo, hi, isRange := strings.Cut(w, "-")
				if !isRange {
					hi = lo
				}
				l, err1 := strconv.Atoi(lo)
				h, err2 := strconv.Atoi(hi)
				if err1 != nil || err2 != nil || l < 100 || h > 599 || l > h {
					p.errorf(n.pos, "Invalid HTTP_GET status code '%s'", w)
					continue
				}
				u.StatusCodes = append(u.StatusCodes, StatusRange{Lo: l, Hi: h})
			}
		},
		"regex_no_match": func(p *parser, u *URL, n *node) { u.RegexNoMatch = true },
		"regex_options": func(p *parser, u *URL, n *node) {
			for _, o := range n.words[1:] {
				opt, ok := pcre.ParseOption(o)
				if !ok {
					// keepalived skips an option it does not know
					// without a word.
					p.warnf(n.pos, "Unknown regex option %s - ignoring", o)
					continue
				}
				if opt&pcre.Unsupported != 0 {
					p.warnf(n.pos, "regex option %s: gokeepalived does not implement it - ignoring", o)
				}
				u.RegexOptions = append(u.RegexOptions, p.keep(o))
			}
		},
		"regex_stack": func(p *parser, u *URL, n *node) {
			if len(n.words) != 3 {
				p.warnf(n.pos, "regex_stack requires start and max values")
				return
			}
			start, ok1 := p.uintArg(n, 1, 0, math.MaxUint32)
			limit, ok2 := p.uintArg(n, 2, 0, math.MaxUint32)
			if !ok1 || !ok2 {
				return
			}
			if start > limit {
				p.warnf(n.pos, "regex stack start cannot exceed max value")
				return
			}
			u.RegexStack = [2]int{int(start), int(limit)}
		},
		"regex_min_offset": offset(func(u *URL) *int { return &u.RegexMinOffset }),
		"regex_max_offset": offset(func(u *URL) *int { return &u.RegexMaxOffset }),
	}
}

// urlRegex checks a url's regex keywords once its block has been read, as
// keepalived's url_check does: regex parameters without a regex are
// dropped, offsets that leave no room are dropped, and a pattern is
// compiled so that one the engine refuses is reported where it stands.
// A refused pattern is kept: the url then never matches, as keepalived's
// freed regex does not.
func (p *parser) urlRegex(u *URL, end Pos) {
	if u.Regex == "" {
		if len(u.RegexOptions) > 0 || u.RegexNoMatch || u.RegexMinOffset != 0 || u.RegexMaxOffset != 0 || u.RegexStack != [2]int{} {
			p.warnf(end, "regex parameters specified without regex")
			u.RegexOptions, u.RegexNoMatch, u.RegexMinOffset, u.RegexMaxOffset, u.RegexStack = nil, false, 0, 0, [2]int{}
		}
		return
	}
	if u.RegexMaxOffset != 0 && u.RegexMinOffset > u.RegexMaxOffset {
		p.warnf(end, "regex min offset %d > regex_max_offset %d - ignoring", u.RegexMinOffset, u.RegexMaxOffset)
		u.RegexMinOffset, u.RegexMaxOffset = 0, 0
	}
	if _, err := CompileRegex(u.Regex, u.RegexOptions, u.RegexStack[1]); err != nil {
		p.warnf(u.Pos, "%v", err)
	}
}

// CompileRegex compiles a url's regex (URL.Regex) with its
// regex_options (URL.RegexOptions) and the stack limit regex_stack sets
// (URL.RegexStack[1]; 0 for the default). The pattern is the regex word
// after keepalived's escape processing: "\\d" in the configuration is
// "\d" to PCRE2.
func CompileRegex(regex string, options []string, stack int) (*pcre.Regexp, error) {
	var opts pcre.Option
	for _, o := range options {
		opt, _ := pcre.ParseOption(o)
		opts |= opt
	}
	pattern, err := unescape(regex)
	if err != nil {
		return nil, err
	}
	return pcre.Compile(pattern, opts, stack)
}

// errMissingEscape is a regex ending in a lone backslash, in
// keepalived's words.
type errMissingEscape string

func (e errMissingEscape) Error() string { return "Missing escape char at end: '" + string(e) + "'" }

// unescape applies the escapes keepalived's alloc_strvec_quoted_escaped
// (lib/parser.c) reads the regex keyword's line with: \xHH..., \cX,
// octal \NNN, \a \b \E \f \n \r \t \v, and a backslash before any
// other character stands for that character. A NUL ends the pattern, as
// it ends keepalived's C string.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i == len(s) {
			return "", errMissingEscape(s)
		}
		var op byte
		switch e := s[i]; {
		case e == 'x' && i+1 < len(s) && isHex(s[i+1]):
			for i++; i < len(s) && isHex(s[i]); i++ {
				v, _ := strconv.ParseUint(s[i:i+1], 16, 8)
				op = op<<4 | byte(v)
			}
		case e == 'c' && i+1 < len(s):
			op = s[i+1] & 0x1f
			i += 2
		case e >= '0' && e <= '7':
			for n := 0; n < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7'; n++ {
				op = op<<3 + s[i] - '0'
				i++
			}
		default:
			op = map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}[e]
			if op == 0 {
				op = e
			}
			i++
		}
		if op == 0 {
			break
		}
		b.WriteByte(op)
	}
	return b.String(), nil
}

// smtpHost is an SMTP_CHECK host block being read: the host's connection,
// and the checker its other keywords set.
type smtpHost struct {
	main, conn *Checker
}

// smtpHostConn are the keywords of a host block that set its connection.
var smtpHostConn = map[string]bool{
	"connect_ip": true, "connect_port": true, "bindto": true, "bind_port": true,
	"bind_if": true, "fwmark": true, "connect_timeout": true,
}

// smtpHosts returns the checkers an SMTP_CHECK block stands for, as
// keepalived's smtp_check_end_handler makes them: one per host block,
// each with the block's settings and the host's connection. The block's
// own connection (the real server's by default) is checked too when the
// block sets any connection keyword or has no host; otherwise the first
// host takes its place. Any other checker is returned as it is.
//
// keepalived leaves a host without connect_timeout a connection timeout
// of zero: whether a check's reply or its timeout comes first is then a
// matter of chance, and the check fails now and again even against a
// nearby server. Here such a host has the checker's timeout, with a
// warning.
func (p *parser) smtpHosts(c *Checker) []Checker {
	if c.SMTP == nil || len(c.SMTP.hosts) == 0 {
		return []Checker{*c}
	}
	hosts := c.SMTP.hosts
	c.SMTP.hosts = nil
	var out []Checker
	if c.ConnectIP.IsValid() || c.ConnectPort != 0 || c.BindTo.IsValid() || c.BindPort != 0 ||
		c.BindIf != "" || c.FWMark != 0 || c.set.connectTimeout {
		out = append(out, *c)
	}
	for _, h := range hosts {
		nc := *c
		nc.SMTP = &SMTPChecker{HeloName: c.SMTP.HeloName}
		nc.ConnectIP, nc.ConnectPort, nc.BindTo, nc.BindPort = h.ConnectIP, h.ConnectPort, h.BindTo, h.BindPort
		nc.BindIf, nc.FWMark = h.BindIf, h.FWMark
		if h.set.connectTimeout {
			nc.Timing.ConnectTimeout, nc.set.connectTimeout = h.Timing.ConnectTimeout, true
		} else {
			p.warnf(h.Pos, "SMTP_CHECK host without connect_timeout: keepalived checks it with a connection timeout of 0, which fails at random; gokeepalived does not implement that and uses the checker's timeout")
		}
		out = append(out, nc)
	}
	return out
}
