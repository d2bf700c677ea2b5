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

// trackGroupConf has VI_1 on eth0 in track group tg1, which the static
// address on eth1 names; the static address on eth2 names no group.
func trackGroupConf(dir string) string {
	return fmt.Sprintf(`global_defs {
    router_id trackgroup
    enable_script_security
    script_user root
}
track_group tg1 {
    group {
        VI_1
    }
}
static_ipaddress {
    10.78.1.1/24 dev eth1 track_group tg1
    10.78.2.1/24 dev eth2
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 85
    priority 150
    advert_int 1
    virtual_ipaddress {
        %[1]s/24
    }
    notify "%[2]s/notify.sh"
}
`, daemonVIP, dir)
}

// runTrackGroup takes eth2, then eth1, down and up under one daemon and
// returns its notify calls and how long the VIP took to go after eth1
// went down.
func runTrackGroup(t *testing.T, m *nettest.Host, bin string, ours bool) (calls string, gone time.Duration) {
	t.Helper()
	dir := t.TempDir()
	notifyScript(t, dir)
	d := startEither(t, m, bin, ours, dir, trackGroupConf(dir))
	defer d.Stop(t, 10*time.Second)
	waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) && m.HasAddr("10.78.1.1") })
	time.Sleep(time.Second)
	link := func(name, state string) {
		if out, err := m.Exec("ip", "link", "set", name, state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s %s: %v: %s", name, state, err, out)
		}
	}
	// An interface no track group names changes nothing.
	link("eth2", "down")
	time.Sleep(1500 * time.Millisecond)
	link("eth2", "up")
	time.Sleep(time.Second)
	link("eth1", "down")
	gone = waitFor(t, "FAULT", 10*time.Second, func() bool { return !m.HasAddr(daemonVIP) })
	time.Sleep(time.Second)
	link("eth1", "up")
	waitFor(t, "MASTER again", 15*time.Second, func() bool { return m.HasAddr(daemonVIP) })
	time.Sleep(1500 * time.Millisecond)
	b, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return strings.TrimSpace(string(b)), gone
}

// TestDaemonTrackGroupBesideKeepalived: the instance of a track group
// goes to FAULT when the interface of a static address naming the group
// goes down, and back when it comes up, under keepalived and then under
// gokeepalived, with the same notify calls; an interface no group names
// changes nothing.
func TestDaemonTrackGroupBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
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
	theirs, theirGone := runTrackGroup(t, m, bin, false)
	ours, ourGone := runTrackGroup(t, m, bin, true)
	t.Logf("VIP gone %v after eth1 went down (keepalived %v); notify calls %q", ourGone.Round(time.Millisecond), theirGone.Round(time.Millisecond), theirs)
	if !strings.Contains(theirs, "FAULT") {
		t.Errorf("keepalived's notify calls %q: want FAULT", theirs)
	}
	if ours != theirs {
		t.Errorf("notify calls:\n%s\nkeepalived's:\n%s", ours, theirs)
	}
	if ourGone > theirGone+500*time.Millisecond {
		t.Errorf("VIP gone %v after eth1 went down, keepalived's %v", ourGone, theirGone)
	}
}
