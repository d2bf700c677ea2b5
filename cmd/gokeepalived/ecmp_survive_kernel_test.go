package main

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The ECMP lab: a client namespace behind a router whose multipath route
// to the VIPs spreads flows, by their ports, over DR directors that
// share one segment with the real servers. The addresses are the same in
// every lab: each has namespaces of its own.
const (
	ecmpVIPs       = "10.99.0.0/24"
	ecmpPort       = 80
	ecmpSessions   = 120
	ecmpDirectors  = 4
	ecmpRealServer = 3
	// survivalClients is how many addresses the client's sessions come from.
	survivalClients = 4
	// ecmpPhase is how long the sessions run after each change of the
	// route: long enough for every session to send a few lines through
	// its new director, and for a lost one to time out.
	ecmpPhase = 2500 * time.Millisecond
	// ecmpTimeout is how long a session waits for an echo before it
	// counts as broken: TCP retransmits a line lost in a change well
	// within it, even in a guest slowed by a loaded host. A session a
	// director does not take over is reset at once, so the bound does
	// not make the runs that must break any longer.
	ecmpTimeout = 5 * time.Second
)

func ecmpDirectorAddr(i int) string { return fmt.Sprintf("10.98.0.%d", 11+i) }
func ecmpServerAddr(i int) string   { return fmt.Sprintf("10.98.0.%d", 21+i) }
func ecmpClientAddr(i int) string   { return fmt.Sprintf("10.97.0.%d", 10+i) }

// ecmpProto is the protocol of a virtual server and its sessions.
type ecmpProto string

const (
	ecmpTCP  ecmpProto = "TCP"
	ecmpSCTP ecmpProto = "SCTP"
)

// sloppy is the protocol's extension keyword and IPVS sysctl.
func (p ecmpProto) sloppy() (keyword, sysctl string) {
	if p == ecmpSCTP {
		return "lvs_sloppy_sctp", "sloppy_sctp"
	}
	return "lvs_sloppy_tcp", "sloppy_tcp"
}

// An ecmpService is one virtual server of the lab, on a VIP of its own
// in ecmpVIPs, with the same real servers as the others.
type ecmpService struct {
	vip   string
	algo  string
	proto ecmpProto
}

func (s ecmpService) String() string { return fmt.Sprintf("%s %s, lb_algo %s", s.proto, s.vip, s.algo) }

