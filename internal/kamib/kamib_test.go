package kamib

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// render lists a builder's variables as "OID TYPE VALUE", relative to
// Root, in the MIB's order.
func render(b *agentx.Builder) []string {
	var out []string
	for _, v := range b.View().All() {
		name := strings.TrimPrefix(v.Name.String(), Root.String()+".")
		val := v.Value
		if bs, ok := val.([]byte); ok {
			if v.Type == agentx.OctetString && strings.ToValidUTF8(string(bs), "") == string(bs) && !strings.ContainsAny(string(bs), "\x00") {
				val = fmt.Sprintf("%q", bs)
			} else {
				val = fmt.Sprintf("% x", bs)
			}
		}
		out = append(out, fmt.Sprintf("%s %v %v", name, v.Type, val))
	}
	return out
}

func TestGlobalDefaults(t *testing.T) {
	// No smtp_server: keepalived's unset address is type ipv6 and four
	// zero bytes, the port and timeout zero; no router_id, no
	// notification_email_from: no variable.
	g := Global{Version: "v", EmailFaults: true}
	var b agentx.Builder
	g.Fill(&b)
	got := render(&b)
	want := []string{
		`1.1.0 OctetString "v"`,
		`1.3.1.0 Integer 2`,
		`1.3.2.0 OctetString 00 00 00 00`,
		`1.3.3.0 Gauge32 0`,
		`1.3.6.0 Gauge32 0`,
		`1.3.7.0 Integer 1`,
		`1.3.8.0 Integer 3`,
		`1.3.9.0 Integer 3`,
		`1.3.10.0 Integer 3`,
		`1.4.0 Integer 2`,
		`1.5.0 Integer 1`,
		`1.6.0 Integer 2`,
		`1.7.0 Integer 2`,
		`1.8.0 OctetString ""`,
		`1.9.0 Integer 2`,
		`1.10.0 Integer 2`,
		`1.11.0 Integer 2`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGlobalSet(t *testing.T) {
	on, off := true, false
	g := Global{Version: "v", RouterID: "r", SMTPServer: netip.MustParseAddr("2001:db8::25"), SMTPPort: 2525,
		SMTPTimeout: 7, EmailFrom: "f@x", Emails: []string{"a@x", "b@x"}, SMTPAlert: TriOf(&on),
		SMTPAlertVRRP: TriOf(&off), SMTPAlertLVS: TriOf(nil), Traps: true, LinkbeatPolling: true,
		LVSFlush: true, LVSFlushOnStop: FlushVS, IPVS64BitStats: true, NetNamespace: "ns", DBus: true, Dynamic: true}
	var b agentx.Builder
	g.Fill(&b)
	got := render(&b)
	want := []string{
		`1.1.0 OctetString "v"`,
		`1.2.0 OctetString "r"`,
		`1.3.1.0 Integer 2`,
		`1.3.2.0 OctetString 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 25`,
		`1.3.3.0 Gauge32 7`,
		`1.3.4.0 OctetString "f@x"`,
		`1.3.5.1.2.1 OctetString "a@x"`,
		`1.3.5.1.2.2 OctetString "b@x"`,
		`1.3.6.0 Gauge32 2525`,
		`1.3.7.0 Integer 2`,
		`1.3.8.0 Integer 1`,
		`1.3.9.0 Integer 2`,
		`1.3.10.0 Integer 3`,
		`1.4.0 Integer 1`,
		`1.5.0 Integer 2`,
		`1.6.0 Integer 1`,
		`1.7.0 Integer 1`,
		`1.8.0 OctetString "ns"`,
		`1.9.0 Integer 1`,
		`1.10.0 Integer 1`,
		`1.11.0 Integer 3`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func addr(p string) Address {
	return Address{Prefix: netip.MustParsePrefix(p), IfIndex: 2, IfName: "eth0", Set: true}
}

// TestVRRPIndexes checks the tables' indexes and keepalived's quirks:
// the addresses of all instances numbered on per instance with the
// excluded ones after the VIPs, static addresses at index 0, only the
// first instance's VIPs advertised, no variable for unset strings, the
// VRRPv2 accept column 0, no multicast columns for unicast.
func TestVRRPIndexes(t *testing.T) {
	v := VRRP{
		Groups: []SyncGroup{{Name: "G", State: StateMaster, Members: []string{"A", "B"}}},
		Instances: []Instance{
			{Name: "A", VRID: 1, State: StateMaster, Version: 2, Accept: true, McastGroup: netip.MustParseAddr("224.0.0.18"),
				VIPs: []Address{addr("10.0.0.1/24")}, ExcludedVIPs: []Address{addr("10.0.0.2/32")},
				TrackedScripts: []TrackedScript{{Name: "s", Weight: -5, Reverse: true}}},
			{Name: "B", VRID: 2, State: StateStop, Version: 3, Accept: true,
				VIPs: []Address{addr("2001:db8::1/64")}, TrackedInterfaces: []TrackedInterface{{Name: "eth1", Weight: 3}}},
		},
		Static: []Address{addr("192.0.2.1/32")},
	}
	var b agentx.Builder
	v.Fill(&b)
	got := render(&b)
	for _, w := range []string{
		`2.1.1.2.1 OctetString "G"`,
		`2.1.1.3.1 Integer 2`,
		`2.2.1.2.1.2 OctetString "B"`,
		`2.3.1.4.2 Integer 4`,  // STOP shows as unknown in the table
		`2.3.1.11.1 Integer 2`, // no tracked interface
		`2.3.1.11.2 Integer 1`, // one
		`2.3.1.27.1 Integer 0`, // VRRPv2: no accept
		`2.3.1.27.2 Integer 1`, // VRRPv3
		`2.3.1.34.1 Integer 1`, // IPv4 group
		`2.6.1.3.0.1 OctetString c0 00 02 01`,
		`2.6.1.11.0.1 Integer 2`, // static: not advertised
		`2.6.1.11.1.1 Integer 1`, // first instance's VIP
		`2.6.1.3.1.2 OctetString 0a 00 00 02`,
		`2.6.1.11.1.2 Integer 2`, // excluded
		`2.6.1.11.2.1 Integer 2`, // keepalived's bug: later instances' VIPs
		`2.6.1.4.1.1 OctetString 00 00 00 00`,
		`2.6.1.6.1.1 Integer 14`,
		`2.4.1.1.2.1 OctetString "eth1"`,
		`2.4.1.2.2.1 Integer 3`,
		`2.5.1.3.1.1 Integer -5`,
		`2.5.1.4.1.1 Integer 1`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s", w)
		}
	}
	for _, p := range []string{
		"2.1.1.6.", "2.1.1.11.", // no group scripts
		"2.3.1.10.", "2.3.1.17.", "2.3.1.18.", "2.3.1.22.", // unset strings
		"2.3.1.34.2", "2.3.1.35.2", // unicast
		"2.6.1.4.2.1", // no broadcast for IPv6
		"2.6.1.9.", "2.6.1.12.",
	} {
		for _, l := range got {
			if strings.HasPrefix(l, p) {
				t.Errorf("unexpected %s", l)
			}
		}
	}
}

func TestTraps(t *testing.T) {
	vbs := InstanceTrap("r", "VI", StateStop, StateBackup)
	var got []string
	for _, v := range vbs {
		got = append(got, fmt.Sprintf("%v %v", v.Name, v.Value))
	}
	want := []string{
		"1.3.6.1.4.1.9586.100.5.2.3.1.2 [86 73]",
		"1.3.6.1.4.1.9586.100.5.2.3.1.4 5",
		"1.3.6.1.4.1.9586.100.5.2.3.1.5 1",
		"1.3.6.1.4.1.9586.100.5.1.2.0 [114]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("instance trap %q, want %q", got, want)
	}
	g := GroupTrap("r", "G", StateDeleted)
	if g[1].Value != int32(StateUnknown) || len(g) != 3 {
		t.Errorf("group trap %v", g)
	}
}

func TestSequencer(t *testing.T) {
	var q Sequencer
	var sent []string
	n := func(s string) Notification {
		return Notification{Trap: agentx.OID{1}, VarBinds: []agentx.VarBind{{Value: s}}}
	}
	send := func(ns []Notification) {
		for _, x := range ns {
			sent = append(sent, x.VarBinds[0].Value.(string))
		}
	}
	members := []string{"A", "B"}
	// Start-up: the members' first states wait for their group's.
	send(q.Instance("A", "G", StateBackup, n("A backup")))
	send(q.Instance("X", "", StateMaster, n("X master")))
	send(q.Group("G", members, StateBackup, n("G backup")))
	send(q.Instance("B", "G", StateBackup, n("B backup")))
	// Later, the group's state waits for every member's.
	send(q.Group("G", members, StateMaster, n("G master")))
	send(q.Instance("A", "G", StateMaster, n("A master")))
	send(q.Instance("B", "G", StateMaster, n("B master")))
	// Members first: the group's goes at once.
	send(q.Instance("A", "G", StateStop, n("A stop")))
	send(q.Instance("B", "G", StateStop, n("B stop")))
	send(q.Group("G", members, StateStop, n("G stop")))
	// A state the members never reach is sent with the next.
	send(q.Group("G", members, StateFault, n("G fault")))
	send(q.Group("G", members, StateStop, n("G stop2")))
	send(q.Group("G", members, StateMaster, n("G master2")))
	send(q.Flush())
	want := []string{"X master", "G backup", "A backup", "B backup", "A master", "B master", "G master",
		"A stop", "B stop", "G stop", "G fault", "G stop2", "G master2"}
	if !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
}

// TestRoute checks the route table's quirks: a route with next hops is
// multipath, the secondary gateway only for a single next hop, advmss
// shown with hoplimit, rtt in milliseconds, the protocol numbered from 1,
// the family of a route without destination from its source.
func TestRoute(t *testing.T) {
	v := VRRP{
		StaticRoutes: []Route{{Pref: netip.MustParseAddr("2001:db8::1"), Table: 254, Type: RouteUnicast}},
		Instances: []Instance{{Name: "A", Routes: []Route{{
			Dst: netip.MustParsePrefix("10.9.0.0/16"), Table: 100, Type: RouteBlackhole, Protocol: 18, HasProtocol: true,
			Hoplimit: RouteMetric{Set: true, Value: 9}, AdvMSS: RouteMetric{Value: 0}, RTT: RouteMetric{Set: true, Value: 80, Locked: true},
			NextHops: []NextHop{{Via: netip.MustParseAddr("10.0.0.1"), Weight: 3}},
		}}}},
	}
	var b agentx.Builder
	v.Fill(&b)
	got := render(&b)
	for _, w := range []string{
		`2.7.1.2.0.1 Integer 2`, // from the preferred source
		`2.7.1.10.1.1 Integer 2`,
		`2.7.1.6.1.1 OctetString 0a 00 00 01`,
		`2.7.1.18.1.1 Integer 19`,
		`2.7.1.24.1.1 Gauge32 9`,
		`2.7.1.25.1.1 Gauge32 0`,
		`2.7.1.27.1.1 Gauge32 10`,
		`2.7.1.28.1.1 Integer 1`,
		`2.11.1.6.1.1.1 Gauge32 3`,
		`2.11.1.7.1.1.1 Integer 2`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s", w)
		}
	}
	for _, l := range got {
		if strings.HasPrefix(l, "2.7.1.3.0.") || strings.HasPrefix(l, "2.7.1.26.") || strings.HasPrefix(l, "2.7.1.11.") {
			t.Errorf("unexpected %s", l)
		}
	}
}

// TestRule checks the rule table: the obsolete direction and address
// columns from the destination first, the table only for a to-table
// rule, the target only for goto, no preference when 0.
func TestRule(t *testing.T) {
	v := VRRP{Instances: []Instance{{Name: "A", Rules: []Rule{
		{From: netip.MustParsePrefix("10.0.0.0/8"), To: netip.MustParsePrefix("10.1.0.0/16"), Action: RuleToTable, Table: 100},
		{Action: RuleGoto, Goto: 7, Priority: 5, HasFwmark: true, Fwmark: 16},
	}}}}
	var b agentx.Builder
	v.Fill(&b)
	got := render(&b)
	for _, w := range []string{
		`2.8.1.2.1.1 OctetString "both"`,
		`2.8.1.4.1.1 OctetString 0a 01 00 00`,
		`2.8.1.6.1.1 Gauge32 100`,
		`2.8.1.24.1.1 Gauge32 100`,
		`2.8.1.2.1.2 OctetString ""`,
		`2.8.1.22.1.2 Gauge32 7`,
		`2.8.1.23.1.2 Integer 2`,
		`2.8.1.25.1.2 Gauge32 5`,
		`2.8.1.16.1.2 Gauge32 16`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s", w)
		}
	}
	for _, l := range got {
		for _, p := range []string{"2.8.1.6.1.2", "2.8.1.22.1.1", "2.8.1.25.1.1", "2.8.1.17.", "2.8.1.3.1.2"} {
			if strings.HasPrefix(l, p+" ") {
				t.Errorf("unexpected %s", l)
			}
		}
	}
}
