package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// routeWatch is a nettest.RouteWatch that fails its test on a timeout.
type routeWatch struct {
	t *testing.T
	*nettest.RouteWatch
}

// watchRoute follows the route to dst in h's namespace until the test
// ends.
func watchRoute(t *testing.T, h *nettest.Host, dst string) *routeWatch {
	t.Helper()
	return &routeWatch{t: t, RouteWatch: nettest.WatchRoute(t, h, dst)}
}

// wait waits until the route has want next hops, and returns when that
// happened.
func (w *routeWatch) wait(want int, timeout time.Duration) time.Time {
	w.t.Helper()
	at, err := w.Wait(want, timeout)
	if err != nil {
		w.t.Fatal(err)
	}
	return at
}

// bgpBFDRouterConf is BIRD's configuration on a router whose eBGP
// sessions to the directors are watched by BFD, 3 x 50 ms: a session
// whose BFD goes Down is dropped with its routes. A dropped session
// may come back after a second.
const bgpBFDRouterConf = `router id 10.99.0.254;
protocol device { scan time 10; }
protocol kernel {
    ipv4 { import none; export all; };
    merge paths yes;
}
protocol bfd {
    interface "*" {
        min rx interval 50 ms;
        min tx interval 50 ms;
        multiplier 3;
    };
}
template bgp dir {
    local 10.99.0.254 as 65000;
    bfd on;
    error wait time 1, 2;
    ipv4 { import all; export none; };
}
protocol bgp d1 from dir { neighbor 10.99.0.11 as 65001; password "s3cret"; }
protocol bgp d2 from dir { neighbor 10.99.0.12 as 65001; }
protocol bgp d3 from dir { neighbor 10.99.0.13 as 65001; }
`

// bgpBFDDirectorConf is director n's configuration: bgpDirectorConf's,
// and a BFD session toward the router at 3 x 50 ms, which the BGP
// neighbor follows.
func bgpBFDDirectorConf(n int, dir string) string {
	conf := strings.Replace(bgpDirectorConf(n, dir), "remote_as 65000\n", "remote_as 65000\n        bfd RT\n", 1)
	return conf + fmt.Sprintf(`bfd_instance RT {
    neighbor_ip 10.99.0.254
    source_ip 10.99.0.1%d
    min_rx 50
    min_tx 50
    multiplier 3
}
`, n)
}

