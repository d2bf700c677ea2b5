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

// prioConf has two instances whose priority follows a track_file: one
// with notify_priority_changes of its own, one through
// vrrp_notify_priority_changes, and a third that sets it off.
func prioConf(dir string) string {
	instance := func(name string, vrid int, state, extra string) string {
		return fmt.Sprintf(`vrrp_instance %[1]s {
    state %[3]s
    interface eth0
    virtual_router_id %[2]d
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.77.0.%[2]d/24
    }
    track_file {
        weight
    }
%[4]s}
`, name, vrid, state, extra)
	}
	return fmt.Sprintf(`global_defs {
    router_id prio
    enable_script_security
    script_user root
    vrrp_notify_priority_changes
    vrrp_notify_fifo %[1]s/fifo
    vrrp_notify_fifo_script %[1]s/fifo.sh
}
track_file weight {
    file %[1]s/weight
    weight 1
}
`, dir) + instance("VI_1", 91, "MASTER", "    notify_priority_changes\n") +
		instance("VI_2", 92, "MASTER", "") +
		instance("VI_3", 93, "MASTER", "    notify_priority_changes false\n")
}

// runPrio changes the tracked file's number twice and returns the FIFO
// lines the daemon wrote.
func runPrio(t *testing.T, m *nettest.Host, bin string, ours bool) []string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	lines := filepath.Join(dir, "lines")
	if err := os.WriteFile(filepath.Join(dir, "fifo.sh"), []byte("#!/bin/sh\nexec cat \"$1\" >> "+lines+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "weight"), []byte("0\n"), 0o644)
	conf := prioConf(dir)
	d := startEither(t, m, bin, ours, dir, conf)
	defer d.Stop(t, 10*time.Second)
	waitFor(t, "masters", 10*time.Second, func() bool {
		return m.HasAddr("10.77.0.91") && m.HasAddr("10.77.0.92") && m.HasAddr("10.77.0.93")
	})
	for _, w := range []string{"-10", "5"} {
		time.Sleep(1500 * time.Millisecond)
		os.WriteFile(filepath.Join(dir, "weight.new"), []byte(w+"\n"), 0o644)
		os.Rename(filepath.Join(dir, "weight.new"), filepath.Join(dir, "weight"))
	}
	time.Sleep(1500 * time.Millisecond)
	b, _ := os.ReadFile(lines)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(l, "PRIORITY") {
			out = append(out, l)
		}
	}
	return out
}

// TestDaemonNotifyPriorityChangesBesideKeepalived: with
// notify_priority_changes (on the instance, or through
// vrrp_notify_priority_changes, and not where the instance turns it off),
// each change of a master's effective priority writes keepalived's
// MASTER_PRIORITY line to the notify FIFO, as keepalived writes it.
func TestDaemonNotifyPriorityChangesBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	theirs := runPrio(t, m, bin, false)
	ours := runPrio(t, m, bin, true)
	t.Logf("keepalived's lines: %q", theirs)
	if len(theirs) != 4 {
		t.Errorf("keepalived wrote %d priority lines, want 4 (two instances, two changes)", len(theirs))
	}
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("FIFO lines:\n%s\nkeepalived's:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
}
