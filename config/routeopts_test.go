package config

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestUnappliedLineOptions checks that an option of an address, route or
// rule line that the daemon takes but does not install is reported with
// its line, and that those it installs are not.
func TestUnappliedLineOptions(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"route", "static_routes {\n10.1.0.0/16 dev eth0 mtu lock 1400 cwnd lock 5 onlink pervasive metric 5 pref high\n}\n",
			[]string{"t.conf:2: route option lock (other than on mtu and rto_min)", "t.conf:2: route option pervasive", "t.conf:2: route option pref"}},
		{"rule", "static_rules {\nfrom 10.0.0.0/8 table 5 priority 5 tos 0x10 fwmark 0x3/0xff iif eth0 oif eth1 not tunnel-id 7 " +
			"realms 3 suppress_prefixlength 0 suppress_ifgroup 1 uidrange 1-2 ipproto 6 sport 1-2 dport 3-4\n}\n",
			[]string{"t.conf:2: rule option tunnel-id"}},
		{"l3mdev", "static_rules {\nfrom 10.0.0.0/8 l3mdev priority 5\n}\n", []string{"t.conf:2: rule option l3mdev"}},
		{"vip use_vmac", vi1 + "virtual_ipaddress {\n10.1.0.1/24 dev eth1 use_vmac\n}\n}\n",
			[]string{"t.conf:8: virtual_ipaddress option use_vmac"}},
		{"static address", "track_group G {\ngroup {\nVI_1\n}\n}\nstatic_ipaddress {\n10.1.0.1/24 dev eth0 home label eth0:1 track_group G\n}\n", nil},
		{"vrrp route", vi1 + "virtual_routes {\n10.1.0.0/16 dev eth0 realms 5 expires 5 no_track\n}\n}\n",
			[]string{"t.conf:8: route option expires"}},
		{"nexthop", "static_routes {\n10.1.0.0/16 nexthop via 10.0.0.1 realms 3 nexthop via 10.0.0.2 dev eth0 weight 3 onlink\n}\n",
			[]string{"t.conf:2: route option nexthop realms"}},
		{"applied only", "static_routes {\n10.1.0.0/16 via 10.0.0.1 dev eth0 src 10.0.0.2 table 5 metric 3 scope link protocol 18 onlink " +
			"mtu lock 1400 rto_min lock 300ms rtt 1s rttvar 1s advmss 1 hoplimit 2 window 3 cwnd 4 ssthresh 5 reordering 6 " +
			"initcwnd 7 initrwnd 8 quickack 1 fastopen_no_cookie 1 features ecn congctl cubic tos 8 realms 1/2\n}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := Parse("t.conf", []byte(tt.src), Options{ConfigID: "main"})
			var got []string
			for _, d := range ds {
				// The keywords of the blocks themselves are the
				// compatibility table's to list.
				if d.Severity == Unimplemented && strings.Contains(d.Msg, " option ") {
					got = append(got, d.Pos.File+":"+strconv.Itoa(d.Pos.Line)+": "+strings.TrimSuffix(d.Msg, ": gokeepalived does not implement this keyword; it has no effect"))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("unimplemented options:\n got %q\nwant %q\nall: %v", got, tt.want, ds)
			}
		})
	}
}

// TestParseRuleSelectors checks the typed rule selectors the daemon
// installs.
func TestParseRuleSelectors(t *testing.T) {
	cfg, diags := parseText(t, "static_rules {\ninet6 inet6 not fwmark 0x10/0xff dev eth0 oif eth1 priority 7 goto 9\nfrom 10.0.0.0/8 fwmark 12 lookup 100 priority 8\n}\n")
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	r := cfg.StaticRules
	if len(r) != 2 {
		t.Fatalf("rules: %+v", r)
	}
	// keepalived steps over the word after inet6, and takes "all" for
	// IPv4.
	_, diags = parseText(t, "static_rules {\ninet6 fwmark 3 lookup 5 priority 7\ninet6 inet6 from all lookup 5 priority 8\n}\n")
	if want := []string{"2: error: Invalid rule action 3", "3: error: rule specification has mixed IPv4 and IPv6"}; !slices.Equal(diags, want) {
		t.Errorf("diagnostics: %q, want %q", diags, want)
	}
	if !r[0].IPv6 || !r[0].Invert || r[0].Fwmark == nil || *r[0].Fwmark != (Fwmark{Mark: 0x10, Mask: 0xff, HasMask: true}) ||
		r[0].Iif != "eth0" || r[0].Oif != "eth1" || r[0].Action != RuleGoto || r[0].Goto != 9 || r[0].Priority != 7 {
		t.Errorf("rule 1: %+v", r[0])
	}
	if r[1].Fwmark == nil || *r[1].Fwmark != (Fwmark{Mark: 12}) || r[1].Action != RuleToTable || r[1].Table != 100 {
		t.Errorf("rule 2: %+v", r[1])
	}
}

// TestDefaultRouteFamily checks that a default route takes its family
// from its gateway or source, as keepalived's does, and is IPv4 without
// either.
func TestDefaultRouteFamily(t *testing.T) {
	cfg, diags := parseText(t, "static_routes {\ndefault via fd00::1 dev eth0 table 5\ndefault src fd00::2 dev eth0 table 6\ndefault via 10.0.0.1 dev eth0\nblackhole default table 7 no_track\n}\n")
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	var got []string
	for _, r := range cfg.StaticRoutes {
		got = append(got, r.To.String())
	}
	if want := []string{"::/0", "::/0", "0.0.0.0/0", "0.0.0.0/0"}; !slices.Equal(got, want) {
		t.Errorf("destinations %q, want %q", got, want)
	}
}

// TestNodadSpelling checks that only -nodad turns duplicate address
// detection back on: keepalived knows no "nodad" and says so.
func TestNodadSpelling(t *testing.T) {
	cfg, diags := parseText(t, "static_ipaddress {\nfd00::1/64 dev eth0 -nodad\nfd00::2/64 dev eth0 nodad\n}\n")
	if want := []string{"3: error: Unknown configuration entry 'nodad' for ip address - ignoring"}; !slices.Equal(diags, want) {
		t.Errorf("diagnostics %q, want %q", diags, want)
	}
	if a := cfg.StaticAddresses; len(a) != 2 || !a[0].NoDAD || a[1].NoDAD {
		t.Errorf("addresses %+v", a)
	}
}
