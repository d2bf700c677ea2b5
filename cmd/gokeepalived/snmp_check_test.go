package main

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// snmpCheckerConf has two virtual servers with a quorum each: the first's
// real server answers, the second's starts closed, so that its real
// server goes down and its quorum is lost, then both come back when it
// opens. A third serves a group of an address, a range and a fwmark, with
// a sorry server, and a fourth a fwmark with omega: their real servers
// answer, for the group tables and the columns of those kinds; so do
// those of an IPv6 one and of one that tunnels with GUE.
const snmpCheckerConf = `global_defs {
    router_id lb-snmp
    enable_snmp_checker
    enable_traps
    snmp_socket unix:%[1]s
    lvs_timeouts tcp 900 tcpfin 30 udp 60
    lvs_sync_daemon lo VI_1 maxlen 1400 port 8849 ttl 2 group 224.0.0.82
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.200/32
    }
}
virtual_server 192.0.2.10 80 {
    delay_loop 1
    quorum 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    snmp_name web-a
    real_server 127.0.0.1 %[2]d {
        weight 1
        snmp_name rs-a
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 192.0.2.11 443 {
    delay_loop 2
    quorum 2
    hysteresis 1
    lb_algo wlc
    lb_kind DR
    protocol TCP
    persistence_timeout 30
    persistence_granularity 255.255.255.0
    quorum_up "/bin/true quorum up"
    quorum_down /bin/true
    real_server 127.0.0.1 %[3]d {
        weight 3
        uthreshold 100
        lthreshold 10
        inhibit_on_failure
        notify_down "/bin/true down"
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server_group web {
    192.0.2.20 8080
    192.0.2.30-32 8081
    fwmark 7
}
virtual_server group web {
    delay_loop 30
    lb_algo sh
    lb_kind NAT
    protocol TCP
    sh-port
    virtualhost www.example.com
    sorry_server 127.0.0.1 18199
    real_server 127.0.0.1 %[2]d {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server fwmark 9 {
    delay_loop 30
    lb_algo rr
    lb_kind NAT
    omega
    real_server 127.0.0.1 %[2]d {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 2001:db8::10 80 {
    delay_loop 30
    lb_algo lc
    lb_kind NAT
    protocol TCP
    persistence_timeout 60
    persistence_granularity 64
    real_server ::1 %[2]d {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 192.0.2.40 80 {
    delay_loop 30
    lb_algo rr
    lvs_method TUN type gue port 6080 csum
    protocol TCP
    real_server 127.0.0.1 80 {
        weight 2
        TCP_CHECK {
            connect_port %[2]d
            connect_timeout 1
        }
    }
}
`

const (
	checkerRoot = ".1.3.6.1.4.1.9586.100.5.3"
)

// counterMask is how the test compares a statistics column of
// virtualServerTable or realServerTable.
type counterMask int

const (
	// exact: the number of connections the test made, and the
	// persistent connections (none).
	exact counterMask = iota
	// nonZero: packets and bytes (the closing packets of the test's
	// connections may be counted or not yet), and a real server's active
	// and inactive connections (which run out at their own pace, and
	// which the kernel keeps on a destination deleted and added again
	// between the two daemons' runs): only whether there are any.
	nonZero
	// rate: the rates, which the kernel estimates every two seconds.
	// keepalived 2.2.7 answers the low half of each 64-bit rate from the
	// wrong variable (0 below 4 GB of the last Counter64 it answered);
	// gokeepalived answers the low half of the rate, as the MIB says.
	rate
)

// checkerCounterColumn returns how a column of virtualServerTable (3) or
// realServerTable (4) is compared, and false when it is not a statistics
// column.
func checkerCounterColumn(oid string) (counterMask, bool) {
	rest, ok := strings.CutPrefix(oid, checkerRoot+".")
	if !ok {
		return 0, false
	}
	var table, entry, col int
	if _, err := fmt.Sscanf(strings.ReplaceAll(rest, ".", " "), "%d %d %d", &table, &entry, &col); err != nil {
		return 0, false
	}
	switch {
	case table == 3 && (col == 27 || col == 38), table == 4 && (col == 14 || col == 17 || col == 27):
		return exact, true
	case table == 3 && (col >= 28 && col <= 31 || col == 39 || col == 40),
		table == 4 && (col >= 15 && col <= 21 || col == 28 || col == 29):
		return nonZero, true
	case table == 3 && (col >= 32 && col <= 36 || col >= 41 && col <= 50),
		table == 4 && (col >= 22 && col <= 26 || col >= 30 && col <= 39):
		return rate, true
	}
	return 0, false
}

// maskCheckerWalk masks the values of the checker MIB's statistics columns.
func maskCheckerWalk(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		oid, val, ok := strings.Cut(l, " = ")
		if m, counter := checkerCounterColumn(oid); ok && counter && m != exact {
			typ, v, _ := strings.Cut(val, ": ")
			switch {
			case m == rate:
				v = "<rate>"
			case v != "0":
				v = "<non-zero>"
			}
			l = oid + " = " + typ + ": " + v
		}
		out = append(out, l)
	}
	return out
}