// survivalConf is the directors' configuration: the virtual servers, with
// mh-port for mh, and the sloppy scheduling of their protocols through
// the extension when ext is set.
func survivalConf(svcs []ecmpService, ext bool) string {
	var b strings.Builder
	if ext {
		b.WriteString("global_defs {\n")
		for _, kw := range sloppyKeywords(svcs) {
			fmt.Fprintf(&b, "    %s\n", kw)
		}
		b.WriteString("}\n")
	}
	for _, s := range svcs {
		fmt.Fprintf(&b, "virtual_server %s %d {\n    lb_algo %s\n", s.vip, ecmpPort, s.algo)
		if s.algo == "mh" {
			// Maglev hashes the source port too, so that one
			// client's connections spread over the real servers.
			b.WriteString("    mh-port\n")
		}
		fmt.Fprintf(&b, "    lb_kind DR\n    protocol %s\n", s.proto)
		for i := range ecmpRealServer {
			fmt.Fprintf(&b, "    real_server %s %d {\n        weight 1\n    }\n", ecmpServerAddr(i), ecmpPort)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// sloppyKeywords lists the extension keywords of the services'
// protocols, once each.
func sloppyKeywords(svcs []ecmpService) []string {
	var kws []string
	for _, s := range svcs {
		if kw, _ := s.proto.sloppy(); !slices.Contains(kws, kw) {
			kws = append(kws, kw)
		}
	}
	return kws
}

// ecmpLab is one lab of the run.
type ecmpLab struct {
	t         *testing.T
	svcs      []ecmpService
	sw        string // the namespace of the segment's bridge
	router    *nettest.Host
	client    *nettest.Host
	directors []*nettest.Host
	// ports are the directors' ports on the bridge.
	ports   []string
	daemons []*guestDaemon
}

// newECMPLab builds the namespaces, the real servers' echo servers for
// every service, and the client's route to the VIPs through the router,
// whose own route goes nowhere yet. The guest's emulated CPU takes about
// 100 ms for each ip command: the lab is built by a few ip -batch runs.
func newECMPLab(t *testing.T, svcs []ecmpService) *ecmpLab {
	t.Helper()
	id := fmt.Sprintf("es%06x", rand.IntN(1<<24))
	host := func(name string) *nettest.Host { return &nettest.Host{Name: name, NS: id + "-" + name, Link: "eth0"} }
	l := &ecmpLab{t: t, svcs: svcs, sw: id + "-sw", router: host("rt"), client: host("cl")}
	type member struct {
		h    *nettest.Host
		addr string
	}
	segment := []member{{l.router, "10.98.0.1"}}
	var servers []*nettest.Host
	for i := range ecmpRealServer {
		h := host(fmt.Sprintf("rs%d", i))
		servers = append(servers, h)
		segment = append(segment, member{h, ecmpServerAddr(i)})
	}
	for i := range ecmpDirectors {
		h := host(fmt.Sprintf("d%d", i))
		l.directors = append(l.directors, h)
		segment = append(segment, member{h, ecmpDirectorAddr(i)})
	}

	var root []string
	all := []string{l.sw, l.client.NS}
	for _, m := range segment {
		all = append(all, m.h.NS)
	}
	for _, ns := range all {
		root = append(root, "netns add "+ns)
	}
	t.Cleanup(func() {
		var del []string
		for _, ns := range all {
			del = append(del, "netns del "+ns)
		}
		ipBatch(t, "", del, true)
	})
	root = append(root, fmt.Sprintf("link add rt0 netns %s type veth peer name cl0 netns %s", l.client.NS, l.router.NS))
	sw := []string{"link set lo up", "link add br0 type bridge stp_state 0 forward_delay 0", "link set br0 up"}
	for i, m := range segment {
		port := fmt.Sprintf("p%d", i)
		root = append(root, fmt.Sprintf("link add eth0 netns %s type veth peer name %s netns %s", m.h.NS, port, l.sw))
		sw = append(sw, "link set "+port+" master br0 up")
		if i > ecmpRealServer {
			l.ports = append(l.ports, port)
		}
	}
	ipBatch(t, "", root, false)
	ipBatch(t, l.sw, sw, false)

	// The client is not on the segment: its own link to the router.
	cl := []string{"link set lo up", "link set rt0 up", "route add " + ecmpVIPs + " via 10.97.0.1"}
	for i := range survivalClients {
		cl = slices.Insert(cl, 1, "addr add "+ecmpClientAddr(i)+"/24 dev rt0")
	}
	ipBatch(t, l.client.NS, cl, false)
	ipBatch(t, l.router.NS, []string{"link set lo up", "addr add 10.98.0.1/24 dev eth0", "link set eth0 up",
		"addr add 10.97.0.1/24 dev cl0", "link set cl0 up"}, false)
	setSysctls(t, l.router, "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1",
		"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")

	// DR: the VIPs on every director's and real server's lo, never
	// answered for or announced on the segment.
	for _, m := range segment[1:] {
		cmds := []string{"link set lo up", "addr add " + m.addr + "/24 dev eth0", "link set eth0 up"}
		for _, s := range svcs {
			cmds = append(cmds, "addr add "+s.vip+"/32 dev lo")
		}
		ipBatch(t, m.h.NS, append(cmds, "route add default via 10.98.0.1"), false)
		setSysctls(t, m.h, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
			"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0")
	}
	for i, h := range servers {
		for _, s := range svcs {
			l.echoServer(h, s, fmt.Sprintf("rs%d", i))
		}
	}
	return l
}

// ipBatch runs ip -batch with cmds, in namespace ns unless it is empty;
// with force, it goes on past errors and reports none.
func ipBatch(t *testing.T, ns string, cmds []string, force bool) {
	t.Helper()
	var args []string
	if ns != "" {
		args = append(args, "-n", ns)
	}
	if force {
		args = append(args, "-force")
	}
	cmd := exec.Command("ip", append(args, "-batch", "-")...)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil && !force {
		t.Fatalf("ip %s: %v\n%s\n%s", strings.Join(args, " "), err, strings.Join(cmds, "\n"), out)
	}
}

// setSysctls writes name=value settings of h's namespace from a thread
// in it: /proc/sys/net is the namespace's of the thread that opens it.
func setSysctls(t *testing.T, h *nettest.Host, settings ...string) {
	t.Helper()
	if err := h.Do(func() error {
		for _, kv := range settings {
			k, v, _ := strings.Cut(kv, "=")
			path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
			if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
				return fmt.Errorf("%s: %w", kv, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", h.NS, err)
	}
}

// readSysctl reads a setting of h's namespace, such as
// net.ipv4.vs.sloppy_tcp.
func readSysctl(t *testing.T, h *nettest.Host, name string) string {
	t.Helper()
	var b []byte
	if err := h.Do(func() (err error) {
		b, err = os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
		return err
	}); err != nil {
		t.Fatalf("%s: %v", h.NS, err)
	}
	return strings.TrimSpace(string(b))
}

// ipIn runs ip in h's namespace.
func (l *ecmpLab) ipIn(h *nettest.Host, args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", h.NS}, args...)...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip -n %s %s: %v\n%s", h.NS, strings.Join(args, " "), err, out)
	}
}

// echoServer listens on the service's VIP in h and answers each line
// with name and the line.
func (l *ecmpLab) echoServer(h *nettest.Host, s ecmpService, name string) {
	l.t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) {
		if s.proto == ecmpSCTP {
			ln, err = listenSCTP(s.vip, ecmpPort)
		} else {
			ln, err = net.Listen("tcp", net.JoinHostPort(s.vip, strconv.Itoa(ecmpPort)))
		}
		return err
	}); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := fmt.Fprintf(c, "%s %s", name, line); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// guestDaemon is gokeepalived (this binary) or keepalived, run as the
// checker alone in a director's namespace, in its own process group.
type guestDaemon struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// startDirectors starts the daemon of every director on conf; with
// sloppySysctl, the sloppy scheduling of the services' protocols is set
// with sysctl before, as for keepalived, which has no keyword for it.
func (l *ecmpLab) startDirectors(ours bool, conf string, sloppySysctl bool) {
	l.t.Helper()
	self, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	for i, h := range l.directors {
		if sloppySysctl {
			for _, s := range l.svcs {
				_, name := s.proto.sloppy()
				setSysctls(l.t, h, "net.ipv4.vs."+name+"=1")
			}
		}
		dir := l.t.TempDir()
		path := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			l.t.Fatal(err)
		}
		args := []string{"-n", "-l", "-C", "-f", path, "-p", filepath.Join(dir, "k.pid"),
			"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid")}
		var cmd *exec.Cmd
		if ours {
			cmd = h.Exec(self, append(args, "--control-socket", filepath.Join(dir, "ctl.sock"))...)
			cmd.Env = append(os.Environ(), envRunDaemon+"=1")
		} else {
			cmd = h.Exec("keepalived", append(args, "-D")...)
		}
		d := &guestDaemon{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = d.out, d.out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			l.t.Fatalf("director %d: %v", i, err)
		}
		go func() { cmd.Wait(); close(d.done) }()
		l.daemons = append(l.daemons, d)
		l.t.Cleanup(func() {
			d.stop()
			if l.t.Failed() {
				l.t.Logf("director %d:\n%s", i, d.out.String())
			}
		})
	}
	for i, h := range l.directors {
		waitFor(l.t, fmt.Sprintf("director %d's virtual servers with their real servers", i), 30*time.Second, func() bool {
			out, _ := h.Exec("ipvsadm", "-Ln").CombinedOutput()
			return strings.Count(string(out), "Route") == ecmpRealServer*len(l.svcs)
		})
	}
}

// kill ends the daemon's process group at once.
func (d *guestDaemon) kill() {
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
}

// stop sends SIGTERM, and SIGKILL after 10 s.
func (d *guestDaemon) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.kill()
	}
}

