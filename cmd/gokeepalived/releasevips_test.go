package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

func releaseConf(prio int) string {
	return fmt.Sprintf(`vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 77
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
}
`, prio, daemonVIP)
}

// TestDaemonReleaseVIPs runs the same sequence against keepalived -X and
// gokeepalived -X beside a keepalived peer of priority 150, and requires
// the same addresses on the director after each step. keepalived 2.2.7
// deletes only the addresses an instance added itself (or, at start-up,
// any), so -X, which only lifts the "added this run" condition of
// vrrp_restore_interface, leaves an address added by hand on a backup in
// place through a reload and a stop, and a master demoted by a reload
// drops its VIP with or without it.
func TestDaemonReleaseVIPs(t *testing.T) {
	type step struct {
		what string
		want bool // the VIP is on the director after the step
	}
	steps := []step{
		{"start as backup over a leftover VIP", false},
		{"reload as backup with a VIP added by hand", true},
		{"reload to priority 200: preempts", true},
		{"reload to priority 50: backup again", false},
		{"stop as backup with a VIP added by hand", true},
	}
	run := func(t *testing.T, ours bool) []bool {
		lab := nettest.NewLab(t)
		a := lab.AddHost("a", "10.77.0.1/24")
		b := lab.AddHost("b", "10.77.0.2/24")
		b.StartKeepalived(t, releaseConf(150), "-P")
		waitFor(t, "peer is master", 10*time.Second, func() bool { return b.HasAddr(daemonVIP) })
		addByHand := func() {
			if err := a.Exec("ip", "addr", "replace", daemonVIP+"/24", "dev", "eth0").Run(); err != nil {
				t.Fatalf("adding %s by hand: %v", daemonVIP, err)
			}
		}
		addByHand()
		var d *nettest.Daemon
		var conf string
		if ours {
			dir := t.TempDir()
			conf = filepath.Join(dir, "keepalived.conf")
			os.WriteFile(conf, []byte(releaseConf(100)), 0o644)
			d = a.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-X", "-f", conf,
				"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
				"--control-socket", filepath.Join(dir, "ctl.sock"))
		} else {
			d = a.StartKeepalived(t, releaseConf(100), "-P", "-X")
			conf = filepath.Join(d.Dir, "keepalived.conf")
		}
		reload := func(prio int) {
			os.WriteFile(conf, []byte(releaseConf(prio)), 0o644)
			d.Signal(syscall.SIGHUP)
		}
		var got []bool
		// Each step waits for the state that the step should reach at
		// the latest; a step whose result is "unchanged" waits a fixed
		// time in which a change would have happened.
		if !d.WaitOutput("(VI_1) Entering BACKUP STATE", 10*time.Second) {
			t.Fatal("not BACKUP")
		}
		time.Sleep(500 * time.Millisecond)
		got = append(got, a.HasAddr(daemonVIP))

		addByHand()
		reload(100)
		time.Sleep(2 * time.Second)
		got = append(got, a.HasAddr(daemonVIP))

		a.Exec("ip", "addr", "del", daemonVIP+"/24", "dev", "eth0").Run()
		reload(200)
		nettest.Eventually(5*time.Second, func() bool { return a.HasAddr(daemonVIP) && !b.HasAddr(daemonVIP) })
		got = append(got, a.HasAddr(daemonVIP))

		reload(50)
		nettest.Eventually(5*time.Second, func() bool { return !a.HasAddr(daemonVIP) && b.HasAddr(daemonVIP) })
		got = append(got, a.HasAddr(daemonVIP))

		addByHand()
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatalf("stop: %v", err)
		}
		got = append(got, a.HasAddr(daemonVIP))
		return got
	}
	var mu sync.Mutex
	results := map[bool][]bool{}
	t.Run("daemons", func(t *testing.T) {
		for _, ours := range []bool{false, true} {
			name := map[bool]string{false: "keepalived", true: "gokeepalived"}[ours]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				got := run(t, ours)
				mu.Lock()
				results[ours] = got
				mu.Unlock()
				for i, s := range steps {
					if got[i] != s.want {
						t.Errorf("%s -X, %s: VIP present = %v, want %v", name, s.what, got[i], s.want)
					}
				}
			})
		}
	})
	if fmt.Sprint(results[false]) != fmt.Sprint(results[true]) {
		t.Errorf("VIP presence after each step: keepalived -X %v, gokeepalived -X %v", results[false], results[true])
	}
}
