package config

import (
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func syncGroupKeywords() handlers[SyncGroup] {
	notify := func(f func(*SyncGroup) **Notify) func(*parser, *SyncGroup, *node) {
		return func(p *parser, g *SyncGroup, n *node) {
			if s := p.notifyArg(n); s != nil {
				*f(g) = s
			}
		}
	}
	return handlers[SyncGroup]{
		"group": func(p *parser, g *SyncGroup, n *node) {
			for _, c := range p.values(n, 1) {
				g.Group = append(g.Group, c.words...)
			}
		},
		"track_interface": func(p *parser, g *SyncGroup, n *node) {
			g.Tracking.Interfaces = p.tracks(g.Name, n, g.Tracking.Interfaces, -253, 253)
		},
		"track_script": func(p *parser, g *SyncGroup, n *node) {
			g.Tracking.Scripts = p.tracks(g.Name, n, g.Tracking.Scripts, -253, 253)
		},
		"track_file": func(p *parser, g *SyncGroup, n *node) {
			g.Tracking.Files = p.tracks(g.Name, n, g.Tracking.Files, -254, 254)
		},
		"track_process": func(p *parser, g *SyncGroup, n *node) {
			g.Tracking.Processes = p.tracks(g.Name, n, g.Tracking.Processes, -254, 254)
		},
		"track_bfd": func(p *parser, g *SyncGroup, n *node) {
			g.Tracking.BFDs = p.bfdTracks(g.Name, n, g.Tracking.BFDs)
		},
		"notify_master": notify(func(g *SyncGroup) **Notify { return &g.Notify.Master }),
		"notify_backup": notify(func(g *SyncGroup) **Notify { return &g.Notify.Backup }),
		"notify_fault":  notify(func(g *SyncGroup) **Notify { return &g.Notify.Fault }),
		"notify_stop":   notify(func(g *SyncGroup) **Notify { return &g.Notify.Stop }),
		"notify":        notify(func(g *SyncGroup) **Notify { return &g.Notify.Any }),
		"notify_priority_changes": func(p *parser, g *SyncGroup, n *node) {
			v, ok := true, true
			if len(n.words) > 1 {
				if v, ok = trueFalse(n.words[1]); !ok {
					p.errorf(n.pos, "(%s) Invalid value '%s' for sync group notify_priority_changes specified", g.Name, n.words[1])
				}
			}
			if ok {
				g.NotifyPriorityChanges, g.notifyPrioritySet = v, true
			}
		},
		"smtp_alert": func(p *parser, g *SyncGroup, n *node) {
			if v, ok := p.boolArg(n, "vrrp_sync_group smtp_alert"); ok {
				g.SMTPAlert = v
			}
		},
		// global_tracking is sync_group_tracking_weight's old name.
		"global_tracking": func(p *parser, g *SyncGroup, n *node) {
			p.errorf(n.pos, "(%s) global_tracking is deprecated. Use track_interface/script/file on the sync group", g.Name)
			g.SyncGroupTrackingWeight = true
		},
		"sync_group_tracking_weight": func(p *parser, g *SyncGroup, n *node) { g.SyncGroupTrackingWeight = true },
	}
}

// tracks reads a track_* block: "NAME [weight W [reverse|noreverse]]".
func (p *parser) tracks(owner string, n *node, list []Track, lo, hi int64) []Track {
	seen := make(map[string]bool, len(list))
	for _, t := range list {
		seen[t.Name] = true
	}
	for _, c := range p.values(n, 1) {
		t := Track{Pos: c.pos, Name: c.words[0]}
		if seen[t.Name] {
			p.errorf(c.pos, "(%s) duplicate %s %s - ignoring", owner, n.words[0], t.Name)
			continue
		}
		seen[t.Name] = true
		if len(c.words) > 1 {
			if c.words[1] != "weight" {
				p.errorf(c.pos, "(%s) unknown option '%s' for tracked %s", n.words[0], c.words[1], t.Name)
				continue
			}
			v, ok := p.intArg(c, 2, lo, hi)
			if !ok {
				p.errorf(c.pos, "weight for %s must be between [%d:%d] inclusive. Ignoring...", t.Name, lo, hi)
				continue
			}
			t.Weight, t.HasWeight = int(v), true
			if len(c.words) > 3 {
				switch c.words[3] {
				case "reverse":
					t.Reverse = true
				case "noreverse", "no_reverse":
				default:
					p.errorf(c.pos, "unknown weight option '%s' for %s", c.words[3], t.Name)
				}
			}
		}
		list = append(list, t)
	}
	return list
}

// bfdTracks reads a track_bfd block as keepalived's alloc_track_bfd
// does: "NAME [weight W [reverse|noreverse]]", each fault in its words.
// A weight out of range leaves the entry with the bfd_instance's weight;
// any other fault drops it.
func (p *parser) bfdTracks(owner string, n *node, list []Track) []Track {
	seen := make(map[string]bool, len(list))
	for _, t := range list {
		seen[t.Name] = true
	}
	for _, c := range p.values(n, 1) {
		t := Track{Pos: c.pos, Name: c.words[0]}
		if seen[t.Name] {
			p.errorf(c.pos, "(%s) duplicate track_bfd %s - ignoring", owner, t.Name)
			continue
		}
		if len(c.words) > 1 {
			if c.words[1] != "weight" {
				p.errorf(c.pos, "(%s) unknown track bfd %s option %s - ignoring", owner, t.Name, c.words[1])
				continue
			}
			if len(c.words) == 2 {
				p.errorf(c.pos, "(%s) weight without value specified for track bfd %s - ignoring", owner, t.Name)
				continue
			}
			if v, ok := p.intValue(c.pos, c.words[2], -253, 253); ok {
				t.Weight, t.HasWeight = int(v), true
			} else {
				p.errorf(c.pos, "(%s) weight for track bfd %s must be in [-253..253] inclusive. Ignoring...", owner, t.Name)
			}
			if len(c.words) > 3 {
				switch c.words[3] {
				case "reverse":
					t.Reverse = true
				case "noreverse":
					t.NoReverse = true
				default:
					p.errorf(c.pos, "(%s) unknown track bfd %s weight option %s - ignoring", owner, t.Name, c.words[3])
					continue
				}
			}
		}
		seen[t.Name] = true
		list = append(list, t)
	}
	return list
}

func authKeywords() handlers[Auth] {
	return handlers[Auth]{
		"auth_type": func(p *parser, a *Auth, n *node) {
			t, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if v, ok := parseAuthType(t); ok {
				a.Type = v
			} else {
				p.errorf(n.pos, "(%s) unknown authentication type '%s'", p.instance, t)
			}
		},
		"auth_pass": func(p *parser, a *Auth, n *node) {
			pass, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if len(pass) > 8 {
				p.errorf(n.pos, "Truncating auth_pass to 8 characters")
				pass = pass[:8]
			}
			a.Pass = pass
		},
	}
}

func instanceKeywords() handlers[Instance] {
	notify := func(f func(*Instance) **Notify) func(*parser, *Instance, *node) {
		return func(p *parser, in *Instance, n *node) {
			if s := p.notifyArg(n); s != nil {
				*f(in) = s
			}
		}
	}
	addr := func(f func(*Instance) *netip.Addr, what string) func(*parser, *Instance, *node) {
		return func(p *parser, in *Instance, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			a, ok := parseAddr(s)
			if !ok {
				p.errorf(n.pos, "(%s) %s address %s is invalid", in.Name, what, s)
				return
			}
			*f(in) = a
		}
	}
	flag := func(f func(*Instance) *bool) func(*parser, *Instance, *node) {
		return func(p *parser, in *Instance, n *node) { *f(in) = true }
	}
	optFlag := func(f func(*Instance) *bool, set func(*instanceSet) *bool) func(*parser, *Instance, *node) {
		return func(p *parser, in *Instance, n *node) {
			v, ok := p.boolArg(n, "vrrp_instance "+n.words[0])
			if ok {
				*f(in) = v
				*set(&in.set) = true
			}
		}
	}
	timer := func(f func(*Instance) *time.Duration, set func(*instanceSet) *bool, hi time.Duration) func(*parser, *Instance, *node) {
		return func(p *parser, in *Instance, n *node) {
			if v, ok := p.timerArg(n, 1, 0, hi); ok {
				*f(in) = v
				*set(&in.set) = true
			}
		}
	}
	count := func(f func(*Instance) *int, set func(*instanceSet) *bool, lo, hi int64) func(*parser, *Instance, *node) {
		return func(p *parser, in *Instance, n *node) {
			v, ok := p.intArg(n, 1, lo, hi)
			if !ok {
				if len(n.words) > 1 {
					p.errorf(n.pos, "(%s): Invalid %s [%d:%d] '%s'", in.Name, n.words[0], lo, hi, n.words[1])
				}
				return
			}
			*f(in), *set(&in.set) = int(v), true
		}
	}
	// repeat reads a garp repeat count, which keepalived turns from 0
	// into 1 where sending nothing makes no sense.
	repeat := func(f func(*Instance) *int, set func(*instanceSet) *bool) func(*parser, *Instance, *node) {
		return func(p *parser, in *Instance, n *node) {
			v, ok := p.intArg(n, 1, 0, math.MaxInt32)
			if !ok {
				return
			}
			if v == 0 {
				p.errorf(n.pos, "(%s): %s must be greater than 0, setting to 1", in.Name, n.words[0])
				v = 1
			}
			*f(in), *set(&in.set) = int(v), true
		}
	}
	h := handlers[Instance]{
		"state": func(p *parser, in *Instance, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			v, ok := parseState(s)
			if !ok {
				p.errorf(n.pos, "(%s) unknown state '%s', defaulting to BACKUP", in.Name, s)
				v = StateBackup
			}
			in.State, in.set.state = v, true
		},
		"interface": func(p *parser, in *Instance, n *node) {
			s, ok := p.arg(n, 1)
			switch {
			case !ok:
			case len(s) >= 16:
				p.errorf(n.pos, "Interface name '%s' too long - ignoring", s)
			default:
				in.Interface, in.ifPos = s, n.pos
			}
		},
		"vrf": func(p *parser, in *Instance, n *node) {
			s, ok := p.arg(n, 1)
			switch {
			case !ok:
			case len(s) >= 16:
				p.errorf(n.pos, "(%s) VRF interface name '%s' too long - ignoring", in.Name, s)
			case in.Interface != "":
				p.errorf(n.pos, "(%s) Cannot specify VRF interface and interface - ignoring", in.Name)
			case in.VRF != "":
				p.errorf(n.pos, "(%s) VRF interface already specified as '%s' - ignoring", in.Name, in.VRF)
			default:
				in.VRF, in.vrfPos = s, n.pos
			}
		},
		"use_vmac":              (*parser).useVMAC,
		"vmac_xmit_base":        flag(func(in *Instance) *bool { return &in.VMACXmitBase }),
		"native_ipv6":           flag(func(in *Instance) *bool { return &in.NativeIPv6 }),
		"dont_track_primary":    flag(func(in *Instance) *bool { return &in.DontTrackPrimary }),
		"track_src_ip":          flag(func(in *Instance) *bool { return &in.TrackSrcIP }),
		"unicast_fault_no_peer": flag(func(in *Instance) *bool { return &in.UnicastFaultNoPeer }),
		"promote_secondaries":   flag(func(in *Instance) *bool { return &in.PromoteSecondaries }),
		"nopreempt":             flag(func(in *Instance) *bool { return &in.Nopreempt }),
		"preempt":               func(p *parser, in *Instance, n *node) { in.Nopreempt = false },
		"track_interface": func(p *parser, in *Instance, n *node) {
			in.Tracking.Interfaces = p.tracks(in.Name, n, in.Tracking.Interfaces, -253, 253)
		},
		"track_script": func(p *parser, in *Instance, n *node) {
			in.Tracking.Scripts = p.tracks(in.Name, n, in.Tracking.Scripts, -253, 253)
		},
		"track_file": func(p *parser, in *Instance, n *node) {
			in.Tracking.Files = p.tracks(in.Name, n, in.Tracking.Files, -254, 254)
		},
		"track_process": func(p *parser, in *Instance, n *node) {
			in.Tracking.Processes = p.tracks(in.Name, n, in.Tracking.Processes, -254, 254)
		},
		"track_bfd": func(p *parser, in *Instance, n *node) {
			in.Tracking.BFDs = p.bfdTracks(in.Name, n, in.Tracking.BFDs)
		},
		"bfd_takeover":   (*parser).bfdTakeover,
		"mcast_src_ip":   addr(func(in *Instance) *netip.Addr { return &in.McastSrcIP }, "mcast_src_ip"),
		"unicast_src_ip": addr(func(in *Instance) *netip.Addr { return &in.UnicastSrcIP }, "unicast_src_ip"),
		"mcast_dst_ip": func(p *parser, in *Instance, n *node) {
			s, ok := p.arg(n, 1)
			if !ok {
				return
			}
			a, ok := parseAddr(s)
			if !ok || !a.IsMulticast() {
				p.errorf(n.pos, "(%s) mcast_dst_ip %s is not a multicast address", in.Name, s)
				return
			}
			in.McastDstIP = a
		},
		"version": func(p *parser, in *Instance, n *node) {
			if v, ok := p.intArg(n, 1, 2, 3); ok {
				in.Version = int(v)
				in.set.version = true
			} else {
				p.errorf(n.pos, "(%s): Version must be either 2 or 3", in.Name)
			}
		},
		"check_unicast_src": func(p *parser, in *Instance, n *node) {
			in.CheckUnicastSrc, in.set.checkUnicastSrc = true, true
		},
		"unicast_peer": func(p *parser, in *Instance, n *node) {
			for _, c := range p.values(n, 1) {
				p.unicastPeer(in, c)
			}
		},
		"unicast_ttl": func(p *parser, in *Instance, n *node) {
			if v, ok := p.uintArg(n, 1, 0, 255); ok {
				in.UnicastTTL, in.ttlPos = int(v), n.pos
			}
		},
		"garp_master_delay": timer(func(in *Instance) *time.Duration { return &in.GarpMasterDelay },
			func(s *instanceSet) *bool { return &s.garpMasterDelay }, 0),
		"garp_lower_prio_delay": timer(func(in *Instance) *time.Duration { return &in.GarpLowerPrioDelay },
			func(s *instanceSet) *bool { return &s.garpLowerPrioDelay }, 0),
		"garp_master_refresh": timer(func(in *Instance) *time.Duration { return &in.GarpMasterRefresh },
			func(s *instanceSet) *bool { return &s.garpMasterRefresh }, 0),
		"garp_master_repeat": repeat(func(in *Instance) *int { return &in.GarpMasterRepeat },
			func(s *instanceSet) *bool { return &s.garpMasterRepeat }),
		"garp_lower_prio_repeat": count(func(in *Instance) *int { return &in.GarpLowerPrioRepeat },
			func(s *instanceSet) *bool { return &s.garpLowerPrioRepeat }, 0, math.MaxInt32),
		"garp_master_refresh_repeat": repeat(func(in *Instance) *int { return &in.GarpMasterRefreshRepeat },
			func(s *instanceSet) *bool { return &s.garpMasterRefreshRepeat }),
		"down_timer_adverts": count(func(in *Instance) *int { return &in.DownTimerAdverts },
			func(s *instanceSet) *bool { return &s.downTimerAdverts }, 1, 100),
		"lower_prio_no_advert": optFlag(func(in *Instance) *bool { return &in.LowerPrioNoAdvert },
			func(s *instanceSet) *bool { return &s.lowerPrioNoAdvert }),
		"higher_prio_send_advert": optFlag(func(in *Instance) *bool { return &in.HigherPrioSendAdvert },
			func(s *instanceSet) *bool { return &s.higherPrioSendAdvert }),
		"skip_check_adv_addr": optFlag(func(in *Instance) *bool { return &in.SkipCheckAdvAddr },
			func(s *instanceSet) *bool { return &s.skipCheckAdvAddr }),
		"strict_mode": optFlag(func(in *Instance) *bool { return &in.StrictMode },
			func(s *instanceSet) *bool { return &s.strictMode }),
		"smtp_alert": optFlag(func(in *Instance) *bool { return &in.SMTPAlert },
			func(s *instanceSet) *bool { return &s.smtpAlert }),
		"notify_priority_changes": func(p *parser, in *Instance, n *node) {
			v, ok := true, true
			if len(n.words) > 1 {
				if v, ok = trueFalse(n.words[1]); !ok {
					p.errorf(n.pos, "(%s) Invalid value '%s' for notify_priority_changes specified", in.Name, n.words[1])
				}
			}
			if ok {
				in.NotifyPriorityChanges, in.set.notifyPriorityChanges = v, true
			}
		},
		"virtual_router_id": func(p *parser, in *Instance, n *node) {
			if v, ok := p.uintArg(n, 1, 1, 255); ok {
				in.VirtualRouterID = int(v)
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "(%s): VRID '%s' not valid - must be between 1 & 255", in.Name, n.words[1])
			}
		},
		"priority": func(p *parser, in *Instance, n *node) {
			if v, ok := p.uintArg(n, 1, 1, 255); ok {
				in.Priority = int(v)
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "(%s) Priority not valid! must be between 1 & 255. Using default 100", in.Name)
			}
		},
		"advert_int": func(p *parser, in *Instance, n *node) {
			v, ok := p.timerArg(n, 1, 10*time.Millisecond, 255*time.Second)
			if !ok || v <= 0 {
				if len(n.words) > 1 {
					p.errorf(n.pos, "(%s) Advert interval (%s) not valid! Must be > 0 - ignoring", in.Name, n.words[1])
				}
				return
			}
			in.AdvertInt = v
		},
		"authentication": func(p *parser, in *Instance, n *node) {
			a := Auth{Pos: n.pos}
			p.instance = in.Name
			block(p, n, &a, p.kw.auth)
			in.Auth = &a
		},
		"virtual_ipaddress": func(p *parser, in *Instance, n *node) {
			in.VirtualIPs = p.addresses(p.values(n, 1), in.VirtualIPs, true)
		},
		"virtual_ipaddress_excluded": func(p *parser, in *Instance, n *node) {
			in.ExcludedVIPs = p.addresses(p.values(n, 1), in.ExcludedVIPs, true)
		},
		"virtual_routes": func(p *parser, in *Instance, n *node) {
			in.VirtualRoutes = p.routes(p.values(n, 1), in.VirtualRoutes, true)
		},
		"virtual_rules": func(p *parser, in *Instance, n *node) {
			in.VirtualRules = p.rules(p.values(n, 1), in.VirtualRules, false)
		},
		"accept":    func(p *parser, in *Instance, n *node) { in.accept = opt[bool]{true, true} },
		"no_accept": func(p *parser, in *Instance, n *node) { in.accept = opt[bool]{false, true} },
		"preempt_delay": func(p *parser, in *Instance, n *node) {
			if v, ok := p.timerArg(n, 1, 0, 1000*time.Second); ok {
				in.PreemptDelay = v
			} else {
				p.errorf(n.pos, "(%s) Preempt_delay not valid! must be between 0-1000", in.Name)
			}
		},
		"debug": func(p *parser, in *Instance, n *node) {
			if v, ok := p.uintArg(n, 1, 0, 4); ok {
				in.Debug = int(v)
			} else if len(n.words) > 1 {
				p.errorf(n.pos, "(%s) Debug value '%s' not valid; must be between 0-4", in.Name, n.words[1])
			}
		},
		"notify_master": notify(func(in *Instance) **Notify { return &in.Notify.Master }),
		"notify_backup": notify(func(in *Instance) **Notify { return &in.Notify.Backup }),
		"notify_fault":  notify(func(in *Instance) **Notify { return &in.Notify.Fault }),
		"notify_stop":   notify(func(in *Instance) **Notify { return &in.Notify.Stop }),
		"notify_deleted": func(p *parser, in *Instance, n *node) {
			// keepalived takes it alone too: DELETED instead of FAULT,
			// with no script of its own.
			if len(n.words) == 1 {
				in.Notify.Deleted = &Notify{Pos: n.pos}
				return
			}
			in.Notify.Deleted = p.notifyArg(n)
		},
		"notify":                     notify(func(in *Instance) **Notify { return &in.Notify.Any }),
		"notify_master_rx_lower_pri": notify(func(in *Instance) **Notify { return &in.Notify.MasterRxLowerPri }),
		"old_unicast_checksum":       func(p *parser, in *Instance, n *node) { in.Other = append(in.Other, p.raw(n)) },
		// lvs_sync_daemon_interface is the old form of global_defs'
		// lvs_sync_daemon IFNAME INSTANCE, for the instance it is in.
		"lvs_sync_daemon_interface": func(p *parser, in *Instance, n *node) {
			p.errorf(n.pos, "(%s) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.", in.Name)
			p.errorf(n.pos, "      %sPlease use global lvs_sync_daemon", strings.Repeat(" ", max(len(in.Name)-2, 0)))
			if sd := p.cfg.Global.LVSSyncDaemon; sd != nil {
				p.errorf(n.pos, "(%s) lvs_sync_daemon_interface has already been specified as %s - ignoring", in.Name, sd.Interface)
				return
			}
			if s, ok := p.arg(n, 1); ok {
				p.cfg.Global.LVSSyncDaemon = &LVSSyncDaemon{Pos: n.pos, Interface: s, Instance: in.Name}
			}
		},
	}
	keepRaw(h, func(in *Instance) *[]Raw { return &in.Other },
		"use_vmac_addr use_ipvlan kernel_rx_buf_size")
	h["linkbeat_use_polling"] = func(p *parser, in *Instance, n *node) {
		p.errorf(n.pos, "(%s) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block", in.Name)
		in.Other = append(in.Other, p.raw(n))
	}
	h["garp_extra_if"] = func(p *parser, in *Instance, n *node) {
		p.garpExtraIf(n, in.Name, 0, &in.GarpExtraIf, &in.GarpExtraIfAll)
	}
	h["vmac_garp_intvl"] = func(p *parser, in *Instance, n *node) {
		p.errorf(n.pos, `Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"`)
		p.garpExtraIf(n, in.Name, 0, &in.GarpExtraIf, &in.GarpExtraIfAll)
	}
	return h
}

