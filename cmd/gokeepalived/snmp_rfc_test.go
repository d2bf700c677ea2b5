package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// rfcConf is the configuration of the router under test (snmp set) and
// of its peer (snmp empty, a higher priority): a VRRPv2 IPv4 instance
// with a password, a VRRPv3 IPv4 one without preemption and a VRRPv3
// IPv6 one, with their addresses out of order. V3_4's interval is long
// enough for the peer, slow to start, to hear the master before its
// down timer ends: else it would take over, not preempting.
func rfcConf(prio int, snmp, pass string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    vrrp_garp_master_delay 0\n%s}\n", snmp)
	fmt.Fprintf(&b, `vrrp_instance V2 {
    interface eth0
    version 2
    virtual_router_id 61
    priority %[1]d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass %[2]s
    }
    virtual_ipaddress {
        10.81.0.101/24
        10.81.0.100/24
    }
}
vrrp_instance V3_4 {
    interface eth0
    version 3
    virtual_router_id 62
    priority %[1]d
    advert_int 1
    nopreempt
    virtual_ipaddress {
        10.81.0.102/24
    }
}
vrrp_instance V3_6 {
    interface eth0
    version 3
    virtual_router_id 63
    priority %[1]d
    advert_int 0.2
    virtual_ipaddress {
        2001:db8:81::100/64
        2001:db8:81::99/64
    }
}
`, prio, pass)
	return b.String()
}

const (
	rfc2787Root = ".1.3.6.1.2.1.68"
	rfc6527Root = ".1.3.6.1.2.1.207"
	// vrrpv3OperationsState's column: one row per instance.
	rfc6527States = rfc6527Root + ".1.1.1.1.6"
)

// rfcMasked are the columns whose values differ by nature, each with
// why; their OIDs and types are still compared.
var rfcMasked = []struct{ prefix, why string }{
	{rfc2787Root + ".1.3.1.13.", "vrrpOperVirtualRouterUpTime: a time"},
	{rfc6527Root + ".1.1.1.1.12.", "vrrpv3OperationsUpTime: a time"},
	{rfc2787Root + ".2.4.1.2.", "vrrpStatsAdvertiseRcvd: adverts counted over a time that differs"},
	{rfc6527Root + ".1.2.5.1.3.", "vrrpv3StatisticsRcvdAdvertisements: adverts counted over a time that differs"},
	{rfc6527Root + ".1.2.2.0", "vrrpv3RouterVersionErrors: adverts of the other version counted over a time that differs"},
}

// maskWalk masks the values of rfcMasked in snmpwalk -On lines.
func maskWalk(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		for _, m := range rfcMasked {
			if strings.HasPrefix(l, m.prefix) {
				if i := strings.Index(l, " = "); i >= 0 {
					typ, _, _ := strings.Cut(l[i+3:], ":")
					l = l[:i] + " = " + typ + ": *"
				}
			}
		}
		out = append(out, l)
	}
	return out
}

// rfcTraps returns the RFC MIBs' notifications snmptrapd printed after
// offset from, sorted: instances that change at once send in no fixed
// order.
func rfcTraps(n *nettest.NetSNMP, from int) []string {
	out := append(n.Notifications(from, rfc2787Root+".0."), n.Notifications(from, rfc6527Root+".0.")...)
	slices.Sort(out)
	return out
}

// rfcPhase is what one daemon showed at one step.
type rfcPhase struct {
	name  string
	walk  []string
	traps []string
}

// waitStates waits until vrrpv3OperationsState shows want, row by row
// (in index order), and returns the walk of both MIBs then.
func waitStates(t *testing.T, n *nettest.NetSNMP, who string, want ...string) []string {
	t.Helper()
	var last []string
	if _, ok := nettest.Eventually(15*time.Second, func() bool {
		last = last[:0]
		for _, l := range n.Run(t, "snmpwalk", rfc6527States) {
			if _, v, ok := strings.Cut(l, " = INTEGER: "); ok {
				last = append(last, v)
			}
		}
		return slices.Equal(last, want)
	}); !ok {
		t.Fatalf("%s: vrrpv3OperationsState %v, want %v", who, last, want)
	}
	walk := n.Run(t, "snmpwalk", rfc2787Root)
	return append(walk, n.Run(t, "snmpwalk", rfc6527Root)...)
}

// waitTraps waits until count RFC notifications have come after from.
func waitTraps(t *testing.T, n *nettest.NetSNMP, who string, from, count int) []string {
	t.Helper()
	var got []string
	if _, ok := nettest.Eventually(10*time.Second, func() bool {
		got = rfcTraps(n, from)
		return len(got) >= count
	}); !ok {
		t.Fatalf("%s: %d RFC notifications, want %d:\n%s", who, len(got), count, strings.Join(got, "\n"))
	}
	// Any more would come at once.
	time.Sleep(300 * time.Millisecond)
	return rfcTraps(n, from)
}