// route points the router's route to the VIPs at the directors on.
func (l *ecmpLab) route(on ...int) {
	l.t.Helper()
	args := []string{"route", "replace", ecmpVIPs}
	for _, i := range on {
		args = append(args, "nexthop", "via", ecmpDirectorAddr(i), "dev", "eth0")
	}
	l.ipIn(l.router, args...)
}

// A sessionResult is how one session ended.
type sessionResult struct {
	server string // the real server that answered it first
	err    error  // nil if it ran to the end
}

// ecmpRun counts the sessions of one run by how they ended.
type ecmpRun struct {
	Sessions, Broken, Reset, Timeout, WrongServer, Other int
	// PerServer counts the sessions by their first real server.
	PerServer map[string]int
}

func (r ecmpRun) String() string {
	return fmt.Sprintf("%d of %d sessions broken (%d reset, %d timed out, %d answered by another real server, %d other); first real servers %v",
		r.Broken, r.Sessions, r.Reset, r.Timeout, r.WrongServer, r.Other, r.PerServer)
}

// errWrongServer is a session answered by another real server than the
// one it began with.
var errWrongServer = errors.New("answered by another real server")

// tally counts results.
func tally(results []sessionResult) ecmpRun {
	r := ecmpRun{Sessions: len(results), PerServer: make(map[string]int)}
	for _, s := range results {
		r.PerServer[s.server]++
		var ne net.Error
		switch {
		case s.err == nil:
			continue
		case errors.Is(s.err, errWrongServer):
			r.WrongServer++
		case errors.Is(s.err, syscall.ECONNRESET) || errors.Is(s.err, syscall.EPIPE):
			r.Reset++
		case errors.As(s.err, &ne) && ne.Timeout():
			r.Timeout++
		default:
			r.Other++
		}
		r.Broken++
	}
	return r
}

