package lvs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
)

// panicOn makes h's Run panic on an event with the given reason.
func (h *harness) panicOn(reason string) {
	h.l.testPanic = func(ev check.Event) {
		if ev.Reason == reason {
			panic("injected on " + reason)
		}
	}
}

// runUntilPanic runs h's LVS in the background and returns what its Run
// panicked with; the event that makes it panic is sent by trigger.
func (h *harness) runUntilPanic(trigger func()) any {
	h.t.Helper()
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		h.l.Run(context.Background())
	}()
	h.settle()
	trigger()
	select {
	case v := <-panicked:
		return v
	case <-time.After(5 * time.Second):
		h.t.Fatal("Run did not panic")
		return nil
	}
}

// waitChecks waits until n Runs of the checks are under way.
func (h *harness) waitChecks(n int32) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.checks.active.Load() != n {
		if time.Now().After(deadline) {
			h.t.Fatalf("%d runs of the checks, want %d", h.checks.active.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRunAfterPanic checks that a Run that panicked leaves the table and
// the real servers' state to the next Run, which takes them over without
// removing, adding or notifying anything, and starts the checks again.
func TestRunAfterPanic(t *testing.T) {
	h := newHarness(t, twoServers("omega", ""), Options{})
	h.panicOn("boom")
	v := h.runUntilPanic(func() {
		h.send(rs2, false, 1, "TCP_CHECK failed: connection refused")
		h.wantTable("after a failure", svc, dst3+"1")
		h.checks.churn()
		h.rec.take()
		h.checks.events <- check.Event{Server: rs3, Up: false, Weight: 1, Reason: "boom"}
	})
	if v == nil {
		t.Fatal("Run returned instead of panicking")
	}
	h.waitChecks(0)
	ops := h.kernel.opCount()
	h.wantTable("after the panic", svc, dst3+"1")

	stop := h.run()
	h.wantTable("after the restart", svc, dst3+"1")
	if got := h.kernel.opCount(); got != ops {
		t.Errorf("the restart made %d table changes, want none", got-ops)
	}
	if added, removed := h.checks.churn(); len(added)+len(removed) != 0 {
		t.Errorf("the restart added checks of %q and removed those of %q, want none", added, removed)
	}
	if got := h.rec.take(); len(got) != 0 {
		t.Errorf("the restart notified %q, want nothing", got)
	}
	h.waitChecks(1)
	if n := h.checks.resends.Load(); n != 1 {
		t.Errorf("the checks resent their states %d times, want once", n)
	}
	st := h.l.Status()
	if len(st) != 1 || len(st[0].RealServers) != 2 {
		t.Fatalf("status %+v", st)
	}
	for _, rs := range st[0].RealServers {
		if want := rs.Name == rs3; rs.Alive != want || rs.InPool != want {
			t.Errorf("%s: alive %v, in pool %v after the restart; want %v", rs.Name, rs.Alive, rs.InPool, want)
		}
	}

	// The loop goes on: verdicts still reach the table.
	h.send(rs2, true, 1, "TCP_CHECK succeeded")
	h.wantTable("after a recovery", svc, dst2+"1", dst3+"1")
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	h.wantTable("after the shutdown")
}

// TestRunAfterPanicKeepsTakingOver checks that every Run after a panic
// takes over, however many there were.
func TestRunAfterPanicKeepsTakingOver(t *testing.T) {
	h := newHarness(t, twoServers("", ""), Options{})
	h.panicOn("boom")
	for i := range 3 {
		v := h.runUntilPanic(func() {
			h.checks.events <- check.Event{Server: rs2, Reason: "boom"}
		})
		if v == nil {
			t.Fatalf("Run %d returned instead of panicking", i)
		}
		h.waitChecks(0)
		h.wantTable(fmt.Sprintf("after panic %d", i), svc, dst2+"1", dst3+"1")
	}
	if added, _ := h.checks.churn(); !slices.Equal(added, []string{rs2, rs3}) {
		t.Errorf("checks added %q, want each server's once", added)
	}
}

// TestCloseAfterPanic checks that a loop that stops between a failed Run
// and the next releases the table all the same.
func TestCloseAfterPanic(t *testing.T) {
	h := newHarness(t, twoServers("omega", ""), Options{})
	h.panicOn("boom")
	h.runUntilPanic(func() {
		h.checks.events <- check.Event{Server: rs2, Reason: "boom"}
	})
	h.waitChecks(0)
	h.wantTable("after the panic", svc, dst2+"1", dst3+"1")
	if err := h.l.Close(); err != nil {
		t.Fatal(err)
	}
	h.wantTable("after Close")
	if err := h.l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := h.l.Run(context.Background()); err == nil {
		t.Error("Run after Close succeeded")
	}
}

// TestRunAfterPanicInFirstStart checks that a first start cut short by a
// panic is made again whole by the next Run, its checks given once.
func TestRunAfterPanicInFirstStart(t *testing.T) {
	h := newHarness(t, twoServers("", ""), Options{})
	armed := true
	h.l.testPanicBegin = func() {
		if armed {
			panic("injected in the first start")
		}
	}
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		h.l.Run(context.Background())
	}()
	select {
	case v := <-panicked:
		if v == nil {
			t.Fatal("Run returned instead of panicking")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not panic")
	}
	armed = false
	h.run()
	h.wantTable("after the second start", svc, dst2+"1", dst3+"1")
	h.checks.mu.Lock()
	n := len(h.checks.servers)
	h.checks.mu.Unlock()
	if n != 2 {
		t.Errorf("%d servers checked, want 2", n)
	}
	h.send(rs2, false, 1, "TCP_CHECK failed: connection refused")
	h.wantTable("after a failure", svc, dst3+"1")
}