// snmpCheckerRun is what one daemon showed.
type snmpCheckerRun struct {
	walk, rows []string
	// starting are the traps up to the first walk, changing those as
	// the closed real server opened, stopping those at shutdown.
	starting, changing, stopping []string
}

func walkHas(lines []string, oid, val string) bool {
	return slices.Contains(lines, oid+" = "+val)
}

// runSNMPChecker runs one daemon on snmpCheckerConf against n, with the
// first real server up and the second closed, then open.
func runSNMPChecker(t *testing.T, n *nettest.NetSNMP, ours bool) snmpCheckerRun {
	t.Helper()
	up := &toggleServer{addr: "127.0.0.1:18190"}
	up6 := &toggleServer{addr: "[::1]:18190"}
	closed := &toggleServer{addr: "127.0.0.1:18191"}
	up.up(t)
	up6.up(t)
	defer up.down()
	defer up6.down()
	defer closed.down()
	offset := len(n.Traps.String())
	p := startGuest(t, ours, fmt.Sprintf(snmpCheckerConf, n.AgentX, 18190, 18191), "-C")
	var r snmpCheckerRun
	walk := func() []string { return n.Run(t, "snmpbulkwalk", checkerRoot) }
	rs1Status := checkerRoot + ".4.1.6.1.1"
	rs2Status := checkerRoot + ".4.1.6.2.1"
	vs2Quorum := checkerRoot + ".3.1.23.2"
	// Polled with snmpget: a walk of the subtree takes a second in the
	// emulated guest.
	state := func() []string { return n.Run(t, "snmpget", rs1Status, rs2Status, vs2Quorum) }
	waitFor(t, "the open real server up, the closed one down and its quorum lost", 20*time.Second, func() bool {
		w := state()
		return walkHas(w, rs1Status, "INTEGER: 1") && walkHas(w, rs2Status, "INTEGER: 2") && walkHas(w, vs2Quorum, "INTEGER: 2")
	})
	// Three connections through the first virtual server, for its
	// counters and its real server's.
	for range 3 {
		c, err := net.DialTimeout("tcp", "192.0.2.10:80", time.Second)
		if err != nil {
			t.Fatalf("connecting through the first virtual server: %v", err)
		}
		c.Close()
	}
	// The kernel adds up its per-CPU counters every two seconds. The
	// first check of the open server has run too by then: its
	// delay_loop is the shorter.
	vs1Conns := checkerRoot + ".3.1.27.1"
	waitFor(t, "the connections counted", 10*time.Second, func() bool {
		return walkHas(n.Run(t, "snmpget", vs1Conns), vs1Conns, "Gauge32: 3")
	})
	r.walk = maskCheckerWalk(walk())
	r.rows = n.ORRows(t, keepalivedRoot)
	r.starting = n.Notifications(offset, keepalivedRoot+".")
	offset = len(n.Traps.String())
	closed.up(t)
	waitFor(t, "the real server up and the quorum regained", 20*time.Second, func() bool {
		w := state()
		return walkHas(w, rs2Status, "INTEGER: 1") && walkHas(w, vs2Quorum, "INTEGER: 1")
	})
	waitFor(t, "the traps of the change", 5*time.Second, func() bool { return len(n.Notifications(offset, keepalivedRoot+".")) >= 2 })
	time.Sleep(500 * time.Millisecond)
	r.changing = n.Notifications(offset, keepalivedRoot+".")
	offset = len(n.Traps.String())
	p.stop(t)
	// snmptrapd prints what snmpd forwards a moment later.
	time.Sleep(time.Second)
	r.stopping = n.Notifications(offset, keepalivedRoot+".")
	return r
}

// TestGuestSNMPChecker compares KEEPALIVED-MIB's checker subtree, its
// sysORTable row and the checker notifications of gokeepalived with
// keepalived's, each run in turn on the same configuration against the
// same snmpd in the kernel guest (keepalived's checkers need IPVS).
func TestGuestSNMPChecker(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	for _, tool := range []string{"snmpd", "snmptrapd", "snmpwalk", "snmpbulkwalk", "snmpget"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the kernel guest has no %s: TestKernel copies net-snmp's tools when the host has them", tool)
		}
	}
	// The first virtual server's address is the guest's, so that the
	// test's connections go through IPVS.
	if out, err := exec.Command("ip", "addr", "add", "192.0.2.10/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v\n%s", err, out)
	}
	// The other guest tests of the same boot use the address as a
	// virtual server's that is not the guest's own.
	t.Cleanup(func() { exec.Command("ip", "addr", "del", "192.0.2.10/32", "dev", "lo").Run() })
	n := nettest.StartNetSNMP(t)
	ka := runSNMPChecker(t, n, false)
	gk := runSNMPChecker(t, n, true)
	for _, c := range []struct {
		what   string
		ka, gk []string
	}{
		{"walk of " + checkerRoot, ka.walk, gk.walk},
		{"sysORTable rows", ka.rows, gk.rows},
		{"traps up to the first walk", ka.starting, gk.starting},
		{"traps as the closed real server opened", ka.changing, gk.changing},
		{"traps at shutdown", ka.stopping, gk.stopping},
	} {
		t.Logf("%s: keepalived %d lines, gokeepalived %d", c.what, len(c.ka), len(c.gk))
		compareLines(t, c.what, c.ka, c.gk)
	}
}
