package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// The ECMP lab: two directors, each a network namespace of the guest
// holding the same mh virtual server, four real servers and 64 client
// addresses on its lo. A real server is the director's own listener on
// 10.2.0.N:8080, which greets with the address it was reached at; its
// MISC_CHECK fails while a file named after it exists in the director's
// directory.
const (
	ecmpVIP     = "192.0.2.30:80"
	ecmpClients = 512
	ecmpServers = 4
)

var ecmpVS = ipvs.Service{Addr: netip.MustParseAddrPort(ecmpVIP), Protocol: ipvs.TCP}

// ecmpConf is the virtual server with its real servers in the given
// order (the last byte of 10.2.0.N) and the check script in dir.
func ecmpConf(dir string, inhibit bool, order ...int) string {
	var b strings.Builder
	b.WriteString("virtual_server 192.0.2.30 80 {\n    delay_loop 1\n    lb_algo mh\n    mh-fallback\n    lb_kind NAT\n    protocol TCP\n")
	if inhibit {
		b.WriteString("    inhibit_on_failure\n")
	}
	for _, n := range order {
		fmt.Fprintf(&b, `    real_server 10.2.0.%[1]d 8080 {
        weight 1
        MISC_CHECK {
            misc_path "%[2]s/check 10.2.0.%[1]d"
            misc_timeout 10
            retry 0
        }
    }
`, n, dir)
	}
	b.WriteString("}\n")
	return b.String()
}

// ecmpDirector is one director's namespace and directory.
type ecmpDirector struct {
	ns  string
	dir string
	h   *ipvs.Handle
	// maps counts the clientMap calls, each of which connects from
	// source ports of its own.
	maps int
}

func newECMPDirector(t *testing.T, name string) *ecmpDirector {
	t.Helper()
	d := &ecmpDirector{ns: "ecmp-" + name, dir: t.TempDir()}
	if out, err := exec.Command("ip", "netns", "add", d.ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", d.ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "pids", d.ns).Output(); err == nil {
			for _, pid := range strings.Fields(string(out)) {
				if p, err := strconv.Atoi(pid); err == nil && p != os.Getpid() {
					syscall.Kill(p, syscall.SIGKILL)
				}
			}
		}
		exec.Command("ip", "netns", "del", d.ns).Run()
	})
	batch := "link set lo up\naddr add 192.0.2.30/32 dev lo\n"
	for i := 1; i <= ecmpServers; i++ {
		batch += fmt.Sprintf("addr add 10.2.0.%d/32 dev lo\n", i)
	}
	for i := 1; i <= ecmpClients+1; i++ {
		batch += fmt.Sprintf("addr add %s/32 dev lo\n", clientAddr(i))
	}
	ip := exec.Command("ip", "-n", d.ns, "-batch", "-")
	ip.Stdin = strings.NewReader(batch)
	if out, err := ip.CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s -batch: %v\n%s", d.ns, err, out)
	}
	script := "#!/bin/sh\ntest ! -e " + d.dir + "/down-$1\n"
	if err := os.WriteFile(filepath.Join(d.dir, "check"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	err := d.do(func() error {
		ln, err := net.Listen("tcp", "0.0.0.0:8080")
		if err != nil {
			return err
		}
		t.Cleanup(func() { ln.Close() })
		go greetLocal(ln)
		return nil
	})
	if err != nil {
		t.Fatalf("listening in %s: %v", d.ns, err)
	}
	h, err := ipvs.Open("/run/netns/" + d.ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	d.h = h
	return d
}

// greetLocal answers each connection with the address it reached, then
// echoes lines.
func greetLocal(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			fmt.Fprintf(c, "%s\n", c.LocalAddr().(*net.TCPAddr).IP)
			io.Copy(c, c)
		}()
	}
}

// do runs fn on a thread in the director's namespace: the sockets it
// opens stay there.
func (d *ecmpDirector) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return // the locked thread ends with the goroutine
		}
		defer orig.Close()
		ns, err := netns.GetFromName(d.ns)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		err = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// start runs gokeepalived (ours) or keepalived in the director's
