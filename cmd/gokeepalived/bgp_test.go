package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// bgpRouterConf is BIRD's configuration on the router: an eBGP session
// to each director, and their routes merged into ECMP routes in the
// kernel table. The first director's session is signed with TCP MD5.
// BIRD offers its default hold time, 240 s, so that the session's 9 s is
// the directors'.
const bgpRouterConf = `router id 10.99.0.254;
protocol device { scan time 10; }
protocol kernel {
    ipv4 { import none; export all; };
    merge paths yes;
}
template bgp dir {
    local 10.99.0.254 as 65000;
    ipv4 { import all; export none; };
}
protocol bgp d1 from dir { neighbor 10.99.0.11 as 65001; password "s3cret"; }
protocol bgp d2 from dir { neighbor 10.99.0.12 as 65001; }
protocol bgp d3 from dir { neighbor 10.99.0.13 as 65001; }
`

// bgpDirectorConf is a director's: a VRRP instance alone on its VRID,
// which a track_file puts in FAULT, and the VIP announced while the
// instance is MASTER.
func bgpDirectorConf(n int, dir string) string {
	password := ""
	if n == 1 {
		password = "password s3cret"
	}
	return fmt.Sprintf(`track_file HEALTH {
    file %s/health
    weight 0
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id %d
    priority 200
    advert_int 0.1
    track_file {
        HEALTH
    }
    virtual_ipaddress {
        10.10.10.10/32
    }
}
bgp_speaker {
    router_id 10.99.0.1%d
    local_as 65001
    hold_time 9
    neighbor 10.99.0.254 {
        remote_as 65000
        source_ip 10.99.0.1%d
        %s
    }
}
bgp_announce WEB {
    prefix 10.10.10.10/32
    track_instance VI_1
    community 65001:100
    med 10
}
`, dir, 10+n, n, n, password)
}

// requireBIRD skips the test without BIRD 2, or fails it under CI=true.
func requireBIRD(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bird"); err != nil {
		nettest.SkipUnlessCI(t, "BIRD 2 (bird2) is not installed")
		t.Fatal(err)
	}
}

// routerLab is the BGP tests' lab: a router at 10.99.0.254 and n
// directors, d1 at 10.99.0.11 and on.
func routerLab(t *testing.T, n int) (router *nettest.Host, dirs []*nettest.Host) {
	t.Helper()
	lab := nettest.NewLab(t)
	router = lab.AddHost("rt", "10.99.0.254/24")
	for i := range n {
		dirs = append(dirs, lab.AddHost(fmt.Sprintf("d%d", i+1), fmt.Sprintf("10.99.0.1%d/24", i+1)))
	}
	return router, dirs
}

