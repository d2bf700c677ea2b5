package bfdd

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/bfd"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// instance is a session of 3 x 50 ms: short enough to be quick, long
// enough not to flap on a loaded test machine (10 ms did).
func instance(name, src, nbr string) config.BFDInstance {
	return config.BFDInstance{Name: name, Neighbor: netip.MustParseAddr(nbr), Source: netip.MustParseAddr(src),
		MinRx: 50000, MinTx: 50000, IdleTx: 1000000, Multiplier: 3, TTL: 255, VRRP: true, Checker: true}
}

// runIn runs l in h's namespace until ctx ends; the channel is closed
// when Run has returned.
func runIn(t *testing.T, ctx context.Context, h *nettest.Host, l *Loop) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.Do(func() error { return l.Run(ctx) }); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { <-done })
	return done
}

// next waits for the next event.
func next(t *testing.T, ch <-chan Event, timeout time.Duration) Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
		return Event{}
	}
}

// TestLoopEvents runs two loops in two namespaces against each other and
// follows one through its subscription: Down at start, Up, Down when the
// other loop stops, and nothing once a reload removed the session.
func TestLoopEvents(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.82.0.1/24")
	b := lab.AddHost("b", "10.82.0.2/24")
	var logA, logB bytes.Buffer
	newLog := func(buf *bytes.Buffer) *logrus.Logger {
		l := logrus.New()
		l.SetOutput(buf)
		return l
	}
	cfgA := &config.Config{BFDInstances: []config.BFDInstance{instance("S1", "10.82.0.1", "10.82.0.2")}}
	cfgB := &config.Config{BFDInstances: []config.BFDInstance{instance("S1", "10.82.0.2", "10.82.0.1")}}
	la, err := New(cfgA, Options{Log: newLog(&logA)})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := New(cfgB, Options{Log: newLog(&logB)})
	if err != nil {
		t.Fatal(err)
	}
	events, stop := la.Subscribe()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctxB, cancelB := context.WithCancel(ctx)
	runIn(t, ctx, a, la)
	doneB := runIn(t, ctxB, b, lb)

	if e := next(t, events, 5*time.Second); e != (Event{Instance: "S1", State: bfd.Down, VRRP: true, Checker: true}) {
		t.Fatalf("first event %+v", e)
	}
	if e := next(t, events, 5*time.Second); e.State != bfd.Up {
		t.Fatalf("second event %+v", e)
	}
	if s, ok := la.State("S1"); !ok || s != bfd.Up {
		t.Errorf("State: %s %v", s, ok)
	}
	// Up comes at the slow rate of a session not yet Up (1 s); the poll
	// sequence that brings the 50 ms rate takes up to a second more.
	if _, ok := nettest.Eventually(3*time.Second, func() bool {
		var d bytes.Buffer
		la.Dump(&d)
		return strings.Contains(d.String(), "   local detection time = 150000 us\n")
	}); !ok {
		t.Fatal("the session never reached its 150 ms detection time")
	}
	cancelB()
	<-doneB
	stopped := time.Now()
	if e := next(t, events, 5*time.Second); e.State != bfd.Down {
		t.Fatalf("after the neighbor stopped: %+v", e)
	}
	if took := time.Since(stopped); took > 300*time.Millisecond {
		t.Errorf("Down %v after the neighbor stopped; detection time is 150 ms", took)
	}
	var dump bytes.Buffer
	la.Dump(&dump)
	for _, want := range []string{" BFD Instance = S1", "   Neighbor IP = 10.82.0.2", "   local state = Down", "   local diag = Control Detection Time Expired"} {
		if !strings.Contains(dump.String(), want+"\n") {
			t.Errorf("dump lacks %q:\n%s", want, dump.String())
		}
	}
	if err := la.Reload(ctx, &config.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := la.State("S1"); ok {
		t.Error("the removed session still has a state")
	}
	if !strings.Contains(logA.String(), "(S1) Entering Up state") || !strings.Contains(logA.String(), "(S1) Expired after") {
		t.Errorf("log:\n%s", logA.String())
	}
}