// namespace, checkers only.
func (d *ecmpDirector) start(t *testing.T, ours bool, conf string) *guestProc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"netns", "exec", d.ns}
	if ours {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, self)
	} else {
		args = append(args, "keepalived", "-D")
	}
	args = append(args, "-n", "-l", "-C", "-f", path, "-p", filepath.Join(dir, "k.pid"),
		"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
	if ours {
		args = append(args, "--metrics-listen", "127.0.0.1:9661", "--control-socket", filepath.Join(dir, "ctl.sock"))
	}
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), envRunDaemon+"=1")
	p := &guestProc{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting in %s: %v", d.ns, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output in %s:\n%s", d.ns, p.out.String())
		}
	})
	return p
}

// dests reads the virtual server's destinations in the kernel's order.
func (d *ecmpDirector) dests(t *testing.T) []ipvs.Destination {
	t.Helper()
	ds, err := d.h.Destinations(ecmpVS)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// order is the kernel's destination list: "10.2.0.1:8080/1 ...", with
// each weight.
func (d *ecmpDirector) order(t *testing.T) string {
	var out []string
	for _, ds := range d.dests(t) {
		out = append(out, fmt.Sprintf("%s/%d", ds.Addr.Addr(), ds.Weight))
	}
	return strings.Join(out, " ")
}

// setDown makes real server 10.2.0.n's check fail, or pass again.
func (d *ecmpDirector) setDown(t *testing.T, n int, down bool) {
	t.Helper()
	path := filepath.Join(d.dir, fmt.Sprintf("down-10.2.0.%d", n))
	if down {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	os.Remove(path)
}

// clientMap connects once from each client address through the virtual
// server and returns the real server that greeted each.
func (d *ecmpDirector) clientMap(t *testing.T) []string {
	t.Helper()
	servers := make([]string, ecmpClients)
	began := time.Now()
	// A connection from the source address and port of one that IPVS
	// still remembers (in TIME_WAIT, two minutes) would follow it to its
	// real server rather than be scheduled: each map has its own port.
	d.maps++
	port := 20000 + d.maps
	table := d.order(t)
	defer func() {
		// A check that failed by itself (a script slowed down past its
		// timeout by the guest's load) would move clients.
		if now := d.order(t); now != table {
			t.Errorf("%s's table changed while the clients connected: %q, then %q", d.ns, table, now)
		}
	}()
	// Several threads in the namespace, each taking every workers-th
	// client: the connections wait on the emulated guest's scheduler
	// more than on its CPU.
	const workers = 8
	errc := make(chan error, workers)
	for w := range workers {
		go func() {
			errc <- d.do(func() error {
				for i := w; i < len(servers); i += workers {
					c, err := dialFrom(clientAddr(i+1), port)
					if err != nil {
						return err
					}
					servers[i] = c.server
					c.c.Close()
				}
				return nil
			})
		}()
	}
	for range workers {
		if err := <-errc; err != nil {
			t.Fatalf("connecting through %s: %v", d.ns, err)
		}
	}
	t.Logf("%d connections through %s in %v", len(servers), d.ns, time.Since(began).Round(time.Millisecond))
	return servers
}

// clientAddr is the address of client n, from 1: 10.1.0.1, ...,
// 10.1.1.0, ...
func clientAddr(n int) string { return fmt.Sprintf("10.1.%d.%d", n/256, n%256) }

// dialFrom opens a session through the virtual server from a client
// address and port (0 for any), on a thread in the director's namespace.
func dialFrom(src string, port int) (*session, error) {
	dl := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src), Port: port}}
	c, err := dl.Dial("tcp", ecmpVIP)
	if err != nil {
		return nil, fmt.Errorf("from %s: %w", src, err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	s := &session{c: c, r: bufio.NewReader(c)}
	name, err := s.r.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("from %s: reading the greeting: %w", src, err)
	}
	s.server = strings.TrimSpace(name)
	return s, nil
}

