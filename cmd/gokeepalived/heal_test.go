package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestDaemonLinkStorm stalls a master while thousands of link changes
// overflow its netlink link subscription: once it runs again it makes the
// subscription anew, keeps its VIP without a transition, and still yields
// to a router of higher priority that comes later.
func TestDaemonLinkStorm(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	p := lab.AddHost("p", "10.77.0.2/24")
	dir := t.TempDir()
	notifyScript(t, dir)
	conf := filepath.Join(dir, "keepalived.conf")
	text := vrrpConf(dir, 150)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := m.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"))
	waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })

	if err := d.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	m.LinkStorm(1500)
	if err := d.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if !d.WaitOutput("netlink link subscription made again", 10*time.Second) {
		t.Fatalf("the link subscription was not made again:\n%s", d.Output())
	}
	time.Sleep(2 * time.Second)
	if !m.HasAddr(daemonVIP) {
		t.Fatal("the master lost its VIP")
	}
	if n := strings.Count(d.Output(), "Entering"); n != 2 {
		t.Errorf("%d transitions, want only BACKUP and MASTER at start-up:\n%s", n, d.Output())
	}

	startOurs(t, p, 200)
	waitFor(t, "the higher priority takes over", 10*time.Second, func() bool { return p.HasAddr(daemonVIP) && !m.HasAddr(daemonVIP) })
}

// TestDaemonWatchdogWedgedLoop wedges the VRRP loop of a daemon whose
// systemd watchdog is a socket of the test's: the pings stop within
// WatchdogSec, the daemon says why, and they come back with the loop.
func TestDaemonWatchdogWedgedLoop(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	dir := t.TempDir()
	notifyScript(t, dir)
	sock := filepath.Join(dir, "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var pings []time.Time
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ln.Read(buf)
			if err != nil {
				return
			}
			if strings.Contains(string(buf[:n]), "WATCHDOG=1") {
				mu.Lock()
				pings = append(pings, time.Now())
				mu.Unlock()
			}
		}
	}()
	pingsSince := func(from time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, p := range pings {
			if p.After(from) {
				n++
			}
		}
		return n
	}
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(vrrpConf(dir, 150)), 0o644); err != nil {
		t.Fatal(err)
	}
	const watchdogSec, stall = 4 * time.Second, 12 * time.Second
	// The daemon runs in the lab's namespace; the socket is a file.
	args := []string{"env", "NOTIFY_SOCKET=" + sock, fmt.Sprintf("WATCHDOG_USEC=%d", watchdogSec.Microseconds()),
		envTestStall + "=vrrp=" + stall.String(), gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock")}
	d := m.Start(t, args[0], args[1:]...)
	if !d.WaitOutput("wedging the vrrp loop", 10*time.Second) {
		t.Fatalf("the loop was not wedged:\n%s", d.Output())
	}
	wedged := time.Now()
	time.Sleep(watchdogSec)
	quiet := time.Now()
	if !d.WaitOutput("no longer feeding the systemd watchdog", time.Second) {
		t.Fatalf("the daemon did not say why it stopped the watchdog:\n%s", d.Output())
	}
	time.Sleep(stall - (watchdogSec + 2*time.Second))
	if n := pingsSince(quiet); n != 0 {
		t.Errorf("%d watchdog pings more than WatchdogSec after the loop wedged", n)
	}
	if n := pingsSince(time.Time{}); n == 0 {
		t.Error("no watchdog ping at all")
	}
	waitFor(t, "pings again once the loop runs", stall+2*watchdogSec, func() bool { return pingsSince(wedged.Add(stall)) > 0 })
	if !d.WaitOutput("feeding the systemd watchdog again", time.Second) {
		t.Errorf("the daemon did not say the watchdog is fed again:\n%s", d.Output())
	}
}

