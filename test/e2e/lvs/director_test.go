package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"golang.org/x/sys/unix"
)

// The director pair's VRRP timing: advert_int 1, so a backup takes over
// 3 x advert_int + skew after the master's last advertisement.
const (
	advertInt   = time.Second
	masterDown  = 3*advertInt + advertInt*(256-100)/256
	takeoverMax = masterDown + 2*margin
	electionMax = 2*masterDown + 2*margin // both start as BACKUP
	// The kernel's master sync daemon sends its buffer at least every
	// two seconds.
	syncMax      = 2*time.Second + 2*margin
	directorVIP  = "10.0.0.100"
	directorVS   = "-A -t 10.0.0.100:80 -s rr"
	directorDest = "-a -t 10.0.0.100:80 -r 192.168.200.1:8080 -m -w 1"
)

// A director is one of a VRRP pair of load-balancer directors: a network
// namespace whose eth0 is a veth to its peer's, with a live real server
// on a dummy link of its own, and gokeepalived running VRRP and the
// checkers from testdata/director/keepalived.conf.tmpl.
type director struct {
	*lab
	name string
	conf directorConf
	d    *daemon
}

// directorConf fills in testdata/director/keepalived.conf.tmpl.
type directorConf struct {
	Name       string
	Priority   int
	SyncDaemon bool // lvs_sync_daemon eth0 VI_1 id 51
	// SyncDaemonInterface is the old form, lvs_sync_daemon_interface
	// eth0 in VI_1, whose sync id is VI_1's VRID, 51.
	SyncDaemonInterface bool
	HASuspend           bool
}

