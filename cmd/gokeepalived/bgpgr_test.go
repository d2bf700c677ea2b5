package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// bgpGRRouterConf is BIRD's configuration on a router that keeps the
// routes of a neighbor restarting gracefully: eBGP sessions to two
// directors, their routes merged into an ECMP route in the kernel table.
const bgpGRRouterConf = `router id 10.99.0.254;
protocol device { scan time 10; }
protocol kernel {
    ipv4 { import none; export all; };
    merge paths yes;
}
template bgp dir {
    local 10.99.0.254 as 65000;
    graceful restart on;
    ipv4 { import all; export none; };
}
protocol bgp d1 from dir { neighbor 10.99.0.11 as 65001; password "s3cret"; }
protocol bgp d2 from dir { neighbor 10.99.0.12 as 65001; }
`

// TestBGPGracefulRestart runs two directors announcing one VIP to BIRD
// 2 with graceful restart on; director 1's speaker has graceful_restart,
// director 2's not. Director 1's daemon killed with SIGKILL and started
// again: its next hop never leaves the router's kernel table, not one
// route change from the kill until its new session is established and
// its End-of-RIB received. Director 2's daemon killed: its next hop goes
// at once. Director 1 stopped with SIGTERM, a clean stop: its route is
// withdrawn, graceful restart or not.
func TestBGPGracefulRestart(t *testing.T) {
	nettest.RequireRoot(t)
	requireBIRD(t)
	t.Parallel()
	bin := gokeepalivedBinary(t)
	router, dirs := routerLab(t, 2)
	const vip = "10.10.10.10/32"
	route := watchRoute(t, router, vip)

	bdir := t.TempDir()
	sock := filepath.Join(bdir, "bird.ctl")
	if err := os.WriteFile(filepath.Join(bdir, "bird.conf"), []byte(bgpGRRouterConf), 0o644); err != nil {
		t.Fatal(err)
	}
	router.Start(t, "bird", "-f", "-c", filepath.Join(bdir, "bird.conf"), "-s", sock, "-P", filepath.Join(bdir, "bird.pid"))
	birdc := func(args ...string) string {
		out, _ := router.Exec("birdc", append([]string{"-s", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	waitFor(t, "BIRD's control socket", 5*time.Second, func() bool { return strings.Contains(birdc("show", "status"), "Daemon is up") })

	ddirs := []string{t.TempDir(), t.TempDir()}
	conf := func(i int) string {
		c := bgpDirectorConf(i+1, ddirs[i])
		if i == 0 {
			c = strings.Replace(c, "    hold_time 9\n", "    hold_time 9\n    graceful_restart\n    restart_time 30\n", 1)
		}
		return c
	}
	start := func(i int) *nettest.Daemon { return startOursOn(t, dirs[i], bin, ddirs[i], conf(i)) }
	daemons := make([]*nettest.Daemon, 2)
	for i := range daemons {
		if err := os.WriteFile(filepath.Join(ddirs[i], "health"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		daemons[i] = start(i)
	}
	route.wait(2, 5*time.Second)
	// BIRD's view of the capabilities: director 1 restart-able with
	// the 30 s it asked for, director 2 without graceful restart.
	p1, p2 := birdc("show", "protocols", "all", "d1"), birdc("show", "protocols", "all", "d2")
	if !regexp.MustCompile(`(?s)Neighbor capabilities.*Graceful restart.*Restart time: 30`).MatchString(p1) {
		t.Errorf("BIRD does not see director 1's graceful restart:\n%s", p1)
	}
	if _, caps, _ := strings.Cut(p2, "Neighbor capabilities"); strings.Contains(caps, "Graceful restart") {
		t.Errorf("BIRD sees graceful restart in director 2's capabilities:\n%s", p2)
	}

	// Director 1's daemon killed: the session ends without a
	// NOTIFICATION, BIRD keeps the route stale, and the restarted
	// daemon's speaker refreshes it and sends its End-of-RIB.
	child := speakerChild(t, daemons[0].Pid())
	t0 := time.Now()
	daemons[0].Signal(syscall.SIGKILL)
	if !processGone(child, 2*time.Second) {
		t.Fatalf("director 1's speaker %d outlived its daemon's SIGKILL", child)
	}
	<-daemons[0].Done()
	if s := birdc("show", "protocols", "d1"); strings.Contains(s, "Established") {
		// BIRD may not have read the end of the connection yet.
		time.Sleep(100 * time.Millisecond)
	}
	daemons[0] = start(0)
	if !daemons[0].WaitOutput("BGP neighbor 10.99.0.254 AS 65000: session Established", 10*time.Second) {
		t.Fatalf("director 1's new session did not come up:\n%s", daemons[0].Output())
	}
	established := time.Since(t0)
	// The End-of-RIB ends BIRD's graceful restart of the session.
	waitFor(t, "BIRD done with director 1's graceful restart", 5*time.Second, func() bool {
		s := birdc("show", "protocols", "all", "d1")
		return strings.Contains(s, "Established") && !strings.Contains(s, "Neighbor graceful restart active")
	})
	settled := time.Since(t0)
	// Changes of the route, had there been any, are in the watch's
	// queue by now.
	time.Sleep(200 * time.Millisecond)
	changes := drainChanges(t, route)
	t.Logf("director 1 killed and restarted: session Established after %v, graceful restart over after %v, %d route changes",
		established.Round(time.Millisecond), settled.Round(time.Millisecond), changes)
	if changes != 0 {
		t.Errorf("the router's route changed %d times during director 1's graceful restart, want 0", changes)
	}
	if all := birdc("show", "route", "all", vip); !strings.Contains(all, "10.99.0.11") || strings.Contains(all, "stale") {
		t.Errorf("BIRD's route after director 1's restart:\n%s", all)
	}
	if !daemons[0].WaitOutput("BGP speaker dialling its neighbors", time.Second) {
		t.Errorf("director 1 did not log when it dialled")
	}

	// Director 1's speaker process killed: the daemon restarts it, and
	// the route holds as well.
	child = speakerChild(t, daemons[0].Pid())
	before := birdc("show", "protocols", "d1")
	t3 := time.Now()
	syscall.Kill(child, syscall.SIGKILL)
	if !daemons[0].WaitOutput("gokeepalived-bgp exited; restarting it", 2*time.Second) {
		t.Fatal("director 1 did not restart its speaker")
	}
	// BIRD's line for the session changes its time as the new one
	// comes up.
	waitFor(t, "BIRD done with director 1's second graceful restart", 5*time.Second, func() bool {
		s := birdc("show", "protocols", "all", "d1")
		return birdc("show", "protocols", "d1") != before && strings.Contains(s, "Established") &&
			!strings.Contains(s, "Neighbor graceful restart active")
	})
	time.Sleep(200 * time.Millisecond)
	changes = drainChanges(t, route)
	t.Logf("director 1's speaker killed: graceful restart over after %v, %d route changes", time.Since(t3).Round(time.Millisecond), changes)
	if changes != 0 {
		t.Errorf("the router's route changed %d times during the restart of director 1's speaker, want 0", changes)
	}

	// Director 2's daemon killed, no graceful restart: its next hop
	// goes with the connection.
	t1 := time.Now()
	daemons[1].Signal(syscall.SIGKILL)
	at := route.wait(1, 2*time.Second)
	t.Logf("director 2, without graceful restart, killed: 1 next hop %v after", at.Sub(t1).Round(time.Millisecond))

	// Director 1 stopped cleanly: its route is withdrawn.
	t2 := time.Now()
	daemons[0].Signal(syscall.SIGTERM)
	at = route.wait(0, 5*time.Second)
	t.Logf("director 1, with graceful restart, stopped by SIGTERM: route withdrawn %v after", at.Sub(t2).Round(time.Millisecond))
	if all := birdc("show", "route", vip); strings.Contains(all, "10.99.0.11") {
		t.Errorf("BIRD keeps director 1's route after its clean stop:\n%s", all)
	}
}

// drainChanges counts, and logs, the changes of w's route that it has
// queued.
func drainChanges(t *testing.T, w *routeWatch) int {
	t.Helper()
	us := w.Pending()
	for _, u := range us {
		t.Logf("route change: %v type %d", u.Route, u.Type)
	}
	return len(us)
}
