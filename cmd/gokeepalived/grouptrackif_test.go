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

// groupTrackConf has sync group G1 track eth0, the members' own
// interface, eth1, which both members track themselves, eth2, which
// neither does, and a track file. VI_1 tracks its own interface and eth1
// with weight 0; VI_2 has dont_track_primary and tracks eth1 and the file
// with weights of its own, kept by sync_group_tracking_weight.
func groupTrackConf(dir string) string {
	return fmt.Sprintf(`global_defs {
    router_id grouptrack
    enable_script_security
    script_user root
    vrrp_notify_fifo %[1]s/fifo
    vrrp_notify_fifo_script %[1]s/fifo.sh
}
track_file tf {
    file %[1]s/tf
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    sync_group_tracking_weight
    track_interface {
        eth0 weight 10
        eth1 weight 7
        eth2 weight 3
    }
    track_file {
        tf weight 4
    }
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 97
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.77.0.97/24
    }
    track_interface {
        eth1
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    dont_track_primary
    virtual_router_id 98
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.77.0.98/24
    }
    track_interface {
        eth1 weight 5
    }
    track_file {
        tf weight 2
    }
}
`, dir)
}

// runGroupTrack starts one daemon on groupTrackConf and returns the FIFO
// lines of the group's and members' first state, which carry the
// members' effective priorities.
func runGroupTrack(t *testing.T, m *nettest.Host, bin string, ours bool) []string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	lines := filepath.Join(dir, "lines")
	if err := os.WriteFile(filepath.Join(dir, "fifo.sh"), []byte("#!/bin/sh\nexec cat \"$1\" >> "+lines+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tf"), []byte("2\n"), 0o644)
	d := startEither(t, m, bin, ours, dir, groupTrackConf(dir))
	defer d.Stop(t, 10*time.Second)
	var out []string
	waitFor(t, "the first states", 10*time.Second, func() bool {
		b, _ := os.ReadFile(lines)
		out = strings.Split(strings.TrimSpace(string(b)), "\n")
		return len(out) >= 3
	})
	return out[:3]
}

// TestDaemonGroupTrackInterfaceBesideKeepalived: a sync group's
// track_interface on an interface a member tracks already, its own
// (tracked with weight 0, unless dont_track_primary) or one of its
// track_interface entries, takes the group's weight only where the
// member's weight is not 0, and a group's track_file takes over the
// member's own weight: the members' effective priorities are
// keepalived's, and the group tells its first state before its members,
// as keepalived's does.
func TestDaemonGroupTrackInterfaceBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	for _, pair := range [][2]string{{"eth1", "eth1p"}, {"eth2", "eth2p"}} {
		for _, args := range [][]string{
			{"link", "add", pair[0], "type", "veth", "peer", "name", pair[1]},
			{"link", "set", pair[0], "up"}, {"link", "set", pair[1], "up"},
		} {
			if out, err := m.Exec("ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
	}
	bin := gokeepalivedBinary(t)
	theirs := runGroupTrack(t, m, bin, false)
	ours := runGroupTrack(t, m, bin, true)
	t.Logf("keepalived's lines: %q", theirs)
	// VI_1: 100, eth0 and eth1 tracked with weight 0, eth2 3, file 4×2.
	// VI_2: 100, eth0 10, eth1 7 (the group's), eth2 3, file 4×2.
	want := []string{`GROUP "G1" BACKUP 0`, `INSTANCE "VI_1" BACKUP 111`, `INSTANCE "VI_2" BACKUP 128`}
	if strings.Join(theirs, "\n") != strings.Join(want, "\n") {
		t.Errorf("keepalived's lines:\n%s\nwant:\n%s", strings.Join(theirs, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("FIFO lines:\n%s\nkeepalived's:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
}
