package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// trackBFDInstances are the instances of trackBFDConf, in order.
var trackBFDInstances = []string{"VI_D", "VI_R", "VI_0", "VI_G1", "VI_G2"}

// trackBFDConf has bfd_instance B1 (weight 30) toward 10.79.0.2 and
// instances tracking it: VI_D with the block's weight, VI_R with weight
// -10 reverse (10 onto its priority while B1 is down), VI_0 with weight 0
// (FAULT while B1 is not Up), and sync group G, whose members VI_G1 and
// VI_G2 track it with weight -20. Every change goes to the notify FIFO.
func trackBFDConf(dir string) string {
	instance := func(name string, vrid int, track string) string {
		return fmt.Sprintf(`vrrp_instance %[1]s {
    state BACKUP
    interface eth0
    virtual_router_id %[2]d
    priority 150
    advert_int 1
    notify_priority_changes
    virtual_ipaddress {
        10.79.0.%[2]d/24
    }
%[3]s}
`, name, vrid, track)
	}
	return fmt.Sprintf(`global_defs {
    router_id trackbfd
    enable_script_security
    script_user root
    vrrp_notify_fifo %[1]s/fifo
    vrrp_notify_fifo_script %[1]s/fifo.sh
}
bfd_instance B1 {
    neighbor_ip 10.79.0.2
    source_ip 10.79.0.1
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
    weight 30
}
vrrp_sync_group G {
    group {
        VI_G1
        VI_G2
    }
    track_bfd {
        B1 weight -20
    }
}
`, dir) + instance("VI_D", 81, "    track_bfd {\n        B1\n    }\n") +
		instance("VI_R", 82, "    track_bfd {\n        B1 weight -10 reverse\n    }\n") +
		instance("VI_0", 83, "    track_bfd {\n        B1 weight 0\n    }\n") +
		instance("VI_G1", 84, "") + instance("VI_G2", 85, "")
}

// trackBFDPeer is keepalived's BFD process alone on the other side.
const trackBFDPeer = `bfd_instance B1 {
    neighbor_ip 10.79.0.1
    source_ip 10.79.0.2
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
}
`

// trackBFDRun is what one daemon did through runTrackBFD.
type trackBFDRun struct {
	fifo map[string][]string // the notify FIFO lines, by instance
	log  map[string][]string // the "Tracked BFD" messages, by instance
}

// runTrackBFD starts the daemon under test (ours or keepalived) on g
// and, once its instances have settled, keepalived's BFD process alone
// on k; B1 comes Up, goes Down while the peer is stopped, and comes Up
// again. It returns the daemon's notify FIFO lines and BFD tracking
// messages.
func runTrackBFD(t *testing.T, g, k *nettest.Host, bin string, ours bool) trackBFDRun {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	lines := filepath.Join(dir, "lines")
	if err := os.WriteFile(filepath.Join(dir, "fifo.sh"), []byte("#!/bin/sh\nexec cat \"$1\" >> "+lines+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Its BFD part too: -P keeps BFD running, in both.
	d := startEither(t, g, bin, ours, dir, trackBFDConf(dir), "-b", filepath.Join(dir, "bfd.pid"))
	// VI_D, VI_R and the group become MASTER; VI_0 stays in FAULT.
	waitFor(t, "VI_D master", 10*time.Second, func() bool { return g.HasAddr("10.79.0.81") })
	waitFor(t, "VI_G2 master", 10*time.Second, func() bool { return g.HasAddr("10.79.0.85") })
	time.Sleep(500 * time.Millisecond)
	if g.HasAddr("10.79.0.83") {
		t.Errorf("VI_0 is MASTER while B1 is down")
	}

	kdir := t.TempDir()
	peerPid := filepath.Join(kdir, "bfd.pid")
	peer := k.StartKeepalived(t, trackBFDPeer, "-b", peerPid)
	up, down := "(B1) Entering Up state", "(B1) Entering Down state"
	waitCount(t, "B1 Up", 10*time.Second, d.Output, up, 1)
	waitFor(t, "VI_0 master", 10*time.Second, func() bool { return g.HasAddr("10.79.0.83") })
	time.Sleep(time.Second)

	child, err := nettest.PidFromFile(peerPid)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGCONT) })
	waitCount(t, "B1 Down", 5*time.Second, d.Output, down, 1)
	waitFor(t, "VI_0 leaves MASTER", 5*time.Second, func() bool { return !g.HasAddr("10.79.0.83") })
	time.Sleep(time.Second)
	if err := syscall.Kill(child, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "B1 Up again", 10*time.Second, d.Output, up, 2)
	waitFor(t, "VI_0 master again", 10*time.Second, func() bool { return g.HasAddr("10.79.0.83") })
	time.Sleep(time.Second)

	// Read before the stop: whether the FIFO reader, which the daemon
	// ends as it exits, sees STOP is a race.
	b, _ := os.ReadFile(lines)
	out := d.Output()
	if err := d.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := peer.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	run := trackBFDRun{fifo: map[string][]string{}, log: map[string][]string{}}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		for _, name := range trackBFDInstances {
			if strings.Contains(l, `"`+name+`"`) {
				run.fifo[name] = append(run.fifo[name], l)
			}
		}
	}
	for l := range strings.Lines(out) {
		m := consoleLine.FindStringSubmatch(strings.TrimRight(l, "\n"))
		if m == nil || !strings.Contains(m[1], "Tracked BFD") {
			continue
		}
		for _, name := range trackBFDInstances {
			if strings.Contains(m[1], "("+name+")") {
				run.log[name] = append(run.log[name], m[1])
			}
		}
	}
	return run
}

