package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// snmpVRRPConf is the configuration both daemons run in the SNMP
// comparison: two instances (IPv4 and IPv6) in a sync group, a tracked
// script and a tracked interface, VIPs of every kind, traps on.
func snmpVRRPConf(socket, dir string, prio int) string {
	return fmt.Sprintf(`global_defs {
    router_id snmp-lab
    notification_email {
        ops@example.com
        noc@example.com
    }
    notification_email_from ka@example.com
    smtp_server 127.0.0.1 2525
    smtp_connect_timeout 7
    vrrp_version 3
    vrrp_garp_master_delay 0
    enable_snmp_vrrp
    enable_traps
    snmp_socket unix:%[1]s
}
static_ipaddress {
    10.78.0.250/32 dev eth0
    2001:db8:78::250/128 dev eth0 label ignored
}
vrrp_script chk {
    script "/bin/true"
    interval 1
    rise 2
    fall 3
}
vrrp_script unused {
    script "/bin/false"
}
vrrp_track_file tf {
    file "%[3]s/tf"
    weight 3
}
vrrp_sync_group G1 {
    group {
        VI_4
        VI_6
    }
    sync_group_tracking_weight
    track_interface {
        eth1
    }
    track_file {
        tf weight 2
    }
    track_script {
        chk weight 1
    }
}
vrrp_instance VI_4 {
    interface eth0
    virtual_router_id 51
    priority %[2]d
    advert_int 0.1
    track_interface {
        eth1
    }
    track_script {
        chk weight 5
    }
    virtual_ipaddress {
        10.78.0.100/24
        10.78.0.101/32 dev eth1 label eth1:vip
        10.78.0.102/24 brd 10.78.0.255 scope link
    }
    virtual_ipaddress_excluded {
        10.78.0.200/24
    }
    virtual_routes {
        10.90.0.0/24 via 10.78.0.254 dev eth0
        192.0.2.0/24 dev eth0 table 100 metric 5 mtu lock 1400 rtt 8 advmss 1300
        blackhole 198.51.100.0/24
        10.91.0.0/24 via 10.78.0.254 no_track
        10.92.0.0/24 src 10.78.0.100 dev eth0 scope link
        10.94.0.0/24 nexthop via 10.78.0.253 dev eth0 weight 2 nexthop via 10.78.0.252 dev eth0
    }
    virtual_rules {
        from 10.78.0.100 table 100 priority 100
        to 10.95.0.0/24 lookup 101 priority 101 fwmark 0x10/0xff
        iif eth0 priority 102 blackhole
        not from 10.96.0.0/16 to 10.97.0.0/16 priority 103 nop
    }
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 52
    priority %[2]d
    advert_int 0.1
    track_file {
        tf
    }
    virtual_ipaddress {
        2001:db8:78::100/64
    }
    virtual_routes {
        2001:db8:99::/64 via 2001:db8:78::fe dev eth0
    }
    virtual_rules {
        from 2001:db8:78::100 table 100 priority 100
    }
}
static_routes {
    10.93.0.0/24 dev eth0 no_track
}
static_rules {
    from 10.93.0.1 table 100 priority 90 no_track
}
`, socket, prio, dir)
}

// snmpPeerConf is the peer's: the same virtual routers at priority 200,
// without SNMP.
const snmpPeerConf = `global_defs {
    vrrp_version 3
    vrrp_garp_master_delay 0
}
vrrp_instance VI_4 {
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 0.1
    virtual_ipaddress {
        10.78.0.100/24
    }
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 52
    priority 200
    advert_int 0.1
    virtual_ipaddress {
        2001:db8:78::100/64
    }
}
`

const (
	kaMIBGlobal = ".1.3.6.1.4.1.9586.100.5.1"
	kaMIBVRRP   = ".1.3.6.1.4.1.9586.100.5.2"
	// keepalivedRoot is KEEPALIVED-MIB's: its modules and traps.
	keepalivedRoot = ".1.3.6.1.4.1.9586.100.5"
)

// snmpVRRPRun is what one daemon showed: the walks of each phase, its
// sysORTable rows and the traps of each phase.
type snmpVRRPRun struct {
	walks map[string][]string
	sysOR []string
	traps map[string][]string
}

