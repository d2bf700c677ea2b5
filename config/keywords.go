package config

import (
	"math"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// keywords holds the keyword tables of every kind of block. They are
// built per parse so that the package has no mutable state.
type keywords struct {
	top        handlers[Config]
	global     handlers[Global]
	script     handlers[Script]
	trackFile  handlers[TrackFile]
	process    handlers[TrackProcess]
	syncGroup  handlers[SyncGroup]
	trackGroup handlers[TrackGroup]
	garpGroup  handlers[GarpGroup]
	bfd        handlers[BFDInstance]
	instance   handlers[Instance]
	auth       handlers[Auth]
	vs         handlers[VirtualServer]
	rs         handlers[RealServer]
	checker    map[string]handlers[Checker]
	url        handlers[URL]
	ssl        handlers[SSL]
}

// keepRaw adds keywords that keepalived accepts but this model does not
// interpret; they are kept, with their position, in the block's Other.
func keepRaw[T any](h handlers[T], other func(*T) *[]Raw, names string) {
	for _, name := range strings.Fields(names) {
		if _, ok := h[name]; ok {
			continue
		}
		h[name] = func(p *parser, obj *T, n *node) {
			o := other(obj)
			*o = append(*o, p.raw(n))
		}
	}
}

func newKeywords() *keywords {
	k := &keywords{
		top:        topKeywords(),
		global:     globalKeywords(),
		script:     scriptKeywords(),
		trackFile:  trackFileKeywords(),
		process:    trackProcessKeywords(),
		syncGroup:  syncGroupKeywords(),
		trackGroup: trackGroupKeywords(),
		garpGroup:  garpGroupKeywords(),
		bfd:        bfdKeywords(),
		instance:   instanceKeywords(),
		auth:       authKeywords(),
		vs:         virtualServerKeywords(),
		rs:         realServerKeywords(),
		checker:    checkerKeywords(),
		url:        urlKeywords(),
		ssl:        sslKeywords(),
	}
	for name, f := range k.global {
		k.global[name] = func(p *parser, g *Global, n *node) {
			p.globalSeen[name] = true
			f(p, g, n)
		}
	}
	return k
}

func topKeywords() handlers[Config] {
	h := handlers[Config]{
		"global_defs": func(p *parser, c *Config, n *node) {
			if c.Global.Pos.IsZero() {
				c.Global.Pos = n.pos
			}
			block(p, n, &c.Global, p.kw.global)
		},
		"static_ipaddress": func(p *parser, c *Config, n *node) {
			c.StaticAddresses = p.addresses(p.values(n, 1), c.StaticAddresses, false)
		},
		"static_routes": func(p *parser, c *Config, n *node) {
			c.StaticRoutes = p.routes(p.values(n, 1), c.StaticRoutes, false)
		},
		"static_rules": func(p *parser, c *Config, n *node) {
			c.StaticRules = p.rules(p.values(n, 1), c.StaticRules, true)
		},
		"vrrp_script": func(p *parser, c *Config, n *node) {
			name, ok := p.arg(n, 1)
			if !ok {
				return
			}
			s := Script{Pos: n.pos, Name: name, Interval: time.Second, Rise: 1, Fall: 1}
			end := block(p, n, &s, p.kw.script)
			if s.Timeout == 0 {
				s.Timeout = s.Interval
			}
			if s.Cmd == "" {
				p.errorf(end, "No script set for vrrp_script %s - removing", name)
				return
			}
			if s.User == "" && !p.defaultScriptUser(end) {
				p.errorf(end, "Unable to set default user for vrrp script %s - removing", name)
				return
			}
			c.Scripts = append(c.Scripts, s)
		},
		"track_file": func(p *parser, c *Config, n *node) {
			name, ok := p.arg(n, 1)
			if !ok {
				return
			}
			f := TrackFile{Pos: n.pos, Name: name, Weight: 1}
			end := block(p, n, &f, p.kw.trackFile)
			if f.File == "" {
				p.errorf(end, "No file set for track_file %s - removing", name)
				return
			}
			c.TrackFiles = append(c.TrackFiles, f)
		},
		"vrrp_track_process": func(p *parser, c *Config, n *node) {
			name, ok := p.arg(n, 1)
			if !ok {
				return
			}
			tp := TrackProcess{Pos: n.pos, Name: name, Quorum: 1, QuorumMax: math.MaxUint32}
			end := block(p, n, &tp, p.kw.process)
			if tp.Process == "" {
				p.errorf(end, "track process '%s' process name not specified", name)
				return
			}
			c.TrackProcesses = append(c.TrackProcesses, tp)
		},
		"vrrp_sync_group": func(p *parser, c *Config, n *node) {
			name, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if p.syncGroupNames[name] {
				p.errorf(n.pos, "vrrp sync group %s already defined", name)
				p.skipBlock()
				return
			}
			p.syncGroupNames[name] = true
			g := SyncGroup{Pos: n.pos, Name: name}
			block(p, n, &g, p.kw.syncGroup)
			c.SyncGroups = append(c.SyncGroups, g)
		},
		"vrrp_instance": func(p *parser, c *Config, n *node) {
			name, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if p.instanceNames[name] {
				p.errorf(n.pos, "vrrp instance %s already defined", name)
				p.skipBlock()
				return
			}
			p.instanceNames[name] = true
			in := Instance{Pos: n.pos, Name: name, Priority: 100, AdvertInt: time.Second, UnicastTTL: 255}
			in.endPos = block(p, n, &in, p.kw.instance)
			c.Instances = append(c.Instances, in)
		},
		"virtual_server_group": func(p *parser, c *Config, n *node) {
			name, ok := p.arg(n, 1)
			if !ok {
				return
			}
			c.VirtualServerGroups = append(c.VirtualServerGroups, p.virtualServerGroup(n, name))
		},
		"virtual_server": func(p *parser, c *Config, n *node) {
			if vs, ok := p.virtualServer(n); ok {
				c.VirtualServers = append(c.VirtualServers, vs)
			}
		},
		"SSL": func(p *parser, c *Config, n *node) {
			s := SSL{Pos: n.pos}
			block(p, n, &s, p.kw.ssl)
			c.SSL = &s
		},
	}
	h["vrrp_track_file"] = h["track_file"]
	h["track_group"] = (*parser).trackGroupBlock
	h["garp_group"] = (*parser).garpGroupBlock
	h["bfd_instance"] = (*parser).bfdBlock
	bgpTopKeywords(h)
	namespaceKeywords(h)
	keepRaw(h, func(c *Config) *[]Raw { return &c.Other },
		"linkbeat_interfaces interface_up_down_delays "+
			"child_wait_time linkbeat_use_polling")
	return h
}

func globalKeywords() handlers[Global] {
	str := func(f func(*Global) *string) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			if v, ok := p.arg(n, 1); ok {
				*f(g) = v
			}
		}
	}
	boolean := func(p *parser, n *node) (bool, bool) {
		if len(n.words) < 2 {
			return true, true
		}
		v, ok := trueFalse(n.words[1])
		if !ok {
			p.errorf(n.pos, "Invalid value '%s' for global %s specified", n.words[1], n.words[0])
		}
		return v, ok
	}
	flag := func(f func(*Global) *bool) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			if v, ok := boolean(p, n); ok {
				*f(g) = v
			}
		}
	}
	optFlag := func(f func(*Global) **bool) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			if v, ok := boolean(p, n); ok {
				*f(g) = &v
			}
		}
	}
	timer := func(f func(*Global) *time.Duration, lo time.Duration) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			if v, ok := p.timerArg(n, 1, lo, 0); ok {
				*f(g) = v
			} else if lo > 0 && len(n.words) > 1 {
				p.errorf(n.pos, "%s '%s' is invalid", n.words[0], n.words[1])
			}
		}
	}
	// repeat reads a garp repeat count; keepalived turns 0 into 1 where
	// sending nothing makes no sense.
	repeat := func(f func(*Global) *int, atLeastOne bool) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			v, ok := p.intArg(n, 1, 0, math.MaxInt32)
			if !ok {
				return
			}
			if v == 0 && atLeastOne {
				p.errorf(n.pos, "%s must be greater than 0, setting to 1", n.words[0])
				v = 1
			}
			*f(g) = int(v)
		}
	}
	fifo := func(f func(*Global) *FIFO) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			path, ok := p.arg(n, 1)
			if !ok {
				return
			}
			ff := f(g)
			ff.Pos, ff.Path = n.pos, path
			if len(n.words) > 2 {
				ff.User = p.keep(n.words[2])
			}
			if len(n.words) > 3 {
				ff.Group = p.keep(n.words[3])
			}
		}
	}
	fifoScript := func(f func(*Global) *FIFO) func(*parser, *Global, *node) {
		return func(p *parser, g *Global, n *node) {
			if s := p.notifyArg(n); s != nil {
				f(g).Script = s
			}
		}
	}
	h := handlers[Global]{
		"router_id":               str(func(g *Global) *string { return &g.RouterID }),
		"notification_email_from": str(func(g *Global) *string { return &g.NotificationEmailFrom }),
		"smtp_helo_name":          str(func(g *Global) *string { return &g.SMTPHeloName }),
		"notification_email": func(p *parser, g *Global, n *node) {
			for _, c := range p.values(n, 1) {
				g.NotificationEmail = append(g.NotificationEmail, c.words...)
			}
		},
		"smtp_server": func(p *parser, g *Global, n *node) {
			host, ok := p.arg(n, 1)
			if !ok {
				return
			}
			port := uint16(0)
			if len(n.words) > 2 {
				var ok bool
				if port, ok = p.portValue(n.pos, n.words[2], 1); !ok {
					p.errorf(n.pos, "Invalid smtp server %s %s", host, n.words[2])
					return
				}
			}
			g.SMTPServer, g.SMTPPort = host, port
		},
		"smtp_connect_timeout": func(p *parser, g *Global, n *node) {
			if v, ok := p.uintArg(n, 1, 1, math.MaxUint32); ok {
				g.SMTPConnectTimeout = time.Duration(v) * time.Second
			}
		},
		"smtp_alert":                   optFlag(func(g *Global) **bool { return &g.SMTPAlert }),
		"smtp_alert_vrrp":              optFlag(func(g *Global) **bool { return &g.SMTPAlertVRRP }),
		"smtp_alert_checker":           optFlag(func(g *Global) **bool { return &g.SMTPAlertChecker }),
		"no_email_faults":              flag(func(g *Global) *bool { return &g.NoEmailFaults }),
		"enable_script_security":       flag(func(g *Global) *bool { return &g.EnableScriptSecurity }),
		"vrrp_lower_prio_no_advert":    flag(func(g *Global) *bool { return &g.VRRPLowerPrioNoAdvert }),
		"vrrp_higher_prio_send_advert": flag(func(g *Global) *bool { return &g.VRRPHigherPrioSendAdvert }),
		"vrrp_strict":                  flag(func(g *Global) *bool { return &g.VRRPStrict }),
		"vrrp_skip_check_adv_addr":     flag(func(g *Global) *bool { return &g.VRRPSkipCheckAdvAddr }),
		"vrrp_check_unicast_src":       flag(func(g *Global) *bool { return &g.VRRPCheckUnicastSrc }),
		"lvs_flush":                    flag(func(g *Global) *bool { return &g.LVSFlush }),
		"checker_log_all_failures":     flag(func(g *Global) *bool { return &g.CheckerLogAllFailures }),
		"vrrp_notify_priority_changes": flag(func(g *Global) *bool { return &g.VRRPNotifyPriorityChanges }),
		"no_checker_emails":            flag(func(g *Global) *bool { return &g.NoCheckerEmails }),
		"rs_init_notifies":             flag(func(g *Global) *bool { return &g.RSInitNotifies }),
		"umask": func(p *parser, g *Global, n *node) {
			if m, ok := parseUmask(p, n); ok {
				g.Umask = &m
			}
		},
		"script_user": func(p *parser, g *Global, n *node) {
			if u, ok := p.arg(n, 1); ok {
				g.ScriptUser = u
				if len(n.words) > 2 {
					g.ScriptGroup = p.keep(n.words[2])
				}
			}
		},
		"vrrp_mcast_group4": func(p *parser, g *Global, n *node) {
			if s, ok := p.arg(n, 1); ok {
				a, ok := parseAddr(s)
				if !ok || !a.Is4() || !a.IsMulticast() {
					p.errorf(n.pos, "vrrp_mcast_group4 [%s] is not multicast. Skipping", s)
					return
				}
				g.VRRPMcastGroup4 = a
			}
		},
		"vrrp_mcast_group6": func(p *parser, g *Global, n *node) {
			if s, ok := p.arg(n, 1); ok {
				a, ok := parseAddr(s)
				if !ok || !a.Is6() || !a.IsMulticast() {
					p.errorf(n.pos, "vrrp_mcast_group6 [%s] is not multicast. Skipping", s)
					return
				}
				g.VRRPMcastGroup6 = a
			}
		},
		"vrrp_garp_master_delay":          timer(func(g *Global) *time.Duration { return &g.VRRPGarpMasterDelay }, 0),
		"vrrp_garp_lower_prio_delay":      timer(func(g *Global) *time.Duration { return &g.VRRPGarpLowerPrioDelay }, 0),
		"vrrp_garp_master_refresh":        timer(func(g *Global) *time.Duration { return &g.VRRPGarpMasterRefresh }, 0),
		"vrrp_garp_interval":              timer(func(g *Global) *time.Duration { return &g.VRRPGarpInterval }, time.Microsecond),
		"vrrp_gna_interval":               timer(func(g *Global) *time.Duration { return &g.VRRPGnaInterval }, time.Microsecond),
		"vrrp_startup_delay":              timer(func(g *Global) *time.Duration { return &g.VRRPStartupDelay }, time.Millisecond),
		"vrrp_garp_master_repeat":         repeat(func(g *Global) *int { return &g.VRRPGarpMasterRepeat }, true),
		"vrrp_garp_lower_prio_repeat":     repeat(func(g *Global) *int { return &g.VRRPGarpLowerPrioRepeat }, false),
		"vrrp_garp_master_refresh_repeat": repeat(func(g *Global) *int { return &g.VRRPGarpMasterRefreshRepeat }, true),
		"vrrp_down_timer_adverts": func(p *parser, g *Global, n *node) {
			if v, ok := p.intArg(n, 1, 1, 100); ok {
				g.VRRPDownTimerAdverts = int(v)
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "Invalid vrrp_down_timer_adverts [1:100] '%s'", n.words[1])
			}
		},
		"vrrp_version": func(p *parser, g *Global, n *node) {
			if v, ok := p.intArg(n, 1, 2, 3); ok {
				g.VRRPVersion = int(v)
			} else {
				p.errorf(n.pos, "Unknown VRRP version")
			}
		},
		"max_auto_priority": func(p *parser, g *Global, n *node) {
			g.MaxAutoPriority = 99 // sched_get_priority_max(SCHED_RR)
			if len(n.words) > 1 {
				if v, ok := p.intArg(n, 1, -1, 99); ok {
					g.MaxAutoPriority = int(v)
				}
			}
		},
		"dynamic_interfaces": func(p *parser, g *Global, n *node) {
			g.DynamicInterfaces = true
			if len(n.words) > 1 {
				if n.words[1] != "allow_if_changes" {
					p.errorf(n.pos, "Unknown dynamic_interfaces option '%s'", n.words[1])
					return
				}
				g.DynamicInterfacesAllowIfChanges = true
			}
		},
		"notify_fifo":             fifo(func(g *Global) *FIFO { return &g.NotifyFIFO }),
		"vrrp_notify_fifo":        fifo(func(g *Global) *FIFO { return &g.VRRPNotifyFIFO }),
		"lvs_notify_fifo":         fifo(func(g *Global) *FIFO { return &g.LVSNotifyFIFO }),
		"notify_fifo_script":      fifoScript(func(g *Global) *FIFO { return &g.NotifyFIFO }),
		"vrrp_notify_fifo_script": fifoScript(func(g *Global) *FIFO { return &g.VRRPNotifyFIFO }),
		"lvs_notify_fifo_script":  fifoScript(func(g *Global) *FIFO { return &g.LVSNotifyFIFO }),
		"lvs_timeouts": func(p *parser, g *Global, n *node) {
			for i := 1; i < len(n.words); i += 2 {
				var d *time.Duration
				switch n.words[i] {
				case "tcp":
					d = &g.LVSTimeouts.TCP
				case "tcpfin":
					d = &g.LVSTimeouts.TCPFin
				case "udp":
					d = &g.LVSTimeouts.UDP
				default:
					p.errorf(n.pos, "Unknown option %s specified for lvs_timeouts", n.words[i])
					continue
				}
				if v, ok := p.uintArg(n, i+1, 0, 86400*31); ok {
					*d = time.Duration(v) * time.Second
				}
			}
		},
		"lvs_flush_on_stop": func(p *parser, g *Global, n *node) {
			g.LVSFlushOnStop = FlushOnStopAll
			if len(n.words) > 1 {
				switch n.words[1] {
				case "VS":
					g.LVSFlushOnStop = FlushOnStopVS
				default:
					p.errorf(n.pos, "Unknown lvs_flush_on_stop type %s", n.words[1])
				}
			}
		},
		"lvs_sync_daemon": func(p *parser, g *Global, n *node) {
			ifname, ok := p.arg(n, 1)
			if !ok {
				return
			}
			sd := &LVSSyncDaemon{Pos: n.pos, Interface: ifname}
			if inst, ok := p.arg(n, 2); ok {
				sd.Instance = inst
			} else {
				return
			}
			for i := 3; i < len(n.words); i++ {
				switch n.words[i] {
				case "id":
					if v, ok := p.uintArg(n, i+1, 0, 255); ok {
						sd.SyncID, sd.idSet = int(v), true
					}
				case "maxlen":
					if v, ok := p.uintArg(n, i+1, 1, 65535-20-8); ok {
						sd.MaxLen = int(v)
					}
				case "port":
					if v, ok := p.uintArg(n, i+1, 1, 65535); ok {
						sd.Port = uint16(v)
					}
				case "ttl":
					if v, ok := p.uintArg(n, i+1, 1, 255); ok {
						sd.TTL = int(v)
					}
				case "group":
					s, _ := p.arg(n, i+1)
					if a, ok := parseAddr(s); ok && a.IsMulticast() {
						sd.Group = a
					} else if s != "" {
						p.errorf(n.pos, "Invalid lvs_sync_daemon group %s", s)
					}
				default:
					p.errorf(n.pos, "Unknown option %s specified for lvs_sync_daemon", n.words[i])
					continue
				}
				i++
			}
			g.LVSSyncDaemon = sd
		},
	}
	// Debian's keepalived is built without iptables support (and so
	// without vrrp_ipsets, which is then an unknown keyword).
	iptables := func(p *parser, g *Global, n *node) {
		p.errorf(n.pos, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option")
		g.Other = append(g.Other, p.raw(n))
	}
	h["vrrp_iptables"] = iptables
	h["nftables"] = func(p *parser, g *Global, n *node) {
		if g.NFTables != "" {
			p.errorf(n.pos, "nftables already specified - ignoring")
			return
		}
		name := "keepalived"
		if len(n.words) > 1 {
			// NFT_TABLE_MAXNAMELEN is 256, the terminating NUL included.
			if len(n.words[1]) >= 256 {
				p.errorf(n.pos, "nftables table name too long - ignoring")
				return
			}
			name = p.keep(n.words[1])
		}
		g.NFTables, g.NFTablesPriority = name, -1
		p.globalSeen[nftPrioritySet] = true
	}
	h["nftables_priority"] = func(p *parser, g *Global, n *node) {
		s, _ := p.arg(n, 1)
		v, err := strconv.ParseInt(trimBlanksLeft(s), 10, 32)
		if err != nil {
			p.errorf(n.pos, "invalid nftables chain priority '%s'", s)
			return
		}
		g.NFTablesPriority = int32(v)
		p.globalSeen[nftPrioritySet] = true
	}
	// keepalived takes no argument for these two.
	h["nftables_ifindex"] = func(p *parser, g *Global, n *node) { g.NFTablesIfindex = true }
	h["nftables_counters"] = func(p *parser, g *Global, n *node) { g.NFTablesCounters = true }
	h["startup_script"] = startStopScript("startup", func(g *Global) (**Notify, *time.Duration) {
		return &g.StartupScript, &g.StartupScriptTimeout
	})
	h["shutdown_script"] = startStopScript("shutdown", func(g *Global) (**Notify, *time.Duration) {
		return &g.ShutdownScript, &g.ShutdownScriptTimeout
	})
	h["startup_script_timeout"] = startStopTimeout("startup", func(g *Global) *time.Duration { return &g.StartupScriptTimeout })
	h["shutdown_script_timeout"] = startStopTimeout("shutdown", func(g *Global) *time.Duration { return &g.ShutdownScriptTimeout })
	// vrrp_min_garp sends one gratuitous ARP and no refresh, by changing,
	// at its place in the file, the garp settings still at their default:
	// a later keyword overrides it, an earlier one stands.
	h["vrrp_min_garp"] = func(p *parser, g *Global, n *node) {
		if len(n.words) > 1 {
			v, ok := trueFalse(n.words[1])
			if !ok {
				p.errorf(n.pos, "Invalid value for vrrp_min_garp specified")
				return
			}
			if !v {
				return
			}
		}
		g.VRRPMinGarp = true
		set := p.globalSeen
		if !set["vrrp_garp_master_repeat"] || g.VRRPGarpMasterRepeat == DefaultGarpMasterRepeat {
			g.VRRPGarpMasterRepeat, set["vrrp_garp_master_repeat"] = 1, true
		}
		if !set["vrrp_garp_master_refresh"] {
			g.VRRPGarpMasterRefresh = 0
		}
		if !set["vrrp_garp_master_refresh_repeat"] || g.VRRPGarpMasterRefreshRepeat == 1 {
			g.VRRPGarpMasterRefreshRepeat, set["vrrp_garp_master_refresh_repeat"] = 0, true
		}
		if !set["vrrp_garp_master_delay"] || g.VRRPGarpMasterDelay == DefaultGarpMasterDelay {
			g.VRRPGarpMasterDelay, set["vrrp_garp_master_delay"] = 0, true
		}
	}
	sloppyKeywords(h)
	// Old spellings keepalived 2.2.7 still takes for the same setting.
	h["lvs_flush_onstop"] = h["lvs_flush_on_stop"]
	h["fifo_write_vrrp_states_on_reload"] = flag(func(g *Global) *bool { return &g.FIFOWriteVRRPStatesOnReload })
	h["vrrp_garp_extra_if"] = func(p *parser, g *Global, n *node) {
		p.garpExtraIf(n, "", 1, &g.VRRPGarpExtraIf, &g.VRRPGarpExtraIfAll)
	}
	// keepalived enables D-Bus whatever follows the keyword.
	h["enable_dbus"] = func(_ *parser, g *Global, _ *node) { g.EnableDBus = true }
	h["dbus_service_name"] = func(p *parser, g *Global, n *node) {
		if len(n.words) < 2 {
			p.errorf(n.pos, "dbus_service_name missing - ignoring")
			return
		}
		g.DBusServiceName = p.keep(n.words[1])
	}
	// keepalived's SNMP keywords take no value (enable_snmp_rfc sets
	// both RFC MIBs; enable_snmp_keepalived is the old spelling of
	// enable_snmp_vrrp); what follows them is ignored, as keepalived does.
	h["enable_snmp_vrrp"] = func(_ *parser, g *Global, _ *node) { g.EnableSNMPVRRP = true }
	h["enable_snmp_keepalived"] = h["enable_snmp_vrrp"]
	h["enable_snmp_checker"] = func(_ *parser, g *Global, _ *node) { g.EnableSNMPChecker = true }
	h["enable_snmp_rfc"] = func(_ *parser, g *Global, _ *node) { g.EnableSNMPRFCv2, g.EnableSNMPRFCv3 = true, true }
	h["enable_snmp_rfcv2"] = func(_ *parser, g *Global, _ *node) { g.EnableSNMPRFCv2 = true }
	h["enable_snmp_rfcv3"] = func(_ *parser, g *Global, _ *node) { g.EnableSNMPRFCv3 = true }
	h["enable_traps"] = func(_ *parser, g *Global, _ *node) { g.EnableTraps = true }
	h["snmp_socket"] = func(p *parser, g *Global, n *node) {
		switch {
		case len(n.words) > 2:
			p.errorf(n.pos, "Too many parameters specified for snmp_socket - ignoring")
		case len(n.words) < 2:
			p.errorf(n.pos, "SNMP error : snmp socket name missing")
		case len(n.words[1]) > 4095: // PATH_MAX - 1
			p.errorf(n.pos, "SNMP error : snmp socket name too long - ignored")
		case g.SNMPSocket != "":
			p.errorf(n.pos, "SNMP socket already set to %s - ignoring", g.SNMPSocket)
		default:
			g.SNMPSocket = p.keep(n.words[1])
		}
	}
	h["default_interface"] = func(p *parser, g *Global, n *node) {
		if len(n.words) < 2 {
			p.errorf(n.pos, "default_interface requires interface name")
			return
		}
		g.DefaultInterface = p.keep(n.words[1])
	}
	h["vmac_prefix"] = func(p *parser, g *Global, n *node) {
		s, ok := p.arg(n, 1)
		switch {
		case !ok:
		case g.VMACPrefix != "":
			p.errorf(n.pos, "vmac prefix has already been specified - ignoring %s", s)
		default:
			g.VMACPrefix = s
		}
	}
	h["vrrp_vmac_garp_intvl"] = func(p *parser, g *Global, n *node) {
		p.errorf(n.pos, `Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"`)
		p.garpExtraIf(n, "", 1, &g.VRRPGarpExtraIf, &g.VRRPGarpExtraIfAll)
	}
	keepRaw(h, func(g *Global) *[]Raw { return &g.Other },
		"process_names process_name vrrp_process_name checker_process_name bfd_process_name "+
			"config_save_dir data_use_instance "+
			"disable_local_igmp "+
			"include_check log_unknown_vrids "+
			"lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs "+
			"lvs_netlink_monitor_rcv_bufs_force min_auto_priority_delay "+
			"nftables_ipvs nftables_ipvs_priority nftables_ipvs_start_fwmark "+
			"process_monitor_rcv_bufs "+
			"process_monitor_rcv_bufs_force random_seed reload_check_config reload_file reload_repeat "+
			"reload_time_file tmp_config_directory vmac_addr_prefix "+
			"vrrp_netlink_cmd_rcv_bufs "+
			"vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs "+
			"vrrp_netlink_monitor_rcv_bufs_force "+
			"vrrp_priority vrrp_rlimit_rttime vrrp_rt_priority vrrp_no_swap vrrp_cpu_affinity "+
			"checker_priority checker_rlimit_rttime checker_rt_priority checker_no_swap checker_cpu_affinity "+
			"bfd_priority bfd_rlimit_rttime bfd_rt_priority bfd_no_swap bfd_cpu_affinity "+
			"vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier "+
			// keepalived logs that these are deprecated, which -t does not
			// print.
			"lvs_process_name vrrp_rlimit_rtime checker_rlimit_rtime bfd_rlimit_rtime")
	return h
}

