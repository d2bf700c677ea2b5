package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// groupConf is a sync group of two instances that tracks two scripts at
// group level: chk with weight -60, which takes a priority of 150 below a
// peer's 100, and chk_fault without weight, which puts the group in FAULT.
// Each script fails while its file exists in dir.
func groupConf(dir string, prio int) string {
	inst := func(name string, vrid int, vip string) string {
		return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
}
`, name, vrid, prio, vip)
	}
	return fmt.Sprintf(`global_defs {
    router_id %[1]s
    enable_script_security
    script_user root
}
vrrp_script chk {
    script "/usr/bin/test ! -e %[2]s/down"
    interval 1
    fall 1
    rise 1
}
vrrp_script chk_fault {
    script "/usr/bin/test ! -e %[2]s/fault"
    interval 1
    fall 1
    rise 1
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_script {
        chk weight -60
        chk_fault
    }
    notify "%[2]s/notify.sh"
}
`, filepath.Base(dir), dir) + inst("VI_1", 61, "10.77.0.111") + inst("VI_2", 62, "10.77.0.112")
}

// TestDaemonSyncGroupTracking runs the same sequence with gokeepalived and
// with keepalived as the director of priority 150 under test, beside a
// keepalived peer of priority 100: the group's weighted script moves both
// VIPs to the peer with the group in BACKUP, its unweighted one with the
// group in FAULT, and both return when the scripts pass again.
func TestDaemonSyncGroupTracking(t *testing.T) {
	for _, ours := range []bool{true, false} {
		name := map[bool]string{true: "gokeepalived", false: "keepalived"}[ours]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lab := nettest.NewLab(t)
			a := lab.AddHost("a", "10.77.0.1/24")
			b := lab.AddHost("b", "10.77.0.2/24")
			peerDir := t.TempDir()
			notifyScript(t, peerDir)
			b.StartKeepalived(t, groupConf(peerDir, 100), "-P")

			dir := t.TempDir()
			notifyScript(t, dir)
			if ours {
				conf := filepath.Join(dir, "keepalived.conf")
				os.WriteFile(conf, []byte(groupConf(dir, 150)), 0o644)
				a.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf,
					"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
					"--control-socket", filepath.Join(dir, "ctl.sock"))
			} else {
				a.StartKeepalived(t, groupConf(dir, 150), "-P")
			}
			calls := func() string { b, _ := os.ReadFile(filepath.Join(dir, "calls")); return string(b) }
			onA := func() bool { return a.HasAddr("10.77.0.111") && a.HasAddr("10.77.0.112") }
			onB := func() bool {
				return b.HasAddr("10.77.0.111") && b.HasAddr("10.77.0.112") && !a.HasAddr("10.77.0.111") && !a.HasAddr("10.77.0.112")
			}
			masters := 0
			// The notify scripts run after the transition: wait for
			// the group's MASTER call before the next step.
			waitMaster := func(what string) {
				waitFor(t, what, 15*time.Second, func() bool {
					return onA() && strings.Count(calls(), "GROUP G MASTER") > masters
				})
				masters = strings.Count(calls(), "GROUP G MASTER")
				time.Sleep(300 * time.Millisecond)
			}
			waitMaster("the director owns both VIPs")

			for _, step := range []struct{ file, state string }{{"down", "BACKUP"}, {"fault", "FAULT"}} {
				before := len(calls())
				if err := os.WriteFile(filepath.Join(dir, step.file), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				waitFor(t, step.file+": the peer owns both VIPs", 10*time.Second, onB)
				waitFor(t, step.file+": group notify "+step.state, 5*time.Second, func() bool {
					return strings.Contains(calls()[before:], "GROUP G "+step.state)
				})
				if got := calls()[before:]; strings.Contains(got, "GROUP G MASTER") ||
					(step.state == "BACKUP" && strings.Contains(got, "FAULT")) {
					t.Errorf("%s: notify calls after the script failed:\n%s", step.file, got)
				}
				os.Remove(filepath.Join(dir, step.file))
				waitMaster(step.file + " gone: the director owns both VIPs again")
			}
		})
	}
}