// newDirectors sets up directors a (priority 150, 10.0.0.1) and b (100,
// 10.0.0.2), both with conf's features; none is started.
func newDirectors(t *testing.T, conf directorConf) (a, b *director) {
	t.Helper()
	a = &director{lab: &lab{ns: "e2elvs-dir-a"}, name: "a", conf: conf}
	b = &director{lab: &lab{ns: "e2elvs-dir-b"}, name: "b", conf: conf}
	a.conf.Name, a.conf.Priority = "director-a", 150
	b.conf.Name, b.conf.Priority = "director-b", 100
	for _, dir := range []*director{a, b} {
		exec.Command("ip", "netns", "del", dir.ns).Run()
		run(t, "ip", "netns", "add", dir.ns)
		ns := dir.ns
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	run(t, "ip", "link", "add", "eth0", "netns", a.ns, "type", "veth", "peer", "name", "eth0", "netns", b.ns)
	for _, dir := range []*director{a, b} {
		addr := "10.0.0.1/24"
		if dir == b {
			addr = "10.0.0.2/24"
		}
		run(t, "ip", "-n", dir.ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", dir.ns, "addr", "add", addr, "dev", "eth0")
		run(t, "ip", "-n", dir.ns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", dir.ns, "link", "add", "rs0", "type", "dummy")
		run(t, "ip", "-n", dir.ns, "addr", "add", "192.168.200.1/24", "dev", "rs0")
		run(t, "ip", "-n", dir.ns, "link", "set", "rs0", "up")
		dir.startHTTP(t, "192.168.200.1:8080")
	}
	return a, b
}

// start runs gokeepalived, VRRP and checkers, in the director, with
// extra command-line arguments.
func (dir *director) start(t *testing.T, args ...string) {
	t.Helper()
	tmpl, err := template.ParseFiles("testdata/director/keepalived.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "keepalived.conf")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := tmpl.Execute(f, dir.conf); err != nil {
		f.Close()
		t.Fatalf("writing %s's configuration: %v", dir.name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// The directors share the guest's file system: each needs a control
	// socket of its own.
	sock := filepath.Join(filepath.Dir(src), "control.sock")
	dir.d = startWith(t, dir.lab, gokeepalived, src, append(args, "--control-socket="+sock)...)
}

// startWith runs kind in l on a copy of the configuration src with args
// (such as -C) before the common ones, and its pid files in a directory of
// its own. The daemon is killed when t ends if the test has not stopped it.
func startWith(t *testing.T, l *lab, kind daemonKind, src string, args ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{
		kind:  kind,
		lab:   l,
		conf:  filepath.Join(dir, "keepalived.conf"),
		marks: filepath.Join(dir, "marks"),
		log:   &syncBuffer{},
		done:  make(chan struct{}),
	}
	if err := os.Mkdir(d.marks, 0o755); err != nil {
		t.Fatal(err)
	}
	d.load(t, src)
	cmd := l.command(kind.path(t), append(args, "-n", "-l", "-G", "-D", "-f", d.conf,
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid"))...)
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s -f %s: %v", kind, src, err)
	}
	d.proc = cmd.Process
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.proc.Kill()
			<-d.done
		}
	})
	return d
}

// kill sends SIGKILL to the director's daemon and waits for it to die:
// the director fails, leaving its IPVS table and VIP as they were.
func (dir *director) kill(t *testing.T) {
	t.Helper()
	dir.d.signal(t, syscall.SIGKILL)
	<-dir.d.done
}

// reboot empties the director after its daemon was killed, as a restart
// of the machine would: no VIP, an empty IPVS table.
func (dir *director) reboot(t *testing.T) {
	t.Helper()
	dir.run(t, "ip", "addr", "flush", "dev", "eth0", "to", directorVIP+"/32")
	dir.run(t, "ipvsadm", "-C")
}

// master reports whether the director holds the VIP.
func (dir *director) master(t *testing.T) bool {
	t.Helper()
	return strings.Contains(dir.run(t, "ip", "-4", "-o", "addr", "show", "dev", "eth0"), " "+directorVIP+"/")
}

// serving reports whether the director's IPVS table has the virtual
// service with its real server.
func (dir *director) serving(t *testing.T) bool {
	t.Helper()
	table := dir.saved(t)
	return slices.Contains(table, directorVS) && slices.Contains(table, directorDest)
}

// syncStates returns the states of the kernel's IPVS sync daemons in the
// director ("master", "backup"), from `ipvsadm -L --daemon`; it fails t
// unless each runs on eth0 with sync id 51.
func (dir *director) syncStates(t *testing.T) []string {
	t.Helper()
	var states []string
	for line := range strings.Lines(dir.run(t, "ipvsadm", "-L", "--daemon")) {
		if !strings.Contains(line, "sync daemon") {
			continue
		}
		if !strings.Contains(line, "mcast=eth0") || !strings.Contains(line, "syncid=51") {
			t.Fatalf("%s: sync daemon not on eth0 with syncid 51: %s", dir.name, strings.TrimSpace(line))
		}
		states = append(states, strings.Fields(line)[0])
	}
	slices.Sort(states)
	return states
}

// fetch gets / over HTTP/1.0 from addr, from inside the director's
// namespace, and returns the answer; the socket is made on a thread left
// in the namespace, as in lab.listen.
func (dir *director) fetch(addr string) (string, error) {
	ns, err := os.Open("/run/netns/" + dir.ns)
	if err != nil {
		return "", fmt.Errorf("fetching / from %s in %s: %w", addr, dir.ns, err)
	}
	defer ns.Close()
	type result struct {
		body string
		err  error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			c <- result{err: fmt.Errorf("entering %s: %w", dir.ns, err)}
			return
		}
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			c <- result{err: fmt.Errorf("fetching / from %s in %s: %w", addr, dir.ns, err)}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			c <- result{err: fmt.Errorf("fetching / from %s in %s: %w", addr, dir.ns, err)}
			return
		}
		b, err := io.ReadAll(conn)
		c <- result{string(b), err}
	}()
	r := <-c
	return r.body, r.err
}

// connections returns the director's IPVS connection table, from
// `ipvsadm -Lnc`, one line per connection.
func (dir *director) connections(t *testing.T) []string {
	t.Helper()
	var conns []string
	for line := range strings.Lines(dir.run(t, "ipvsadm", "-Lnc")) {
		if f := strings.Fields(line); len(f) == 6 && f[0] == "TCP" {
			conns = append(conns, strings.TrimSpace(line))
		}
	}
	return conns
}

// waitFor polls cond until it holds and returns how long that took; it
// fails t after limit, with the directors' logs.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool, dirs ...*director) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, dir := range dirs {
		t.Logf("director %s: table:\n  %s\nlog:\n%s", dir.name, strings.Join(dir.saved(t), "\n  "), dir.d.log)
	}
	t.Fatalf("%s: not within %v", what, limit)
	return 0
}

