package bgp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// A lab is one implementation's: the router running BIRD and three
// directors announcing the VIP to it, gokeepalived by its own BGP
// speaker, keepalived through a BIRD on each director. Both labs are
// built alike and run side by side for the whole benchmark, so that a
// pair's trials differ only in the implementation.
type lab struct {
	t      *testing.T
	ours   bool
	router *nettest.Host
	dirs   [nDirectors]*nettest.Host
	health [nDirectors]string // each director's track_file
	route  *nettest.RouteWatch
}

func newLab(t *testing.T, bin string, ours bool) *lab {
	t.Helper()
	nl := nettest.NewLab(t)
	l := &lab{t: t, ours: ours, router: nl.AddHost("rt", routerAddr+"/24")}
	for i := range l.dirs {
		l.dirs[i] = nl.AddHost(fmt.Sprintf("d%d", i+1), dirAddr(i+1)+"/24")
	}
	l.route = nettest.WatchRoute(t, l.router, vipPrefix)
	startBIRD(t, l.router, routerConf())
	birdc, err := exec.LookPath("birdc")
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range l.dirs {
		n := i + 1
		dir := t.TempDir()
		l.health[i] = filepath.Join(dir, "health")
		if err := setHealth(l.health[i], 0); err != nil {
			t.Fatal(err)
		}
		if ours {
			startOurs(t, h, bin, oursConf(n, dir))
			continue
		}
		sock := startBIRD(t, h, directorBIRDConf(n))
		keepalived(t, h, keepalivedConf(n, dir, birdc, sock))
	}
	if _, err := l.route.Wait(nDirectors, 60*time.Second); err != nil {
		t.Fatalf("%s's lab: %v", name(ours), err)
	}
	return l
}

// measure runs one trial on director 1: its health lost (track_file
// non-zero: the instance goes to FAULT), and the time until the router's
// route has one next hop fewer; then its health back, and the time until
// the route has all again (the instance back to BACKUP, MASTER after its
// Master_Down_Interval at advert_int 0.1, about 320 ms, then the
// announcement).
func (l *lab) measure(pair int) ([]float64, error) {
	// A phase against the directors' advert timers.
	time.Sleep(300*time.Millisecond + time.Duration(pair*37%100)*time.Millisecond)
	lost := time.Now()
	if err := setHealth(l.health[0], 1); err != nil {
		return nil, err
	}
	gone, err := l.route.Wait(nDirectors-1, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("after the health loss: %w", err)
	}
	time.Sleep(300*time.Millisecond + time.Duration(pair*53%100)*time.Millisecond)
	back := time.Now()
	if err := setHealth(l.health[0], 0); err != nil {
		return nil, err
	}
	again, err := l.route.Wait(nDirectors, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("after the health came back: %w", err)
	}
	return []float64{ms(gone.Sub(lost)), ms(again.Sub(back))}, nil
}

// setHealth writes v to a track_file at once: a new file renamed over the
// old, so that neither daemon can read it half written.
func setHealth(path string, v int) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", v)), 0o644); err != nil {
		return fmt.Errorf("writing health %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing health %s: %w", path, err)
	}
	return nil
}

// startBIRD runs BIRD on h with conf and returns its control socket once
// it answers.
func startBIRD(t *testing.T, h *nettest.Host, conf string) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "bird.ctl")
	if err := os.WriteFile(filepath.Join(dir, "bird.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	h.Start(t, "bird", "-f", "-c", filepath.Join(dir, "bird.conf"), "-s", sock, "-P", filepath.Join(dir, "bird.pid"))
	if _, ok := nettest.Eventually(10*time.Second, func() bool {
		out, _ := h.Exec("birdc", "-s", sock, "show", "status").CombinedOutput()
		return strings.Contains(string(out), "Daemon is up")
	}); !ok {
		t.Fatalf("BIRD in %s does not answer on %s", h.NS, sock)
	}
	return sock
}

// startOurs runs gokeepalived on h with conf, with keepalived's command
// line and pid files of its own.
func startOurs(t *testing.T, h *nettest.Host, bin, conf string) *nettest.Daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return h.Start(t, bin, "-P", "-n", "-l", "-D", "-G", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "-b", filepath.Join(dir, "bfd.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"))
}

// keepalived runs keepalived 2.2.7 on h with conf, VRRP only, with pid
// files of its own.
func keepalived(t *testing.T, h *nettest.Host, conf string) *nettest.Daemon {
	t.Helper()
	return h.StartKeepalived(t, conf, "-P", "-b", filepath.Join(t.TempDir(), "bfd.pid"))
}
