package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// bfdRouter is a routing daemon's BFD on a router: the strings its log
// holds when a session comes Up and goes Down.
type bfdRouter struct {
	d        *nettest.Daemon
	up, down string
}

// startBIRDBFD runs BIRD 2 on h with a BFD session toward nbr: 10 ms
// both ways, multiplier 3. Its events go to its standard error.
func startBIRDBFD(t *testing.T, h *nettest.Host, nbr string) *bfdRouter {
	t.Helper()
	requireBIRD(t)
	dir := t.TempDir()
	conf := fmt.Sprintf(`log stderr all;
router id 10.77.0.2;
protocol device { scan time 10; }
protocol bfd {
    debug { states, events };
    interface "*" {
        min rx interval 10 ms;
        min tx interval 10 ms;
        multiplier 3;
    };
    neighbor %s;
}
`, nbr)
	if err := os.WriteFile(filepath.Join(dir, "bird.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := h.Start(t, "bird", "-f", "-c", filepath.Join(dir, "bird.conf"), "-s", filepath.Join(dir, "bird.ctl"), "-P", filepath.Join(dir, "bird.pid"))
	return &bfdRouter{d: d, up: "to Up", down: "from Up to Down"}
}

// startFRRBFD runs FRR's bfdd on h with a BFD peer toward nbr from src:
// 10 ms both ways, multiplier 3. Its paths are all in a directory of
// the test's; it logs the peer's state changes to its standard output.
func startFRRBFD(t *testing.T, h *nettest.Host, nbr, src string) *bfdRouter {
	t.Helper()
	bfdd := "/usr/lib/frr/bfdd"
	if _, err := os.Stat(bfdd); err != nil {
		nettest.SkipUnlessCI(t, "FRR (frr) is not installed")
		t.Fatal(err)
	}
	dir := frrDir(t)
	conf := fmt.Sprintf(`debug bfd peer
bfd
 peer %s local-address %s
  receive-interval 10
  transmit-interval 10
  detect-multiplier 3
  no shutdown
 !
!
`, nbr, src)
	if err := os.WriteFile(filepath.Join(dir, "bfdd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startFRR(t, h, dir, "bfdd", "--bfdctl", filepath.Join(dir, "bfdd.sock"))
	return &bfdRouter{d: d, up: "-> up", down: "up -> down"}
}

// frrDir returns a directory of the test's for an FRR daemon's files.
// FRR's daemons run as user frr, whose group frrvty their vty sockets
// need, so the directory is frr's.
func frrDir(t *testing.T) string {
	t.Helper()
	u, err := user.Lookup("frr")
	if err != nil {
		nettest.SkipUnlessCI(t, "FRR (frr) is not installed")
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startFRR runs FRR's daemon name on h with frrArgs. FRR keeps a crash
// log under /var/tmp/frr/NAME.PID, a path no option moves, which a
// killed daemon leaves behind: it goes with the daemon.
func startFRR(t *testing.T, h *nettest.Host, dir, name string, extra ...string) *nettest.Daemon {
	t.Helper()
	var d *nettest.Daemon
	// Registered first, so that it runs after the daemon is killed.
	t.Cleanup(func() {
		if d == nil {
			return
		}
		select {
		case <-d.Done():
		case <-time.After(5 * time.Second):
		}
		os.RemoveAll(fmt.Sprintf("/var/tmp/frr/%s.%d", name, d.Pid()))
	})
	d = h.Start(t, "/usr/lib/frr/"+name, frrArgs(dir, name, extra...)...)
	return d
}

// frrArgs are the options that keep an FRR daemon's files in dir and
// off the host's: its configuration dir/NAME.conf, pid file, vty and
// zebra sockets, no vty port, logs to its standard output.
func frrArgs(dir, name string, extra ...string) []string {
	return append([]string{"-f", filepath.Join(dir, name+".conf"), "-i", filepath.Join(dir, name+".pid"),
		"--vty_socket", dir, "-z", filepath.Join(dir, "zserv.api"), "-u", "frr", "-g", "frr",
		"-P", "0", "--log", "stdout", "--log-level", "debug"}, extra...)
}

// TestBFDWithRouters runs gokeepalived's bfd_instance against the BFD of
// BIRD 2 and of FRR's bfdd: the session comes Up on both sides; SIGSTOP
// of gokeepalived makes the router declare it Down within multiplier x
// interval + 30 ms, and SIGSTOP of the router makes gokeepalived do so,
// both measured from the signal to the log line; SIGCONT brings it Up.
func TestBFDWithRouters(t *testing.T) {
	nettest.RequireRoot(t)
	const budget = 3*10*time.Millisecond + 30*time.Millisecond
	bin := gokeepalivedBinary(t)
	for _, router := range []string{"BIRD", "FRR"} {
		t.Run(router, func(t *testing.T) {
			t.Parallel()
			lab := nettest.NewLab(t)
			g := lab.AddHost("g", "10.77.0.1/24")
			r := lab.AddHost("r", "10.77.0.2/24")
			var peer *bfdRouter
			if router == "BIRD" {
				peer = startBIRDBFD(t, r, "10.77.0.1")
			} else {
				peer = startFRRBFD(t, r, "10.77.0.1", "10.77.0.2")
			}
			ours := startOursOn(t, g, bin, t.TempDir(), `bfd_instance B1 {
    neighbor_ip 10.77.0.2
    source_ip 10.77.0.1
    min_rx 10
    min_tx 10
    idle_tx 1000
    multiplier 3
}
`)
			up, down := "(B1) Entering Up state", "(B1) Entering Down state"
			// bothUp waits until both sides last said Up: on a busy
			// machine a 30 ms session may drop and come back, and a
			// SIGSTOP is measured only from an Up session.
			bothUp := func() {
				t.Helper()
				waitFor(t, "the session Up on both sides", 10*time.Second, func() bool {
					o, p := ours.Output(), peer.d.Output()
					return countOf(o, up) > countOf(o, down) && countOf(p, peer.up) > countOf(p, peer.down)
				})
			}
			waitCount(t, "gokeepalived's session Up", 10*time.Second, ours.Output, up, 1)
			waitCount(t, router+"'s session Up", 10*time.Second, peer.d.Output, peer.up, 1)
			// Up, then the poll sequence to 10 ms packets.
			time.Sleep(500 * time.Millisecond)
			bothUp()

			// gokeepalived stops: the router detects it.
			before := countOf(peer.d.Output(), peer.down)
			if err := ours.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ours.Signal(syscall.SIGCONT) })
			stopped := time.Now()
			seen := waitCount(t, router+"'s session Down", 5*time.Second, peer.d.Output, peer.down, before+1)
			took := seen.Sub(stopped)
			t.Logf("%s saw gokeepalived stop after %v (budget %v)", router, took, budget)
			if took > budget {
				t.Errorf("%s declared Down %v after SIGSTOP of gokeepalived; want at most %v", router, took, budget)
			}
			if err := ours.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			waitCount(t, router+"'s session Up again", 10*time.Second, peer.d.Output, peer.up, 2)
			waitCount(t, "gokeepalived's session Up again", 10*time.Second, ours.Output, up, 2)
			time.Sleep(500 * time.Millisecond)
			bothUp()

			// The router stops: gokeepalived detects it.
			before = countOf(ours.Output(), down)
			if err := peer.d.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { peer.d.Signal(syscall.SIGCONT) })
			stopped = time.Now()
			seen = waitCount(t, "gokeepalived's session Down", 5*time.Second, ours.Output, down, before+1)
			took = seen.Sub(stopped)
			t.Logf("gokeepalived saw %s stop after %v (budget %v)", router, took, budget)
			if took > budget {
				t.Errorf("gokeepalived declared Down %v after SIGSTOP of %s; want at most %v", took, router, budget)
			}
			if !strings.Contains(ours.Output(), "(B1) Entering Down state (Local diagnostic - Control Detection Time Expired") {
				t.Errorf("gokeepalived's Down is not an expiry:\n%s", ours.Output())
			}
			if err := peer.d.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			waitCount(t, "gokeepalived's session Up after "+router+" resumed", 10*time.Second, ours.Output, up, 3)
		})
	}
}
