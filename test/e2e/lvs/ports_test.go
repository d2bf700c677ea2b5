package e2e

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
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

// TestGuestBFDCheck runs both daemons whole, BFD loop included, on a
// real server whose only checker is a BFD_CHECK on a session that never
// comes up: both take it out of the pool as their BFD loop reports the
// session down, and gokeepalived, at -D, does not log the session's state
// at every read of it.
func TestGuestBFDCheck(t *testing.T) {
	requireGuest(t)
	const conf = "testdata/ports/bfd.conf"
	var ds []*daemon
	for _, kind := range daemons() {
		ds = append(ds, startWith(t, newLab(t, kind), kind, conf))
	}
	ours := ds[1]
	tables := converge(t, ds...)
	if !slices.Equal(tables[0], tables[1]) {
		t.Errorf("tables differ:\nkeepalived:\n  %s\ngokeepalived:\n  %s", strings.Join(tables[0], "\n  "), strings.Join(tables[1], "\n  "))
	}
	if slices.ContainsFunc(tables[0], func(l string) bool { return strings.Contains(l, "192.168.200.1:") }) {
		t.Errorf("keepalived kept the BFD-checked real server: the test measures nothing\n%s", ds[0].log)
	}
	if n := strings.Count(ours.log.String(), "BFD_CHECK on service [192.168.200.1]:tcp:8080 failed"); n > 0 {
		t.Errorf("gokeepalived logged %d failed reads of the BFD session:\n%s", n, ours.log)
	}
	stop(t, ds...)
}