// TestBGPAnnouncesToBIRD runs three directors announcing one VIP to a
// router running BIRD 2, which installs it with a next hop per director:
// three after the start, two within milliseconds of one director losing
// its health, the drained route with GRACEFUL_SHUTDOWN seen by BIRD
// before a stopped director's withdrawal, and three again after its
// restart.
func TestBGPAnnouncesToBIRD(t *testing.T) {
	nettest.RequireRoot(t)
	requireBIRD(t)
	bin := gokeepalivedBinary(t)
	lab := nettest.NewLab(t)
	router := lab.AddHost("rt", "10.99.0.254/24")
	dirs := make([]*nettest.Host, 3)
	for i := range dirs {
		// Director 1's first address is not its session's: source_ip
		// chooses the one BIRD knows.
		var addrs []string
		if i == 0 {
			addrs = append(addrs, "10.99.0.21/24")
		}
		dirs[i] = lab.AddHost(fmt.Sprintf("d%d", i+1), append(addrs, fmt.Sprintf("10.99.0.1%d/24", i+1))...)
	}

	// The router's kernel table, watched from the start.
	ns, err := netns.GetFromName(router.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	updates := make(chan netlink.RouteUpdate, 256)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.RouteSubscribeWithOptions(updates, done, netlink.RouteSubscribeOptions{Namespace: &ns}); err != nil {
		t.Fatal(err)
	}
	vip := "10.10.10.10/32"
	hops := 0
	// waitHops reads route updates until the VIP's route has want next
	// hops, and returns when that happened.
	waitHops := func(want int, timeout time.Duration) time.Time {
		t.Helper()
		deadline := time.After(timeout)
		for hops != want {
			select {
			case u := <-updates:
				if u.Dst == nil || u.Dst.String() != vip {
					continue
				}
				if u.Type == syscall.RTM_DELROUTE {
					hops = 0
				} else {
					hops = nettest.NextHops(u.Route)
				}
			case <-deadline:
				t.Fatalf("the router's route to %s has %d next hops, not %d, after %v", vip, hops, want, timeout)
			}
		}
		return time.Now()
	}

	bdir := t.TempDir()
	sock := filepath.Join(bdir, "bird.ctl")
	if err := os.WriteFile(filepath.Join(bdir, "bird.conf"), []byte(bgpRouterConf), 0o644); err != nil {
		t.Fatal(err)
	}
	bird := router.Start(t, "bird", "-f", "-c", filepath.Join(bdir, "bird.conf"), "-s", sock, "-P", filepath.Join(bdir, "bird.pid"))
	birdc := func(args ...string) string {
		out, _ := router.Exec("birdc", append([]string{"-s", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	waitFor(t, "BIRD's control socket", 5*time.Second, func() bool { return strings.Contains(birdc("show", "status"), "Daemon is up") })
	_ = bird

	daemons := make([]*nettest.Daemon, 3)
	ddirs := make([]string, 3)
	// Director 2's status and metrics are read as its health changes.
	const metricsAddr = "127.0.0.1:9652"
	start := func(i int) *nettest.Daemon {
		var extra []string
		if i == 1 {
			extra = []string{"--metrics-listen", metricsAddr}
		}
		return startOursOn(t, dirs[i], bin, ddirs[i], bgpDirectorConf(i+1, ddirs[i]), extra...)
	}
	// shows requires director 2's status and metrics to show its session
	// Established and its announcement in state.
	shows := func(announced bool) {
		t.Helper()
		st, err := control.Query(filepath.Join(ddirs[1], "ctl.sock"))
		if err != nil {
			t.Fatal(err)
		}
		wantPeers := []control.BGPPeer{{Neighbor: "10.99.0.254", RemoteAS: 65000, State: "Established"}}
		wantAnns := []control.BGPAnnouncement{{Name: "WEB", Prefix: "10.10.10.10/32", Announced: announced}}
		if !slices.Equal(st.BGPPeers, wantPeers) || !slices.Equal(st.BGPAnnouncements, wantAnns) {
			t.Errorf("status: %+v %+v, want %+v %+v", st.BGPPeers, st.BGPAnnouncements, wantPeers, wantAnns)
		}
		var table strings.Builder
		control.WriteTable(&table, st, time.Now())
		state := "withdrawn"
		if announced {
			state = "announced"
		}
		var rows []string
		for l := range strings.Lines(table.String()) {
			rows = append(rows, strings.Join(strings.Fields(l), " "))
		}
		for _, want := range []string{"BGP NEIGHBOR REMOTE AS STATE", "10.99.0.254 65000 Established",
			"BGP ANNOUNCEMENT PREFIX STATE", "WEB 10.10.10.10/32 " + state} {
			if !slices.Contains(rows, want) {
				t.Errorf("gokeepalived status lacks %q:\n%s", want, table.String())
			}
		}
		m := scrape(t, dirs[1], metricsAddr)
		// The BGP families pass Prometheus's linter, as the others do.
		_, body, ok := strings.Cut(m, "\r\n\r\n")
		if !ok || !strings.Contains(body, "# TYPE gokeepalived_bgp_announced gauge") {
			t.Fatalf("no BGP families in the scrape:\n%s", m)
		}
		problems, err := promlint.New(strings.NewReader(body)).Lint()
		if err != nil {
			t.Fatalf("lint: %v", err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
		v := 0.0
		if announced {
			v = 1
		}
		checkMetricValue(t, m, `gokeepalived_bgp_announced{announcement="WEB",prefix="10.10.10.10/32"}`, v)
		checkMetricValue(t, m, `gokeepalived_bgp_peer_state{neighbor="10.99.0.254",state="Established"}`, 1)
		checkMetricValue(t, m, `gokeepalived_bgp_peer_state{neighbor="10.99.0.254",state="Idle"}`, 0)
	}
	t0 := time.Now()
	for i := range dirs {
		ddirs[i] = t.TempDir()
		if err := os.WriteFile(filepath.Join(ddirs[i], "health"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		daemons[i] = start(i)
	}
	at := waitHops(3, 3*time.Second)
	t.Logf("3 next hops %v after the directors' start", at.Sub(t0).Round(time.Millisecond))

	all := birdc("show", "route", "all", vip)
	for _, want := range []string{"BGP.med: 10", "(65001,100)", "10.99.0.11", "10.99.0.12", "10.99.0.13"} {
		if !strings.Contains(all, want) {
			t.Errorf("BIRD's route lacks %q:\n%s", want, all)
		}
	}
	p := birdc("show", "protocols", "all", "d1")
	if !strings.Contains(p, "Established") {
		t.Errorf("the MD5-signed session is not established:\n%s", p)
	}
	if !regexp.MustCompile(`Hold timer:\s+[0-9.]+/9\n`).MatchString(p) {
		t.Errorf("the session's hold time is not the director's 9 s:\n%s", p)
	}
	shows(true)
	if !daemons[0].WaitOutput("BGP neighbor 10.99.0.254 AS 65000: session Established", time.Second) {
		t.Errorf("director 1 did not log its session coming up")
	}
	// The speaker dials; it listens on no port.
	if out, err := dirs[0].Exec("ss", "-Hltn").CombinedOutput(); err != nil || strings.Contains(string(out), ":179 ") {
		t.Errorf("a director listens on the BGP port (%v):\n%s", err, out)
	}

	// Director 2 loses its health: its VRRP instance goes to FAULT.
	t1 := time.Now()
	if err := os.WriteFile(filepath.Join(ddirs[1], "health"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at = waitHops(2, 2*time.Second)
	took := at.Sub(t1)
	t.Logf("2 next hops %v after director 2 lost its health", took.Round(time.Microsecond))
	if took > 100*time.Millisecond {
		t.Errorf("withdrawal took %v, want under 100ms", took)
	}
	shows(false)
	if err := os.WriteFile(filepath.Join(ddirs[1], "health"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at = waitHops(3, 3*time.Second)
	t.Logf("3 next hops %v after director 2 recovered", at.Sub(t1).Round(time.Millisecond))

	// SIGTERM to director 3: BIRD sees its route with GRACEFUL_SHUTDOWN
	// before the withdrawal.
	if err := daemons[2].Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	t2 := time.Now()
	sawGshut := false
	for !sawGshut && time.Since(t2) < 3*time.Second {
		out := birdc("show", "route", "all", vip, "where", "bgp_community ~ [(65535,0)]")
		sawGshut = strings.Contains(out, "10.99.0.13") && strings.Contains(out, "(65535,0)")
		if !sawGshut {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !sawGshut {
		t.Errorf("BIRD never saw director 3's route with GRACEFUL_SHUTDOWN (65535,0)")
	}
	gshut := time.Since(t2)
	if hops != 3 {
		t.Errorf("director 3's route went before its GRACEFUL_SHUTDOWN was seen: %d next hops", hops)
	}
	at = waitHops(2, 5*time.Second)
	t.Logf("GRACEFUL_SHUTDOWN seen %v after SIGTERM, withdrawal %v after it", gshut.Round(time.Millisecond), at.Sub(t2).Round(time.Millisecond))
	select {
	case <-daemons[2].Done():
	case <-time.After(5 * time.Second):
		t.Fatal("director 3 did not exit")
	}
	// GoBGP's own messages stay out of a run without trouble; the
	// daemon says what matters.
	out := daemons[2].Output()
	if strings.Contains(out, " BGP: ") {
		t.Errorf("GoBGP's messages in director 3's log:\n%s", out)
	}
	for _, want := range []string{"BGP speaker 10.99.0.13 AS 65001 started", "BGP announcement WEB: announcing 10.10.10.10/32",
		"BGP neighbor 10.99.0.254 AS 65000: session Established", "BGP neighbor 10.99.0.254 AS 65000: session down (Idle)", "BGP speaker stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("director 3's log lacks %q", want)
		}
	}

	// Restart: three again.
	t3 := time.Now()
	daemons[2] = start(2)
	at = waitHops(3, 5*time.Second)
	t.Logf("3 next hops %v after director 3's restart", at.Sub(t3).Round(time.Millisecond))

	// A reload keeps the session: BIRD's session to director 1 keeps
	// the time it came up, and the route never loses its next hop.
	since := birdc("show", "protocols", "d1")
	if err := daemons[0].Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !daemons[0].WaitOutput("Reloading", 5*time.Second) {
		t.Fatal("director 1 did not reload")
	}
	quiet := time.After(1500 * time.Millisecond)
	for watching := true; watching; {
		select {
		case u := <-updates:
			if u.Dst != nil && u.Dst.String() == vip && (u.Type == syscall.RTM_DELROUTE || nettest.NextHops(u.Route) != 3) {
				t.Errorf("the route changed during director 1's reload: %v", u)
			}
		case <-quiet:
			watching = false
		}
	}
	if after := birdc("show", "protocols", "d1"); after != since {
		t.Errorf("director 1's session changed with its reload:\n%s\nthen\n%s", since, after)
	}

	// The speaker process of director 1 dies: its session and next hop
	// go, and come back with the speaker the daemon restarts, the route
	// announced again.
	child := speakerChild(t, daemons[0].Pid())
	t4 := time.Now()
	syscall.Kill(child, syscall.SIGKILL)
	at = waitHops(2, 2*time.Second)
	t.Logf("2 next hops %v after director 1's speaker was killed", at.Sub(t4).Round(time.Millisecond))
	at = waitHops(3, 5*time.Second)
	t.Logf("3 next hops %v after director 1's speaker was killed", at.Sub(t4).Round(time.Millisecond))
	if !daemons[0].WaitOutput("gokeepalived-bgp exited; restarting it", time.Second) {
		t.Errorf("director 1 did not log its speaker's restart")
	}
	if again := speakerChild(t, daemons[0].Pid()); again == child {
		t.Errorf("director 1's speaker is still process %d", child)
	}

	// SIGKILL to director 3's daemon: its speaker dies with it, and its
	// next hop goes.
	child = speakerChild(t, daemons[2].Pid())
	t5 := time.Now()
	daemons[2].Signal(syscall.SIGKILL)
	at = waitHops(2, 2*time.Second)
	t.Logf("2 next hops %v after director 3's daemon was killed", at.Sub(t5).Round(time.Millisecond))
	if !processGone(child, time.Second) {
		syscall.Kill(child, syscall.SIGKILL)
		t.Errorf("director 3's speaker %d outlived its daemon's SIGKILL", child)
	}
}

// speakerChild returns the pid of the gokeepalived-bgp child of the
// daemon whose pid is parent, failing t if there is not exactly one.
func speakerChild(t *testing.T, parent int) int {
	t.Helper()
	var found []int
	waitFor(t, "the daemon's gokeepalived-bgp", 2*time.Second, func() bool {
		found = nil
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...; comm is cut at 15 bytes.
			s := string(st)
			i := strings.LastIndexByte(s, ')')
			if !strings.Contains(s[:max(i, 0)], "(gokeepalived-bg") {
				continue
			}
			f := strings.Fields(s[i+1:])
			if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(parent) {
				found = append(found, pid)
			}
		}
		return len(found) == 1
	})
	return found[0]
}

// processGone reports whether pid is gone, or a zombie, within timeout.
func processGone(pid int, timeout time.Duration) bool {
	_, ok := nettest.Eventually(timeout, func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		return i >= 0 && strings.HasPrefix(s[i+1:], " Z")
	})
	return ok
}

// checkMetricValue requires a sample named exactly series with value v.
func checkMetricValue(t *testing.T, metrics, series string, v float64) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`).FindStringSubmatch(metrics)
	if m == nil {
		t.Errorf("metrics lack %s", series)
		return
	}
	if got, _ := strconv.ParseFloat(m[1], 64); got != v {
		t.Errorf("%s = %v, want %v", series, got, v)
	}
}

// TestBGPConfigTest holds -t to the extension's promise: keepalived -t
// refuses the BGP blocks as unknown keywords, gokeepalived -t accepts
// them with one notice per block naming the extension.
func TestBGPConfigTest(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(bgpDirectorConf(1, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gokeepalivedBinary(t), "-t", "-f", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("gokeepalived -t: %v\n%s", err, out)
	}
	const notice = ": gokeepalived extension (BGP announcement of VIPs), not a keepalived keyword: keepalived refuses it"
	want := conf + ":19: bgp_speaker" + notice + "\n" + conf + ":29: bgp_announce" + notice + "\n"
	if string(out) != want {
		t.Errorf("gokeepalived -t:\n%s\nwant:\n%s", out, want)
	}
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		nettest.SkipUnlessCI(t, "keepalived is not installed")
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "-t", "-f", conf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Unknown keyword 'bgp_speaker'") {
		t.Errorf("keepalived -t accepted the BGP blocks (%v):\n%s", err, out)
	}
}