// run opens ecmpSessions sessions to every service through the
// directors in the route, changes the route to 2 directors, then to all
// 4, then kills a director as a failure would (its daemon, its link, and
// its next hop as the router's BFD would remove it), and counts how the
// sessions of each service ended, in the order of l.svcs.
func (l *ecmpLab) run() []ecmpRun {
	l.t.Helper()
	l.route(0, 1, 2)
	began := time.Now()
	conns := make([][]net.Conn, len(l.svcs))
	closeAll := func() {
		for _, cs := range conns {
			for _, c := range cs {
				if c != nil {
					c.Close()
				}
			}
		}
	}
	if err := l.client.Do(func() error {
		for j, s := range l.svcs {
			conns[j] = make([]net.Conn, ecmpSessions)
			for i := range conns[j] {
				local := ecmpClientAddr(i % survivalClients)
				var c net.Conn
				var err error
				if s.proto == ecmpSCTP {
					c, err = dialSCTP(local, s.vip, ecmpPort)
				} else {
					d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
					c, err = d.Dial("tcp", net.JoinHostPort(s.vip, strconv.Itoa(ecmpPort)))
				}
				if err != nil {
					return fmt.Errorf("%v, session %d: %w", s, i, err)
				}
				conns[j][i] = c
			}
		}
		return nil
	}); err != nil {
		closeAll()
		l.t.Fatal(err)
	}
	l.t.Logf("%d sessions open in %v", len(l.svcs)*ecmpSessions, time.Since(began).Round(time.Millisecond))
	stop := make(chan struct{})
	results := make([][]sessionResult, len(l.svcs))
	var wg sync.WaitGroup
	for j, cs := range conns {
		results[j] = make([]sessionResult, len(cs))
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				results[j][i] = echoSession(c, i, stop)
			}()
		}
	}
	time.Sleep(ecmpPhase)
	l.route(0, 1)
	time.Sleep(ecmpPhase)
	l.route(0, 1, 2, 3)
	time.Sleep(ecmpPhase)
	l.daemons[3].kill()
	// Its port on the bridge down: the link is cut.
	l.ipIn(&nettest.Host{NS: l.sw}, "link", "set", l.ports[3], "down")
	l.route(0, 1, 2)
	time.Sleep(ecmpPhase)
	close(stop)
	wg.Wait()
	var runs []ecmpRun
	for _, rs := range results {
		runs = append(runs, tally(rs))
	}
	return runs
}

