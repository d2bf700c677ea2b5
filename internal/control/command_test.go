package control

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Command
		err  string
	}{
		{line: "drain real-server 10.0.0.1:80 10.0.1.1:8080", want: Command{Op: OpDrainRealServer, VirtualServer: "10.0.0.1:80", RealServer: "10.0.1.1:8080"}},
		{line: "drain  real-server 10.0.0.1:80/udp [fd00::1]:53 1m30s", want: Command{Op: OpDrainRealServer, VirtualServer: "10.0.0.1:80/udp", RealServer: "[fd00::1]:53", Timeout: 90 * time.Second}},
		{line: "undrain real-server 10.0.0.1:80 10.0.1.1:8080", want: Command{Op: OpUndrainRealServer, VirtualServer: "10.0.0.1:80", RealServer: "10.0.1.1:8080"}},
		{line: "drain director", want: Command{Op: OpDrainDirector}},
		{line: "drain director 10s", want: Command{Op: OpDrainDirector, Timeout: 10 * time.Second}},
		{line: "undrain director", want: Command{Op: OpUndrainDirector}},
		{line: "undrain director 10s", err: "undrain director: 1 arguments, want 0 to 0"},
		{line: "undrain real-server a b 1s", err: "undrain real-server: 3 arguments, want 2 to 2"},
		{line: "drain real-server a", err: "drain real-server: 1 arguments, want 2 to 3"},
		{line: "drain real-server a b soon", err: `drain real-server: bad timeout "soon"`},
		{line: "drain director -1s", err: `drain director: bad timeout "-1s"`},
		{line: "drain", err: "unknown request drain"},
		{line: "drain everything", err: "unknown request drain everything"},
	} {
		c, err := ParseCommand(tc.line)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseCommand(%q) = %+v, %v; want error %q", tc.line, c, err, tc.err)
			}
			continue
		}
		if err != nil || c != tc.want {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v", tc.line, c, err, tc.want)
			continue
		}
		// What Do sends is what the server parses.
		if back, err := ParseCommand(c.String()); err != nil || back != c {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v", c.String(), back, err, c)
		}
	}
}

// TestDoCarriesCommands sends commands over a real socket: the server's
// Command sees each as sent, and its error comes back to the client.
func TestDoCarriesCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	got := make(chan Command, 4)
	s := &Server{Path: path, Status: func() Status { return Status{} }, Command: func(c Command) error {
		got <- c
		if c.RealServer == "10.0.9.9:80" {
			return errors.New("no real server 10.0.9.9:80 in virtual server 10.0.0.1:80")
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitSocket(t, path)

	c := Command{Op: OpDrainRealServer, VirtualServer: "10.0.0.1:80", RealServer: "10.0.1.1:80", Timeout: 3 * time.Second}
	if err := Do(path, c); err != nil {
		t.Fatalf("Do(%v): %v", c, err)
	}
	if g := <-got; g != c {
		t.Errorf("server got %+v, want %+v", g, c)
	}
	bad := Command{Op: OpUndrainRealServer, VirtualServer: "10.0.0.1:80", RealServer: "10.0.9.9:80"}
	err := Do(path, bad)
	if err == nil || !strings.Contains(err.Error(), "no real server 10.0.9.9:80") {
		t.Errorf("Do(%v) = %v, want the server's error", bad, err)
	}
	<-got

	// A server that takes no commands refuses them.
	path2 := filepath.Join(t.TempDir(), "ctl2.sock")
	s2 := &Server{Path: path2, Status: func() Status { return Status{} }}
	done2 := make(chan error, 1)
	go func() { done2 <- s2.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done2 })
	waitSocket(t, path2)
	if err := Do(path2, Command{Op: OpDrainDirector}); err == nil || !strings.Contains(err.Error(), "takes no commands") {
		t.Errorf("Do without a Command handler = %v", err)
	}
}

func waitSocket(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := Query(path); err == nil {
			return
		}
	}
	t.Fatalf("no control socket at %s", path)
}

func TestWriteTableDrains(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &Status{Version: "1", Started: now, Drains: []Drain{
		{Since: now.Add(-time.Minute)},
		{VirtualServer: "[10.0.0.1]:tcp:80", RealServer: "[10.0.1.1]:tcp:80", Since: now.Add(-10 * time.Second), Deadline: now.Add(50 * time.Second)},
		{VirtualServer: "[10.0.0.1]:tcp:80", RealServer: "[10.0.1.2]:tcp:80", Since: now.Add(-time.Hour), Removed: true},
	}}
	var b strings.Builder
	if err := WriteTable(&b, st, now); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for l := range strings.Lines(b.String()) {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	for _, want := range []string{
		"DRAINED REAL SERVER STATE SINCE DEADLINE",
		"director - draining 1m0s ago -",
		"[10.0.0.1]:tcp:80 [10.0.1.1]:tcp:80 draining 10s ago 50s",
		"[10.0.0.1]:tcp:80 [10.0.1.2]:tcp:80 removed 1h0m0s ago -",
	} {
		if !slices.Contains(rows, want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
