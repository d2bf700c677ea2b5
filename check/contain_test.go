package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// panicOnce returns a testPanic hook that panics the first time it is
// called at where.
func panicOnce(where string) func(string) {
	var done atomic.Bool
	return func(w string) {
		if w == where && done.CompareAndSwap(false, true) {
			panic("injected in " + where)
		}
	}
}

// TestSchedulerContainsPanics checks that an attempt that panics, on a
// worker or begun inline on Run's goroutine, fails that attempt only: the
// server goes down on it, comes back at the next attempt, and the panic is
// counted.
func TestSchedulerContainsPanics(t *testing.T) {
	for _, tc := range []struct {
		where   string
		checker Checker
	}{
		{"worker", &scriptedChecker{clock: SystemClock{}, results: []error{nil}}},
		{"inline", instant{}},
	} {
		t.Run(tc.where, func(t *testing.T) {
			clk := newFakeClock()
			if sc, ok := tc.checker.(*scriptedChecker); ok {
				sc.clock = clk
			}
			s := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1})
			s.testPanic = panicOnce(tc.where)
			timing := Timing{DelayLoop: time.Second, Timeout: time.Second}
			if err := s.Add(Server{Name: "rs", Weight: 1, Checks: []Check{{Name: "TCP_CHECK", Checker: tc.checker, Timing: timing}}}); err != nil {
				t.Fatal(err)
			}
			got := drive(t, s, clk, 2500*time.Millisecond)
			want := []sawEvent{{0, true, 1}, {0, false, 1}, {time.Second, true, 1}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("events %v, want %v", got, want)
			}
			if n := s.Panics(); n != 1 {
				t.Errorf("Panics() = %d, want 1", n)
			}
		})
	}
}

// TestSchedulerContainsPollerPanic checks that a panic on the poller's
// goroutine fails the attempt it was stepping and leaves the poller
// running the next ones.
func TestSchedulerContainsPollerPanic(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr).AddrPort()
	h := &HTTPGet{Dialer: Dialer{Addr: addr}, URLs: []URL{{Path: "/"}}}

	s := NewScheduler(Options{Jitter: -1, Spread: -1})
	var calls atomic.Int64
	s.testPanic = func(where string) {
		if where == "poller" && calls.Add(1) == 1 {
			panic("injected in poller")
		}
	}
	timing := Timing{DelayLoop: 50 * time.Millisecond, Timeout: 5 * time.Second}
	if err := s.Add(Server{Name: "rs", Weight: 1, Checks: []Check{{Name: "HTTP_GET", Checker: h, Timing: timing}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	var evs []Event
	timeout := time.After(10 * time.Second)
	for len(evs) < 3 {
		select {
		case ev := <-s.Events():
			evs = append(evs, ev)
		case <-timeout:
			t.Fatalf("events %+v: no recovery from the poller's panic", evs)
		}
	}
	if !evs[0].Up || evs[1].Up || !evs[2].Up {
		t.Errorf("events %+v, want up, down, up", evs)
	}
	if !strings.Contains(evs[1].Reason, "panic") {
		t.Errorf("down for %q, want the panic", evs[1].Reason)
	}
	if n := s.Panics(); n != 1 {
		t.Errorf("Panics() = %d, want 1", n)
	}
}

// TestSchedulerContainsObserverPanic checks that a panicking observer
// neither stops the checks nor leaves the Scheduler locked.
func TestSchedulerContainsObserverPanic(t *testing.T) {
	clk := newFakeClock()
	var observed atomic.Int64
	s := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Observe: func(Attempt) {
		observed.Add(1)
		panic("observer")
	}})
	timing := Timing{DelayLoop: time.Second, Timeout: time.Second}
	if err := s.Add(Server{Name: "rs", Weight: 1, Checks: []Check{{Name: "TCP_CHECK", Checker: instant{}, Timing: timing}}}); err != nil {
		t.Fatal(err)
	}
	drive(t, s, clk, 2500*time.Millisecond)
	if n := observed.Load(); n != 3 {
		t.Errorf("%d attempts observed, want 3", n)
	}
	if n := s.Panics(); n != 3 {
		t.Errorf("Panics() = %d, want 3", n)
	}
}

