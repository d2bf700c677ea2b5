package lvs

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// parse reads a configuration. keepalived reports its warnings (a default
// applied, a port reset) as configuration errors; they are only logged.
func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, ds := config.Parse("keepalived.conf", []byte(text), config.Options{ConfigID: "test"})
	for _, d := range ds {
		t.Logf("configuration: %v", d)
	}
	return cfg
}

// saveLines formats services as `ipvsadm -Sn` does, one line per service
// and destination, sorted.
func saveLines(ss []ipvs.Service) []string {
	var out []string
	for _, s := range ss {
		line := "-A " + s.String() + " -s " + s.Scheduler
		if s.Flags&ipvs.FlagPersistent != 0 {
			line += fmt.Sprintf(" -p %d", int(s.Timeout.Seconds()))
			if s.PE != "" {
				line += " --pe " + s.PE
			}
			if s.Netmask != nil {
				if ones, bits := s.Netmask.Size(); bits == 128 {
					line += fmt.Sprintf(" -M %d", ones)
				} else {
					line += " -M " + netip.AddrFrom4([4]byte(s.Netmask)).String()
				}
			}
		}
		if f := s.Flags &^ ipvs.FlagPersistent; f != 0 {
			line += fmt.Sprintf(" flags %#x", uint32(f))
		}
		out = append(out, line)
		for _, d := range s.Destinations {
			m := map[ipvs.Method]string{ipvs.NAT: "-m", ipvs.DirectRoute: "-g", ipvs.Tunnel: "-i"}[d.Method]
			dl := fmt.Sprintf("-a %s -r %s %s -w %d", s, d.Addr, m, d.Weight)
			if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
				dl += fmt.Sprintf(" -x %d -y %d", d.UpperThreshold, d.LowerThreshold)
			}
			if d.Method == ipvs.Tunnel {
				dl += fmt.Sprintf(" --tun-type %v", d.TunnelType)
				if d.TunnelPort != 0 {
					dl += fmt.Sprintf(" --tun-port %d", d.TunnelPort)
				}
				if d.TunnelFlags != 0 {
					dl += fmt.Sprintf(" flags %d", d.TunnelFlags)
				}
			}
			out = append(out, dl)
		}
	}
	slices.Sort(out)
	return out
}

func alive(weights ...int) []RealServerState {
	var st []RealServerState
	for _, w := range weights {
		st = append(st, RealServerState{Alive: w >= 0, Weight: max(w, 1)})
	}
	return st
}