func scriptKeywords() handlers[Script] {
	return handlers[Script]{
		"script": func(p *parser, s *Script, n *node) {
			if len(n.words) < 2 {
				p.arg(n, 1)
				return
			}
			s.Cmd = strings.Join(n.words[1:], " ")
		},
		// keepalived keeps script timers in microseconds in an unsigned
		// int, hence whole seconds up to 4294.
		"interval": func(p *parser, s *Script, n *node) {
			if v, ok := p.uintArg(n, 1, 1, 4294); ok {
				s.Interval = time.Duration(v) * time.Second
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "(%s): vrrp script interval '%s' must be between 1 and 4294 - ignoring", s.Name, n.words[1])
			}
		},
		"timeout": func(p *parser, s *Script, n *node) {
			if v, ok := p.uintArg(n, 1, 1, 4294); ok {
				s.Timeout = time.Duration(v) * time.Second
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "(%s): vrrp script timeout '%s' invalid - ignoring", s.Name, n.words[1])
			}
		},
		"weight": func(p *parser, s *Script, n *node) {
			if v, ok := p.intArg(n, 1, -253, 253); ok {
				s.Weight = int(v)
			} else {
				p.errorf(n.pos, "vrrp_script %s weight %s must be in [-253, 253]", s.Name, n.words[len(n.words)-1])
			}
			if len(n.words) > 2 {
				if n.words[2] == "reverse" {
					s.Reverse = true
				} else {
					p.errorf(n.pos, "vrrp_script %s unknown weight option %s", s.Name, n.words[2])
				}
			}
		},
		"rise": func(p *parser, s *Script, n *node) {
			if v, ok := p.uintArg(n, 1, 1, math.MaxUint32); ok {
				s.Rise = int(v)
			} else {
				p.errorf(n.pos, "vrrp_script %s rise value invalid, defaulting to 1", s.Name)
			}
		},
		"fall": func(p *parser, s *Script, n *node) {
			if v, ok := p.uintArg(n, 1, 1, math.MaxUint32); ok {
				s.Fall = int(v)
			} else {
				p.errorf(n.pos, "vrrp_script %s fall value invalid, defaulting to 1", s.Name)
			}
		},
		"user": func(p *parser, s *Script, n *node) {
			if u, ok := p.arg(n, 1); ok {
				s.User, s.userPos = u, n.pos
				if len(n.words) > 2 {
					s.Group = p.keep(n.words[2])
				}
			}
		},
		"init_fail": func(p *parser, s *Script, n *node) { s.InitFail = true },
	}
}