// TestGuestSyncDaemon checks lvs_sync_daemon: the kernel's sync daemon
// runs as master on the VRRP master and as backup on the backup, and the
// backup's becomes master when it takes over.
func TestGuestSyncDaemon(t *testing.T) {
	requireGuest(t)
	a, b := newDirectors(t, directorConf{SyncDaemon: true})
	b.start(t)
	a.start(t)
	master, backup := []string{"master"}, []string{"backup"}
	took := waitFor(t, "sync daemons master on a, backup on b", electionMax, func() bool {
		return a.master(t) && slices.Equal(a.syncStates(t), master) && slices.Equal(b.syncStates(t), backup)
	}, a, b)
	t.Logf("a master with its sync daemon in %v", took.Round(time.Millisecond))
	if b.master(t) {
		t.Fatalf("both directors hold %s", directorVIP)
	}

	// A connection through a's service, from a client on a itself to
	// a's real server, must reach b's connection table through the sync.
	body, err := a.fetch(directorVIP + ":80")
	if err != nil || !strings.HasSuffix(body, "\r\n\r\nok\n") {
		t.Fatalf("GET http://%s/ on a: %q, %v", directorVIP, body, err)
	}
	synced := func() bool {
		return slices.ContainsFunc(b.connections(t), func(c string) bool {
			return strings.Contains(c, " "+directorVIP+":80 ") && strings.HasSuffix(c, " 192.168.200.1:8080")
		})
	}
	took = waitFor(t, "a's connection in b's table", syncMax, synced, a, b)
	t.Logf("a's connection in b's table in %v:\n  a: %s\n  b: %s", took.Round(time.Millisecond),
		strings.Join(a.connections(t), "\n     "), strings.Join(b.connections(t), "\n     "))

	a.kill(t)
	took = waitFor(t, "b's sync daemon master after a fails", takeoverMax, func() bool {
		return b.master(t) && slices.Equal(b.syncStates(t), master)
	}, b)
	t.Logf("b master with its sync daemon in %v after a failed (limit %v)", took.Round(time.Millisecond), takeoverMax)
	stop(t, b.d)
	if got := b.syncStates(t); len(got) != 0 {
		t.Errorf("b's sync daemons after SIGTERM: %v, want none", got)
	}
}

// TestGuestSyncDaemonInterface checks lvs_sync_daemon_interface, the
// instance's old form of lvs_sync_daemon: without an id the sync
// daemons take VI_1's VRID, 51, as keepalived's do, master on the VRRP
// master and backup on the backup, and SIGTERM stops them.
func TestGuestSyncDaemonInterface(t *testing.T) {
	requireGuest(t)
	a, b := newDirectors(t, directorConf{SyncDaemonInterface: true})
	b.start(t)
	a.start(t)
	master, backup := []string{"master"}, []string{"backup"}
	took := waitFor(t, "sync daemons master on a, backup on b", electionMax, func() bool {
		return a.master(t) && slices.Equal(a.syncStates(t), master) && slices.Equal(b.syncStates(t), backup)
	}, a, b)
	t.Logf("a master with its sync daemon (syncid 51) in %v", took.Round(time.Millisecond))
	stop(t, a.d, b.d)
	for _, dir := range []*director{a, b} {
		if got := dir.syncStates(t); len(got) != 0 {
			t.Errorf("%s's sync daemons after SIGTERM: %v, want none", dir.name, got)
		}
	}
}