func TestServices(t *testing.T) {
	const twoRS = `
virtual_server 192.0.2.1 80 {
	lb_algo rr
	protocol TCP
	%s
	real_server 10.0.0.2 80 {
		weight 2
		%s
	}
	real_server 10.0.0.3 8080 {
		weight 3
	}
}`
	// Only NAT rewrites ports: DR and TUN real servers, and the sorry
	// server, take the service's.
	const portRules = `
virtual_server 192.0.2.1 80 {
	lb_algo rr
	lb_kind DR
	protocol TCP
	%s
	real_server 10.0.0.2 8080 {
	}
	real_server 10.0.0.3 8080 {
		lvs_method TUN
	}
	real_server 10.0.0.4 8080 {
		lvs_method NAT
	}
	real_server 10.0.0.5 {
		lvs_method NAT
	}
}`
	tests := []struct {
		name  string
		conf  string
		st    State
		owned func(netip.Addr) bool
		want  []string
	}{
		{
			name: "both alive",
			conf: fmt.Sprintf(twoRS, "", ""),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: true, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 3",
			},
		},
		{
			name: "failed server leaves",
			conf: fmt.Sprintf(twoRS, "", ""),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: false, Weight: 2}, {Alive: true, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 3",
			},
		},
		{
			name: "inhibit_on_failure keeps it at weight 0",
			conf: fmt.Sprintf(twoRS, "", "inhibit_on_failure"),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: false, Weight: 2}, {Alive: true, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 0",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 3",
			},
		},
		{
			name: "virtual server inhibit_on_failure is inherited",
			conf: fmt.Sprintf(twoRS, "inhibit_on_failure", ""),
			st:   State{RealServers: []RealServerState{{Alive: false, Weight: 2}, {Alive: false, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 0",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 0",
			},
		},
		{
			name: "dynamic weights are clamped",
			conf: fmt.Sprintf(twoRS, "", ""),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: -7}, {Alive: true, Weight: 70000}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 0",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 65535",
			},
		},
		{
			name: "thresholds and DR",
			conf: fmt.Sprintf(twoRS, "lb_kind DR", "uthreshold 100\n lthreshold 10"),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: true, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -g -w 2 -x 100 -y 10",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:80 -g -w 3",
			},
		},
		{
			name: "real server lvs_method TUN gue overrides",
			conf: fmt.Sprintf(twoRS, "lb_kind DR", "lvs_method TUN type gue port 6080 remcsum"),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: false, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -i -w 2 --tun-type gue --tun-port 6080 flags 2",
			},
		},
		{
			name: "sorry server in while the quorum is down",
			conf: fmt.Sprintf(twoRS, "sorry_server 10.0.0.9 80", "inhibit_on_failure"),
			st:   State{QuorumUp: false, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: true, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 0",
				"-a -t 192.0.2.1:80 -r 10.0.0.9:80 -m -w 1",
			},
		},
		{
			name: "sorry server out with the quorum",
			conf: fmt.Sprintf(twoRS, "sorry_server 10.0.0.9 80", ""),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: false, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
			},
		},
		{
			name: "sorry_server_inhibit and sorry_server_lvs_method",
			conf: fmt.Sprintf(twoRS, "sorry_server 10.0.0.9 80\n sorry_server_inhibit\n sorry_server_lvs_method DR", ""),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: true, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 3",
				"-a -t 192.0.2.1:80 -r 10.0.0.9:80 -g -w 0",
			},
		},
		{
			name: "sorry server that is also a real server",
			conf: fmt.Sprintf(twoRS, "sorry_server 10.0.0.3 8080", ""),
			st:   State{QuorumUp: false, RealServers: []RealServerState{{Alive: false, Weight: 2}, {Alive: false, Weight: 3}}},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 1",
			},
		},
		{
			name: "persistence, granularity and scheduler flags",
			conf: fmt.Sprintf(twoRS, "persistence_timeout 600\n persistence_granularity 255.255.255.0\n lb_algo sh\n sh-port\n sh-fallback", ""),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: false, Weight: 2}, {Alive: false, Weight: 3}}},
			want: []string{"-A -t 192.0.2.1:80 -s sh -p 600 -M 255.255.255.0 flags 0x18"},
		},
		{
			name: "ha_suspend without the VIP",
			conf: fmt.Sprintf(twoRS, "ha_suspend", ""),
			st:   State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: true, Weight: 3}}},
			owned: func(a netip.Addr) bool {
				return a != netip.MustParseAddr("192.0.2.1")
			},
			want: nil,
		},
		{
			name:  "ha_suspend with the VIP",
			conf:  fmt.Sprintf(twoRS, "ha_suspend", ""),
			st:    State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 2}, {Alive: false, Weight: 3}}},
			owned: func(a netip.Addr) bool { return a == netip.MustParseAddr("192.0.2.1") },
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
			},
		},
		{
			name:  "owned is ignored without ha_suspend",
			conf:  fmt.Sprintf(twoRS, "", ""),
			st:    State{QuorumUp: true, RealServers: []RealServerState{{Alive: false, Weight: 2}, {Alive: false, Weight: 3}}},
			owned: func(netip.Addr) bool { return false },
			want:  []string{"-A -t 192.0.2.1:80 -s rr"},
		},
		{
			name: "fwmark: real server port cleared, ops",
			conf: `
virtual_server fwmark 7 {
	lb_algo wrr
	lb_kind DR
	ops
	real_server 10.0.0.2 80 {
		weight 5
	}
}`,
			st: State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 5}}},
			want: []string{
				"-A -f 7 -s wrr flags 0x4",
				"-a -f 7 -r 10.0.0.2:0 -g -w 5",
			},
		},
		{
			name: "fwmark IPv6 from its real servers, persistence prefix",
			conf: `
virtual_server fwmark 8 {
	lb_algo wlc
	lb_kind DR
	persistence_timeout
	persistence_granularity 64
	real_server 2001:db8::2 {
	}
}`,
			st: State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 1}}},
			want: []string{
				"-A -f 8 -6 -s wlc -p 360 -M 64",
				"-a -f 8 -6 -r [2001:db8::2]:0 -g -w 1",
			},
		},
		{
			name: "IPv6 UDP",
			conf: `
virtual_server 2001:db8::1 53 {
	protocol UDP
	lb_algo rr
	real_server 2001:db8::2 53 {
	}
}`,
			st: State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 1}}},
			want: []string{
				"-A -u [2001:db8::1]:53 -s rr",
				"-a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -m -w 1",
			},
		},
		{
			name: "virtual_server_group expands ranges and fwmarks",
			conf: `
virtual_server_group web {
	192.0.2.1-3 80
	fwmark 5
}
virtual_server group web {
	lb_algo rr
	lb_kind DR
	protocol TCP
	real_server 10.0.0.2 80 {
	}
}`,
			st: State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 1}}},
			want: []string{
				"-A -f 5 -s rr",
				"-A -t 192.0.2.1:80 -s rr",
				"-A -t 192.0.2.2:80 -s rr",
				"-A -t 192.0.2.3:80 -s rr",
				// A fwmark service has no port for DR to keep.
				"-a -f 5 -r 10.0.0.2:0 -g -w 1",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -g -w 1",
				"-a -t 192.0.2.2:80 -r 10.0.0.2:80 -g -w 1",
				"-a -t 192.0.2.3:80 -r 10.0.0.2:80 -g -w 1",
			},
		},
		{
			name: "DR and TUN take the service's port, NAT keeps its own",
			conf: fmt.Sprintf(portRules, "sorry_server 10.0.0.9 8081"),
			st:   State{RealServers: alive(1, 1, 1, 1)},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.9:80 -g -w 1",
			},
		},
		{
			name: "every port rule with the quorum up",
			conf: fmt.Sprintf(portRules, ""),
			st:   State{QuorumUp: true, RealServers: alive(1, 1, 1, 1)},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -g -w 1",
				"-a -t 192.0.2.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type ipip",
				"-a -t 192.0.2.1:80 -r 10.0.0.4:8080 -m -w 1",
				"-a -t 192.0.2.1:80 -r 10.0.0.5:80 -m -w 1",
			},
		},
		{
			name: "group entries give DR their ports, fwmarks none, granularity ignored, pe kept",
			conf: `
virtual_server_group web {
	192.0.2.1-2 80
	192.0.2.9 443
	fwmark 5
}
virtual_server group web {
	lb_algo rr
	lb_kind DR
	protocol UDP
	persistence_timeout 60
	persistence_granularity 255.255.255.0
	persistence_engine sip
	real_server 10.0.0.2 8080 {
	}
	real_server 10.0.0.3 8080 {
		lvs_method NAT
	}
}`,
			st: State{QuorumUp: true, RealServers: alive(1, 1)},
			want: []string{
				"-A -f 5 -s rr -p 60 --pe sip",
				"-A -u 192.0.2.1:80 -s rr -p 60 --pe sip",
				"-A -u 192.0.2.2:80 -s rr -p 60 --pe sip",
				"-A -u 192.0.2.9:443 -s rr -p 60 --pe sip",
				"-a -f 5 -r 10.0.0.2:0 -g -w 1",
				"-a -f 5 -r 10.0.0.3:8080 -m -w 1",
				"-a -u 192.0.2.1:80 -r 10.0.0.2:80 -g -w 1",
				"-a -u 192.0.2.1:80 -r 10.0.0.3:8080 -m -w 1",
				"-a -u 192.0.2.2:80 -r 10.0.0.2:80 -g -w 1",
				"-a -u 192.0.2.2:80 -r 10.0.0.3:8080 -m -w 1",
				"-a -u 192.0.2.9:443 -r 10.0.0.2:443 -g -w 1",
				"-a -u 192.0.2.9:443 -r 10.0.0.3:8080 -m -w 1",
			},
		},
		{
			name: "fwmark keeps NAT ports and clears DR's",
			conf: `
virtual_server fwmark 9 {
	lb_algo rr
	lb_kind DR
	real_server 10.0.0.2 8080 {
		weight 2
	}
	real_server 10.0.0.3 8080 {
		lvs_method NAT
		weight 3
	}
}`,
			st: State{QuorumUp: true, RealServers: alive(2, 3)},
			want: []string{
				"-A -f 9 -s rr",
				"-a -f 9 -r 10.0.0.2:0 -g -w 2",
				"-a -f 9 -r 10.0.0.3:8080 -m -w 3",
			},
		},
		{
			name: "DR real servers whose ports reset alike are one destination",
			conf: `
virtual_server 192.0.2.1 80 {
	lb_algo rr
	lb_kind DR
	protocol TCP
	real_server 10.0.0.2 8080 {
		weight 2
	}
	real_server 10.0.0.2 8081 {
		weight 3
	}
}`,
			st: State{QuorumUp: true, RealServers: alive(2, 3)},
			want: []string{
				"-A -t 192.0.2.1:80 -s rr",
				"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -g -w 2",
			},
		},
		{
			name: "ha_suspend filters the group's addresses",
			conf: `
virtual_server_group web {
	192.0.2.1-2 80
}
virtual_server group web {
	ha_suspend
	protocol TCP
	real_server 10.0.0.2 80 {
	}
}`,
			st:    State{QuorumUp: true, RealServers: []RealServerState{{Alive: true, Weight: 1}}},
			owned: func(a netip.Addr) bool { return a == netip.MustParseAddr("192.0.2.2") },
			want: []string{
				"-A -t 192.0.2.2:80 -s wlc",
				"-a -t 192.0.2.2:80 -r 10.0.0.2:80 -m -w 1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.conf)
			if len(cfg.VirtualServers) != 1 {
				t.Fatalf("%d virtual servers, want 1", len(cfg.VirtualServers))
			}
			got := Services(&cfg.VirtualServers[0], cfg.VirtualServerGroups, tt.st, tt.owned)
			for i := range got {
				if err := got[i].Validate(); err != nil {
					t.Errorf("invalid service: %v", err)
				}
			}
			if g := saveLines(got); !slices.Equal(g, slices.Sorted(slices.Values(tt.want))) {
				t.Errorf("Services:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(slices.Sorted(slices.Values(tt.want)), "\n"))
			}
		})
	}
}