// TestBGPWithBFDToBIRD runs three directors announcing one VIP to BIRD
// 2, whose BGP sessions to them are watched by BFD sessions with each
// director's bfd_instance. A director whose daemon stops while its BGP
// speaker still holds the session up (SIGSTOP), or which is killed,
// loses its next hop in the router's ECMP route within 250 ms; it comes
// back when the director does. The router stopping makes each director
// drop its session as its BFD session goes Down, within 250 ms.
func TestBGPWithBFDToBIRD(t *testing.T) {
	nettest.RequireRoot(t)
	requireBIRD(t)
	t.Parallel()
	bin := gokeepalivedBinary(t)
	router, dirs := routerLab(t, 3)
	const vip = "10.10.10.10/32"
	route := watchRoute(t, router, vip)

	bdir := t.TempDir()
	sock := filepath.Join(bdir, "bird.ctl")
	if err := os.WriteFile(filepath.Join(bdir, "bird.conf"), []byte(bgpBFDRouterConf), 0o644); err != nil {
		t.Fatal(err)
	}
	bird := router.Start(t, "bird", "-f", "-c", filepath.Join(bdir, "bird.conf"), "-s", sock, "-P", filepath.Join(bdir, "bird.pid"))
	birdc := func(args ...string) string {
		out, _ := router.Exec("birdc", append([]string{"-s", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	waitFor(t, "BIRD's control socket", 5*time.Second, func() bool { return strings.Contains(birdc("show", "status"), "Daemon is up") })

	daemons := make([]*nettest.Daemon, 3)
	ddirs := make([]string, 3)
	start := func(i int) *nettest.Daemon {
		return startOursOn(t, dirs[i], bin, ddirs[i], bgpBFDDirectorConf(i+1, ddirs[i]))
	}
	for i := range dirs {
		ddirs[i] = t.TempDir()
		if err := os.WriteFile(filepath.Join(ddirs[i], "health"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		daemons[i] = start(i)
	}
	route.wait(3, 5*time.Second)
	// bfdUp requires BIRD's BFD sessions to the directors to be Up.
	bfdUp := func(n int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d BFD sessions Up in BIRD", n), 5*time.Second, func() bool {
			return strings.Count(birdc("show", "bfd", "sessions"), " Up ") == n
		})
	}
	bfdUp(3)
	for i, d := range daemons {
		if !d.WaitOutput("(RT) Entering Up state", 2*time.Second) {
			t.Errorf("director %d's BFD session did not come Up", i+1)
		}
	}

	// Director 3's daemon stops; its BGP speaker, a process of its own,
	// goes on keeping the session up: only BFD tells the router.
	child := speakerChild(t, daemons[2].Pid())
	t0 := time.Now()
	if err := daemons[2].Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemons[2].Signal(syscall.SIGCONT) })
	at := route.wait(2, 2*time.Second)
	took := at.Sub(t0)
	t.Logf("2 next hops %v after director 3's daemon stopped (BFD 3 x 50 ms)", took.Round(time.Microsecond))
	if took > 250*time.Millisecond {
		t.Errorf("the next hop went %v after director 3 stopped, want under 250ms", took)
	}
	if p := birdc("show", "protocols", "all", "d3"); !strings.Contains(p, "BFD session down") {
		t.Errorf("BIRD's session to director 3 did not go down for BFD:\n%s", p)
	}
	if again := speakerChild(t, daemons[2].Pid()); again != child {
		t.Errorf("director 3's speaker changed from %d to %d", child, again)
	}
	// Back: the director's own BFD session expired while it was stopped,
	// so it drops its stale session and dials again at once; BIRD takes
	// the new one after its error wait.
	t1 := time.Now()
	if err := daemons[2].Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	at = route.wait(3, 10*time.Second)
	t.Logf("3 next hops %v after director 3 resumed", at.Sub(t1).Round(time.Millisecond))
	bfdUp(3)

	// Director 3 is killed: its speaker's connection closes with it, so
	// the router needs no BFD to drop the session at once.
	t2 := time.Now()
	daemons[2].Signal(syscall.SIGKILL)
	at = route.wait(2, 2*time.Second)
	took = at.Sub(t2)
	t.Logf("2 next hops %v after director 3 was killed", took.Round(time.Microsecond))
	if took > 250*time.Millisecond {
		t.Errorf("the next hop went %v after director 3 was killed, want under 250ms", took)
	}
	<-daemons[2].Done()
	t3 := time.Now()
	daemons[2] = start(2)
	at = route.wait(3, 5*time.Second)
	t.Logf("3 next hops %v after director 3's restart", at.Sub(t3).Round(time.Millisecond))
	bfdUp(3)

	// The router stops: its TCP connections stay open, and only BFD tells
	// the directors, which drop their sessions.
	const reset = "BGP neighbor 10.99.0.254 AS 65000: BFD session RT Down, resetting the session"
	for i, d := range daemons {
		if strings.Contains(d.Output(), reset) {
			t.Errorf("director %d reset its session before the router stopped", i+1)
		}
	}
	t4 := time.Now()
	if err := bird.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bird.Signal(syscall.SIGCONT) })
	for i, d := range daemons {
		took := waitCount(t, fmt.Sprintf("director %d's reset", i+1), 2*time.Second, d.Output, reset, 1).Sub(t4)
		t.Logf("director %d dropped its session %v after the router stopped", i+1, took.Round(time.Microsecond))
		if took > 250*time.Millisecond {
			t.Errorf("director %d dropped its session %v after the router stopped, want under 250ms", i+1, took)
		}
		st, err := control.Query(filepath.Join(ddirs[i], "ctl.sock"))
		if err != nil {
			t.Fatal(err)
		}
		// The session is dialled again at once: it is gone or on its
		// way, not Established with a router that cannot answer.
		if len(st.BGPPeers) > 1 || len(st.BGPPeers) == 1 && st.BGPPeers[0].State == "Established" {
			t.Errorf("director %d's session after its reset: %+v", i+1, st.BGPPeers)
		}
	}
	t5 := time.Now()
	if err := bird.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	route.wait(0, 5*time.Second)
	at = route.wait(3, 10*time.Second)
	t.Logf("3 next hops %v after the router resumed", at.Sub(t5).Round(time.Millisecond))
}
