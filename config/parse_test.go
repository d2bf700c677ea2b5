package config

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseText parses src as "t.conf" and returns the model and the
// diagnostics as "line: severity: msg".
func parseText(t *testing.T, src string) (*Config, []string) {
	t.Helper()
	cfg, ds := Parse("t.conf", []byte(src), Options{ConfigID: "main"})
	var out []string
	for _, d := range ds.Keepalived() {
		if d.Pos.File != "t.conf" && !d.Pos.IsZero() {
			t.Errorf("diagnostic from another file: %v", d)
		}
		out = append(out, strconv.Itoa(d.Pos.Line)+": "+d.Severity.String()+": "+d.Msg)
	}
	return cfg, out
}

// A valid instance to build test configurations around.
const vi1 = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.1
    }
`

// A valid virtual server head to build test configurations around.
const vs80 = `virtual_server 10.0.0.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
`

func TestParseDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		diags []string
	}{
		{name: "valid instance", src: vi1 + "}\n"},
		{
			name: "vrid out of range",
			src:  strings.Replace(vi1, "virtual_router_id 51", "virtual_router_id 300", 1) + "}\n",
			diags: []string{
				"3: error: number '300' outside range [1, 255]",
				"3: error: (VI_1): VRID '300' not valid - must be between 1 & 255",
				"1: error: (VI_1) the virtual router id must be set",
			},
		},
		{
			name:  "priority",
			src:   vi1 + "    priority 0\n}\n",
			diags: []string{"7: error: number '0' outside range [1, 255]", "7: error: (VI_1) Priority not valid! must be between 1 & 255. Using default 100"},
		},
		{
			name:  "missing parameter",
			src:   vi1 + "    priority\n}\n",
			diags: []string{"7: error: *** Configuration line starting `priority` is missing a parameter after keyword `priority` at word position 2"},
		},
		{
			name:  "nopreempt needs BACKUP",
			src:   vi1 + "    state MASTER\n    nopreempt\n}\n",
			diags: []string{"1: error: (VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"},
		},
		{
			name:  "preempt_delay needs preemption",
			src:   vi1 + "    nopreempt\n    preempt_delay 10\n}\n",
			diags: []string{"1: error: (VI_1) preempt_delay is incompatible with nopreempt mode - resetting"},
		},
		{
			name:  "unknown state",
			src:   vi1 + "    state FOO\n}\n",
			diags: []string{"7: error: (VI_1) unknown state 'FOO', defaulting to BACKUP"},
		},
		{
			name:  "auth_pass truncated",
			src:   vi1 + "    authentication {\n        auth_type PASS\n        auth_pass 123456789\n    }\n}\n",
			diags: []string{"9: error: Truncating auth_pass to 8 characters"},
		},
		{
			name:  "unknown keywords and blocks",
			src:   vi1 + "    bogus 1\n}\nnothing {\n    priority 5\n}\n",
			diags: []string{"7: error: Unknown keyword 'bogus'", "9: error: Unknown keyword 'nothing'", "9: error: Unexpected '{' - ignoring", "10: error: Unknown keyword 'priority'", "11: error: Unknown keyword '}'"},
		},
		{
			name:  "two block levels on one line",
			src:   vs80 + "    real_server 10.0.0.1 80 { weight 1 TCP_CHECK { connect_timeout 3 } }\n}\n",
			diags: []string{"5: error: Unexpected '{' - ignoring", "6: error: Unknown keyword '}'"},
		},
		{
			name:  "undefined track script",
			src:   vi1 + "    track_script {\n        nosuch\n    }\n}\n",
			diags: []string{"8: error: (VI_1) track script nosuch not found, ignoring..."},
		},
		{
			name:  "duplicate track script",
			src:   "vrrp_script chk {\n    script /bin/true\n}\n" + vi1 + "    track_script {\n        chk\n        chk weight 2\n    }\n}\n",
			diags: []string{"12: error: (VI_1) duplicate track_script chk - ignoring"},
		},
		{
			name:  "vrrp_script without script",
			src:   "vrrp_script chk {\n    interval 2\n}\n",
			diags: []string{"3: error: No script set for vrrp_script chk - removing"},
		},
		{
			name: "sync groups",
			src:  vi1 + "}\nvrrp_sync_group G {\n    group {\n        VI_1\n        VI_9\n    }\n}\n",
			diags: []string{
				"8: error: Virtual router VI_9 specified in sync group G doesn't exist - ignoring",
				"8: error: Sync group G has only 1 virtual router(s) - this probably isn't what you want",
			},
		},
		{
			name:  "invalid virtual ip",
			src:   strings.Replace(vi1, "10.0.0.1", "10.0.0.300/24", 1) + "}\n",
			diags: []string{"5: error: VRRP parsed invalid IP 10.0.0.300/24. skipping IP...", "1: error: (VI_1) No VIP specified; at least one is sensible"},
		},
		{
			name:  "mixed address families",
			src:   strings.Replace(vi1, "10.0.0.1\n", "10.0.0.1\n        2001:db8::1\n", 1) + "}\n",
			diags: []string{"6: error: (VI_1): address family must match VRRP instance [2001:db8::1] - ignoring"},
		},
		{
			name:  "duplicate vrid",
			src:   vi1 + "}\n" + strings.Replace(vi1, "VI_1", "VI_2", 1) + "}\n",
			diags: []string{"8: error: VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0"},
		},
		{
			name: "virtual server values",
			src: "virtual_server 10.0.0.100 80 {\n    lb_algo xyz\n    lb_kind ABC\n    protocol FOO\n" +
				"    real_server 10.0.0.2 99999 {\n        weight 1\n    }\n    real_server 10.0.0.3 80 {\n    }\n}\n",
			diags: []string{
				"2: error: Invalid lvs_scheduler 'xyz' - ignoring",
				"3: error: PARSER : unknown [ABC] routing method for virtual server.",
				"4: error: Unknown protocol FOO - ignoring",
				"5: error: number '99999' outside range [0, 65535]",
				"5: error: Invalid real server ip address/port 10.0.0.2/99999 - skipping",
				"1: error: Virtual server [10.0.0.100]:none:80: no protocol set - defaulting to UDP",
				"1: error: Virtual server [10.0.0.100]:udp:80: no forwarding method set, setting default NAT",
				"1: error: Virtual server [10.0.0.100]:udp:80: no scheduler set, setting default 'wlc'",
			},
		},
		{
			name:  "DR real server port",
			src:   strings.Replace(vs80, "NAT", "DR", 1) + "    real_server 10.0.0.2 8080 {\n    }\n}\n",
			diags: []string{"5: error: WARNING - virtual server [10.0.0.100]:tcp:80 and real server [10.0.0.2]:tcp:8080 ports don't match - resetting"},
		},
		{
			name:  "DR sorry server port",
			src:   strings.Replace(vs80, "NAT", "DR", 1) + "    sorry_server 10.0.0.9 8080\n    real_server 10.0.0.2 80 {\n    }\n}\n",
			diags: []string{"5: error: WARNING - virtual server [10.0.0.100]:tcp:80 and sorry server ports don't match - resetting"},
		},
		{
			name:  "fwmark sorry server port",
			src:   "virtual_server fwmark 1 {\n    lb_algo rr\n    lb_kind DR\n    sorry_server 10.0.0.9 8080\n    real_server 10.0.0.2 {\n    }\n}\n",
			diags: []string{"4: error: WARNING - virtual server FWM 1, sorry server has port specified - clearing"},
		},
		{
			name: "group entry ports",
			src: "virtual_server_group G {\n    192.0.2.1-3 80\n    198.51.100.1 443\n    fwmark 2\n}\n" +
				"virtual_server group G {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    sorry_server 10.0.0.9 80\n" +
				"    real_server 10.0.0.2 80 {\n    }\n    real_server 10.0.0.3 {\n    }\n    real_server 10.0.0.4 8080 {\n        lvs_method NAT\n    }\n}\n",
			diags: []string{
				"11: error: WARNING - fwmark virtual server [G]:0, real server [10.0.0.2]:tcp:80 has port specified - port will be ignored",
				"10: error: WARNING - fwmark virtual server [G]:0, sorry server has port specified - port will be ignored",
				"11: error: virtual server [G]:0:[198.51.100.1,443] and real server [10.0.0.2]:tcp:80 ports don't match",
				"10: error: WARNING - virtual server [G]:0, sorry server has port specified - port will be ignored",
			},
		},
		{
			name:  "fwmark with protocol",
			src:   "virtual_server fwmark 1 {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 10.0.0.2 80 {\n    }\n}\n",
			diags: []string{"1: error: Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored", "5: error: WARNING - fwmark virtual server FWM 1, real server [10.0.0.2]:none:80 has port specified - clearing"},
		},
		{
			name:  "checker without url",
			src:   vs80 + "    real_server 10.0.0.2 80 {\n        HTTP_GET {\n        }\n    }\n}\n",
			diags: []string{"7: error: HTTP/SSL_GET checker has no urls specified - ignoring"},
		},
		{
			name:  "virtual routes without interface",
			src:   vi1 + "    virtual_routes {\n        10.1.0.0/16 via 10.0.0.254\n        10.2.0.0/16 dev eth1\n        10.3.0.0/16 via 10.0.0.254 no_track\n    }\n}\n",
			diags: []string{"8: error: Warning - cannot track route 10.1.0.0/16 with no interface specified, not tracking"},
		},
		{
			name:  "extra parameters on a value block",
			src:   strings.Replace(vi1, "virtual_ipaddress {", "virtual_ipaddress foo {", 1) + "}\n",
			diags: []string{"4: error: Block virtual_ipaddress has extra parameters foo ..."},
		},
		{
			name:  "bad timer",
			src:   vi1 + "    advert_int abc\n}\n",
			diags: []string{"7: error: invalid number 'abc'", "7: error: (VI_1) Advert interval (abc) not valid! Must be > 0 - ignoring"},
		},
		{
			name:  "boolean values",
			src:   vi1 + "    smtp_alert maybe\n}\n",
			diags: []string{"7: error: Invalid vrrp_instance smtp_alert parameter maybe"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := parseText(t, tt.src)
			if !slices.Equal(diags, tt.diags) {
				t.Errorf("diagnostics:\n got %q\nwant %q", diags, tt.diags)
			}
		})
	}
}

func TestParseInstance(t *testing.T) {
	cfg, diags := parseText(t, `