// TestDaemonTrackBFDBesideKeepalived: track_bfd in instances and a sync
// group follows a BFD session with keepalived's peer, as keepalived's
// does: the block's weight where the entry gives none, a negative weight
// with reverse, weight 0 holding the instance in FAULT until the session
// is Up, a sync group's weight on each member. The notify FIFO lines
// (states and priorities) and the "Tracked BFD" messages of each
// instance are the same as keepalived's, in order.
func TestDaemonTrackBFDBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	g := lab.AddHost("g", "10.79.0.1/24")
	k := lab.AddHost("k", "10.79.0.2/24")
	bin := gokeepalivedBinary(t)
	theirs := runTrackBFD(t, g, k, bin, false)
	ours := runTrackBFD(t, g, k, bin, true)
	for _, name := range trackBFDInstances {
		t.Logf("keepalived's %s: %q %q", name, theirs.fifo[name], theirs.log[name])
		if o, k := strings.Join(ours.fifo[name], "\n"), strings.Join(theirs.fifo[name], "\n"); o != k {
			t.Errorf("%s FIFO lines:\n%s\nkeepalived's:\n%s", name, o, k)
		}
		if o, k := strings.Join(ours.log[name], "\n"), strings.Join(theirs.log[name], "\n"); o != k {
			t.Errorf("%s BFD messages:\n%s\nkeepalived's:\n%s", name, o, k)
		}
	}
	// What keepalived's lines must show for the comparison to mean
	// anything: each weight moved the priority, VI_0 went to FAULT.
	all := func(name string) string { return strings.Join(theirs.fifo[name], "\n") }
	for name, want := range map[string]string{
		"VI_D": "MASTER_PRIORITY 180", "VI_R": "MASTER_PRIORITY 160", "VI_0": "FAULT", "VI_G1": "MASTER_PRIORITY 130",
	} {
		if !strings.Contains(all(name), want) {
			t.Errorf("keepalived's %s lines have no %q: %q", name, want, theirs.fifo[name])
		}
	}
}

// TestDaemonTrackBFDVRRPStartsLate starts gokeepalived with BFD alone,
// brings session B1 Up with keepalived's BFD process as the peer, then
// reloads with an instance tracking B1 with weight 0: the VRRP loop that
// the reload starts hears that B1 is already Up, so the instance never
// enters FAULT and becomes MASTER; a second reload keeps it MASTER, and
// the peer stopping puts it in FAULT.
func TestDaemonTrackBFDVRRPStartsLate(t *testing.T) {
	t.Parallel() // its own namespaces and files
	lab := nettest.NewLab(t)
	g := lab.AddHost("g", "10.79.1.1/24")
	k := lab.AddHost("k", "10.79.1.2/24")
	bin := gokeepalivedBinary(t)
	bfdOnly := `bfd_instance B1 {
    neighbor_ip 10.79.1.2
    source_ip 10.79.1.1
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
}
`
	withVRRP := bfdOnly + `vrrp_instance VI_0 {
    state BACKUP
    interface eth0
    virtual_router_id 86
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.79.1.86/24
    }
    track_bfd {
        B1 weight 0
    }
}
`
	dir := t.TempDir()
	d := startOursOn(t, g, bin, dir, bfdOnly)
	peerPid := filepath.Join(t.TempDir(), "bfd.pid")
	k.StartKeepalived(t, strings.NewReplacer("10.79.1.2", "10.79.1.1", "source_ip 10.79.1.1", "source_ip 10.79.1.2").Replace(bfdOnly), "-b", peerPid)
	waitCount(t, "B1 Up", 10*time.Second, d.Output, "(B1) Entering Up state", 1)

	reload := func() {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(withVRRP), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	reload()
	waitFor(t, "VI_0 master", 10*time.Second, func() bool { return g.HasAddr("10.79.1.86") })
	if strings.Contains(d.Output(), "(VI_0) Entering FAULT STATE") {
		t.Errorf("VI_0 entered FAULT though B1 was Up before the VRRP loop started")
	}
	reload()
	time.Sleep(2 * time.Second)
	if !g.HasAddr("10.79.1.86") || strings.Contains(d.Output(), "(VI_0) Entering FAULT STATE") {
		t.Errorf("VI_0 left MASTER on a reload that kept B1 Up")
	}

	child, err := nettest.PidFromFile(peerPid)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGCONT) })
	waitFor(t, "VI_0 in FAULT with B1 down", 5*time.Second, func() bool {
		return !g.HasAddr("10.79.1.86") && strings.Contains(d.Output(), "(VI_0) Entering FAULT STATE")
	})
}
