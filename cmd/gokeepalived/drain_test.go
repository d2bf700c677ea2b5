package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// drainConf is a VRRPv3 instance at advert_int 0.1 that preempts.
func drainConf(prio int) string {
	return strings.Replace(v3Conf(prio), "    state BACKUP\n", "    state BACKUP\n    preempt_delay 0\n", 1)
}

// gokeepalivedCLI runs the gokeepalived command line against the daemon
// whose control socket is in dir and fails the test if it fails.
func gokeepalivedCLI(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append(args, "--control-socket", filepath.Join(dir, "ctl.sock"))...).CombinedOutput()
	if err != nil {
		t.Fatalf("gokeepalived %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDrainDirectorVRRP drains the master director from the command line:
// its instance drops to priority 1 and the peer, gokeepalived or
// keepalived, takes the VIP over; undrained, the director takes it back
// by preemption.
func TestDrainDirectorVRRP(t *testing.T) {
	nettest.RequireRoot(t)
	bin := gokeepalivedBinary(t)
	for _, peerOurs := range []bool{true, false} {
		name := "keepalived peer"
		if peerOurs {
			name = "gokeepalived peer"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lab := nettest.NewLab(t)
			g := lab.AddHost("g", "10.77.0.1/24")
			p := lab.AddHost("p", "10.77.0.2/24")
			dir := t.TempDir()
			ours := startOursOn(t, g, bin, dir, drainConf(150), "--metrics-listen", "127.0.0.1:9650")
			startEither(t, p, bin, peerOurs, t.TempDir(), drainConf(100))
			waitFor(t, "the director at priority 150 is master", 10*time.Second, func() bool {
				return g.HasAddr(daemonVIP) && !p.HasAddr(daemonVIP)
			})

			gokeepalivedCLI(t, bin, dir, "drain", "director")
			// The peer's Master_Down_Interval, 3 x 0.1 s + skew, bounds
			// the takeover once it sees priority 1.
			took := waitFor(t, "the peer takes the VIP over", 3*time.Second, func() bool {
				return p.HasAddr(daemonVIP) && !g.HasAddr(daemonVIP)
			})
			t.Logf("drain director: the peer held the VIP %v after the command returned", took)
			if !ours.WaitOutput("(VI_3) Changing effective priority from 150 to 1", time.Second) {
				t.Error("the drained director did not log its priority at 1")
			}
			var st control.Status
			if err := json.Unmarshal([]byte(gokeepalivedCLI(t, bin, dir, "status", "--json")), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Drains) != 1 || st.Drains[0].RealServer != "" || len(st.Instances) != 1 ||
				st.Instances[0].EffectivePriority != 1 || st.Instances[0].State != "BACKUP" {
				t.Errorf("status of the drained director: drains %+v, instances %+v", st.Drains, st.Instances)
			}
			const drainedSeries = `gokeepalived_drained{real_server="",virtual_server="",what="director"} 1`
			if m := scrape(t, g, "127.0.0.1:9650"); !strings.Contains(m, drainedSeries) {
				t.Errorf("metrics of the drained director lack %s", drainedSeries)
			}
			// A reload keeps the drain: the instance is still there.
			if err := ours.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the reload", 5*time.Second, func() bool {
				st = control.Status{}
				return json.Unmarshal([]byte(gokeepalivedCLI(t, bin, dir, "status", "--json")), &st) == nil && !st.LastReload.IsZero()
			})
			if len(st.Drains) != 1 || st.Instances[0].EffectivePriority != 1 {
				t.Errorf("status after a reload: drains %+v, instances %+v", st.Drains, st.Instances)
			}
			// It stays backup: the peer at 100 beats 1.
			for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if g.HasAddr(daemonVIP) {
					t.Fatal("the drained director took the VIP back")
				}
			}

			gokeepalivedCLI(t, bin, dir, "undrain", "director")
			took = waitFor(t, "the undrained director preempts", 3*time.Second, func() bool {
				return g.HasAddr(daemonVIP) && !p.HasAddr(daemonVIP)
			})
			t.Logf("undrain director: the director held the VIP %v after the command returned", took)
			st = control.Status{}
			if err := json.Unmarshal([]byte(gokeepalivedCLI(t, bin, dir, "status", "--json")), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Drains) != 0 || st.Instances[0].EffectivePriority != 150 {
				t.Errorf("status of the undrained director: drains %+v, instances %+v", st.Drains, st.Instances)
			}
			if m := scrape(t, g, "127.0.0.1:9650"); strings.Contains(m, "gokeepalived_drained{") {
				t.Error("metrics of the undrained director still show a drain")
			}
		})
	}
}