// TestGuestHASuspend checks ha_suspend: the virtual service is in IPVS
// only on the director that is VRRP master for its address, and follows
// mastership both ways.
func TestGuestHASuspend(t *testing.T) {
	requireGuest(t)
	a, b := newDirectors(t, directorConf{HASuspend: true})
	b.start(t)
	a.start(t)
	onlyOn := func(on, off *director) func() bool {
		return func() bool {
			return on.master(t) && on.serving(t) && !off.master(t) && len(off.saved(t)) == 0
		}
	}
	took := waitFor(t, "service on a only", electionMax+delayLoop, onlyOn(a, b), a, b)
	t.Logf("service on a only in %v", took.Round(time.Millisecond))
	// b's checker has had time to run: the service must stay away.
	time.Sleep(delayLoop + margin)
	if !onlyOn(a, b)() {
		t.Fatalf("service not on a only after %v:\na:\n  %s\nb:\n  %s\n%s", delayLoop+margin,
			strings.Join(a.saved(t), "\n  "), strings.Join(b.saved(t), "\n  "), b.d.log)
	}

	a.kill(t)
	took = waitFor(t, "service on b after a fails", takeoverMax+delayLoop, func() bool {
		return b.master(t) && b.serving(t)
	}, b)
	t.Logf("service on b in %v after a failed", took.Round(time.Millisecond))

	// a comes back with the higher priority and preempts: the service
	// must leave b.
	a.reboot(t)
	if a.master(t) || len(a.saved(t)) != 0 {
		t.Fatalf("a still has the VIP or a table after the reboot:\n  %s", strings.Join(a.saved(t), "\n  "))
	}
	a.start(t)
	took = waitFor(t, "service back on a only", electionMax+delayLoop, onlyOn(a, b), a, b)
	t.Logf("service back on a only in %v after a restarted", took.Round(time.Millisecond))
	stop(t, a.d, b.d)
}

// TestGuestDontReleaseIPVS checks -I (--dont-release-ipvs) against
// keepalived's: with it, SIGTERM leaves the table as it was; a daemon
// started again on that table takes it over, so that without -I its
// SIGTERM leaves the table empty.
func TestGuestDontReleaseIPVS(t *testing.T) {
	requireGuest(t)
	labs := []*lab{newLab(t, keepalived), newLab(t, gokeepalived)}
	const conf = "testdata/01-nat-tcp-check.conf"
	var kept [][]string
	t.Run("kept", func(t *testing.T) {
		var ds []*daemon
		for i, kind := range daemons() {
			ds = append(ds, startWith(t, labs[i], kind, conf, "-C", "-I"))
		}
		tables := converge(t, ds...)
		kept = tables
		for i, d := range ds {
			d.signal(t, syscall.SIGTERM)
			select {
			case <-d.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s still running 10s after SIGTERM\n%s", d.kind, d.log)
			}
			if d.err != nil {
				t.Errorf("%s -I after SIGTERM: %v\n%s", d.kind, d.err, d.log)
			}
			if left := d.lab.saved(t); !slices.Equal(left, tables[i]) {
				t.Errorf("%s -I: table after SIGTERM:\n  %s\nwant, as before:\n  %s\n%s", d.kind,
					strings.Join(left, "\n  "), strings.Join(tables[i], "\n  "), d.log)
			}
		}
	})
	t.Run("restarted", func(t *testing.T) {
		var ds []*daemon
		for i, kind := range daemons() {
			ds = append(ds, startWith(t, labs[i], kind, conf, "-C"))
		}
		for i, table := range converge(t, ds...) {
			if kept != nil && !slices.Equal(table, kept[i]) {
				t.Errorf("%s on the table it kept:\n  %s\nwant, as kept:\n  %s", ds[i].kind,
					strings.Join(table, "\n  "), strings.Join(kept[i], "\n  "))
			}
		}
		stop(t, ds...) // and the tables must be empty
	})
}