func trackFileKeywords() handlers[TrackFile] {
	return handlers[TrackFile]{
		"file": func(p *parser, f *TrackFile, n *node) {
			if v, ok := p.arg(n, 1); ok {
				f.File = v
			}
		},
		"weight": func(p *parser, f *TrackFile, n *node) {
			if v, ok := p.intArg(n, 1, -254, 254); ok {
				f.Weight, f.weightSet = int(v), true
			}
			if len(n.words) > 2 {
				switch n.words[2] {
				case "reverse":
					f.Reverse = true
				case "noreverse", "no_reverse":
				default:
					p.errorf(n.pos, "track_file %s unknown weight option %s", f.Name, n.words[2])
				}
			}
		},
		"init_file": func(p *parser, f *TrackFile, n *node) {
			f.InitFile = true
			for _, w := range n.words[1:] {
				if w == "overwrite" {
					f.InitOverwrite = true
					continue
				}
				if v, ok := p.intValue(n.pos, w, math.MinInt32, math.MaxInt32); ok {
					f.InitValue = int(v)
				}
			}
		},
	}
}

func sslKeywords() handlers[SSL] {
	set := func(f func(*SSL) *string) func(*parser, *SSL, *node) {
		return func(p *parser, s *SSL, n *node) {
			if v, ok := p.arg(n, 1); ok {
				*f(s) = v
			}
		}
	}
	return handlers[SSL]{
		"password":    set(func(s *SSL) *string { return &s.Password }),
		"ca":          set(func(s *SSL) *string { return &s.CA }),
		"certificate": set(func(s *SSL) *string { return &s.Certificate }),
		"key":         set(func(s *SSL) *string { return &s.Key }),
	}
}

