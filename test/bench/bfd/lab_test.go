package bfd

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// start runs gokeepalived (ours) or keepalived on h with conf, both with
// keepalived's command line: foreground, console log with detail, pid
// files of their own, and extra options.
func start(t *testing.T, h *nettest.Host, bin string, ours bool, conf string, extra ...string) *nettest.Daemon {
	t.Helper()
	dir := t.TempDir()
	if !ours {
		return keepalived(t, h, conf, extra...)
	}
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-l", "-D", "-G", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "-b", filepath.Join(dir, "bfd.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock")}
	return h.Start(t, bin, append(args, extra...)...)
}

// keepalived runs keepalived 2.2.7 on h with conf: nettest gives it pid
// files of its own but for the BFD child's, whose default (/run/bfd.pid)
// would make a second keepalived refuse to start, so it gets one here.
func keepalived(t *testing.T, h *nettest.Host, conf string, extra ...string) *nettest.Daemon {
	t.Helper()
	return h.StartKeepalived(t, conf, append([]string{"-b", filepath.Join(t.TempDir(), "bfd.pid")}, extra...)...)
}

// waitOutput waits until d has printed want lines holding s and returns
// when it saw them, polling every millisecond: a timestamp taken the same
// way for either daemon.
func waitOutput(d *nettest.Daemon, s string, want int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		now := time.Now()
		if strings.Count(d.Output(), s) >= want {
			return now, nil
		}
		if now.After(deadline) {
			return time.Time{}, fmt.Errorf("no %q within %v", s, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// stop ends a trial's daemon: SIGKILL to its process group, stopped or
// not.
func stop(d *nettest.Daemon) { d.Kill() }

// The detection lab: the detector (the implementation measured) and its
// peer, keepalived 2.2.7 for both implementations, so that the packets
// whose absence is detected come from the same sender in every trial.
const (
	detectorAddr = "10.79.0.1"
	peerAddr     = "10.79.0.2"
)

type detectLab struct {
	t              *testing.T
	bin            string
	detector, peer *nettest.Host
	flaps          map[bool]int // trials run again, per implementation (ours)
}

func newDetectLab(t *testing.T, bin string) *detectLab {
	lab := nettest.NewLab(t)
	return &detectLab{t: t, bin: bin, flaps: map[bool]int{},
		detector: lab.AddHost("det", detectorAddr+"/24"),
		peer:     lab.AddHost("peer", peerAddr+"/24")}
}

// detectConf is a bfd_instance B from src toward nbr at profile p.
func detectConf(src, nbr string, p profile) string {
	return fmt.Sprintf(`bfd_instance B {
    neighbor_ip %s
    source_ip %s
    min_rx %d
    min_tx %d
    idle_tx 1000
    multiplier %d
}
`, nbr, src, p.interval, p.interval, p.mult)
}

// flapAttempts is how many times a detection trial is started afresh
// when the session goes Down before the stop: a loaded machine can
// delay the peer's packets past 3 x 10 ms, and a Down that came before
// the stop says nothing of the time from it.
const flapAttempts = 3

// measure runs one trial: both daemons started afresh, the session Up at
// the profile's rate, a pause that puts the stop at a different point of
// the peer's transmit interval in each trial, SIGSTOP to the peer's
// process group, and the time until the detector logs the session Down.
// A trial whose session went Down before the stop is logged and run
// again.
func (l *detectLab) measure(ours bool, pair int, p profile) ([]float64, error) {
	for attempt := 1; ; attempt++ {
		v, err := l.trial(ours, pair, p)
		if err != errFlapped {
			return v, err
		}
		l.flaps[ours]++
		l.t.Logf("pair %d, %s, %v: the session went Down before the peer stopped (attempt %d of %d)",
			pair, name(ours), p, attempt, flapAttempts)
		if attempt == flapAttempts {
			return nil, fmt.Errorf("%v: the session went Down before the stop in %d attempts", p, flapAttempts)
		}
	}
}

var errFlapped = errors.New("the session went Down before the stop")

func (l *detectLab) trial(ours bool, pair int, p profile) ([]float64, error) {
	t := l.t
	peer := keepalived(t, l.peer, detectConf(peerAddr, detectorAddr, p))
	defer stop(peer)
	det := start(t, l.detector, l.bin, ours, detectConf(detectorAddr, peerAddr, p))
	defer stop(det)
	if _, err := waitOutput(det, "(B) Entering Up state", 1, 15*time.Second); err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	// After the poll sequence that follows Up, both ends at the
	// profile's rate.
	if _, err := waitOutput(det, fmt.Sprintf("Detection time is %d us", p.detect()/time.Microsecond), 1, 5*time.Second); err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	time.Sleep(200*time.Millisecond + time.Duration(pair*7%p.interval)*time.Millisecond)
	const down = "(B) Entering Down state"
	if strings.Contains(det.Output(), down) {
		return nil, errFlapped
	}
	if err := syscall.Kill(-peer.Pid(), syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("stopping the peer: %w", err)
	}
	stopped := time.Now()
	at, err := waitOutput(det, down, 1, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	return []float64{ms(at.Sub(stopped))}, nil
}

// The takeover lab: master m (priority 150) and backup b (priority 100)
// at advert_int 1; with gokeepalived, a BFD session between them at
// 3 x 50 ms and bfd_takeover on the backup.
const (
	takeoverMaster = "10.79.1.1"
	takeoverBackup = "10.79.1.2"
	takeoverVIP    = "10.79.1.100"
	takeoverDetect = 150 * time.Millisecond
	takeoverAdvert = time.Second
	takeoverSkew   = 156 * time.Second / 256 // the backup's, at priority 100
)

// takeoverConf is the configuration of the host at self; bfd adds the
// session toward peer and, on a backup, bfd_takeover.
func takeoverConf(self, peer, state string, prio int, bfd bool) string {
	s := fmt.Sprintf("global_defs {\n    router_id %s\n}\n", self)
	extra := ""
	if bfd {
		s += fmt.Sprintf(`bfd_instance PEER {
    neighbor_ip %s
    source_ip %s
    min_rx 50
    min_tx 50
    idle_tx 1000
    multiplier 3
}
`, peer, self)
		if state == "BACKUP" {
			extra = "    bfd_takeover PEER\n"
		}
	}
	return s + fmt.Sprintf(`vrrp_instance VI {
    state %s
    interface eth0
    virtual_router_id 79
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
%s}
`, state, prio, takeoverVIP, extra)
}

type takeoverLab struct {
	t      *testing.T
	bin    string
	m, b   *nettest.Host
	w      *nettest.VRRPWatch
	master netip.Addr
}

func newTakeoverLab(t *testing.T, bin string) *takeoverLab {
	lab := nettest.NewLab(t)
	l := &takeoverLab{t: t, bin: bin,
		m:      lab.AddHost("m", takeoverMaster+"/24"),
		b:      lab.AddHost("b", takeoverBackup+"/24"),
		master: netip.MustParseAddr(takeoverMaster)}
	l.w = nettest.WatchVRRP(t, l.b, netip.MustParseAddr(takeoverVIP))
	return l
}

// measure runs one takeover: backup then master started afresh (VRRP
// only, both implementations alike), the master's VIP up and the backup
// in BACKUP (and, with BFD, the session at 3 x 50 ms), a pause that puts
// the kill at a different point of the master's advert interval in each
// trial, SIGKILL to the master's process group, its VIP removed as a dead
// host's would be, and the time until the VIP is added in the backup's
// namespace. The second figure is the trial's bound for gokeepalived: the
// later of the detection and the master's next advert, plus skew, plus
// 20 ms; for keepalived, the Master_Down_Interval from the last advert
// plus 20 ms.
func (l *takeoverLab) measure(ours bool, pair int) ([]float64, error) {
	t := l.t
	defer l.b.Exec("ip", "addr", "del", takeoverVIP+"/24", "dev", "eth0").Run()
	bd := start(t, l.b, l.bin, ours, takeoverConf(takeoverBackup, takeoverMaster, "BACKUP", 100, ours), "-P")
	defer stop(bd)
	md := start(t, l.m, l.bin, ours, takeoverConf(takeoverMaster, takeoverBackup, "MASTER", 150, ours), "-P")
	defer stop(md)
	if _, ok := nettest.Eventually(10*time.Second, func() bool { return l.m.HasAddr(takeoverVIP) }); !ok {
		return nil, fmt.Errorf("the master has no VIP")
	}
	if _, err := waitOutput(bd, "(VI) Entering BACKUP STATE", 1, 10*time.Second); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, ok := nettest.Eventually(10*time.Second, func() bool { return !l.b.HasAddr(takeoverVIP) }); !ok {
		return nil, fmt.Errorf("the backup keeps the VIP")
	}
	if ours {
		if _, err := waitOutput(bd, "Detection time is 150000 us", 1, 10*time.Second); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	// Past the backup's first advert, then a phase that walks the
	// advert interval in steps of 370 ms.
	time.Sleep(1200*time.Millisecond + time.Duration(pair*370%1000)*time.Millisecond)

	killed := time.Now()
	stop(md)
	if out, err := l.m.Exec("ip", "addr", "del", takeoverVIP+"/24", "dev", "eth0").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("removing the dead master's VIP: %v: %s", err, out)
	}
	at, err := l.w.AddedAfter(killed, 10*time.Second)
	if err != nil {
		return nil, err
	}
	last := l.w.LastAdvert(l.master, killed)
	if last.IsZero() {
		return nil, fmt.Errorf("no advert from the master before the kill")
	}
	var bound time.Time
	if ours {
		// bfd_takeover waits for the longer of the skew and the time it
		// gives a living master to answer the Down (twice the detection
		// and 50 ms: shorter than the skew at priority 100).
		bound = killed.Add(takeoverDetect + max(takeoverSkew, 2*takeoverDetect+50*time.Millisecond) + 20*time.Millisecond)
	} else {
		bound = last.Add(3*takeoverAdvert + takeoverSkew + 20*time.Millisecond)
	}
	t.Logf("pair %d, %s: backup MASTER %v after the kill, master's last advert %v before it, bound %v",
		pair, name(ours), at.Sub(killed).Round(time.Millisecond), killed.Sub(last).Round(time.Millisecond), bound.Sub(killed).Round(time.Millisecond))
	return []float64{ms(at.Sub(killed)), ms(bound.Sub(killed))}, nil
}

func name(ours bool) string {
	if ours {
		return "gokeepalived"
	}
	return "keepalived"
}