global_defs {
    vrrp_garp_master_delay 7
    vrrp_version 3
    vrrp_min_garp false
}
vrrp_script chk {
    script "/bin/check web"
    interval 2
    weight -20 reverse
    fall 3
}
vrrp_instance VI_1 { state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.5
    unicast_src_ip 10.0.0.2
    unicast_peer {
        10.0.0.3 min_ttl 3 max_ttl 64
    }
    track_interface {
        eth1 weight -10
    }
    track_script {
        chk
    }
    virtual_ipaddress {
        10.0.0.1/24 brd 10.0.0.255 dev eth0 scope global label eth0:1 no_track
    }
    garp_master_repeat 2
    notify_master "/bin/notify master" root
}
`)
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	in := cfg.Instances[0]
	want := Instance{
		Name: "VI_1", State: StateMaster, Interface: "eth0", VirtualRouterID: 51, Priority: 150,
		AdvertInt: 500 * time.Millisecond, Version: 3, Accept: true,
		GarpMasterDelay: 7 * time.Second, GarpMasterRepeat: 2, GarpLowerPrioDelay: 7 * time.Second,
		GarpLowerPrioRepeat: 2, GarpMasterRefreshRepeat: 1, DownTimerAdverts: 3, UnicastTTL: 255,
		UnicastSrcIP: netip.MustParseAddr("10.0.0.2"),
	}
	got := in
	got.Pos, got.Tracking, got.UnicastPeers, got.VirtualIPs, got.Notify, got.set, got.accept, got.ifPos = Pos{}, Tracking{}, nil, nil, Notifies{}, instanceSet{}, opt[bool]{}, Pos{}
	if !equalJSON(t, got, want) {
		t.Errorf("instance:\n got %+v\nwant %+v", got, want)
	}
	if p := in.UnicastPeers; len(p) != 1 || p[0].Addr != netip.MustParseAddr("10.0.0.3") || p[0].MinTTL != 3 || p[0].MaxTTL != 64 || p[0].Pos.Line != 20 {
		t.Errorf("unicast peers: %+v", p)
	}
	if ti := in.Tracking.Interfaces; len(ti) != 1 || ti[0] != (Track{Pos: Pos{"t.conf", 23}, Name: "eth1", Weight: -10, HasWeight: true}) {
		t.Errorf("track_interface: %+v", ti)
	}
	if ts := in.Tracking.Scripts; len(ts) != 1 || ts[0].Name != "chk" || ts[0].HasWeight {
		t.Errorf("track_script: %+v", ts)
	}
	vip := Address{Pos: Pos{"t.conf", 29}, Prefix: netip.MustParsePrefix("10.0.0.1/24"), Broadcast: Broadcast{Kind: BroadcastAddr, Addr: netip.MustParseAddr("10.0.0.255")},
		Dev: "eth0", Scope: ScopeGlobal, Label: "eth0:1", NoTrack: true}
	if len(in.VirtualIPs) != 1 || in.VirtualIPs[0] != vip {
		t.Errorf("virtual_ipaddress:\n got %+v\nwant %+v", in.VirtualIPs, vip)
	}
	if n := in.Notify.Master; n == nil || n.Cmd != "/bin/notify master" || n.User != "root" {
		t.Errorf("notify_master: %+v", n)
	}
	s := cfg.Scripts[0]
	if s.Cmd != "/bin/check web" || s.Interval != 2*time.Second || s.Timeout != s.Interval ||
		s.Weight != -20 || !s.Reverse || s.Rise != 1 || s.Fall != 3 {
		t.Errorf("vrrp_script: %+v", s)
	}
}

func TestParseInstanceDefaults(t *testing.T) {
	cfg, diags := parseText(t, vi1+"}\n")
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	in := cfg.Instances[0]
	if in.State != StateBackup || in.Priority != DefaultPriority || in.AdvertInt != DefaultAdvertInt ||
		in.Version != 2 || in.GarpMasterDelay != DefaultGarpMasterDelay || in.GarpMasterRepeat != 5 ||
		!in.Accept || in.Auth != nil {
		t.Errorf("defaults: %+v", in)
	}
	g := cfg.Global
	if g.VRRPMcastGroup4 != netip.MustParseAddr("224.0.0.18") || g.VRRPMcastGroup6 != netip.MustParseAddr("ff02::12") ||
		g.SMTPConnectTimeout != 30*time.Second {
		t.Errorf("global defaults: %+v", g)
	}
}

func TestParseVirtualServer(t *testing.T) {
	cfg, diags := parseText(t, `