// TestSchedulerQueueBounded checks that events no one takes are compacted
// to each server's newest state instead of piling up.
func TestSchedulerQueueBounded(t *testing.T) {
	clk := newFakeClock()
	s := NewScheduler(Options{Clock: clk})
	const servers = 10
	timing := Timing{DelayLoop: time.Second, Timeout: time.Second}
	for i := range servers {
		if err := s.Add(Server{Name: fmt.Sprint(i), Weight: 1, Checks: []Check{{Name: "TCP_CHECK", Checker: instant{}, Timing: timing}}}); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range 10000 {
		for _, sv := range s.servers {
			e := sv.entries[0]
			if e.index >= 0 {
				s.timers.remove(e.index)
			}
			var err error
			if n%2 == 0 {
				err = errDown
			}
			s.finish(result{e: e, err: err, end: clk.Now()})
		}
	}
	if max := 2*servers + queueSlack; len(s.queue) > max {
		t.Fatalf("%d events queued, want at most %d", len(s.queue), max)
	}
	// The newest event of each server says its state: up, after the
	// last, successful, attempt.
	newest := map[string]Event{}
	for _, ev := range s.queue {
		newest[ev.Server] = ev
	}
	if len(newest) != servers {
		t.Errorf("events of %d servers queued, want %d", len(newest), servers)
	}
	for name, ev := range newest {
		if !ev.Up {
			t.Errorf("server %s: newest event %+v, want up", name, ev)
		}
	}
}

// TestSchedulerResend checks that Resend delivers every server's current
// state again.
func TestSchedulerResend(t *testing.T) {
	clk := newFakeClock()
	s := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1})
	timing := Timing{DelayLoop: time.Hour, Timeout: time.Second}
	down := &scriptedChecker{clock: clk, results: []error{errDown}}
	if err := s.Add(Server{Name: "down", Weight: 2, Checks: []Check{{Name: "TCP_CHECK", Checker: down, Timing: timing}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Server{Name: "up", Weight: 3, Checks: []Check{{Name: "TCP_CHECK", Checker: instant{}, Timing: timing}}}); err != nil {
		t.Fatal(err)
	}
	drive(t, s, clk, time.Second)
	s.Resend()
	evs := driveEvents(t, s, clk, time.Second)
	got := map[string]Event{}
	for _, ev := range evs {
		got[ev.Server] = ev
	}
	if len(evs) != 2 || got["down"].Up || got["down"].Weight != 2 || !got["up"].Up || got["up"].Weight != 3 {
		t.Errorf("resent %+v, want down at weight 2 and up at weight 3", evs)
	}
}

// TestSchedulerContainsApplyPanic checks that a panic while a result is
// applied leaves the checker due again after delay_loop, and the
// Scheduler unlocked.
func TestSchedulerContainsApplyPanic(t *testing.T) {
	clk := newFakeClock()
	var observed atomic.Int64
	s := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Observe: func(Attempt) { observed.Add(1) }})
	s.testPanic = panicOnce("apply")
	timing := Timing{DelayLoop: time.Second, Timeout: time.Second}
	if err := s.Add(Server{Name: "rs", Weight: 1, Checks: []Check{{Name: "TCP_CHECK", Checker: instant{}, Timing: timing}}}); err != nil {
		t.Fatal(err)
	}
	drive(t, s, clk, 2500*time.Millisecond)
	// The attempts at 1s and 2s; the one at 0 panicked.
	if n := observed.Load(); n != 2 {
		t.Errorf("%d attempts observed, want 2", n)
	}
	if n := s.Panics(); n != 1 {
		t.Errorf("Panics() = %d, want 1", n)
	}
}
