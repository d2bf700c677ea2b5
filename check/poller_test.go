package check

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestPollerStopEndsAttempts stops a poller with HTTP_GETs waiting on a
// server that never answers: each reports its cancelled context at once,
// and every descriptor, the poller's and the attempts', is closed.
func TestPollerStopEndsAttempts(t *testing.T) {
	srv := startRawHTTP(t, "tcp", "127.0.0.1:0", nil)
	srv.setMode(modeHang)
	fds := openFDs(t)
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	go p.run()
	ctx, cancel := context.WithCancel(context.Background())
	h := &HTTPGet{Dialer: Dialer{Addr: srv.addr()}, URLs: []URL{{Path: "/"}}}
	const n = 10
	errs := make(chan error, n)
	for range n {
		h.start(p, ctx, time.Now().Add(time.Minute), func(err error) { errs <- err })
	}
	waiting := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.conns)
	}
	for t0 := time.Now(); waiting() < n; time.Sleep(time.Millisecond) {
		if time.Since(t0) > 5*time.Second {
			t.Fatalf("%d attempts waiting, want %d", waiting(), n)
		}
	}
	stopped := time.Now()
	cancel()
	p.stop()
	for range n {
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("attempt ended with %v, want context.Canceled", err)
			}
		default:
			t.Fatal("stop returned before every attempt reported")
		}
	}
	if d := time.Since(stopped); d > time.Second {
		t.Errorf("stop took %v", d)
	}
	// The server closes its ends once it sees the resets.
	for t0 := time.Now(); openFDs(t) != fds; time.Sleep(time.Millisecond) {
		if time.Since(t0) > 5*time.Second {
			t.Fatalf("%d descriptors open after stop, %d before the poller", openFDs(t), fds)
		}
	}
}

// TestPollerIPv6 runs TCP_CHECK and HTTP_GET against IPv6 servers on the
// poller, whose socket addresses are built in place for either family.
func TestPollerIPv6(t *testing.T) {
	srv := startRawHTTP(t, "tcp6", "[::1]:0", nil)
	for _, c := range []inlineChecker{
		&TCPCheck{Dialer: Dialer{Addr: srv.addr()}},
		&HTTPGet{Dialer: Dialer{Addr: srv.addr()}, URLs: []URL{{Path: "/", Digest: helloMD5}}},
	} {
		checkVerdict(t, onPoller{c}, time.Second, "")
	}
	// A port nobody listens on any more is refused, in the words of
	// the worker's path.
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	checkVerdict(t, onPoller{&TCPCheck{Dialer: Dialer{Addr: closed}}}, time.Second, "connection refused")
}