// startStopScriptTimeout is a startup or shutdown script's timeout when
// its keyword sets none.
const startStopScriptTimeout = 10 * time.Second

// startStopScript reads startup_script or shutdown_script as keepalived's
// startup_shutdown_script does: one of each, and the timeout defaults to
// 10 s once a script is set.
func startStopScript(kind string, field func(*Global) (**Notify, *time.Duration)) func(*parser, *Global, *node) {
	return func(p *parser, g *Global, n *node) {
		script, timeout := field(g)
		switch {
		case *script != nil:
			p.errorf(n.pos, "%s script already specified", kind)
			return
		case len(n.words) < 2:
			p.errorf(n.pos, "%s script missing", kind)
			return
		}
		s := &Notify{Pos: n.pos, Cmd: n.words[1]}
		if len(n.words) > 2 {
			s.User = p.keep(n.words[2])
		}
		if len(n.words) > 3 {
			s.Group = p.keep(n.words[3])
		}
		if !p.scriptUserValid(n.pos, s) {
			p.errorf(n.pos, "Invalid %s script", kind)
			return
		}
		*script = s
		if *timeout == 0 {
			*timeout = startStopScriptTimeout
		}
	}
}

// scriptUserValid reports whether the user and group a script runs as
// exist, or, when it names none, whether there is a default script user.
func (p *parser) scriptUserValid(pos Pos, s *Notify) bool {
	if s.User == "" {
		return p.defaultScriptUser(pos)
	}
	if _, err := user.Lookup(s.User); err != nil {
		return false
	}
	if s.Group != "" {
		if _, err := user.LookupGroup(s.Group); err != nil {
			return false
		}
	}
	return true
}

