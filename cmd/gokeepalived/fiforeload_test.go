package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// fifoReloadConf has a master (VI_1), an instance in FAULT for its
// tracked interface (VI_2), a sync group of two masters (G1: VI_3,
// VI_4) and a backup to a keepalived of higher priority on another host
// (VI_5), all writing to one notify FIFO, and
// fifo_write_vrrp_states_on_reload.
func fifoReloadConf(dir string) string {
	instance := func(name string, vrid, prio int, extra string) string {
		return fmt.Sprintf(`vrrp_instance %[1]s {
    state BACKUP
    interface eth0
    virtual_router_id %[2]d
    priority %[3]d
    advert_int 1
    virtual_ipaddress {
        10.77.0.%[2]d/24
    }
%[4]s}
`, name, vrid, prio, extra)
	}
	return fmt.Sprintf(`global_defs {
    router_id fiforeload
    enable_script_security
    script_user root
    fifo_write_vrrp_states_on_reload
    vrrp_notify_fifo %[1]s/fifo
    vrrp_notify_fifo_script %[1]s/fifo.sh
}
vrrp_sync_group G1 {
    group {
        VI_3
        VI_4
    }
}
`, dir) + instance("VI_1", 91, 150, "") +
		instance("VI_2", 92, 150, "    track_interface {\n        trk0\n    }\n") +
		instance("VI_3", 93, 150, "") + instance("VI_4", 94, 150, "") +
		instance("VI_5", 95, 100, "")
}

// runFIFOReload starts a daemon with fifoReloadConf, reloads it once all
// is settled and returns the FIFO lines the reload wrote.
func runFIFOReload(t *testing.T, m *nettest.Host, bin string, ours bool) []string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	lines := filepath.Join(dir, "lines")
	if err := os.WriteFile(filepath.Join(dir, "fifo.sh"), []byte("#!/bin/sh\nexec cat \"$1\" >> "+lines+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fifoReloadConf(dir)
	d := startEither(t, m, bin, ours, dir, conf)
	waitFor(t, "masters", 10*time.Second, func() bool {
		return m.HasAddr("10.77.0.91") && m.HasAddr("10.77.0.93") && m.HasAddr("10.77.0.94")
	})
	time.Sleep(time.Second)
	before, _ := os.ReadFile(lines)
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// keepalived 2.2.7 logs no end of a reload.
	time.Sleep(2 * time.Second)
	after, _ := os.ReadFile(lines)
	if err := d.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(before), `INSTANCE "VI_5" BACKUP`) {
		t.Fatalf("VI_5 is not BACKUP before the reload: %q", before)
	}
	return strings.Split(strings.TrimSpace(string(after[len(before):])), "\n")
}

// TestDaemonFIFOStatesOnReloadBesideKeepalived: with
// fifo_write_vrrp_states_on_reload, a reload that changes no state
// writes the state of every sync group and of every instance but the
// masters to the notify FIFO, as keepalived does.
func TestDaemonFIFOStatesOnReloadBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	o := lab.AddHost("o", "10.77.0.2/24")
	m.Run("ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1")
	m.Run("ip", "link", "set", "trk0", "up") // no carrier: trk1 stays down
	o.StartKeepalived(t, `vrrp_instance VI_5 {
    state MASTER
    interface eth0
    virtual_router_id 95
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.77.0.95/24
    }
}
`, "-P")
	waitFor(t, "the other host masters VI_5", 10*time.Second, func() bool { return o.HasAddr("10.77.0.95") })
	bin := gokeepalivedBinary(t)
	theirs := runFIFOReload(t, m, bin, false)
	ours := runFIFOReload(t, m, bin, true)
	t.Logf("keepalived's lines: %q", theirs)
	if !slices.Contains(theirs, `INSTANCE "VI_5" BACKUP 100`) {
		t.Errorf("keepalived's lines lack VI_5's BACKUP: the case does not test what it says")
	}
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("FIFO lines:\n%s\nkeepalived's:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
}
