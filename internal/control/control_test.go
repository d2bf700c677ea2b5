package control

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestServeAndQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := Status{
		Version: "1", ConfigFile: "/etc/k.conf", Started: started,
		Instances: []Instance{{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 150,
			EffectivePriority: 140, VIPs: []string{"10.0.0.100/24"}, LastTransition: started.Add(time.Minute)}},
		VirtualServers: []VirtualServer{{Name: "[10.0.0.100]:tcp:80", QuorumUp: true, RealServers: []RealServer{
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
		"[10.0.1.2]:tcp:80", "down", "0/1", "TCP_CHECK failed", "quorum up"} {
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
	for {
		c, err := net.Dial("unix", s.Path)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("control socket never answered: %v", err)
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
	var n atomic.Int64
	s := &Server{Log: logrus.New()}
	s.testPanic = func() {
		// The first connection is serveTest's probe.
		if n.Add(1) == 2 {
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
	st, err := Query(s.Path)
	if err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	if st.Version != "1" {
		t.Errorf("Query = %+v", st)
	}
}