virtual_server_group WEB {
    10.0.0.1-10 80
    2001:db8::1-1f 443
    fwmark 7
}
virtual_server 10.0.0.100 80 {
    delay_loop 10
    lb_algo wrr
    lb_kind TUN type gue port 6080 csum
    protocol TCP
    persistence_timeout
    virtualhost www.example.com
    retry 4
    sorry_server 10.0.0.99 80
    real_server 10.0.0.2 80 {
        weight 3
        connect_timeout 2
        HTTP_GET {
            url {
                path /health
                status_code 200-299 302
            }
        }
        TCP_CHECK {
            connect_port 8080
            warmup 1
        }
    }
    real_server 10.0.0.3 {
        lvs_method DR
        DNS_CHECK {
            name example.com
        }
        MISC_CHECK {
            misc_path "/bin/check 10.0.0.3"
            misc_dynamic
        }
        UDP_CHECK {
            payload Ab12f 3
            require_reply 1X
        }
    }
}
virtual_server group WEB {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.4 80 {
        SMTP_CHECK {
        }
    }
}
`)
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	g := cfg.VirtualServerGroups[0]
	wantMembers := []VSGMember{
		{Pos: Pos{"t.conf", 3}, Addr: netip.MustParseAddr("10.0.0.1"), Last: netip.MustParseAddr("10.0.0.10"), Port: 80},
		{Pos: Pos{"t.conf", 4}, Addr: netip.MustParseAddr("2001:db8::1"), Last: netip.MustParseAddr("2001:db8::1f"), Port: 443},
		{Pos: Pos{"t.conf", 5}, FWMark: 7},
	}
	if !slices.Equal(g.Members, wantMembers) {
		t.Errorf("group members:\n got %+v\nwant %+v", g.Members, wantMembers)
	}

	vs := cfg.VirtualServers[0]
	if vs.Scheduler != SchedWRR || vs.PersistenceTimeout != 360 || vs.Protocol != ProtocolTCP ||
		vs.Forwarding.Method != LBKindTUN || *vs.Forwarding.Tunnel != (Tunnel{Type: TunnelGUE, Port: 6080, Checksum: Checksum}) ||
		vs.SorryServer == nil || vs.SorryServer.Port != 80 || vs.SorryServer.Forwarding.Method != LBKindTUN {
		t.Errorf("virtual server: %+v", vs)
	}
	rs := vs.RealServers[0]
	if rs.Weight != 3 || rs.Forwarding.Method != LBKindTUN || rs.Virtualhost != "www.example.com" {
		t.Errorf("real server: %+v", rs)
	}
	http := rs.Checkers[0]
	wantTiming := Timing{DelayLoop: 10 * time.Second, ConnectTimeout: 2 * time.Second, Retry: 4, DelayBeforeRetry: 3 * time.Second, Warmup: 10 * time.Second}
	if http.Type != HTTPGet || http.Timing != wantTiming || http.ConnectIP != rs.Addr || http.ConnectPort != 80 ||
		http.HTTP.Protocol != HTTP10 || http.HTTP.URLs[0].Virtualhost != "www.example.com" ||
		!slices.Equal(http.HTTP.URLs[0].StatusCodes, []StatusRange{{200, 299}, {302, 302}}) {
		t.Errorf("HTTP_GET: %+v %+v", http, http.HTTP)
	}
	tcp := rs.Checkers[1]
	if tcp.ConnectPort != 8080 || tcp.Timing.Warmup != time.Second || tcp.Timing.Retry != 4 || tcp.Timing.DelayBeforeRetry != time.Second {
		t.Errorf("TCP_CHECK: %+v", tcp)
	}

	rs = vs.RealServers[1]
	if rs.Port != 80 || rs.Forwarding.Method != LBKindDR {
		t.Errorf("real server without port: %+v", rs)
	}
	dns, misc, udp := rs.Checkers[0], rs.Checkers[1], rs.Checkers[2]
	if dns.DNS.Type != "SOA" || dns.DNS.Name != "example.com" || dns.Timing.Retry != 4 || dns.Timing.DelayBeforeRetry != 10*time.Second {
		t.Errorf("DNS_CHECK: %+v %+v", dns, dns.DNS)
	}
	if misc.Misc.Path != "/bin/check 10.0.0.3" || !misc.Misc.Dynamic || misc.ConnectIP.IsValid() {
		t.Errorf("MISC_CHECK: %+v %+v", misc, misc.Misc)
	}
	if string(udp.UDP.Payload) != "\xab\x12\x0f\x03" || !udp.UDP.RequireReply ||
		string(udp.UDP.Reply) != "\x10" || string(udp.UDP.ReplyMask) != "\xf0" || udp.UDP.MaxReplyLength != 255 {
		t.Errorf("UDP_CHECK: %+v", udp.UDP)
	}

	smtp := cfg.VirtualServers[1].RealServers[0].Checkers[0]
	if smtp.SMTP.HeloName != DefaultSMTPHeloName || smtp.Timing.Retry != 1 || smtp.Timing.DelayLoop != DefaultDelayLoop ||
		smtp.Timing.ConnectTimeout != DefaultConnectTimeout {
		t.Errorf("SMTP_CHECK defaults: %+v", smtp)
	}
}

func TestParseKeywordsOnOneLine(t *testing.T) {
	cfg, diags := parseText(t, vi1+"    authentication { auth_type PASS auth_pass 1111 }\n}\n")
	if want := []string{"7: warning: keepalived ignores 'auth_pass' after 'auth_type' on the same line"}; !slices.Equal(diags, want) {
		t.Fatalf("diagnostics:\n got %q\nwant %q", diags, want)
	}
	if a := cfg.Instances[0].Auth; a == nil || a.Type != AuthPass || a.Pass != "1111" || a.Pos.Line != 7 {
		t.Errorf("authentication: %+v", a)
	}
}

func TestParseStatic(t *testing.T) {
	cfg, diags := parseText(t, `