// echoSession sends a line every 100 ms on c and reads its echo, until stop
// or the first failure: an error, no echo within ecmpTimeout, or an echo
// from another real server than the first.
func echoSession(c net.Conn, id int, stop <-chan struct{}) sessionResult {
	r := bufio.NewReader(c)
	var res sessionResult
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		c.SetDeadline(time.Now().Add(ecmpTimeout))
		msg := fmt.Sprintf("%d.%d\n", id, n)
		if _, err := c.Write([]byte(msg)); err != nil {
			res.err = err
			return res
		}
		got, err := r.ReadString('\n')
		if err != nil {
			res.err = err
			return res
		}
		name, line, ok := strings.Cut(got, " ")
		switch {
		case !ok || line != msg:
			res.err = fmt.Errorf("echo %q to %q", got, msg)
			return res
		case res.server == "":
			res.server = name
		case name != res.server:
			res.err = fmt.Errorf("%w: %s, then %s", errWrongServer, res.server, name)
			return res
		}
		select {
		case <-stop:
			return res
		case <-tick.C:
		}
	}
}

// TestGuestSessionsSurviveECMP runs 120 long-lived sessions to each of
// several virtual servers through four DR directors behind a router's
// multipath route while the route changes (3 directors, then 2, then 4,
// then one director killed and its next hop removed), in two labs at
// once. In the first, gokeepalived has lvs_sloppy_tcp and
// lvs_sloppy_sctp: with lb_algo mh and mh-port every director sends a
// flow it did not see begin to the same real server, and no TCP session
// or SCTP association breaks; with lb_algo wlc each director picks by
// its own counts, and at least a quarter of the sessions break. In the
// second, without the keywords, a director drops what it did not see
// begin, and at least a quarter break with mh too.
func TestGuestSessionsSurviveECMP(t *testing.T) {
	requireGuest(t)
	mhTCP := ecmpService{"10.99.0.1", "mh", ecmpTCP}
	wlcTCP := ecmpService{"10.99.0.2", "wlc", ecmpTCP}
	mhSCTP := ecmpService{"10.99.0.3", "mh", ecmpSCTP}
	quarter := ecmpExpect{func(r ecmpRun) bool { return r.Broken >= ecmpSessions/4 }, "at least a quarter broken"}
	none := ecmpExpect{func(r ecmpRun) bool { return r.Broken == 0 }, "none broken"}
	var wg sync.WaitGroup
	for _, tc := range []struct {
		name   string
		sloppy bool
		svcs   []ecmpService
		expect []ecmpExpect
	}{
		{"sloppy", true, []ecmpService{mhTCP, wlcTCP, mhSCTP}, []ecmpExpect{none, quarter, none}},
		{"not-sloppy", false, []ecmpService{mhTCP, mhSCTP}, []ecmpExpect{quarter, quarter}},
	} {
		// The labs run at once, each in a subtest of its own: they
		// mostly wait on timers, and the guest's one CPU would make
		// t.Parallel run them one after the other.
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(tc.name, func(t *testing.T) { runECMPCase(t, tc.sloppy, tc.svcs, tc.expect) })
		}()
	}
	wg.Wait()
}