// trackProcessKeywords are those of a vrrp_track_process block, with
// keepalived's messages (vrrp_parser.c vrrp_tprocess_*_handler).
func trackProcessKeywords() handlers[TrackProcess] {
	delay := func(prefix string, terminate, fork bool) func(*parser, *TrackProcess, *node) {
		return func(p *parser, tp *TrackProcess, n *node) {
			v, ok := p.timerArg(n, 1, time.Microsecond, time.Hour)
			if !ok {
				if len(n.words) > 1 {
					p.errorf(n.pos, "%sdelay (%s) for vrrp_track_process %s must be between [0.000001..3600] inclusive. Ignoring...", prefix, n.words[1], tp.Name)
				}
				return
			}
			if terminate {
				tp.TerminateDelay = v
			}
			if fork {
				tp.ForkDelay = v
			}
		}
	}
	// quorumArg reads the number of quorum or quorum_max (what), from lo
	// to 65535.
	quorumArg := func(p *parser, tp *TrackProcess, n *node, what string, lo uint64) (uint32, bool) {
		v, ok := p.uintArg(n, 1, lo, 65535)
		if !ok && len(n.words) > 1 {
			p.errorf(n.pos, "%s (%s) for vrrp_track_process %s must be between [%d..65535] inclusive. Ignoring...", what, n.words[1], tp.Name, lo)
		}
		return uint32(v), ok
	}
	return handlers[TrackProcess]{
		"process": func(p *parser, tp *TrackProcess, n *node) {
			name, ok := p.arg(n, 1)
			if !ok {
				return
			}
			if tp.Process != "" {
				p.errorf(n.pos, "Process already set for track process %s - ignoring %s", tp.Name, name)
				return
			}
			tp.Process = name
			if len(n.words) > 2 {
				tp.Params = p.keepAll(n.words[2:])
				if tp.ParamMatch == ParamMatchNone {
					tp.ParamMatch = ParamMatchExact
				}
				tp.FullCommand = true
			}
		},
		"param_match": func(p *parser, tp *TrackProcess, n *node) {
			m := ParamMatchExact
			if len(n.words) > 1 {
				switch n.words[1] {
				case "initial":
					m = ParamMatchInitial
				case "partial":
					m = ParamMatchPartial
				default:
					p.errorf(n.pos, "Invalid param_match type %s - ignoring", n.words[1])
					return
				}
			}
			tp.ParamMatch, tp.FullCommand = m, true
		},
		"weight": func(p *parser, tp *TrackProcess, n *node) {
			if len(n.words) < 2 {
				p.errorf(n.pos, "No weight specified for track process %s - ignoring", tp.Name)
				return
			}
			if tp.weightSet {
				p.errorf(n.pos, "Weight already set for track process %s - ignoring %s", tp.Name, n.words[1])
				return
			}
			v, ok := p.intArg(n, 1, -254, 254)
			if !ok {
				p.errorf(n.pos, "Weight (%s) for vrrp_track_process %s must be between [-254..254] inclusive. Ignoring...", n.words[1], tp.Name)
				return
			}
			if len(n.words) > 2 {
				if n.words[2] == "reverse" {
					tp.Reverse = true
				} else {
					p.errorf(n.pos, "vrrp_track_process %s unknown weight option %s", tp.Name, n.words[2])
				}
			}
			// keepalived takes a weight of 0 as no weight set.
			tp.Weight, tp.weightSet = int(v), v != 0
		},
		"quorum": func(p *parser, tp *TrackProcess, n *node) {
			v, ok := quorumArg(p, tp, n, "Quorum", 1)
			if !ok {
				return
			}
			if v > tp.QuorumMax {
				p.errorf(n.pos, "Quorum is greater than quorum_max - ignoring")
				return
			}
			tp.Quorum = v
		},
		"quorum_max": func(p *parser, tp *TrackProcess, n *node) {
			v, ok := quorumArg(p, tp, n, "quorum_max", 0)
			if !ok {
				return
			}
			// quorum_max 0 is allowed while quorum is not set.
			if (v != 0 || tp.Quorum > 1) && v < tp.Quorum {
				p.errorf(n.pos, "quorum_max is less than quorum - ignoring")
				return
			}
			tp.QuorumMax = v
			if v == 0 {
				tp.Quorum = 0
			} else if tp.Quorum == 0 {
				tp.Quorum = 1
			}
		},
		"delay":           delay("", true, true),
		"terminate_delay": delay("terminate_", true, false),
		"fork_delay":      delay("fork_", false, true),
		"full_command":    func(p *parser, tp *TrackProcess, n *node) { tp.FullCommand = true },
	}
}