static_ipaddress {
    192.168.1.1/24 dev eth0 scope link
}
static_routes {
    src 192.168.1.1 10.9.0.0/16 via 192.168.1.254 dev eth0 table 100 metric 5 onlink
    blackhole 10.10.0.0/16 no_track
}
static_rules {
    from 10.0.0.0/8 table 100 priority 100
    to 10.1.0.0/16 lookup main preference 101 no_track
}
`)
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	if a := cfg.StaticAddresses; len(a) != 1 || a[0].Dev != "eth0" || a[0].Scope != ScopeLink {
		t.Errorf("static_ipaddress: %+v", a)
	}
	r := cfg.StaticRoutes
	want := Route{Pos: Pos{"t.conf", 6}, To: netip.MustParsePrefix("10.9.0.0/16"), Src: netip.MustParseAddr("192.168.1.1"),
		Via: netip.MustParseAddr("192.168.1.254"), Dev: "eth0", Table: 100, Metric: 5, OnLink: true}
	if len(r) != 2 || !equalJSON(t, r[0], want) || r[1].Type != RouteBlackhole {
		t.Errorf("static_routes: %+v", r)
	}
	if ru := cfg.StaticRules; len(ru) != 2 || ru[0].Priority != 100 || ru[0].Table != 100 || ru[1].To != netip.MustParsePrefix("10.1.0.0/16") || !ru[1].NoTrack {
		t.Errorf("static_rules: %+v", ru)
	}
}

func TestParseGlobal(t *testing.T) {
	cfg, diags := parseText(t, `