// runRFC runs keepalived or gokeepalived (ours) on a with SNMP, and a
// keepalived peer on b, and returns what the MIBs and the notifications
// showed: all three instances master; V2 and V3_6 backup of the peer
// (V3_4 keeps its master, the peer not preempting); master again after
// the peer stops; a peer's adverts failing authentication.
func runRFC(t *testing.T, n *nettest.NetSNMP, a, b *nettest.Host, bin string, ours bool) []rfcPhase {
	who := "keepalived"
	if ours {
		who = "gokeepalived"
	}
	snmp := fmt.Sprintf("    enable_snmp_rfcv2\n    enable_snmp_rfcv3\n    enable_traps\n    snmp_socket unix:%s\n", n.AgentX)
	mark := len(n.Traps.String())
	dut := startEither(t, a, bin, ours, t.TempDir(), rfcConf(150, snmp, "secret"))
	var phases []rfcPhase

	traps := waitTraps(t, n, who, mark, 4)
	walk := waitStates(t, n, who, "3", "3", "3")
	walk = append(walk, n.ORRows(t, rfc2787Root, rfc6527Root)...)
	phases = append(phases, rfcPhase{"master", walk, traps})

	mark = len(n.Traps.String())
	peer := b.StartKeepalived(t, rfcConf(200, "", "secret"), "-P")
	waitStates(t, n, who, "2", "3", "2")
	// A backup learns its master's address from the master's next
	// advert, a second on for V2: wait for it in both MIBs.
	heard := []string{
		rfc2787Root + ".1.3.1.7.", " = IpAddress: 10.81.0.2",
		rfc6527Root + ".1.1.1.1.3.", ".61.1 = Hex-STRING: 0A 51 00 02",
	}
	if _, ok := nettest.Eventually(5*time.Second, func() bool {
		walk = waitStates(t, n, who, "2", "3", "2")
		for i := 0; i < len(heard); i += 2 {
			if !slices.ContainsFunc(walk, func(l string) bool {
				return strings.HasPrefix(l, heard[i]) && strings.Contains(l, heard[i+1])
			}) {
				return false
			}
		}
		return true
	}); !ok {
		t.Fatalf("%s: V2's master address is not the peer's:\n%s", who, strings.Join(walk, "\n"))
	}
	phases = append(phases, rfcPhase{"backup of the peer", walk, rfcTraps(n, mark)})

	mark = len(n.Traps.String())
	if err := peer.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	traps = waitTraps(t, n, who, mark, 3)
	walk = waitStates(t, n, who, "3", "3", "3")
	phases = append(phases, rfcPhase{"master after the peer stopped", walk, traps})

	// A peer with V2 only and the wrong password hears no master, takes
	// over, and its adverts fail authentication here, once a second:
	// each distinct notification counts once.
	mark = len(n.Traps.String())
	v2, _, _ := strings.Cut(rfcConf(100, "", "wrong"), "vrrp_instance V3_4")
	bad := b.StartKeepalived(t, v2, "-P")
	traps = waitTraps(t, n, who, mark, 1)
	if err := bad.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	phases = append(phases, rfcPhase{"a peer with the wrong password", nil, slices.Compact(traps)})

	// A peer running V3_4 in VRRPv2 takes over likewise, and its adverts
	// are version errors here.
	mark = len(n.Traps.String())
	v34, _, _ := strings.Cut("vrrp_instance V3_4"+strings.SplitN(rfcConf(200, "", "secret"), "vrrp_instance V3_4", 2)[1], "vrrp_instance V3_6")
	v34 = "global_defs {\n    vrrp_garp_master_delay 0\n}\n" + strings.Replace(v34, "version 3", "version 2", 1)
	old := b.StartKeepalived(t, v34, "-P")
	traps = waitTraps(t, n, who, mark, 1)
	walk = n.Run(t, "snmpwalk", rfc2787Root)
	walk = append(walk, n.Run(t, "snmpwalk", rfc6527Root)...)
	if err := old.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	phases = append(phases, rfcPhase{"a peer of the other version", walk, slices.Compact(traps)})

	if err := dut.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return phases
}

// TestSNMPRFCMatchesKeepalived runs keepalived, then gokeepalived, with
// VRRP-MIB and VRRPv3-MIB against one net-snmp master, through the same
// transitions, and compares their walks of both MIBs, their sysORTable
// rows and their notifications.
func TestSNMPRFCMatchesKeepalived(t *testing.T) {
	nettest.RequireRoot(t)
	t.Parallel() // its own snmpd, namespaces and files; it mostly waits on VRRP's timers
	n := nettest.StartNetSNMP(t)
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.81.0.1/24", "2001:db8:81::1/64")
	b := lab.AddHost("b", "10.81.0.2/24", "2001:db8:81::2/64")
	bin := gokeepalivedBinary(t)

	start := time.Now()
	theirs := runRFC(t, n, a, b, bin, false)
	t.Logf("keepalived's run: %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	ours := runRFC(t, n, a, b, bin, true)
	t.Logf("gokeepalived's run: %v", time.Since(start).Round(time.Millisecond))

	// enable_snmp_rfc is both keywords: the same two modules register.
	conf := rfcConf(150, fmt.Sprintf("    enable_snmp_rfc\n    snmp_socket unix:%s\n", n.AgentX), "secret")
	dut := startEither(t, a, bin, true, t.TempDir(), conf)
	want := theirs[0].walk[len(theirs[0].walk)-2:] // keepalived's rows
	var rows []string
	if _, ok := nettest.Eventually(5*time.Second, func() bool {
		rows = n.ORRows(t, rfc2787Root, rfc6527Root)
		return len(rows) == 2
	}); !ok {
		t.Errorf("with enable_snmp_rfc, sysORTable rows %q, want 2", rows)
	}
	if !slices.Equal(rows, want) {
		t.Errorf("with enable_snmp_rfc, sysORTable rows %q, want %q", rows, want)
	}
	dut.Stop(t, 10*time.Second)

	for i, p := range theirs {
		q := ours[i]
		if w, g := maskWalk(p.walk), maskWalk(q.walk); !slices.Equal(w, g) {
			compareLines(t, p.name+": walk", w, g)
		} else if len(w) > 0 {
			t.Logf("%s: %d variables alike", p.name, len(w))
		}
		if !slices.Equal(p.traps, q.traps) {
			compareLines(t, p.name+": notifications", p.traps, q.traps)
		} else {
			t.Logf("%s: %d notifications alike:\n%s", p.name, len(p.traps), strings.Join(p.traps, "\n"))
		}
	}
}