// fingerprint scrapes the director's fingerprint metric.
func (d *ecmpDirector) fingerprint(t *testing.T) (float64, bool) {
	t.Helper()
	var body []byte
	err := d.do(func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:9661", 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
		body, err = io.ReadAll(c)
		return err
	})
	if err != nil {
		t.Fatalf("scraping in %s: %v", d.ns, err)
	}
	m := regexp.MustCompile(`(?m)^gokeepalived_ipvs_destination_order_fingerprint\{virtual_server="\[192\.0\.2\.30\]:tcp:80"\} (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	return v, err == nil
}

func moved(before, after []string, skip string) int {
	n := 0
	for i := range before {
		if before[i] != skip && before[i] != after[i] {
			n++
		}
	}
	return n
}

func differ(a, b []string) int { return moved(a, b, "") }

func count(servers []string, s string) int {
	n := 0
	for _, x := range servers {
		if x == s {
			n++
		}
	}
	return n
}

// TestGuestECMPDestinationOrder runs two directors with one mh virtual
// server whose real servers their configurations list in different
// orders, and flaps one real server on one director only: under
// gokeepalived both kernels list the destinations alike after the flap,
// their fingerprint metrics agree with each other and with the kernel,
// the 64 client addresses reach the same real servers through either
// director, and a session to a destination moved to restore the order
// keeps working; under keepalived 2.2.7 the orders differ. Then, on one
// director, inhibit_on_failure keeps every client of the healthy servers
// where it was while one fails, where removal moves some.
func TestGuestECMPDestinationOrder(t *testing.T) {
	requireGuest(t)
	a, b := newECMPDirector(t, "a"), newECMPDirector(t, "b")
	confA := ecmpConf(a.dir, false, 3, 1, 4, 2)
	confB := ecmpConf(b.dir, false, 2, 4, 1, 3)
	const canonical = "10.2.0.1/1 10.2.0.2/1 10.2.0.3/1 10.2.0.4/1"
	full := func(d *ecmpDirector) func() bool {
		return func() bool { return len(d.dests(t)) == ecmpServers }
	}

	// gokeepalived.
	pa, pb := a.start(t, true, confA), b.start(t, true, confB)
	waitFor(t, "four destinations on a", 20*time.Second, full(a))
	waitFor(t, "four destinations on b", 20*time.Second, full(b))
	if oa, ob := a.order(t), b.order(t); oa != canonical || ob != canonical {
		t.Errorf("at the start: a %q, b %q, want both %q", oa, ob, canonical)
	}
	if s, ok, err := a.h.LookupService(ecmpVS); err != nil || !ok || s.Flags&ipvs.FlagMHFallback == 0 || s.Scheduler != "mh" {
		t.Errorf("service on a: %+v %v %v, want mh with mh-fallback (flag-1)", s, ok, err)
	}
	start := a.clientMap(t)
	// Sessions to 10.2.0.1 and 10.2.0.2, which the return of 10.2.0.3
	// moves.
	var held []*session
	for i, s := range start {
		if len(held) == 8 {
			break
		}
		if s != "10.2.0.1" && s != "10.2.0.2" {
			continue
		}
		err := a.do(func() error {
			c, err := dialFrom(clientAddr(i+1), 0)
			held = append(held, c)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer held[len(held)-1].c.Close()
	}
	if len(held) == 0 {
		t.Fatalf("no client on 10.2.0.1 or 10.2.0.2: %q", start)
	}

	a.setDown(t, 3, true)
	waitFor(t, "10.2.0.3 out of a's table", 10*time.Second, func() bool { return len(a.dests(t)) == ecmpServers-1 })
	removed := a.clientMap(t)
	a.setDown(t, 3, false)
	waitFor(t, "10.2.0.3 back in a's table", 10*time.Second, full(a))
	// The return and the moves that restore the order are one pass:
	// a read may fall between them, not much later.
	waitFor(t, "a's table back in canonical order", 2*time.Second, func() bool { return a.order(t) == canonical })
	if oa, ob := a.order(t), b.order(t); oa != ob {
		t.Errorf("after the flap on a: a %q, b %q", oa, ob)
	}
	for i, h := range held {
		h.c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := fmt.Sprintf("session %d\n", i)
		fmt.Fprint(h.c, msg)
		if line, err := h.r.ReadString('\n'); err != nil || line != msg {
			t.Errorf("session %d to %s, whose destination was deleted and added again: %q, %v", i, h.server, line, err)
		}
	}
	fa, okA := a.fingerprint(t)
	fb, okB := b.fingerprint(t)
	kernel := float64(ipvs.OrderFingerprint(a.dests(t)))
	if !okA || !okB || fa != fb || fa != kernel {
		t.Errorf("fingerprints: a %v (%v), b %v (%v), a's kernel %v", fa, okA, fb, okB, kernel)
	}
	var st control.Status
	if err := json.Unmarshal([]byte(guestCLI(t, pb.cmd.Args[len(pb.cmd.Args)-1], "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.VirtualServers) != 1 || st.VirtualServers[0].OrderFingerprint == nil || float64(*st.VirtualServers[0].OrderFingerprint) != fb {
		t.Errorf("b's status --json: %+v, want the fingerprint %v", st.VirtualServers, fb)
	}
	afterA, afterB := a.clientMap(t), b.clientMap(t)
	if n := differ(afterA, afterB); n != 0 {
		t.Errorf("after the flap, %d of %d clients reach another real server through a than through b", n, ecmpClients)
	}
	if n := differ(start, afterA); n != 0 {
		t.Errorf("after the flap, %d of %d clients reach another real server through a than before it", n, ecmpClients)
	}
	removalMoved := moved(start, removed, "10.2.0.3")
	t.Logf("gokeepalived: kernel order after the flap on one director: a %q, b %q; fingerprints %08x %08x; %d of %d clients differ between the directors",
		a.order(t), b.order(t), uint32(fa), uint32(fb), differ(afterA, afterB), ecmpClients)
	pa.stop(t)
	pb.stop(t)

	// inhibit_on_failure: weight 0 keeps the mh table.
	pa = a.start(t, true, ecmpConf(a.dir, true, 3, 1, 4, 2))
	waitFor(t, "four destinations on a, inhibit_on_failure", 20*time.Second, full(a))
	// The same table as before the restart: the clients are where they
	// were.
	before := afterA
	a.setDown(t, 3, true)
	waitFor(t, "10.2.0.3 at weight 0", 10*time.Second, func() bool {
		return strings.Contains(a.order(t), "10.2.0.3/0")
	})
	inhibited := a.clientMap(t)
	onFailed := count(before, "10.2.0.3")
	inhibitMoved := moved(before, inhibited, "10.2.0.3")
	if inhibitMoved != 0 || count(inhibited, "10.2.0.3") != 0 {
		t.Errorf("inhibit_on_failure: %d clients of the healthy servers moved, %d still on the failed one", inhibitMoved, count(inhibited, "10.2.0.3"))
	}
	a.setDown(t, 3, false)
	waitFor(t, "10.2.0.3 at weight 1", 10*time.Second, func() bool { return a.order(t) == canonical })
	t.Logf("mh, 10.2.0.3 failing (%d of %d clients on it): with inhibit_on_failure %d of the other %d clients move; with removal %d",
		onFailed, ecmpClients, inhibitMoved, ecmpClients-onFailed, removalMoved)
	pa.stop(t)

	// keepalived, the same configurations and the same flap.
	ka, kb := a.start(t, false, confA), b.start(t, false, confB)
	waitFor(t, "four destinations on a, keepalived", 20*time.Second, full(a))
	waitFor(t, "four destinations on b, keepalived", 20*time.Second, full(b))
	startA, startB := a.order(t), b.order(t)
	a.setDown(t, 3, true)
	waitFor(t, "10.2.0.3 out of a's table, keepalived", 10*time.Second, func() bool { return len(a.dests(t)) == ecmpServers-1 })
	a.setDown(t, 3, false)
	waitFor(t, "10.2.0.3 back in a's table, keepalived", 10*time.Second, full(a))
	oa, ob := a.order(t), b.order(t)
	kaDiffer := differ(a.clientMap(t), b.clientMap(t))
	t.Logf("keepalived 2.2.7: kernel order at the start a %q, b %q; after the flap on a: a %q, b %q; %d of %d clients differ between the directors",
		startA, startB, oa, ob, kaDiffer, ecmpClients)
	// The lab must be able to tell orders apart, or the equality above
	// proves nothing.
	if oa == ob {
		t.Errorf("keepalived's two directors hold the same order %q: the lab cannot show a difference", oa)
	}
	ka.stop(t)
	kb.stop(t)
}
