package e2e

import (
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestGuestCheckerPort listens on both ports of a direct-routing real
// server whose real_server line gives another port than its service's:
// each daemon's TCP_CHECK must knock on the same one, keepalived's.
func TestGuestCheckerPort(t *testing.T) {
	requireGuest(t)
	const conf = "testdata/ports/dr-checker.conf"
	ports := []string{"192.168.200.9:80", "192.168.200.9:8080"}
	var ds []*daemon
	knocks := make([]map[string]*atomic.Int64, 2)
	for i, kind := range daemons() {
		l := newLab(t, kind)
		knocks[i] = make(map[string]*atomic.Int64)
		for _, addr := range ports {
			knocks[i][addr] = l.countAccepts(t, addr)
		}
		ds = append(ds, startDaemon(t, l, kind, conf))
	}
	tables := converge(t, ds...)
	if !slices.Equal(tables[0], tables[1]) {
		t.Errorf("tables differ:\nkeepalived:\n  %s\ngokeepalived:\n  %s", strings.Join(tables[0], "\n  "), strings.Join(tables[1], "\n  "))
	}
	stop(t, ds...)
	for _, addr := range ports {
		ka, ours := knocks[0][addr].Load() > 0, knocks[1][addr].Load() > 0
		t.Logf("%s: keepalived connected %d times, gokeepalived %d", addr, knocks[0][addr].Load(), knocks[1][addr].Load())
		if ka != ours {
			t.Errorf("%s: keepalived's checker connected: %v, gokeepalived's: %v", addr, ka, ours)
		}
	}
	if knocks[0]["192.168.200.9:8080"].Load() == 0 {
		t.Error("keepalived's checker never connected to the real server's own port: the test measures nothing")
	}
}

// countAccepts accepts and closes connections on addr in the lab until t
// ends, and counts them.
func (l *lab) countAccepts(t *testing.T, addr string) *atomic.Int64 {
	t.Helper()
	ln, err := l.listen(addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Accept fails once the listener is closed, as t ends.
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return &n
}

// TestGuestReloadTimeouts reloads lvs_timeouts under both daemons: set,
// narrowed to one timeout, dropped, set again. After each reload the
// kernel's timeouts must be keepalived's, and the kernel's own must be
// back once the daemons stop.
func TestGuestReloadTimeouts(t *testing.T) {
	requireGuest(t)
	steps := []struct{ conf, want string }{
		{"testdata/timeouts/set.conf", "100 20 30"},
		// keepalived gives the timeouts it no longer sets their values
		// from before it started.
		{"testdata/timeouts/udp.conf", "900 120 50"},
		{"testdata/timeouts/none.conf", "900 120 300"},
		{"testdata/timeouts/tcp.conf", "200 120 300"},
	}
	var ds []*daemon
	for _, kind := range daemons() {
		l := newLab(t, kind)
		if got := l.timeouts(t); got != "900 120 300" {
			t.Fatalf("%s: a fresh namespace has timeouts %s, want the kernel's 900 120 300", kind, got)
		}
		ds = append(ds, startDaemon(t, l, kind, steps[0].conf))
	}
	read := func(d *daemon) []string { return []string{d.lab.timeouts(t)} }
	for i, step := range steps {
		if i > 0 {
			for _, d := range ds {
				d.load(t, step.conf)
				d.signal(t, syscall.SIGHUP)
			}
		}
		took := waitLines(t, step.conf, 10*time.Second, read, func(_ *daemon, got []string) bool { return got[0] == step.want }, ds...)
		t.Logf("%s: timeouts %s in %s", step.conf, step.want, sideBySide(ds, took))
	}
	stop(t, ds...)
	for _, d := range ds {
		if got := d.lab.timeouts(t); got != "900 120 300" {
			t.Errorf("%s left timeouts %s, want the kernel's 900 120 300", d.kind, got)
		}
	}
}

// timeouts is the lab's `ipvsadm -L --timeout`: "tcp tcpfin udp".
func (l *lab) timeouts(t *testing.T) string {
	t.Helper()
	out := l.run(t, "ipvsadm", "-L", "--timeout")
	_, v, ok := strings.Cut(strings.TrimSpace(out), ": ")
	if !ok {
		t.Fatalf("%s: ipvsadm -L --timeout: %q", l.ns, out)
	}
	return v
}

// TestGuestBFDCheck runs both daemons whole, BFD process included, on a
// real server whose only checker is a BFD_CHECK on a session that never
// comes up: keepalived takes it out of the pool as its BFD process
// reports the session down; gokeepalived, which has no BFD, never puts it
// in and says why, at the checker's line.
func TestGuestBFDCheck(t *testing.T) {
	requireGuest(t)
	const conf = "testdata/ports/bfd.conf"
	var ds []*daemon
	for _, kind := range daemons() {
		ds = append(ds, startWith(t, newLab(t, kind), kind, conf))
	}
	ours := ds[1]
	for start := time.Now(); time.Since(start) < 2*delayLoop; time.Sleep(50 * time.Millisecond) {
		for _, line := range ours.lab.saved(t) {
			if strings.Contains(line, "192.168.200.1:") {
				t.Fatalf("gokeepalived put the BFD-checked real server in the pool: %s\n%s", line, ours.log)
			}
		}
	}
	tables := converge(t, ds...)
	if !slices.Equal(tables[0], tables[1]) {
		t.Errorf("tables differ:\nkeepalived:\n  %s\ngokeepalived:\n  %s", strings.Join(tables[0], "\n  "), strings.Join(tables[1], "\n  "))
	}
	if slices.ContainsFunc(tables[0], func(l string) bool { return strings.Contains(l, "192.168.200.1:") }) {
		t.Errorf("keepalived kept the BFD-checked real server: the test measures nothing\n%s", ds[0].log)
	}
	if log := ours.log.String(); !strings.Contains(log, "keepalived.conf:14: BFD_CHECK of real server [192.168.200.1]:tcp:8080") {
		t.Errorf("gokeepalived's log has no warning naming the BFD_CHECK at its line:\n%s", log)
	}
	stop(t, ds...)
}
