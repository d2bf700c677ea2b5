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

// vipDelConf has a tracked VIP and an excluded one with no_track.
func vipDelConf(dir string) string {
	return fmt.Sprintf(`global_defs {
    router_id vipdel
    enable_script_security
    script_user root
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 83
    priority 150
    advert_int 1
    virtual_ipaddress {
        %[1]s/24
    }
    virtual_ipaddress_excluded {
        10.77.0.110/24 no_track
    }
    notify "%[2]s/notify.sh"
}
`, daemonVIP, dir)
}

// vipDelRun is what one daemon did when its VIPs were deleted by hand.
type vipDelRun struct {
	back       time.Duration // until the tracked VIP was back
	calls      string
	untracked  bool // the no_track VIP came back
	stillOwner bool // the tracked VIP is there at the end
}

func runVIPDel(t *testing.T, m *nettest.Host, bin string, ours bool) vipDelRun {
	t.Helper()
	dir := t.TempDir()
	notifyScript(t, dir)
	conf := vipDelConf(dir)
	d := startEither(t, m, bin, ours, dir, conf)
	defer d.Stop(t, 10*time.Second)
	waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) && m.HasAddr("10.77.0.110") })
	time.Sleep(time.Second)
	var r vipDelRun
	del := func(addr string) {
		if out, err := exec.Command("ip", "-n", m.NS, "addr", "del", addr+"/24", "dev", "eth0").CombinedOutput(); err != nil {
			t.Fatalf("deleting %s: %v: %s", addr, err, out)
		}
	}
	del("10.77.0.110")
	time.Sleep(2 * time.Second)
	r.untracked = m.HasAddr("10.77.0.110")
	del(daemonVIP)
	r.back = waitFor(t, "the VIP back", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
	time.Sleep(1500 * time.Millisecond)
	r.stillOwner = m.HasAddr(daemonVIP)
	b, _ := os.ReadFile(filepath.Join(dir, "calls"))
	r.calls = strings.TrimSpace(string(b))
	return r
}

// TestDaemonVIPDeletedByHandBesideKeepalived deletes a master's VIPs by
// hand, under keepalived and then under gokeepalived: a VIP with no_track
// stays deleted; a tracked one makes the master leave MASTER and take it
// back at once, with the same notify calls, as soon as keepalived does.
func TestDaemonVIPDeletedByHandBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	theirs := runVIPDel(t, m, bin, false)
	ours := runVIPDel(t, m, bin, true)
	t.Logf("VIP back after %v, keepalived's after %v; notify calls %q", ours.back.Round(time.Millisecond), theirs.back.Round(time.Millisecond), theirs.calls)
	if ours.calls != theirs.calls {
		t.Errorf("notify calls:\n%s\nkeepalived's:\n%s", ours.calls, theirs.calls)
	}
	if !strings.Contains(theirs.calls, "BACKUP") {
		t.Errorf("keepalived's notify calls %q: want it to leave MASTER", theirs.calls)
	}
	if ours.untracked != theirs.untracked || theirs.untracked {
		t.Errorf("no_track VIP came back: ours %v, keepalived's %v; want neither", ours.untracked, theirs.untracked)
	}
	if !ours.stillOwner || !theirs.stillOwner {
		t.Errorf("VIP held at the end: ours %v, keepalived's %v", ours.stillOwner, theirs.stillOwner)
	}
	if ours.back > theirs.back+500*time.Millisecond {
		t.Errorf("VIP back after %v, keepalived's after %v", ours.back, theirs.back)
	}
}

// routeDelConf has a tracked virtual route and rule, and one of each
// with no_track.
func routeDelConf(dir string) string {
	return fmt.Sprintf(`global_defs {
    router_id routedel
    enable_script_security
    script_user root
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 84
    priority 150
    advert_int 1
    virtual_ipaddress {
        %[1]s/24
    }
    virtual_routes {
        10.88.0.0/24 via 10.77.0.254 dev eth0
        10.88.1.0/24 dev eth0 no_track
    }
    virtual_rules {
        from 10.77.0.0/24 table 100 priority 100
        from 10.77.5.0/24 table 101 priority 101 no_track
    }
    notify "%[2]s/notify.sh"
}
`, daemonVIP, dir)
}

