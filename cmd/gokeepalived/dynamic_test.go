package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// dynamicVIP is the VIP of the instance on the interface that comes and
// goes.
const dynamicVIP = "10.78.0.100"

// dynamicConf has an instance on eth0 and one on eth5, which does not
// exist when the daemon starts.
func dynamicConf(dir string, dynamic bool) string {
	extra := ""
	if dynamic {
		extra = "    dynamic_interfaces\n"
	}
	instance := func(name, iface string, vrid int, vip string) string {
		return fmt.Sprintf(`vrrp_instance %[1]s {
    state MASTER
    interface %[2]s
    virtual_router_id %[3]d
    priority 150
    advert_int 1
    virtual_ipaddress {
        %[4]s/24
    }
    notify "%[5]s/notify.sh"
}
`, name, iface, vrid, vip, dir)
	}
	return fmt.Sprintf(`global_defs {
    router_id dyn
    enable_script_security
    script_user root
%s}
`, extra) + instance("VI_1", "eth0", 81, daemonVIP) + instance("VI_2", "eth5", 82, dynamicVIP)
}

// addEth5 creates eth5 on h, with an address, up.
func addEth5(t *testing.T, h *nettest.Host) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "add", "eth5", "type", "veth", "peer", "name", "eth5p"},
		{"addr", "add", "10.78.0.1/24", "dev", "eth5"},
		{"link", "set", "eth5p", "up"},
		{"link", "set", "eth5", "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", h.NS}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

func delEth5(t *testing.T, h *nettest.Host) {
	t.Helper()
	if out, err := exec.Command("ip", "-n", h.NS, "link", "del", "eth5").CombinedOutput(); err != nil {
		t.Fatalf("deleting eth5: %v: %s", err, out)
	}
}

// dynamicRun is what one daemon did: the notify calls for VI_2, and how
// long its VIP took to come up after eth5 was created, the first time
// and after eth5 was deleted and created again.
type dynamicRun struct {
	calls          []string
	up, upAgain    time.Duration
	vi1WhileWaited bool
}

func runDynamic(t *testing.T, m *nettest.Host, bin string, ours, dynamic bool) dynamicRun {
	t.Helper()
	dir := t.TempDir()
	notifyScript(t, dir)
	conf := dynamicConf(dir, dynamic)
	d := startEither(t, m, bin, ours, dir, conf)
	defer func() {
		d.Stop(t, 10*time.Second)
		exec.Command("ip", "-n", m.NS, "link", "del", "eth5").Run()
	}()
	var r dynamicRun
	waitFor(t, "VI_1 master while VI_2 waits for eth5", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
	r.vi1WhileWaited = true
	time.Sleep(500 * time.Millisecond)
	addEth5(t, m)
	r.up = waitFor(t, "VI_2 master once eth5 exists", 15*time.Second, func() bool { return m.HasAddr(dynamicVIP) })
	delEth5(t, m)
	time.Sleep(time.Second)
	addEth5(t, m)
	r.upAgain = waitFor(t, "VI_2 master once eth5 exists again", 15*time.Second, func() bool { return m.HasAddr(dynamicVIP) })
	time.Sleep(500 * time.Millisecond) // the last notify
	b, _ := os.ReadFile(filepath.Join(dir, "calls"))
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(l, "VI_2") {
			r.calls = append(r.calls, l)
		}
	}
	return r
}

// TestDaemonDynamicInterfacesBesideKeepalived: with dynamic_interfaces,
// keepalived and gokeepalived both run the instance on eth0 at once and
// hold the one on eth5 in FAULT until eth5 is created, then make it
// master, and do so again after eth5 is deleted and created anew; the
// notify scripts hear the same states, and gokeepalived brings the VIP up
// no later than keepalived (a second of slack for the advert timer).
func TestDaemonDynamicInterfacesBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	theirs := runDynamic(t, m, bin, false, true)
	ours := runDynamic(t, m, bin, true, true)
	t.Logf("VI_2's notify calls: %q", theirs.calls)
	if len(theirs.calls) < 3 {
		t.Errorf("keepalived's VI_2 notify calls %q: want FAULT, then the states it took", theirs.calls)
	}
	if strings.Join(ours.calls, "\n") != strings.Join(theirs.calls, "\n") {
		t.Errorf("VI_2's notify calls:\n%s\nkeepalived's:\n%s", strings.Join(ours.calls, "\n"), strings.Join(theirs.calls, "\n"))
	}
	for _, c := range []struct {
		what       string
		our, their time.Duration
	}{{"created", ours.up, theirs.up}, {"created again", ours.upAgain, theirs.upAgain}} {
		t.Logf("VIP up %v after eth5 %s; keepalived's after %v", c.our.Round(time.Millisecond), c.what, c.their.Round(time.Millisecond))
		if c.our > c.their+time.Second {
			t.Errorf("VIP up %v after eth5 %s, keepalived's after %v", c.our, c.what, c.their)
		}
	}
}

// TestDaemonMissingInterfaceRunsTheOthers: without dynamic_interfaces,
// keepalived's VRRP process exits on a missing interface and stops every
// instance; gokeepalived says what keepalived says, runs the other
// instances, and holds the one on the missing interface in FAULT until
// the interface exists.
func TestDaemonMissingInterfaceRunsTheOthers(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	r := runDynamic(t, m, gokeepalivedBinary(t), true, false)
	if want := "INSTANCE VI_2 FAULT 150"; len(r.calls) == 0 || r.calls[0] != want {
		t.Errorf("VI_2's notify calls %q, want %q first", r.calls, want)
	}
}