// garpExtraIf reads "[DELAY] [all]" of garp_extra_if (instance names the
// vrrp_instance, lo is 0) or vrrp_garp_extra_if (global, lo is 1) into
// delay and all, as keepalived's handlers do: an "all" counts as soon as
// it is read, and a bad word or no delay leaves delay as it was.
func (p *parser) garpExtraIf(n *node, instance string, lo uint64, delay *time.Duration, all *bool) {
	prefix := ""
	if instance != "" {
		prefix = "(" + instance + "): "
	}
	var (
		d        uint64
		hasDelay bool
	)
	for _, w := range n.words[1:] {
		if w == "all" {
			*all = true
			continue
		}
		v, ok := p.uintValue(n.pos, w, lo, 86400)
		if !ok {
			p.errorf(n.pos, "%s%s '%s' invalid - ignoring", prefix, n.words[0], w)
			return
		}
		d, hasDelay = v, true
	}
	// The global keyword takes 0 as no delay, the instance one does not.
	if !hasDelay || instance == "" && d == 0 {
		p.errorf(n.pos, "%s%s specified without time - ignoring", prefix, n.words[0])
		return
	}
	*delay = time.Duration(d) * time.Second
}

// unicastPeer reads "ADDR [min_ttl N] [max_ttl N]".
func (p *parser) unicastPeer(in *Instance, c *node) {
	a, ok := parseAddr(c.words[0])
	if !ok {
		p.errorf(c.pos, "Configuration error: VRRP instance[%s] malformed unicast peer address[%s]. Skipping...", in.Name, c.words[0])
		return
	}
	peer := UnicastPeer{Pos: c.pos, Addr: a}
	for i := 1; i < len(c.words); i += 2 {
		switch c.words[i] {
		case "min_ttl":
			if v, ok := p.uintArg(c, i+1, 0, 255); ok {
				peer.MinTTL = int(v)
			}
		case "max_ttl":
			if v, ok := p.uintArg(c, i+1, 0, 255); ok {
				peer.MaxTTL = int(v)
			}
		default:
			p.errorf(c.pos, "(%s) unknown unicast_peer option %s", in.Name, c.words[i])
		}
	}
	in.UnicastPeers = append(in.UnicastPeers, peer)
}