// The masks of what differs by nature between the two daemons.
var (
	// The version string names the program.
	maskVersion = regexp.MustCompile(`^(\.1\.3\.6\.1\.4\.1\.9586\.100\.5\.1\.1\.0 = STRING: ).*$`)
	// vrrpInstanceWantedState of sync group members just pushed to
	// BACKUP: keepalived leaves it at MASTER for the member its group
	// pulled along and sets BACKUP for the one that heard the peer
	// first, which is a race between the two instances' adverts; it is
	// masked at that phase only.
	maskWanted = regexp.MustCompile(`^(\.1\.3\.6\.1\.4\.1\.9586\.100\.5\.2\.3\.1\.6\.\d+ = INTEGER: ).*$`)
	// The interface indexes of vrrpAddressTable, vrrpRouteTable and
	// vrrpRouteNextHopTable, which each lab's namespace numbers anew:
	// each is checked against the index of the interface the next
	// column names, then masked.
	ifIndexCol = regexp.MustCompile(`^\.1\.3\.6\.1\.4\.1\.9586\.100\.5\.2\.(6\.1\.7|7\.1\.11|11\.1\.4)\.([\d.]+) = INTEGER: (\d+)$`)
	ifNameCol  = regexp.MustCompile(`^\.1\.3\.6\.1\.4\.1\.9586\.100\.5\.2\.(6\.1\.8|7\.1\.12|11\.1\.5)\.([\d.]+) = STRING: "(.*)"$`)
	// ifNameOf is the name column beside each index column.
	ifNameOf = map[string]string{"6.1.7": "6.1.8", "7.1.11": "7.1.12", "11.1.4": "11.1.5"}
)

// normWalk masks a walk's values that differ by nature, checking the
// interface indexes against the host's own.
func normWalk(t *testing.T, h *nettest.Host, dir string, lines []string) []string {
	t.Helper()
	names := map[string]string{}
	for _, l := range lines {
		if m := ifNameCol.FindStringSubmatch(l); m != nil {
			names[m[1]+"."+m[2]] = m[3]
		}
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		l = maskVersion.ReplaceAllString(l, "${1}(version)")
		// Each run has a directory of its own for its files.
		if dir != "" {
			l = strings.ReplaceAll(l, dir+"/", "(dir)/")
		}
		if m := ifIndexCol.FindStringSubmatch(l); m != nil {
			name := names[ifNameOf[m[1]]+"."+m[2]]
			if idx := strings.TrimSpace(h.Run("cat", "/sys/class/net/"+name+"/ifindex")); name != "" && idx == m[3] {
				l = strings.Replace(l, "INTEGER: "+m[3], "INTEGER: ifindex("+name+")", 1)
			}
		}
		out = append(out, l)
	}
	return out
}

// canonicalTraps sorts each run of vrrpInstanceStateChange traps of one
// state: the instances of a sync group change together, and keepalived
// sends their traps in no fixed order (the one that saw the cause first
// goes first). Everything else keeps its place: a group's trap before or
// after its members', a state after another.
func canonicalTraps(traps []string) []string {
	var out, run []string
	runState := ""
	flush := func() {
		sort.Strings(run)
		out = append(out, run...)
		run = nil
	}
	for _, tr := range traps {
		if m := instanceTrapState.FindStringSubmatch(tr); m != nil {
			if m[1] != runState {
				flush()
			}
			runState = m[1]
			run = append(run, tr)
			continue
		}
		flush()
		runState = ""
		out = append(out, tr)
	}
	flush()
	return out
}

// instanceTrapState finds vrrpInstanceStateChange's state.
var instanceTrapState = regexp.MustCompile(`OID: \.1\.3\.6\.1\.4\.1\.9586\.100\.5\.2\.10\.0\.2 .*\.1\.3\.6\.1\.4\.1\.9586\.100\.5\.2\.3\.1\.4 = INTEGER: (\d+)`)