global_defs {
    router_id LVS_1
    notification_email {
        a@example.com
        b@example.com
    }
    smtp_server 10.0.0.25 2525
    enable_script_security
    script_user nobody nogroup
    vrrp_mcast_group4 224.0.0.19
    notify_fifo /run/k.fifo
    notify_fifo_script /bin/reader root
    lvs_timeouts tcp 900 tcpfin 30 udp 60
    lvs_sync_daemon eth1 VI_1 id 5
    lvs_flush_on_stop VS
    max_auto_priority 50
    process_names
}
`)
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	g := cfg.Global
	if g.RouterID != "LVS_1" || !slices.Equal(g.NotificationEmail, []string{"a@example.com", "b@example.com"}) ||
		g.SMTPServer != "10.0.0.25" || g.SMTPPort != 2525 || !g.EnableScriptSecurity || g.ScriptUser != "nobody" ||
		g.ScriptGroup != "nogroup" || g.VRRPMcastGroup4 != netip.MustParseAddr("224.0.0.19") ||
		g.NotifyFIFO.Path != "/run/k.fifo" || g.NotifyFIFO.Script == nil || g.NotifyFIFO.Script.User != "root" ||
		g.LVSTimeouts != (LVSTimeouts{TCP: 900 * time.Second, TCPFin: 30 * time.Second, UDP: 60 * time.Second}) ||
		g.LVSSyncDaemon == nil || g.LVSSyncDaemon.SyncID != 5 || g.LVSFlushOnStop != FlushOnStopVS || g.MaxAutoPriority != 50 {
		t.Errorf("global_defs: %+v", g)
	}
	if len(g.Other) != 1 || g.Other[0].Words[0] != "process_names" || g.Other[0].Pos.Line != 18 {
		t.Errorf("kept keywords: %+v", g.Other)
	}
}

func TestCheckSystem(t *testing.T) {
	src := "vrrp_instance VI_1 {\n    interface gk-nosuch0\n    virtual_router_id 1\n    track_interface {\n        lo\n    }\n" +
		"    virtual_ipaddress {\n        10.0.0.1 dev gk-nosuch1\n    }\n}\n" +
		"vrrp_instance VI_2 {\n    interface lo\n    virtual_router_id 2\n    virtual_ipaddress {\n        10.0.0.2\n    }\n}\n"
	_, ds := Parse("t.conf", []byte(src), Options{ConfigID: "main"})
	if ds = ds.Keepalived(); len(ds) != 0 {
		t.Fatalf("without CheckSystem: %v", ds)
	}
	_, ds = Parse("t.conf", []byte(src), Options{ConfigID: "main", CheckSystem: true})
	var got []string
	for _, d := range ds {
		got = append(got, d.String())
	}
	want := []string{
		"t.conf:2: WARNING - interface gk-nosuch0 for vrrp_instance VI_1 doesn't exist",
		"t.conf:8: WARNING - interface gk-nosuch1 for ip address 10.0.0.1 doesn't exist",
		"t.conf:12: (VI_2) cannot use a loopback interface (lo) for vrrp - ignoring",
		"t.conf:11: (VI_2) Unknown interface!",
		"Non-existent interface specified in configuration",
	}
	if !slices.Equal(got, want) {
		t.Errorf("with CheckSystem:\n got %q\nwant %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(t.TempDir()+"/nothing.conf", Options{})
	if err == nil || !strings.Contains(err.Error(), "nothing.conf") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// TestPreprocessorConf checks what testdata/preprocessor.conf, which
// keepalived accepts (TestKeepalivedAgrees), expands to.
func TestPreprocessorConf(t *testing.T) {
	cfg, ds, err := Load("testdata/preprocessor.conf", Options{ConfigID: "main"})
	if ds = ds.Keepalived(); err != nil || len(ds) != 0 {
		t.Fatalf("Load: %v %v", err, ds)
	}
	if cfg.Global.RouterID != "main_director" {
		t.Errorf("router_id %q", cfg.Global.RouterID)
	}
	var names []string
	for _, in := range cfg.Instances {
		names = append(names, in.Name+"/"+strconv.Itoa(in.Priority)+"/"+in.VirtualIPs[0].Prefix.String())
	}
	want := []string{"VI_1/200/10.0.1.1/24", "VI_2/200/10.0.2.1/24", "VI_3/200/10.0.3.1/24", "VI_9/100/2001:db8::a/64"}
	if !slices.Equal(names, want) {
		t.Errorf("instances:\n got %q\nwant %q", names, want)
	}
	if v := cfg.Instances[3].VirtualIPs; len(v) != 3 || v[2].Prefix.String() != "2001:db8::c/64" {
		t.Errorf("~SEQx addresses: %v", v)
	}
	if n := cfg.Instances[3].Notify.Master; n == nil || n.Cmd != "/bin/true #not a comment" {
		t.Errorf("notify_master: %+v", n)
	}
	var services []string
	for _, vs := range cfg.VirtualServers {
		s := vs.Name()
		for _, rs := range vs.RealServers {
			s += " " + rs.Addr.String() + ":" + strconv.Itoa(int(rs.Port))
		}
		services = append(services, s)
	}
	wantServices := []string{
		"[10.0.9.1]:tcp:80 10.0.9.10:80 10.0.9.12:80 10.0.9.14:80",
		"[10.0.9.2]:tcp:443 10.0.9.10:443 10.0.9.12:443 10.0.9.14:443",
	}
	if !slices.Equal(services, wantServices) {
		t.Errorf("virtual servers:\n got %q\nwant %q", services, wantServices)
	}
	if p := cfg.VirtualServers[1].RealServers[2].Pos; !strings.HasSuffix(p.File, "testdata/include/services.inc") || p.Line != 2 {
		t.Errorf("position of an included, expanded real server: %v", p)
	}
}

// TestNotifyPriorityChangesInheritance: an instance's own
// notify_priority_changes wins, then its sync group's, then
// vrrp_notify_priority_changes, as keepalived resolves them.
func TestNotifyPriorityChangesInheritance(t *testing.T) {
	text, err := os.ReadFile("testdata/diff/valid-notify-priority-changes.conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := parseText(t, string(text)+strings.Replace(vi1, "VI_1", "VI_3", 1)+"}\n")
	got := map[string]bool{}
	for _, in := range cfg.Instances {
		got[in.Name] = in.NotifyPriorityChanges
	}
	// VI_1 sets it, VI_2 takes its group's false, and the instance
	// outside the group takes the global true.
	if len(cfg.Instances) != 3 || !got["VI_1"] || got["VI_2"] || !cfg.Instances[2].NotifyPriorityChanges {
		t.Errorf("notify_priority_changes: %v, %+v", got, cfg.Instances[2].Name)
	}
}