// useVMAC reads use_vmac [NAME] [MAC], in either order: a word with a
// colon is the MAC address, which keepalived accepts with five octets to
// have the VRID as the sixth. Of the words after the first two, nothing
// is read.
func (p *parser) useVMAC(in *Instance, n *node) {
	in.UseVMAC = true
	for i, w := range n.words[1:] {
		if i == 2 {
			break
		}
		if strings.Contains(w, ":") {
			if in.VMACAddr != "" {
				p.errorf(n.pos, "VMAC interface address already specified")
				continue
			}
			p.vmacAddr(in, n.pos, w)
			continue
		}
		if in.VMACName != "" {
			p.errorf(n.pos, "VMAC interface name already specified")
			continue
		}
		if !devNameValid(w) {
			p.errorf(n.pos, "VMAC interface name '%s' too long or invalid characters - ignoring", w)
			continue
		}
		used := false
		for _, o := range p.cfg.Instances {
			if o.VMACName == w {
				p.errorf(n.pos, "(%s) VRRP instance %s is already using %s - ignoring name", in.Name, o.Name, w)
				used = true
				break
			}
		}
		if !used {
			in.VMACName = w
		}
	}
}

// vmacAddr checks use_vmac's MAC address as keepalived does and keeps it
// in in.VMACAddr, canonical, when it is usable.
func (p *parser) vmacAddr(in *Instance, pos Pos, w string) {
	if strings.Trim(w, "0123456789ABCDEFabcdef:") != "" {
		p.errorf(pos, "VMAC invalid MAC address %s", w)
		return
	}
	mac, useVRID, ok := parseVMACAddr(w)
	switch {
	case !ok:
		p.errorf(pos, "VMAC invalid MAC address %s - ignored", w)
	case mac[0]&1 != 0:
		p.errorf(pos, "VMAC MAC address is multicast %s - ignoring", w)
	case mac[0] == 0 && mac[1] == 0 && mac[2] == 0x5e && mac[3] == 0 && (mac[4] == 1 || mac[4] == 2):
		p.errorf(pos, "VMAC MAC address not allowed to be RFC5798 address (%s) - ignoring", w)
	default:
		in.VMACAddr = mac.String()
		if useVRID {
			in.VMACAddr = mac[:5].String()
		}
	}
}

