package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