// startStopTimeout reads startup_script_timeout or shutdown_script_timeout:
// whole seconds in [1, 1000].
func startStopTimeout(kind string, field func(*Global) *time.Duration) func(*parser, *Global, *node) {
	return func(p *parser, g *Global, n *node) {
		if len(n.words) < 2 {
			p.errorf(n.pos, "%s_script_timeout requires value", kind)
			return
		}
		v, ok := p.uintValue(n.pos, n.words[1], 1, 1000)
		if !ok {
			p.errorf(n.pos, "%s_script_timeout '%s' must be in [1, 1000] - ignoring", kind, n.words[1])
			return
		}
		*field(g) = time.Duration(v) * time.Second
	}
}

// parseUmask reads the umask keyword as keepalived's umask_handler
// (global_parser.c): a number in C's notation (0177, 0x7f, 127), or bit
// names joined by '|' with or without spaces, such as IXUSR|IRGRP | IWGRP.
func parseUmask(p *parser, n *node) (int, bool) {
	const all = 0o777
	if len(n.words) < 2 {
		p.errorf(n.pos, "Missing parameter(s) to umask option")
		return 0, false
	}
	mask := n.words[1]
	if mask[0] >= '0' && mask[0] <= '9' {
		if len(n.words) != 2 {
			p.errorf(n.pos, "Extra parameter(s) to umask option")
			return 0, false
		}
		v, err := strconv.ParseInt(mask, 0, 64)
		if err != nil || v < 0 || v&^all != 0 {
			p.errorf(n.pos, "invalid umask value %s", mask)
			return 0, false
		}
		return int(v), true
	}
	bits := map[string]int{
		"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100,
		"IRGRP": 0o040, "IWGRP": 0o020, "IXGRP": 0o010,
		"IROTH": 0o004, "IWOTH": 0o002, "IXOTH": 0o001,
	}
	m := 0
	needOr := false
	for _, w := range n.words[1:] {
		for r := w; r != ""; {
			if needOr {
				if r[0] != '|' {
					p.errorf(n.pos, "Invalid umask syntax %s", w)
					return 0, false
				}
				needOr = false
				r = r[1:]
				continue
			}
			b, ok := bits[r[:min(5, len(r))]]
			if !ok {
				p.errorf(n.pos, "Unknown umask bit %s", r)
				return 0, false
			}
			m |= b
			r = r[min(5, len(r)):]
			needOr = true
		}
	}
	if !needOr {
		p.errorf(n.pos, "umask missing bit value")
		return 0, false
	}
	return m, true
}

