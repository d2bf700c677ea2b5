package vrrp

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// routers is the number of virtual routers of the scale run: every VRID
// VRRP has.
const routers = 255

// scaleConfig makes a daemon master or backup of VRIDs 1-255 on eth0 at
// advert_int 1, each with one VIP of its own.
func scaleConfig(routerID string, master bool) string {
	prio := backupPriority
	if master {
		prio = masterPriority
	}
	ins := make([]instance, routers)
	for i := range ins {
		vrid := i + 1
		ins[i] = instance{version: 2, advert: time.Second, master: master, priority: prio,
			vrid: vrid, vip: fmt.Sprintf("10.78.%d.1/32", vrid)}
	}
	return makeConf(routerID, ins...)
}

// runScale runs master as master of 255 routers against backup, and
// measures both daemons over window once they have settled.
func runScale(t *testing.T, master, backup impl, warmup, window time.Duration) (ms, bs usage) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	b := lab.AddHost("b", "10.77.0.2/24")
	dm := master.start(t, m, scaleConfig("m", true))
	db := backup.start(t, b, scaleConfig("b", false))
	settled := func() bool { return countVIPs(m) == routers && countVIPs(b) == 0 }
	waitFor(t, fmt.Sprintf("%s master of all %d routers, %s backup of all", master.name, routers, backup.name),
		time.Minute, settled)
	time.Sleep(warmup)

	m0, err := groupUsage("/proc", dm.Pid())
	if err != nil {
		t.Fatalf("%s master: %v", master.name, err)
	}
	b0, err := groupUsage("/proc", db.Pid())
	if err != nil {
		t.Fatalf("%s backup: %v", backup.name, err)
	}
	time.Sleep(window)
	m1, err := groupUsage("/proc", dm.Pid())
	if err != nil {
		t.Fatalf("%s master: %v", master.name, err)
	}
	b1, err := groupUsage("/proc", db.Pid())
	if err != nil {
		t.Fatalf("%s backup: %v", backup.name, err)
	}
	// A router that flapped during the window would have measured an
	// election, not a steady state.
	if vm, vb := countVIPs(m), countVIPs(b); vm != routers || vb != 0 {
		t.Fatalf("after the window the master holds %d VIPs and the backup %d; want %d and 0", vm, vb, routers)
	}
	ms = usage{cpu: m1.cpu - m0.cpu, rss: m1.rss, hwm: m1.hwm}
	bs = usage{cpu: b1.cpu - b0.cpu, rss: b1.rss, hwm: b1.hwm}
	t.Logf("%s master: %v CPU, RSS %.1f MiB, peak %.1f MiB", master.name, ms.cpu, mib(ms.rss), mib(ms.hwm))
	t.Logf("%s backup: %v CPU, RSS %.1f MiB, peak %.1f MiB", backup.name, bs.cpu, mib(bs.rss), mib(bs.hwm))
	return ms, bs
}

// countVIPs counts the scale run's VIPs (10.78.0.0/16) on the host.
func countVIPs(h *nettest.Host) int {
	out, err := exec.Command("ip", "-n", h.NS, "-o", "-4", "addr", "show", "dev", "eth0").Output()
	if err != nil {
		return -1
	}
	return strings.Count(string(out), " inet 10.78.")
}