func TestServicesDoNotShareDestinations(t *testing.T) {
	cfg := parse(t, `
virtual_server_group g {
	192.0.2.1-2 80
}
virtual_server group g {
	protocol TCP
	real_server 10.0.0.2 80 {
	}
}`)
	ss := Services(&cfg.VirtualServers[0], cfg.VirtualServerGroups, State{QuorumUp: true, RealServers: alive(1)}, nil)
	if len(ss) != 2 {
		t.Fatalf("%d services, want 2", len(ss))
	}
	ss[0].Destinations[0].Weight = 9
	if ss[1].Destinations[0].Weight != 1 {
		t.Fatal("services of one group share their destination slice")
	}
}

func TestRealWeight(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{-1, 0}, {0, 0}, {7, 7}, {MaxWeight, MaxWeight}, {MaxWeight + 1, MaxWeight}} {
		if got := realWeight(tt.in); got != tt.want {
			t.Errorf("realWeight(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestEveryConfigValueMaps ranges over config's vocabularies: the mappings
// panic on a value they do not know, so a value added to config fails here
// until it is mapped.
func TestEveryConfigValueMaps(t *testing.T) {
	addr := netip.MustParseAddrPort("10.0.0.1:80")
	methods := map[config.LBKind]ipvs.Method{
		config.LBKindNAT: ipvs.NAT, config.LBKindDR: ipvs.DirectRoute, config.LBKindTUN: ipvs.Tunnel,
	}
	for _, m := range config.LBKinds() {
		if d := destination(addr, config.Forwarding{Method: m}, 1); d.Method != methods[m] {
			t.Errorf("%v: method %v, want %v", m, d.Method, methods[m])
		}
	}
	types := map[config.TunnelType]ipvs.TunnelType{config.TunnelIPIP: ipvs.IPIP, config.TunnelGUE: ipvs.GUE, config.TunnelGRE: ipvs.GRE}
	flags := map[config.TunnelChecksum]ipvs.TunnelFlags{config.NoChecksum: 0, config.Checksum: ipvs.TunnelChecksum, config.RemoteChecksum: ipvs.TunnelRemoteChecksum}
	for _, tt := range config.TunnelTypes() {
		for _, c := range config.TunnelChecksums() {
			f := config.Forwarding{Method: config.LBKindTUN, Tunnel: &config.Tunnel{Type: tt, Checksum: c}}
			if d := destination(addr, f, 1); d.TunnelType != types[tt] || d.TunnelFlags != flags[c] {
				t.Errorf("TUN %v %v: %v %v", tt, c, d.TunnelType, d.TunnelFlags)
			}
		}
	}
	for _, p := range config.Protocols() {
		protocol(p)
		NotifyID(&config.VirtualServer{Addr: addr.Addr(), Port: 80, Protocol: p})
	}
	if f := serviceFlags(&config.VirtualServer{SchedFlags: config.SchedFlags()}); f != ipvs.FlagSched1|ipvs.FlagSched2|ipvs.FlagSched3 {
		t.Errorf("every scheduler flag: %v", f)
	}
	for _, fam := range []config.Family{config.FamilyUnspec, config.FamilyInet, config.FamilyInet6} {
		markFamily(&config.VirtualServer{FWMark: 1, IPFamily: fam})
	}
	for _, s := range config.Schedulers() {
		if got := Services(&config.VirtualServer{Addr: addr.Addr(), Port: 80, Scheduler: s}, nil, State{}, nil); got[0].Scheduler != s.String() {
			t.Errorf("%v: scheduler %q", s, got[0].Scheduler)
		}
	}
	for _, p := range config.HTTPProtocols() {
		c := &config.Checker{Type: config.HTTPGet, HTTP: &config.HTTPChecker{Protocol: p}}
		ck, err := CheckEnv{}.httpGet(c)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if got := ck.(*check.HTTPGet).Protocol.String(); got != p.String() {
			t.Errorf("http_protocol %v maps to %v", p, got)
		}
	}
}

// TestDestinationsLargePool checks that a virtual server of more real
// servers than smallPool, whose destinations are indexed rather than
// scanned, merges the DR real servers whose ports reset alike and lets
// the sorry server replace a real server at its address, as a small one.
func TestDestinationsLargePool(t *testing.T) {
	for _, n := range []int{smallPool / 2, smallPool + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var b strings.Builder
			b.WriteString("virtual_server 192.0.2.1 80 {\n\tlb_kind DR\n\tprotocol TCP\n\tquorum 1000\n\tsorry_server 10.0.0.1 80\n")
			var want []string
			for i := range n {
				// Each address twice: the second is the same destination.
				fmt.Fprintf(&b, "\treal_server 10.0.0.%d %d {\n\t\tweight %d\n\t\tinhibit_on_failure\n\t}\n", 1+i/2, 8000+i, 1+i)
			}
			b.WriteString("}\n")
			cfg := parse(t, b.String())
			vs := &cfg.VirtualServers[0]
			if len(vs.RealServers) != n {
				t.Fatalf("%d real servers, want %d", len(vs.RealServers), n)
			}
			st := State{RealServers: alive(make([]int, n)...)}
			for i := range st.RealServers {
				st.RealServers[i].Weight = 1 + i
			}
			// The quorum is down: the sorry server takes the place of
			// 10.0.0.1, the others are in at weight 0.
			want = append(want, "-A -t 192.0.2.1:80 -s wlc", "-a -t 192.0.2.1:80 -r 10.0.0.1:80 -g -w 1")
			for a := 2; a <= (n+1)/2; a++ {
				want = append(want, fmt.Sprintf("-a -t 192.0.2.1:80 -r 10.0.0.%d:80 -g -w 0", a))
			}
			got := saveLines(Services(vs, nil, st, nil))
			if want = slices.Sorted(slices.Values(want)); !slices.Equal(got, want) {
				t.Errorf("Services:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