// parseVMACAddr parses a MAC address of six octets, or of five (with an
// optional trailing colon), which means the VRID completes it. Octets
// are one or two hexadecimal digits, as strtoul reads them.
func parseVMACAddr(s string) (mac net.HardwareAddr, useVRID, ok bool) {
	mac = make(net.HardwareAddr, 6)
	rest := s
	for j := 0; j < 6; j++ {
		end := 0
		for end < len(rest) && end < 3 && strings.IndexByte("0123456789ABCDEFabcdef", rest[end]) >= 0 {
			end++
		}
		if end == 0 || end > 2 {
			return nil, false, false
		}
		v, _ := strconv.ParseUint(rest[:end], 16, 8)
		mac[j] = byte(v)
		rest = rest[end:]
		if j == 4 && (rest == "" || rest == ":") {
			return mac, true, true
		}
		if j == 5 {
			// keepalived reads no further than the sixth octet.
			return mac, false, rest == "" || rest[0] == ':'
		}
		if rest == "" || rest[0] != ':' {
			return nil, false, false
		}
		rest = rest[1:]
		if rest == "" {
			return nil, false, false
		}
	}
	return nil, false, false
}

// devNameValid reports whether name can name a network interface, by
// the rules keepalived applies to a VMAC's name.
func devNameValid(name string) bool {
	if name == "" || len(name) >= 16 || name == "." || name == ".." {
		return false
	}
	return !strings.ContainsAny(name, "/: \t\n\v\f\r")
}