// nftPrioritySet marks, among the global keywords seen, a chain priority
// given by nftables_priority or reset by nftables, which resolve leaves
// alone; no keyword is spelled with a space.
const nftPrioritySet = "nftables_priority value"

// namespaceKeywords adds the top-level keywords that choose the network
// namespace and the instance name, with keepalived's messages: a missing
// name and a second definition are errors, and the first definition
// stands.
func namespaceKeywords(h handlers[Config]) {
	once := func(kw string, f func(*Global) *string) func(*parser, *Config, *node) {
		return func(p *parser, c *Config, n *node) {
			if len(n.words) < 2 {
				p.errorf(n.pos, "%s name missing - ignoring", kw)
				return
			}
			if v := f(&c.Global); *v != "" {
				p.errorf(n.pos, "Duplicate %s definition %s - ignoring", kw, n.words[1])
				return
			}
			*f(&c.Global) = p.keep(n.words[1])
			c.Global.UsePidDir = true
		}
	}
	h["net_namespace"] = once("net_namespace", func(g *Global) *string { return &g.NetNamespace })
	h["instance"] = once("instance", func(g *Global) *string { return &g.InstanceName })
	h["net_namespace_ipvs"] = func(p *parser, c *Config, n *node) {
		if c.Global.NetNamespaceIPVS != nil {
			if name, ok := p.arg(n, 1); ok {
				p.errorf(n.pos, "Duplicate net_namespace_ipvs definition %s - ignoring", name)
			}
			return
		}
		// No name is the default namespace.
		name := ""
		if len(n.words) > 1 {
			name = p.keep(n.words[1])
		}
		c.Global.NetNamespaceIPVS = &name
	}
	h["namespace_with_ipsets"] = func(_ *parser, c *Config, _ *node) { c.Global.NamespaceWithIpsets = true }
	h["use_pid_dir"] = func(_ *parser, c *Config, _ *node) { c.Global.UsePidDir = true }
}