// routeDelRun is what one daemon did when its virtual routes and rules
// were deleted by hand.
type routeDelRun struct {
	routeBack, ruleBack time.Duration // until the tracked ones were back
	calls               string
	untracked           string // the no_track entries that came back
}

func runRouteDel(t *testing.T, m *nettest.Host, bin string, ours bool) routeDelRun {
	t.Helper()
	dir := t.TempDir()
	notifyScript(t, dir)
	d := startEither(t, m, bin, ours, dir, routeDelConf(dir))
	defer d.Stop(t, 10*time.Second)
	has := func(args ...string) bool {
		return strings.TrimSpace(m.Run("ip", args...)) != ""
	}
	route := func(dst string) bool { return has("route", "show", dst) }
	rule := func(prio string) bool { return has("rule", "show", "priority", prio) }
	waitFor(t, "master", 10*time.Second, func() bool {
		return m.HasAddr(daemonVIP) && route("10.88.0.0/24") && route("10.88.1.0/24") && rule("100") && rule("101")
	})
	time.Sleep(time.Second)
	ip := func(args ...string) {
		if out, err := m.Exec("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	var r routeDelRun
	ip("route", "del", "10.88.1.0/24", "dev", "eth0")
	ip("rule", "del", "priority", "101")
	time.Sleep(2 * time.Second)
	if route("10.88.1.0/24") {
		r.untracked += " route"
	}
	if rule("101") {
		r.untracked += " rule"
	}
	ip("route", "del", "10.88.0.0/24")
	// Gone and back: the master left MASTER and stood again.
	r.routeBack = waitFor(t, "the route back", 10*time.Second, func() bool { return route("10.88.0.0/24") && m.HasAddr(daemonVIP) })
	time.Sleep(2 * time.Second)
	ip("rule", "del", "priority", "100")
	r.ruleBack = waitFor(t, "the rule back", 10*time.Second, func() bool { return rule("100") && m.HasAddr(daemonVIP) })
	time.Sleep(1500 * time.Millisecond)
	b, _ := os.ReadFile(filepath.Join(dir, "calls"))
	r.calls = strings.TrimSpace(string(b))
	return r
}

// TestDaemonVirtualRouteDeletedBesideKeepalived deletes a master's
// virtual routes and rules by hand, under keepalived and then under
// gokeepalived: those with no_track stay deleted; a tracked one makes
// the master leave MASTER and take it back, with the same notify calls,
// as soon as keepalived does.
func TestDaemonVirtualRouteDeletedBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	theirs := runRouteDel(t, m, bin, false)
	ours := runRouteDel(t, m, bin, true)
	t.Logf("route back after %v (keepalived %v), rule back after %v (keepalived %v); notify calls %q",
		ours.routeBack.Round(time.Millisecond), theirs.routeBack.Round(time.Millisecond),
		ours.ruleBack.Round(time.Millisecond), theirs.ruleBack.Round(time.Millisecond), theirs.calls)
	if ours.calls != theirs.calls {
		t.Errorf("notify calls:\n%s\nkeepalived's:\n%s", ours.calls, theirs.calls)
	}
	// BACKUP and MASTER at start, then once for the route and once for
	// the rule.
	if strings.Count(theirs.calls, "BACKUP") != 3 {
		t.Errorf("keepalived's notify calls %q: want it to leave MASTER twice after the start", theirs.calls)
	}
	if ours.untracked != theirs.untracked || theirs.untracked != "" {
		t.Errorf("no_track entries back: ours %q, keepalived's %q; want none", ours.untracked, theirs.untracked)
	}
	for _, c := range []struct {
		what        string
		ours, their time.Duration
	}{{"route", ours.routeBack, theirs.routeBack}, {"rule", ours.ruleBack, theirs.ruleBack}} {
		if c.ours > c.their+500*time.Millisecond {
			t.Errorf("%s back after %v, keepalived's after %v", c.what, c.ours, c.their)
		}
	}
}
