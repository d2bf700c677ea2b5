package control

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestServeAndQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fingerprint := uint32(0x6540ceb6)
	want := Status{
		Version: "1", ConfigFile: "/etc/k.conf", Started: started,
		Instances: []Instance{{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 150,
			EffectivePriority: 140, VIPs: []string{"10.0.0.100/24"}, LastTransition: started.Add(time.Minute)}},
		VirtualServers: []VirtualServer{{Name: "[10.0.0.100]:tcp:80", QuorumUp: true, OrderFingerprint: &fingerprint, RealServers: []RealServer{
			{Name: "[10.0.1.1]:tcp:80", Alive: true, InPool: true, Weight: 2, Configured: 2},
			{Name: "[10.0.1.2]:tcp:80", Alive: false, Weight: 0, Configured: 1, LastResult: "TCP_CHECK failed"},
		}}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, func() Status { return want }, logrus.New()) }()
	var got *Status
	var err error
	for i := 0; i < 200; i++ {
		if got, err = Query(path); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.Instances[0].EffectivePriority != 140 || got.VirtualServers[0].RealServers[1].LastResult != "TCP_CHECK failed" ||
		!got.Started.Equal(started) {
		t.Errorf("Query = %+v", got)
	}

	// A second daemon must not steal a live socket.
	if err := Serve(context.Background(), path, nil, logrus.New()); err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("second Serve: %v", err)
	}

	var b bytes.Buffer
	WriteTable(&b, got, started.Add(2*time.Minute))
	for _, s := range []string{"up 2m0s", "VI_1", "MASTER", "150", "140", "10.0.0.100/24", "1m0s ago",
		"[10.0.1.2]:tcp:80", "down", "0/1", "TCP_CHECK failed", "quorum up, order 6540ceb6"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := Query(path); err == nil {
		t.Error("socket still answers after Serve returned")
	}
}

// serveTest starts s on a socket in a temporary directory and waits until
// it answers; the returned function stops it.
func serveTest(t *testing.T, s *Server) (stop func()) {
	t.Helper()
	s.Path = filepath.Join(t.TempDir(), "ctl.sock")
	if s.Status == nil {
		s.Status = func() Status { return Status{Version: "1"} }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	// The socket appears at its path once it listens.
	for {
		_, err := os.Stat(s.Path)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("control socket never appeared: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
}

// TestServerContainsPanic checks that a connection whose handler panics
// is closed, counted, and that the next request is answered.
func TestServerContainsPanic(t *testing.T) {
	var armed atomic.Bool
	armed.Store(true)
	s := &Server{Log: logrus.New()}
	s.testPanic = func() {
		if armed.Load() {
			panic("injected")
		}
	}
	defer serveTest(t, s)()
	if _, err := Query(s.Path); err == nil {
		t.Fatal("the panicking connection answered")
	}
	if got := s.Panics(); got != 1 {
		t.Errorf("Panics() = %d, want 1", got)
	}
	armed.Store(false)
	st, err := Query(s.Path)
	if err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	if st.Version != "1" {
		t.Errorf("Query = %+v", st)
	}
}

// TestServeSocketModeFromTheStart checks that the socket is never at its
// path with a mode other than 0600, even under a umask that lets anyone
// connect, and that nothing else is left beside it.
func TestServeSocketModeFromTheStart(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	s := &Server{}
	s.Path = filepath.Join(t.TempDir(), "ctl.sock")
	s.Status = func() Status { return Status{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	var fi os.FileInfo
	for {
		var err error
		// The first look that finds it sees the mode it appeared with.
		if fi, err = os.Stat(s.Path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("control socket never appeared: %v", err)
		}
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket appeared as %v, want a socket of mode 0600", fi.Mode())
	}
	// The private directory the socket was bound in is removed just
	// after the rename that makes the socket appear: wait for it.
	for {
		ents, err := os.ReadDir(filepath.Dir(s.Path))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 1 {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("directory holds %v, want the socket only", names)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestServeBoundsConnections checks that a request longer than the limit
// is refused with a JSON error, that silent clients are let go at the
// deadline, and that a status request is answered once they are, though
// they were more than the connections served at once.
func TestServeBoundsConnections(t *testing.T) {
	s := &Server{timeout: 200 * time.Millisecond}
	defer serveTest(t, s)()

	c, err := net.Dial("unix", s.Path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(strings.Repeat("x", 4*maxRequest)))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	if err := json.Unmarshal(b, &e); err != nil || !strings.Contains(e.Error, "longer than") {
		t.Errorf("long request answered %q (%v), want a JSON error", b, err)
	}

	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	for range maxConns + 4 {
		c, err := net.Dial("unix", s.Path)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	st, err := Query(s.Path)
	if err != nil {
		t.Fatalf("behind silent clients: %v", err)
	}
	if st.Version != "1" {
		t.Errorf("Query = %+v", st)
	}
	for i, c := range silent {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("silent client %d: read %d, %v; want the server to close at its deadline", i, n, err)
		}
	}
}