// trackGroupBlock reads a track_group block, as keepalived's
// static_track_group_handler does.
func (p *parser) trackGroupBlock(c *Config, n *node) {
	if len(n.words) != 2 {
		p.errorf(n.pos, "track_group must have a name - skipping")
		p.skipBlock()
		return
	}
	name := p.keep(n.words[1])
	for _, g := range c.TrackGroups {
		if g.Name == name {
			p.errorf(n.pos, "track_group %s already defined", name)
			p.skipBlock()
			return
		}
	}
	g := TrackGroup{Pos: n.pos, Name: name}
	block(p, n, &g, p.kw.trackGroup)
	c.TrackGroups = append(c.TrackGroups, g)
}

func trackGroupKeywords() handlers[TrackGroup] {
	return handlers[TrackGroup]{
		"group": func(p *parser, g *TrackGroup, n *node) {
			if g.Group != nil {
				p.errorf(n.pos, "Group list already specified for sync group %s", g.Name)
				p.skipBlock()
				return
			}
			g.Group = []string{}
			for _, c := range p.values(n, 1) {
				g.Group = append(g.Group, c.words...)
			}
			if len(g.Group) == 0 {
				// keepalived blames the line that closes the block.
				p.errorf(p.lines.at(p.next-1).pos, "Warning - track group %s has empty group block", g.Name)
			}
		},
	}
}