// openFDs counts a process's open descriptors.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestDaemonDescriptorPressure lowers a master's descriptor limit to what
// it uses, its status socket's and metrics server's caps on connections
// (8 and 16) and as much again, and floods both with idle connections: it
// takes no more than its caps, keeps its VIP without a transition, still
// yields to a router of higher priority, running its notify script with
// the descriptors left, and answers its status socket once the flood is
// gone.
func TestDaemonDescriptorPressure(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	p := lab.AddHost("p", "10.77.0.2/24")
	ours := startOurs(t, m, 150)
	waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
	pid := ours.d.Pid()
	base := openFDs(t, pid)
	limit := base + 2*(8+16)
	// The soft limit only, which needs no capability.
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), fmt.Sprintf("--nofile=%d:", limit)).CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	sock := filepath.Join(ours.dir, "ctl.sock")
	for range 300 {
		if c, err := net.DialTimeout("unix", sock, 50*time.Millisecond); err == nil {
			conns = append(conns, c)
		}
	}
	m.Do(func() error {
		for range 300 {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:9650", 50*time.Millisecond); err == nil {
				conns = append(conns, c)
			}
		}
		return nil
	})
	t.Logf("%d connections held; the daemon has %d descriptors of %d", len(conns), openFDs(t, pid), limit)
	time.Sleep(4 * time.Second) // beyond a backup's master down interval
	if n := openFDs(t, pid); n > base+8+16 {
		t.Fatalf("%d descriptors open: more than the %d before and the caps' 24", n, base)
	}
	if !m.HasAddr(daemonVIP) {
		t.Fatal("the master lost its VIP")
	}
	if n := strings.Count(ours.d.Output(), "Entering"); n != 2 {
		t.Errorf("%d transitions under pressure, want only those of start-up:\n%s", n, ours.d.Output())
	}

	startOurs(t, p, 200)
	waitFor(t, "the higher priority takes over", 10*time.Second, func() bool { return p.HasAddr(daemonVIP) && !m.HasAddr(daemonVIP) })
	waitFor(t, "the notify script of the new state", 10*time.Second, func() bool {
		return strings.Contains(ours.calls(), "INSTANCE VI_1 BACKUP") && strings.Count(ours.calls(), "\n") >= 3
	})

	for _, c := range conns {
		c.Close()
	}
	conns = nil
	waitFor(t, "the status socket answers", 10*time.Second, func() bool {
		st, err := control.Query(sock)
		return err == nil && len(st.Instances) == 1
	})
}

// TestDaemonSignalsAfterRefusedReload refuses a reload with a broken file
// and then asks for every signal file, each name holding a planted
// symlink: each is written from the running configuration as a new 0600
// file, the symlink's target untouched, and the master keeps its VIP.
func TestDaemonSignalsAfterRefusedReload(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	ours := startOurs(t, m, 150)
	waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
	conf := filepath.Join(ours.dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte("vrrp_instance VI_1 {\n    priority\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ours.d.Signal(syscall.SIGHUP)
	if !ours.d.WaitOutput("refused", 10*time.Second) {
		t.Fatalf("the broken reload was not refused:\n%s", ours.d.Output())
	}
	// A symlink planted at each file's name, as by a local user in /tmp,
	// must not be followed.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("intact\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		sig  syscall.Signal
		want string
	}{
		{dataFile, syscall.SIGUSR1, " VRRP Instance = VI_1"},
		{statsFile, syscall.SIGUSR2, "VRRP Instance: VI_1"},
		{jsonFile, sigJSON, `"iname":"VI_1"`},
	} {
		os.Remove(f.name)
		if err := os.Symlink(victim, f.name); err != nil {
			t.Fatal(err)
		}
		ours.d.Signal(f.sig)
		waitFor(t, f.name, 5*time.Second, func() bool {
			b, _ := os.ReadFile(f.name)
			return strings.Contains(string(b), f.want)
		})
		if st, err := os.Lstat(f.name); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want a regular 0600 file in place of the symlink", f.name, st, err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "intact\n" {
			t.Fatalf("the file %s pointed to was written: %q", f.name, b)
		}
	}
	select {
	case <-ours.d.Done():
		t.Fatalf("the daemon exited:\n%s", ours.d.Output())
	default:
	}
	if !m.HasAddr(daemonVIP) {
		t.Error("the master lost its VIP")
	}
}
