package config

import (
	"encoding"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// withIproute2 points the parser at a directory holding the given
// iproute2 names files for the rest of the test.
func withIproute2(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := iproute2Dir
	iproute2Dir = dir
	t.Cleanup(func() { iproute2Dir = old })
}

// spelling is one word a parse function is given and what it must make
// of it; ok false means refused.
type spelling[T comparable] struct {
	word string
	want T
	ok   bool
}

func checkSpellings[T comparable](t *testing.T, what string, parse func(string) (T, bool), tests []spelling[T]) {
	t.Helper()
	for _, tt := range tests {
		got, ok := parse(tt.word)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("%s %q = %v, %v; want %v, %v", what, tt.word, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseScope(t *testing.T) {
	withIproute2(t, nil)
	sys := &rtFiles{}
	checkSpellings(t, "scope", func(w string) (Scope, bool) { return parseScope(w, sys) }, []spelling[Scope]{
		{"global", ScopeGlobal, true}, {"site", ScopeSite, true}, {"link", ScopeLink, true},
		{"host", ScopeHost, true}, {"nowhere", ScopeNowhere, true},
		{"0", ScopeGlobal, true}, {"200", ScopeSite, true}, {"253", ScopeLink, true}, {"17", 17, true},
		{"255", ScopeNowhere, true}, {"0xfd", ScopeLink, true}, {"010", 8, true}, {"+5", 5, true}, {"-0", 0, true},
		{"256", 0, false}, {"-1", 0, false}, {"universe", 0, false}, {"LINK", 0, false},
		{"", 0, false}, {"0x", 0, false}, {"5x", 0, false}, {"08", 0, false},
	})
}

func TestParseScopeRTScopes(t *testing.T) {
	// keepalived's defaults give way to the file's name for the same id.
	withIproute2(t, map[string]string{"rt_scopes": "# comment\n17\tcampus\n253 lan\n18 two words here\n300 big\n"})
	sys := &rtFiles{}
	checkSpellings(t, "scope", func(w string) (Scope, bool) { return parseScope(w, sys) }, []spelling[Scope]{
		{"campus", 17, true}, {"lan", ScopeLink, true}, {"host", ScopeHost, true},
		{"link", 0, false}, {"two", 0, false}, {"big", 0, false}, {"comment", 0, false},
	})
}

func TestParseTable(t *testing.T) {
	withIproute2(t, map[string]string{"rt_tables": "255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n100 isp1 # uplink\n#101 isp2\n0x66 isp3\n"})
	sys := &rtFiles{}
	checkSpellings(t, "table", func(w string) (Table, bool) { return parseTable(w, sys) }, []spelling[Table]{
		{"main", TableMain, true}, {"local", TableLocal, true}, {"default", TableDefault, true},
		{"unspec", TableUnspec, true}, {"isp1", 100, true}, {"isp3", 102, true},
		{"254", TableMain, true}, {"1000", 1000, true}, {"4294967295", 1<<32 - 1, true}, {"0x10", 16, true},
		{"4294967296", 0, false}, {"isp2", 0, false}, {"Main", 0, false}, {"-1", 0, false},
	})
}

func TestParseTableWithoutRTTables(t *testing.T) {
	withIproute2(t, nil)
	sys := &rtFiles{}
	checkSpellings(t, "table", func(w string) (Table, bool) { return parseTable(w, sys) }, []spelling[Table]{
		{"main", TableMain, true}, {"local", TableLocal, true}, {"default", TableDefault, true},
		{"unspec", 0, false}, {"isp1", 0, false},
	})
}

func TestParseRouteProtocol(t *testing.T) {
	withIproute2(t, map[string]string{"rt_protos": "18 keepalived\n"})
	sys := &rtFiles{}
	checkSpellings(t, "protocol", func(w string) (RouteProtocol, bool) { return parseRouteProtocol(w, sys) }, []spelling[RouteProtocol]{
		{"none", 0, true}, {"redirect", 1, true}, {"kernel", 2, true}, {"boot", 3, true}, {"static", 4, true},
		{"gated", 8, true}, {"ra", 9, true}, {"mrt", 10, true}, {"zebra", 11, true}, {"bird", 12, true},
		{"dnrouted", 13, true}, {"xorp", 14, true}, {"ntk", 15, true}, {"dhcp", 16, true}, {"babel", 42, true},
		{"keepalived", RouteProtocolKeepalived, true}, {"18", RouteProtocolKeepalived, true}, {"255", 255, true},
		{"256", 0, false}, {"ospf", 0, false},
	})
}

func TestParseRouteType(t *testing.T) {
	checkSpellings(t, "route type", parseRouteType, []spelling[RouteType]{
		{"unicast", RouteUnicast, true}, {"local", RouteLocal, true}, {"broadcast", RouteBroadcast, true},
		{"brd", RouteBroadcast, true}, {"anycast", RouteAnycast, true}, {"multicast", RouteMulticast, true},
		{"blackhole", RouteBlackhole, true}, {"unreachable", RouteUnreachable, true},
		{"prohibit", RouteProhibit, true}, {"throw", RouteThrow, true}, {"nat", RouteNAT, true},
		{"xresolve", RouteXResolve, true}, {"0", RouteUnspec, true}, {"6", RouteBlackhole, true},
		{"0x9", RouteThrow, true}, {"255", 255, true},
		{"256", 0, false}, {"-1", 0, false}, {"Blackhole", 0, false}, {"10.0.0.0/8", 0, false}, {"default", 0, false},
	})
}

func TestParseRuleAction(t *testing.T) {
	checkSpellings(t, "rule action", parseRuleAction, []spelling[RuleAction]{
		{"nop", RuleNop, true}, {"blackhole", RuleBlackhole, true}, {"unreachable", RuleUnreachable, true},
		{"prohibit", RuleProhibit, true}, {"6", RuleBlackhole, true}, {"8", RuleProhibit, true},
		{"unicast", 0, false}, {"throw", 0, false}, {"goto", 0, false}, {"table", 0, false},
	})
}

func TestParseBroadcast(t *testing.T) {
	checkSpellings(t, "broadcast", parseBroadcast, []spelling[Broadcast]{
		{"+", Broadcast{Kind: BroadcastOnes}, true}, {"-", Broadcast{Kind: BroadcastZeros}, true},
		{"10.0.0.255", Broadcast{Kind: BroadcastAddr, Addr: netip.MustParseAddr("10.0.0.255")}, true},
		{"2001:db8::ff", Broadcast{}, false}, {"", Broadcast{}, false}, {"++", Broadcast{}, false}, {"x", Broadcast{}, false},
	})
}

func TestBroadcastAddr(t *testing.T) {
	for _, tt := range []struct {
		prefix string
		brd    Broadcast
		want   string // "" for none
	}{
		{"10.1.2.3/24", Broadcast{}, ""},
		{"10.1.2.3/24", Broadcast{Kind: BroadcastOnes}, "10.1.2.255"},
		{"10.1.2.3/24", Broadcast{Kind: BroadcastZeros}, "10.1.2.0"},
		{"10.1.2.3/20", Broadcast{Kind: BroadcastOnes}, "10.1.15.255"},
		{"10.1.2.3/30", Broadcast{Kind: BroadcastOnes}, "10.1.2.3"},
		{"10.1.2.3/31", Broadcast{Kind: BroadcastOnes}, ""},
		{"10.1.2.3/24", Broadcast{Kind: BroadcastAddr, Addr: netip.MustParseAddr("10.1.2.127")}, "10.1.2.127"},
	} {
		a := Address{Prefix: netip.MustParsePrefix(tt.prefix), Broadcast: tt.brd}
		got := a.BroadcastAddr()
		if (tt.want == "" && got.IsValid()) || (tt.want != "" && got != netip.MustParseAddr(tt.want)) {
			t.Errorf("%s brd %q: %v, want %q", tt.prefix, tt.brd, got, tt.want)
		}
	}
}

func TestParseClosedWords(t *testing.T) {
	checkSpellings(t, "state", parseState, []spelling[State]{
		{"MASTER", StateMaster, true}, {"BACKUP", StateBackup, true}, {"master", 0, false}, {"FAULT", 0, false},
	})
	checkSpellings(t, "auth_type", parseAuthType, []spelling[AuthType]{
		{"PASS", AuthPass, true}, {"AH", AuthAH, true}, {"pass", 0, false}, {"MD5", 0, false},
	})
	checkSpellings(t, "lvs_method", parseLBKind, []spelling[LBKind]{
		{"NAT", LBKindNAT, true}, {"DR", LBKindDR, true}, {"TUN", LBKindTUN, true}, {"nat", 0, false}, {"FULLNAT", 0, false},
	})
	checkSpellings(t, "tunnel type", parseTunnelType, []spelling[TunnelType]{
		{"ipip", TunnelIPIP, true}, {"gue", TunnelGUE, true}, {"gre", TunnelGRE, true}, {"GRE", 0, false}, {"vxlan", 0, false},
	})
	checkSpellings(t, "tunnel checksum", parseTunnelChecksum, []spelling[TunnelChecksum]{
		{"nocsum", NoChecksum, true}, {"csum", Checksum, true}, {"remcsum", RemoteChecksum, true}, {"CSUM", 0, false},
	})
	checkSpellings(t, "protocol", parseProtocol, []spelling[Protocol]{
		{"TCP", ProtocolTCP, true}, {"tcp", ProtocolTCP, true}, {"Udp", ProtocolUDP, true}, {"SCTP", ProtocolSCTP, true},
		{"sctp", ProtocolSCTP, true}, {"ICMP", 0, false}, {"", 0, false},
	})
	var scheds []spelling[Scheduler]
	for i, name := range []string{"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"} {
		s, _ := parseScheduler(name)
		if s.String() != name {
			t.Errorf("scheduler %d %q reads as %v", i, name, s)
		}
		scheds = append(scheds, spelling[Scheduler]{name, s, true})
	}
	scheds = append(scheds, spelling[Scheduler]{"WRR", 0, false}, spelling[Scheduler]{"fq", 0, false})
	checkSpellings(t, "lvs_sched", parseScheduler, scheds)
	checkSpellings(t, "scheduler flag", parseSchedFlag, []spelling[SchedFlag]{
		{"flag-1", SchedFlag1, true}, {"flag-2", SchedFlag2, true}, {"flag-3", SchedFlag3, true},
		{"sh-port", SHPort, true}, {"sh-fallback", SHFallback, true}, {"mh-port", MHPort, true},
		{"mh-fallback", MHFallback, true}, {"flag-4", 0, false}, {"ops", 0, false},
	})
	checkSpellings(t, "ip_family", parseFamily, []spelling[Family]{
		{"inet", FamilyInet, true}, {"inet6", FamilyInet6, true}, {"ipv4", 0, false},
	})
	checkSpellings(t, "http_protocol", parseHTTPProtocol, []spelling[HTTPProtocol]{
		{"1.0", HTTP10, true}, {"1.0C", HTTP10C, true}, {"1.0c", HTTP10C, true}, {"1.1", HTTP11, true},
		{"2.0", 0, false}, {"1.1C", 0, false},
	})
}

// textValue is a value of one of the vocabularies, and a fresh one to
// read its text into.
type textValue interface {
	encoding.TextMarshaler
	String() string
}

// roundTrip marshals v and reads the text back into into, which must then
// equal v.
func roundTrip[T interface {
	comparable
	textValue
}, P interface {
	*T
	encoding.TextUnmarshaler
}](t *testing.T, values []T) {
	t.Helper()
	for _, v := range values {
		b, err := v.MarshalText()
		if err != nil {
			t.Errorf("%#v: MarshalText: %v", v, err)
			continue
		}
		if string(b) != v.String() {
			t.Errorf("%#v: MarshalText %q, String %q", v, b, v.String())
		}
		var got T
		if err := P(&got).UnmarshalText(b); err != nil {
			t.Errorf("%#v: UnmarshalText(%q): %v", v, b, err)
			continue
		}
		if got != v {
			t.Errorf("%#v: %q reads back as %#v", v, b, got)
		}
	}
}

func TestMarshalTextRoundTrip(t *testing.T) {
	var scopes []Scope
	var protos []RouteProtocol
	for i := range 256 {
		scopes = append(scopes, Scope(i))
		protos = append(protos, RouteProtocol(i))
	}
	roundTrip(t, scopes)
	roundTrip(t, protos)
	roundTrip(t, []Table{TableUnspec, TableDefault, TableMain, TableLocal, 1, 100, 1<<32 - 1})
	roundTrip(t, RouteTypes())
	roundTrip(t, RuleActions())
	roundTrip(t, []Broadcast{{}, {Kind: BroadcastOnes}, {Kind: BroadcastZeros},
		{Kind: BroadcastAddr, Addr: netip.MustParseAddr("192.0.2.255")}})
	roundTrip(t, []State{StateBackup, StateMaster})
	roundTrip(t, []AuthType{AuthNone, AuthPass, AuthAH})
	roundTrip(t, LBKinds())
	roundTrip(t, TunnelTypes())
	roundTrip(t, TunnelChecksums())
	roundTrip(t, Protocols())
	roundTrip(t, Schedulers())
	roundTrip(t, SchedFlags())
	roundTrip(t, []Family{FamilyUnspec, FamilyInet, FamilyInet6})
	roundTrip(t, []FlushOnStop{FlushOnStopNone, FlushOnStopAll, FlushOnStopVS})
	roundTrip(t, HTTPProtocols())
}

// TestEveryValueNamed fails when a value is added to a vocabulary without
// a name, which String would show as Type(N).
func TestEveryValueNamed(t *testing.T) {
	var all []textValue
	for _, v := range RouteTypes()[1:] {
		all = append(all, v)
	}
	for _, v := range RuleActions()[1:] {
		all = append(all, v)
	}
	for _, v := range LBKinds() {
		all = append(all, v)
	}
	for _, v := range TunnelTypes() {
		all = append(all, v)
	}
	for _, v := range TunnelChecksums() {
		all = append(all, v)
	}
	for _, v := range Protocols()[1:] {
		all = append(all, v)
	}
	for _, v := range Schedulers() {
		all = append(all, v)
	}
	for _, v := range SchedFlags() {
		all = append(all, v)
	}
	for _, v := range HTTPProtocols() {
		all = append(all, v)
	}
	all = append(all, StateBackup, StateMaster, AuthPass, AuthAH, FamilyInet, FamilyInet6, FlushOnStopAll, FlushOnStopVS,
		Broadcast{Kind: BroadcastOnes}, Broadcast{Kind: BroadcastZeros})
	for _, v := range all {
		if s := v.String(); s == "" || strings.Contains(s, "(") {
			t.Errorf("%#v has no name: %q", v, s)
		}
	}
	if len(Schedulers()) != 14 || !slices.Contains(Schedulers(), SchedTwoS) {
		t.Errorf("Schedulers() = %v, want keepalived's 14", Schedulers())
	}
}

// TestParseVocabularyDiagnostics checks the messages keepalived gives for
// the values it refuses, and the warnings for those it accepts that the
// kernel does not.
func TestParseVocabularyDiagnostics(t *testing.T) {
	withIproute2(t, nil)
	tests := []struct {
		name  string
		src   string
		diags []string
	}{
		{name: "address scope", src: "static_ipaddress {\n10.0.0.2/24 dev eth0 scope universe\n}\n",
			diags: []string{"2: error: Invalid scope 'universe' specified for 10.0.0.2/24 - ignoring"}},
		{name: "IPv6 address scope", src: "static_ipaddress {\n2001:db8::1/64 dev eth0 scope 253\n}\n",
			diags: []string{"2: error: Cannot specify scope for IPv6 addresses (2001:db8::1/64) - ignoring scope"}},
		{name: "IPv6 address label", src: "static_ipaddress {\n2001:db8::1/64 dev eth0 label eth0:x\n}\n",
			diags: []string{"2: error: Cannot specify label for IPv6 addresses (2001:db8::1/64) - ignoring label"}},
		{name: "broadcast too long", src: "static_ipaddress {\n10.0.0.2/31 dev eth0 brd -\n}\n",
			diags: []string{"2: error: Address prefix length 31 too long for broadcast"}},
		{name: "broadcast IPv6", src: "static_ipaddress {\n10.0.0.2/24 dev eth0 brd 2001:db8::ff\n}\n",
			diags: []string{"2: error: VRRP is trying to assign invalid broadcast 2001:db8::ff. skipping VIP..."}},
		{name: "route table", src: "static_routes {\n10.1.0.0/16 dev eth0 table isp9 no_track\n}\n",
			diags: []string{"2: error: Routing table isp9 not found for route"}},
		{name: "route scope", src: "static_routes {\n10.1.0.0/16 dev eth0 scope 256 no_track\n}\n",
			diags: []string{"2: error: Scope 256 not found or invalid for route"}},
		{name: "route protocol", src: "static_routes {\n10.1.0.0/16 dev eth0 protocol ospf no_track\n}\n",
			diags: []string{"2: error: Protocol ospf not found or invalid for route"}},
		{name: "tracked route protocol", src: "static_routes {\n10.1.0.0/16 dev eth0 protocol static\n}\n",
			diags: []string{"2: error: Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"}},
		{name: "route proto is not a keyword", src: "static_routes {\n10.1.0.0/16 dev eth0 proto static no_track\n}\n",
			diags: []string{"2: error: VRRP parsed invalid IP proto. skipping IP...", "2: error: unknown route keyword proto"}},
		{name: "route nat", src: "static_routes {\nnat 10.1.0.0/16 dev eth0 no_track\n}\n",
			diags: []string{"2: warning: The kernel refuses nat routes: installing route 10.1.0.0/16 will fail"}},
		{name: "route type number", src: "static_routes {\n200 10.1.0.0/16 dev eth0 no_track\n}\n",
			diags: []string{"2: warning: Route type 200 is not one the kernel has - ignoring route"}},
		{name: "virtual route protocol", src: vi1 + "virtual_routes {\n10.1.0.0/16 dev eth0 protocol static no_track\n}\n}\n"},
		{name: "rule fwmark", src: "static_rules {\nfrom 10.0.0.0/8 table 5 priority 5 fwmark 0x3/-1\n}\n",
			diags: []string{"2: error: Invalid rule fwmark 0x3/-1 specified"}},
		{name: "rule table 0", src: "static_rules {\nfrom 10.0.0.0/8 table 0 priority 5\n}\n",
			diags: []string{"2: error: Table 0 is not valid"}},
		{name: "rule without action", src: "static_rules {\nfrom 10.0.0.0/8 priority 5\n}\n",
			diags: []string{"2: error: No action specified for rule - ignoring"}},
		{name: "rule with two actions", src: "static_rules {\nfrom 10.0.0.0/8 blackhole table 5 priority 5\n}\n",
			diags: []string{"2: error: Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule"}},
		{name: "rule route type", src: "static_rules {\nfrom 10.0.0.0/8 throw priority 5\n}\n",
			diags: []string{"2: error: Invalid rule action throw"}},
		{name: "protocol in lower case", src: "virtual_server 10.0.0.100 80 {\nlb_algo rr\nlb_kind NAT\nprotocol tcp\nreal_server 10.0.0.1 80 {\n}\n}\n"},
		{name: "sh flag without sh", src: vs80 + "sh-port\nreal_server 10.0.0.1 80 {\n}\n}\n",
			diags: []string{"5: error: sh-port only applies to sh scheduler - ignoring"}},
		{name: "http_protocol 1.0c", src: vs80 + "real_server 10.0.0.1 80 {\nHTTP_GET {\nhttp_protocol 1.0c\nurl {\npath /\n}\n}\n}\n}\n"},
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

func TestParseRoutesAndRules(t *testing.T) {
	withIproute2(t, map[string]string{"rt_tables": "254 main\n100 isp1\n"})
	cfg, diags := parseText(t, `static_routes {
    throw 10.1.0.0/16 dev eth0 table isp1 scope 253 protocol 18
    src 10.0.0.1 brd 10.2.0.255/32 dev eth0 table local no_track
}
static_rules {
    from 10.0.0.0/8 lookup isp1 priority 5
    to 10.3.0.0/16 type unreachable priority 6
    from 10.4.0.0/16 nop priority 7
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.1/24 scope 17 brd -
    }
}
`)
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %q", diags)
	}
	r := cfg.StaticRoutes
	if len(r) != 2 || r[0].Type != RouteThrow || r[0].Table != 100 || r[0].Scope != ScopeLink || r[0].Protocol != RouteProtocolKeepalived ||
		r[1].Type != RouteBroadcast || r[1].Table != TableLocal || r[1].To != netip.MustParsePrefix("10.2.0.255/32") {
		t.Errorf("static_routes: %+v", r)
	}
	ru := cfg.StaticRules
	if len(ru) != 3 || ru[0].Table != 100 || ru[0].Action != RuleToTable || ru[1].Action != RuleUnreachable || ru[2].Action != RuleNop {
		t.Errorf("static_rules: %+v", ru)
	}
	vip := cfg.Instances[0].VirtualIPs[0]
	if vip.Scope != 17 || vip.Broadcast != (Broadcast{Kind: BroadcastZeros}) || vip.BroadcastAddr() != netip.MustParseAddr("10.0.0.0") {
		t.Errorf("virtual_ipaddress: %+v", vip)
	}
}