// ecmpExpect is what a service's run must show.
type ecmpExpect struct {
	ok   func(ecmpRun) bool
	want string
}

// runECMPCase runs one lab of TestGuestSessionsSurviveECMP: gokeepalived
// as the directors, with the sloppy keywords of the services' protocols
// if sloppy, and checks each service's run against expect.
func runECMPCase(t *testing.T, sloppy bool, svcs []ecmpService, expect []ecmpExpect) {
	t0 := time.Now()
	l := newECMPLab(t, svcs)
	t1 := time.Now()
	l.startDirectors(true, survivalConf(svcs, sloppy), false)
	t.Logf("lab built in %v, directors started in %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	if got := readSysctl(t, l.router, "net.ipv4.fib_multipath_hash_policy"); got != "1" {
		t.Fatalf("the router hashes flows by policy %s, want 1 (ports)", got)
	}
	want := map[bool]string{false: "0", true: "1"}[sloppy]
	for i, h := range l.directors {
		for _, s := range svcs {
			_, sysctl := s.proto.sloppy()
			if got := readSysctl(t, h, "net.ipv4.vs."+sysctl); got != want {
				t.Fatalf("director %d: %s %s, want %s", i, sysctl, got, want)
			}
		}
	}
	for i, r := range l.run() {
		s, e := svcs[i], expect[i]
		t.Logf("%v, sloppy %v: %v", s, sloppy, r)
		if !e.ok(r) {
			t.Errorf("%v, sloppy %v: %v; want %s", s, sloppy, r, e.want)
		}
	}
}

// TestGuestLVSSloppyReload follows sloppy_tcp and sloppy_sctp in a
// director's namespace through gokeepalived's start, reloads that turn
// the keywords off and on, and its stop, which puts back the kernel's 0.
func TestGuestLVSSloppyReload(t *testing.T) {
	requireGuest(t)
	t.Parallel()
	lab := nettest.NewLab(t)
	h := lab.AddHost("d", "10.98.0.11/24")
	read := func() string {
		return readSysctl(t, h, "net.ipv4.vs.sloppy_tcp") + " " + readSysctl(t, h, "net.ipv4.vs.sloppy_sctp")
	}
	if got := read(); got != "0 0" {
		t.Fatalf("a fresh namespace has sloppy_tcp, sloppy_sctp %s", got)
	}
	svcs := []ecmpService{{"10.99.0.1", "rr", ecmpTCP}}
	base := survivalConf(svcs, false)
	l := &ecmpLab{t: t, svcs: svcs, directors: []*nettest.Host{h}}
	conf := "global_defs {\n    lvs_sloppy_tcp\n    lvs_sloppy_sctp on\n}\n" + base
	l.startDirectors(true, conf, false)
	if got := read(); got != "1 1" {
		t.Fatalf("after the start with both keywords: %s, want 1 1", got)
	}
	path := l.daemons[0].cmd.Args[len(l.daemons[0].cmd.Args)-1]
	path = filepath.Join(filepath.Dir(path), "keepalived.conf")
	for _, step := range []struct{ global, want string }{
		{"lvs_sloppy_tcp off\n    lvs_sloppy_sctp", "0 1"},
		{"", "0 0"},
		{"lvs_sloppy_tcp", "1 0"},
	} {
		c := base
		if step.global != "" {
			c = "global_defs {\n    " + step.global + "\n}\n" + base
		}
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		syscall.Kill(l.daemons[0].cmd.Process.Pid, syscall.SIGHUP)
		waitFor(t, fmt.Sprintf("sloppy_tcp, sloppy_sctp %s after the reload to %q", step.want, step.global), 10*time.Second,
			func() bool { return read() == step.want })
	}
	l.daemons[0].stop()
	if got := read(); got != "0 0" {
		t.Errorf("after the stop: %s, want the kernel's 0 0", got)
	}
}
