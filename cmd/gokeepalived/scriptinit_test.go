package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// scriptInitConf has VI_1 and VI_2, in sync group G1, and VI_3, in no
// group, all tracking with weight 0 a script that sleeps a second and then
// exits with status, so that they start while it has no result yet; the
// script has init_fail if initFail says so.
func scriptInitConf(dir string, status int, initFail bool) string {
	instance := func(name string, vrid int) string {
		return fmt.Sprintf(`vrrp_instance %[1]s {
    state BACKUP
    interface eth0
    virtual_router_id %[2]d
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.77.0.%[2]d/24
    }
    track_script {
        chk weight 0
    }
    notify "%[3]s/notify.sh"
    notify_fault "%[3]s/notify.sh fault"
    notify_backup "%[3]s/notify.sh backup"
}
`, name, vrid, dir)
	}
	return fmt.Sprintf(`global_defs {
    router_id scriptinit
    enable_script_security
    script_user root
    vrrp_notify_fifo %[1]s/fifo
    vrrp_notify_fifo_script %[1]s/fifo.sh
}
vrrp_script chk {
    script "/bin/sh -c 'sleep 1; exit %[2]d'"
    interval 3
    timeout 5
%[3]s}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    notify "%[1]s/notify.sh"
    notify_fault "%[1]s/notify.sh groupfault"
    notify_backup "%[1]s/notify.sh groupbackup"
}
`, dir, status, map[bool]string{true: "    init_fail\n"}[initFail]) + instance("VI_1", 94) + instance("VI_2", 95) + instance("VI_3", 96)
}

// runScriptInit runs one daemon on scriptInitConf until well after the
// script's first result and returns the FIFO lines and notify calls.
func runScriptInit(t *testing.T, m *nettest.Host, bin string, ours bool, status int, initFail bool) (fifo, calls []string) {
	t.Helper()
	dir := t.TempDir()
	notifyScript(t, dir)
	lines := filepath.Join(dir, "lines")
	if err := os.WriteFile(filepath.Join(dir, "fifo.sh"), []byte("#!/bin/sh\nexec cat \"$1\" >> "+lines+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startEither(t, m, bin, ours, dir, scriptInitConf(dir, status, initFail))
	// The script's first result comes after a second; an instance that
	// came up would be BACKUP 3 s later and stay so (it is alone).
	time.Sleep(3500 * time.Millisecond)
	d.Stop(t, 10*time.Second)
	split := func(path string) []string {
		b, _ := os.ReadFile(path)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" && !strings.Contains(l, "STOP") && !strings.HasSuffix(l, "DELETED") {
				out = append(out, l)
			}
		}
		return out
	}
	return split(lines), split(filepath.Join(dir, "calls"))
}

// TestDaemonScriptInitBesideKeepalived: instances held by a weight 0
// track_script that has no result yet enter FAULT without a word, as
// keepalived's do; then, whether the script succeeds or fails, the notify
// scripts and FIFO lines of the instances and their sync group are
// keepalived's, in keepalived's order. init_fail changes none of it, as
// in keepalived 2.2.7, where tracking a script undoes it.
func TestDaemonScriptInitBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on the script
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	for _, tc := range []struct {
		status   int
		initFail bool
	}{{0, false}, {1, false}, {0, true}, {1, true}} {
		status := tc.status
		t.Run(fmt.Sprintf("exit%d/init_fail=%v", status, tc.initFail), func(t *testing.T) {
			theirFIFO, theirCalls := runScriptInit(t, m, bin, false, status, tc.initFail)
			ourFIFO, ourCalls := runScriptInit(t, m, bin, true, status, tc.initFail)
			t.Logf("keepalived's FIFO lines %q, notify calls %q", theirFIFO, theirCalls)
			// Each notify script runs on its own: the calls' order is
			// the scheduler's, the FIFO's is the daemon's.
			slices.Sort(theirCalls)
			slices.Sort(ourCalls)
			if want := map[int]int{0: 4, 1: 4}[status]; len(theirFIFO) != want {
				t.Errorf("keepalived wrote %d FIFO lines, want %d", len(theirFIFO), want)
			}
			if status == 0 && slices.ContainsFunc(theirFIFO, func(l string) bool { return strings.Contains(l, "FAULT") }) {
				t.Errorf("keepalived told FAULT with a script that succeeds: %q", theirFIFO)
			}
			if strings.Join(ourFIFO, "\n") != strings.Join(theirFIFO, "\n") {
				t.Errorf("FIFO lines:\n%s\nkeepalived's:\n%s", strings.Join(ourFIFO, "\n"), strings.Join(theirFIFO, "\n"))
			}
			if strings.Join(ourCalls, "\n") != strings.Join(theirCalls, "\n") {
				t.Errorf("notify calls:\n%s\nkeepalived's:\n%s", strings.Join(ourCalls, "\n"), strings.Join(theirCalls, "\n"))
			}
		})
	}
}
