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

// trackIfConf has VI_1 tracking trk0 with weight 10 reverse (10 off its
// priority while trk0 is up) and trk2 with weight -20 reverse (20 onto it
// while trk2 is down), and VI_2 tracking trk4 with weight 0 reverse
// (FAULT while trk4 is up). Every change goes to the notify FIFO.
func trackIfConf(dir string) string {
	instance := func(name string, vrid int, track string) string {
		return fmt.Sprintf(`vrrp_instance %[1]s {
    state BACKUP
    interface eth0
    virtual_router_id %[2]d
    priority 150
    advert_int 1
    notify_priority_changes
    virtual_ipaddress {
        10.77.0.%[2]d/24
    }
    track_interface {
%[3]s    }
}
`, name, vrid, track)
	}
	return fmt.Sprintf(`global_defs {
    router_id trackif
    enable_script_security
    script_user root
    vrrp_notify_fifo %[1]s/fifo
    vrrp_notify_fifo_script %[1]s/fifo.sh
}
`, dir) + instance("VI_1", 91, "        trk0 weight 10 reverse\n        trk2 weight -20 reverse\n") +
		instance("VI_2", 92, "        trk4 weight 0 reverse\n")
}

// runTrackIf takes the peers of trk0, trk2 and trk4 down and up in turn
// and returns the notify FIFO lines of each instance.
func runTrackIf(t *testing.T, m *nettest.Host, bin string, ours bool) map[string][]string {
	t.Helper()
	for _, l := range []string{"trk1", "trk3", "trk5"} {
		m.Run("ip", "link", "set", l, "up")
	}
	time.Sleep(500 * time.Millisecond) // carrier on trk0, trk2, trk4
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	lines := filepath.Join(dir, "lines")
	if err := os.WriteFile(filepath.Join(dir, "fifo.sh"), []byte("#!/bin/sh\nexec cat \"$1\" >> "+lines+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startEither(t, m, bin, ours, dir, trackIfConf(dir))
	waitFor(t, "VI_1 master", 10*time.Second, func() bool { return m.HasAddr("10.77.0.91") })
	for _, step := range []struct {
		link, state string
		wait        time.Duration
	}{
		{"trk1", "down", 1500 * time.Millisecond},
		{"trk3", "down", 1500 * time.Millisecond},
		{"trk5", "down", 4500 * time.Millisecond}, // VI_2 out of FAULT, then MASTER
		{"trk5", "up", 1500 * time.Millisecond},
		{"trk1", "up", 1500 * time.Millisecond},
	} {
		m.Run("ip", "link", "set", step.link, step.state)
		time.Sleep(step.wait)
	}
	// Read before the stop: whether the FIFO reader, which the daemon
	// ends as it exits, sees STOP is a race.
	b, _ := os.ReadFile(lines)
	if err := d.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		for _, name := range []string{"VI_1", "VI_2"} {
			if strings.Contains(l, `"`+name+`"`) {
				out[name] = append(out[name], l)
			}
		}
	}
	return out
}

// TestDaemonTrackInterfaceReverseBesideKeepalived: track_interface with
// weight ... reverse moves the priority the other way, and weight 0
// reverse faults while the interface is up, as keepalived does: the same
// FIFO lines, state and priority, for each instance.
func TestDaemonTrackInterfaceReverseBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	for _, p := range [][2]string{{"trk0", "trk1"}, {"trk2", "trk3"}, {"trk4", "trk5"}} {
		m.Run("ip", "link", "add", p[0], "type", "veth", "peer", "name", p[1])
		m.Run("ip", "link", "set", p[0], "up")
	}
	bin := gokeepalivedBinary(t)
	theirs := runTrackIf(t, m, bin, false)
	ours := runTrackIf(t, m, bin, true)
	for _, name := range []string{"VI_1", "VI_2"} {
		t.Logf("keepalived's %s: %q", name, theirs[name])
		if strings.Join(ours[name], "\n") != strings.Join(theirs[name], "\n") {
			t.Errorf("%s FIFO lines:\n%s\nkeepalived's:\n%s", name, strings.Join(ours[name], "\n"), strings.Join(theirs[name], "\n"))
		}
	}
	if !strings.Contains(strings.Join(theirs["VI_1"], "\n"), "MASTER_PRIORITY 170") ||
		!strings.Contains(strings.Join(theirs["VI_2"], "\n"), "FAULT") {
		t.Errorf("keepalived's lines do not show the reversed weights: %q", theirs)
	}
}