// settledTraps waits until the traps since offset number at least want
// and no more come for a moment, and returns them.
func settledTraps(t *testing.T, n *nettest.NetSNMP, offset, want int) []string {
	t.Helper()
	var got []string
	last, since := -1, time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got = n.Notifications(offset, keepalivedRoot+".")
		if len(got) != last {
			last, since = len(got), time.Now()
		}
		if len(got) >= want && time.Since(since) > 700*time.Millisecond {
			return canonicalTraps(got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("traps: want %d, got %d within 10s:\n%s", want, len(got), strings.Join(got, "\n"))
	return nil
}

// runSNMPVRRP runs keepalived (ours false) or gokeepalived in a lab of
// its own against snmpd n, through four phases: alone (MASTER), beside a
// peer of higher priority (BACKUP), its tracked interface down (FAULT),
// and stopped.
func runSNMPVRRP(t *testing.T, n *nettest.NetSNMP, bin string, ours bool) *snmpVRRPRun {
	run := &snmpVRRPRun{walks: map[string][]string{}, traps: map[string][]string{}}
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.78.0.1/24", "2001:db8:78::1/64")
	p := lab.AddHost("p", "10.78.0.2/24", "2001:db8:78::2/64")
	m.Run("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
	m.Run("ip", "link", "set", "eth1p", "up")
	m.Run("ip", "link", "set", "eth1", "up")

	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	walk := func(phase string) {
		lines := append(n.Run(t, "snmpwalk", kaMIBGlobal), n.Run(t, "snmpwalk", kaMIBVRRP)...)
		lines = normWalk(t, m, dir, lines)
		if phase == "backup" {
			for i, l := range lines {
				lines[i] = maskWanted.ReplaceAllString(l, "${1}(racy)")
			}
		}
		run.walks[phase] = lines
	}
	mark := len(n.Traps.String())
	phase := func(name string, want int) {
		got := settledTraps(t, n, mark, want)
		run.traps[name] = got
		mark = len(n.Traps.String())
	}
	state := func(col, want string) func() bool {
		return func() bool {
			lines := n.Run(t, "snmpwalk", kaMIBVRRP+".3.1."+col)
			if len(lines) != 2 {
				return false
			}
			for _, l := range lines {
				if !strings.HasSuffix(l, "INTEGER: "+want) {
					return false
				}
			}
			return true
		}
	}

	if err := os.WriteFile(filepath.Join(dir, "tf"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := snmpVRRPConf(n.AgentX, dir, 100)
	d := startEither(t, m, bin, ours, dir, conf)
	waitFor(t, "both instances MASTER", 10*time.Second, func() bool {
		return m.HasAddr("10.78.0.100") && m.HasAddr("2001:db8:78::100")
	})
	// The track script's second success (rise 2) comes a second after
	// the first.
	waitFor(t, "the script good", 5*time.Second, func() bool {
		l := n.Run(t, "snmpget", kaMIBVRRP+".9.1.6.1")
		return len(l) == 1 && strings.HasSuffix(l[0], "INTEGER: 3")
	})
	phase("start", 6)
	walk("master")
	run.sysOR = n.ORRows(t, keepalivedRoot)

	p.StartKeepalived(t, snmpPeerConf, "-P")
	waitFor(t, "both instances BACKUP", 10*time.Second, state("4", "1"))
	phase("backup", 3)
	walk("backup")

	m.Run("ip", "link", "set", "eth1", "down")
	waitFor(t, "both instances FAULT", 10*time.Second, state("4", "3"))
	phase("fault", 3)
	walk("fault")

	if err := d.Stop(t, 10*time.Second); err != nil {
		t.Errorf("stopping: %v", err)
	}
	phase("stop", 3)
	return run
}

// TestSNMPKeepalivedVRRPMIB runs keepalived and then gokeepalived on one
// configuration, each in a lab of its own, against one net-snmp master
// agent, and compares KEEPALIVED-MIB's global scalars and VRRP part at
// MASTER, BACKUP and FAULT, the sysORTable rows, and the traps of each
// transition, start-up and stop included.
func TestSNMPKeepalivedVRRPMIB(t *testing.T) {
	nettest.RequireRoot(t)
	n := nettest.StartNetSNMP(t)
	bin := gokeepalivedBinary(t)
	theirs := runSNMPVRRP(t, n, bin, false)
	ours := runSNMPVRRP(t, n, bin, true)

	for _, ph := range []string{"master", "backup", "fault"} {
		// Both walks must hold the tables: every global scalar, the
		// group, both instances and their addresses, the script.
		if len(theirs.walks[ph]) < 120 {
			t.Fatalf("keepalived's walk at %s has only %d variables:\n%s", ph, len(theirs.walks[ph]), strings.Join(theirs.walks[ph], "\n"))
		}
		compareLines(t, "walk at "+ph, theirs.walks[ph], ours.walks[ph])
	}
	compareLines(t, "sysORTable", theirs.sysOR, ours.sysOR)
	for _, ph := range []string{"start", "backup", "fault", "stop"} {
		compareLines(t, "traps at "+ph, theirs.traps[ph], ours.traps[ph])
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("keepalived's walk at MASTER:\n%s", strings.Join(theirs.walks["master"], "\n"))
		for _, ph := range []string{"start", "backup", "fault", "stop"} {
			t.Logf("keepalived's traps at %s:\n%s", ph, strings.Join(theirs.traps[ph], "\n"))
		}
	}
}

// compareLines reports each line one list has and the other lacks, and a
// difference of order.
func compareLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return
	}
	have := map[string]int{}
	for _, l := range got {
		have[l]++
	}
	for _, l := range want {
		if have[l] > 0 {
			have[l]--
			continue
		}
		t.Errorf("%s: keepalived's %q, missing from gokeepalived's", what, l)
	}
	for l, c := range have {
		for range c {
			t.Errorf("%s: gokeepalived's %q, not keepalived's", what, l)
		}
	}
	if !t.Failed() {
		t.Errorf("%s: the same lines in another order:\nkeepalived:\n%s\ngokeepalived:\n%s", what, strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// TestSNMPKeepalivedVRRPOptions runs keepalived and then gokeepalived on
// the other ways of turning the VRRP MIB on: enable_snmp_keepalived (the
// old spelling of enable_snmp_vrrp) with a snmp_socket that -A
// overrides, and -x with -A on a configuration without SNMP keywords.
// Without enable_traps neither sends a trap; the walks must agree.
func TestSNMPKeepalivedVRRPOptions(t *testing.T) {
	nettest.RequireRoot(t)
	n := nettest.StartNetSNMP(t)
	bin := gokeepalivedBinary(t)
	const instance = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 61
    priority 100
    advert_int 0.1
    virtual_ipaddress {
        10.79.0.100/24
    }
}
`
	cases := []struct {
		name, conf string
		args       []string
	}{
		{"enable_snmp_keepalived -A", "global_defs {\n    router_id opts\n    vrrp_version 3\n    enable_snmp_keepalived\n    snmp_socket unix:/nonexistent/agentx\n}\n" + instance,
			[]string{"-A", "unix:" + n.AgentX}},
		{"-x -A", "global_defs {\n    router_id opts\n    vrrp_version 3\n}\n" + instance,
			[]string{"-x", "-A", "unix:" + n.AgentX}},
	}
	for _, c := range cases {
		walks := map[bool][]string{}
		for _, ours := range []bool{false, true} {
			lab := nettest.NewLab(t)
			m := lab.AddHost("m", "10.79.0.1/24")
			mark := len(n.Traps.String())
			d := startEither(t, m, bin, ours, t.TempDir(), c.conf, c.args...)
			waitFor(t, c.name+": VI_1 MASTER in the MIB", 10*time.Second, func() bool {
				l := n.Run(t, "snmpwalk", kaMIBVRRP+".3.1.4")
				return len(l) == 1 && strings.HasSuffix(l[0], "INTEGER: 2")
			})
			walks[ours] = normWalk(t, m, "", append(n.Run(t, "snmpwalk", kaMIBGlobal), n.Run(t, "snmpwalk", kaMIBVRRP)...))
			if err := d.Stop(t, 10*time.Second); err != nil {
				t.Errorf("%s: stopping: %v", c.name, err)
			}
			// Long enough for a trap of the stop to arrive.
			time.Sleep(500 * time.Millisecond)
			if traps := n.Notifications(mark, keepalivedRoot+"."); len(traps) != 0 {
				t.Errorf("%s (ours %v): traps without enable_traps:\n%s", c.name, ours, strings.Join(traps, "\n"))
			}
			lab.Close()
		}
		if len(walks[false]) < 30 {
			t.Fatalf("%s: keepalived's walk has only %d variables:\n%s", c.name, len(walks[false]), strings.Join(walks[false], "\n"))
		}
		compareLines(t, c.name, walks[false], walks[true])
	}
}
