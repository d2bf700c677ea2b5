package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// bfdCheckConf is a virtual server whose real server 10.80.0.2 has a
// BFD_CHECK on session B1 toward it, beside one without checkers; B1
// sends its events to the checkers alone.
const bfdCheckConf = `bfd_instance B1 {
    neighbor_ip 10.80.0.2
    source_ip 10.80.0.1
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
    checker
}
virtual_server 192.0.2.30 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.80.0.2 80 {
        weight 1
        BFD_CHECK {
            name B1
        }
    }
    real_server 10.80.0.3 80 {
        weight 1
    }
}
`

// bfdCheckPeer is keepalived's BFD process alone in the peer namespace.
const bfdCheckPeer = `bfd_instance B1 {
    neighbor_ip 10.80.0.1
    source_ip 10.80.0.2
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
}
`

// logFields are the structured fields gokeepalived's checker messages
// end with on the console.
var logFields = regexp.MustCompile(` checker=\S+ server=\S+$`)

// ipvsHas reports whether the IPVS table has real server rs.
func ipvsHas(t *testing.T, rs string) bool {
	out, err := exec.Command("ipvsadm", "-Ln").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v\n%s", err, out)
	}
	return strings.Contains(string(out), rs)
}

// TestGuestBFDCheck runs the same BFD_CHECK configuration under
// keepalived and then gokeepalived (-C, which keeps BFD running), with
// keepalived's BFD process as the peer in a namespace of its own: the
// checked real server is out of the IPVS table while the session has
// never been Up, enters it when the session comes Up, leaves it within
// the detection time and 150 ms when the peer stops, and comes back when
// it resumes; the real server without checkers stays throughout; both
// daemons log the same messages about the checked real server. The
// times each daemon took are logged side by side.
func TestGuestBFDCheck(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", "bfdpeer")
	t.Cleanup(func() { exec.Command("ip", "netns", "del", "bfdpeer").Run() })
	run("ip", "link", "add", "bfd0", "type", "veth", "peer", "name", "bfd1", "netns", "bfdpeer")
	run("ip", "addr", "add", "10.80.0.1/24", "dev", "bfd0")
	run("ip", "link", "set", "bfd0", "up")
	run("ip", "-n", "bfdpeer", "addr", "add", "10.80.0.2/24", "dev", "bfd1")
	run("ip", "-n", "bfdpeer", "link", "set", "bfd1", "up")
	run("ip", "-n", "bfdpeer", "link", "set", "lo", "up")
	exec.Command("ipvsadm", "-C").Run()
	t.Cleanup(func() { exec.Command("ipvsadm", "-C").Run() })

	const checked, plain = "10.80.0.2:80", "10.80.0.3:80"
	const budget = 300*time.Millisecond + 150*time.Millisecond
	messages := map[bool][]string{}
	for _, ours := range []bool{false, true} {
		name := map[bool]string{false: "keepalived", true: "gokeepalived"}[ours]
		dir := t.TempDir()
		d := startGuest(t, ours, bfdCheckConf, "-C", "-b", filepath.Join(dir, "bfd.pid"))
		waitFor(t, name+": the real server without checkers", 10*time.Second, func() bool { return ipvsHas(t, plain) })
		time.Sleep(2 * time.Second)
		if ipvsHas(t, checked) {
			t.Errorf("%s: the BFD-checked real server is in the table before its session was ever Up", name)
		}

		conf := filepath.Join(dir, "peer.conf")
		if err := os.WriteFile(conf, []byte(bfdCheckPeer), 0o644); err != nil {
			t.Fatal(err)
		}
		peerPid := filepath.Join(dir, "peer-bfd.pid")
		peer := exec.Command("ip", "netns", "exec", "bfdpeer", "keepalived", "-n", "-l", "-f", conf,
			"-p", filepath.Join(dir, "peer.pid"), "-r", filepath.Join(dir, "peer-vrrp.pid"),
			"-c", filepath.Join(dir, "peer-check.pid"), "-b", peerPid)
		out := &lockedBuffer{}
		peer.Stdout, peer.Stderr = out, out
		if err := peer.Start(); err != nil {
			t.Fatal(err)
		}
		var child int
		stopPeer := func() {
			if child > 0 {
				syscall.Kill(child, syscall.SIGCONT)
			}
			peer.Process.Signal(syscall.SIGTERM)
			peer.Wait()
		}
		t.Cleanup(stopPeer)
		waitFor(t, name+": the checked real server enters with the session Up", 15*time.Second, func() bool { return ipvsHas(t, checked) })
		time.Sleep(time.Second)

		var err error
		if child, err = nettest.PidFromFile(peerPid); err != nil {
			t.Fatal(err)
		}
		syscall.Kill(child, syscall.SIGSTOP)
		took := waitFor(t, name+": the checked real server leaves with the session Down", 5*time.Second, func() bool { return !ipvsHas(t, checked) })
		t.Logf("%s removed the real server %v after the peer stopped (budget %v)", name, took, budget)
		if took > budget {
			t.Errorf("%s took %v to remove the real server; want at most %v", name, took, budget)
		}
		time.Sleep(500 * time.Millisecond)
		syscall.Kill(child, syscall.SIGCONT)
		took = waitFor(t, name+": the checked real server comes back", 15*time.Second, func() bool { return ipvsHas(t, checked) })
		t.Logf("%s brought the real server back %v after the peer resumed", name, took)
		if !ipvsHas(t, plain) {
			t.Errorf("%s: the real server without checkers left the table", name)
		}
		stopPeer()
		d.stop(t)
		exec.Command("ipvsadm", "-C").Run()
		for l := range strings.Lines(d.out.String()) {
			m := consoleLine.FindStringSubmatch(strings.TrimRight(l, "\n"))
			if m != nil && strings.Contains(m[1], "[10.80.0.2]:tcp:80") {
				// gokeepalived's structured fields aside.
				messages[ours] = append(messages[ours], logFields.ReplaceAllString(m[1], ""))
			}
		}
		t.Logf("%s:\n%s", name, strings.Join(messages[ours], "\n"))
	}
	// The same messages about the checked real server, in the same
	// order: the session's Down as the checkers start, its Up, Down and
	// Up again, each with the table's change, and the shutdown.
	if o, k := strings.Join(messages[true], "\n"), strings.Join(messages[false], "\n"); o != k {
		t.Errorf("gokeepalived's messages about the checked real server:\n%s\nkeepalived's:\n%s", o, k)
	}
	if !slices.Contains(messages[false], "BFD check of [B1] RS([10.80.0.2]:tcp:80) is UP") {
		t.Errorf("keepalived's messages have no UP of the BFD check: %q", messages[false])
	}
}
