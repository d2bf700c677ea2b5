package main

import (
	"encoding/json"
	"os"
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

// TestDrainDirectorBGP drains a director that announces its VIP to BIRD:
// the route takes GRACEFUL_SHUTDOWN for the drain's timeout, then goes;
// undrained, it comes back without the community.
func TestDrainDirectorBGP(t *testing.T) {
	nettest.RequireRoot(t)
	requireBIRD(t)
	t.Parallel()
	bin := gokeepalivedBinary(t)
	lab := nettest.NewLab(t)
	router := lab.AddHost("rt", "10.99.0.254/24")
	d2 := lab.AddHost("d2", "10.99.0.12/24")
	bdir := t.TempDir()
	sock := filepath.Join(bdir, "bird.ctl")
	if err := os.WriteFile(filepath.Join(bdir, "bird.conf"), []byte(bgpRouterConf), 0o644); err != nil {
		t.Fatal(err)
	}
	router.Start(t, "bird", "-f", "-c", filepath.Join(bdir, "bird.conf"), "-s", sock, "-P", filepath.Join(bdir, "bird.pid"))
	const vip = "10.10.10.10/32"
	route := func() string {
		out, _ := router.Exec("birdc", "-s", sock, "show", "route", "all", vip).CombinedOutput()
		return string(out)
	}
	has := func(out string) bool { return strings.Contains(out, "via 10.99.0.12") }
	gshut := func(out string) bool { return strings.Contains(out, "(65535,0)") }

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "health"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startOursOn(t, d2, bin, dir, bgpDirectorConf(2, dir))
	waitFor(t, "BIRD has the VIP's route from the director", 20*time.Second, func() bool { r := route(); return has(r) && !gshut(r) })

	const grace = 2 * time.Second
	gokeepalivedCLI(t, bin, dir, "drain", "director", "--timeout", grace.String())
	drained := time.Now()
	seen := waitFor(t, "BIRD sees the route with GRACEFUL_SHUTDOWN", time.Second, func() bool { r := route(); return has(r) && gshut(r) })
	gone := waitFor(t, "the route is withdrawn", grace+2*time.Second, func() bool { return !has(route()) })
	t.Logf("drain director --timeout %v: GRACEFUL_SHUTDOWN at BIRD %v after the command, withdrawal %v after the command",
		grace, seen.Round(time.Millisecond), time.Since(drained).Round(time.Millisecond))
	if total := seen + gone; total < grace-100*time.Millisecond {
		t.Errorf("the route went %v after the drain, before its %v of GRACEFUL_SHUTDOWN", total, grace)
	}
	st, err := control.Query(filepath.Join(dir, "ctl.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.BGPAnnouncements) != 1 || st.BGPAnnouncements[0].Announced || len(st.Drains) != 1 {
		t.Errorf("status of the drained director: announcements %+v, drains %+v", st.BGPAnnouncements, st.Drains)
	}

	gokeepalivedCLI(t, bin, dir, "undrain", "director")
	back := waitFor(t, "the route comes back without GRACEFUL_SHUTDOWN", 3*time.Second, func() bool { r := route(); return has(r) && !gshut(r) })
	t.Logf("undrain director: route back at BIRD %v after the command", back.Round(time.Millisecond))
}
