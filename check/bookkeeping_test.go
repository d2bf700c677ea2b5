package check

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// instant is an inline checker that passes at once, without I/O: what is
// left of an attempt is the Scheduler's own bookkeeping.
type instant struct{}

func (instant) Check(context.Context) error { return nil }
func (instant) inline() bool                { return true }
func (instant) start(_ *poller, _ canceller, _ time.Time, done func(error)) {
	done(nil)
}

// BenchmarkSchedulerBookkeeping measures the Scheduler's cost per attempt
// (timer heap, state, observer, and Run's loop) for 10,000 servers on a
// fake clock, without the checks' system calls: the part of a check's CPU
// that is the daemon's own rather than the kernel's.
func BenchmarkSchedulerBookkeeping(b *testing.B) {
	clk := newFakeClock()
	var attempts atomic.Int64
	stop := make(chan struct{})
	target := int64(b.N)
	s := NewScheduler(Options{Clock: clk, Observe: func(Attempt) {
		if attempts.Add(1) == target {
			close(stop)
		}
	}})
	timing := Timing{DelayLoop: time.Second, Timeout: time.Second, Retry: 1, DelayBeforeRetry: time.Second}
	for i := range 10000 {
		if err := s.Add(Server{Name: fmt.Sprintf("[198.18.%d.%d]:tcp:80", i/250, i%250), Weight: 1,
			Checks: []Check{{Name: "TCP_CHECK", Checker: instant{}, Timing: timing}}}); err != nil {
			b.Fatal(err)
		}
	}
	s.onIdle = func(next time.Time) {
		if !next.IsZero() {
			clk.Set(next)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-s.Events():
			case <-ctx.Done():
				return
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	go func() { done <- s.Run(ctx) }()
	<-stop
	b.StopTimer()
	cancel()
	<-done
}

// workerless is instant, but fails the test if a worker runs it: the
// worker path is Check.
type workerless struct {
	instant
	t     *testing.T
	began atomic.Int64
}

func (w *workerless) Check(context.Context) error {
	w.t.Error("an inline attempt ran on a worker")
	return nil
}

func (w *workerless) start(p *poller, ctx canceller, deadline time.Time, done func(error)) {
	w.began.Add(1)
	done(nil)
}

// TestSchedulerInlineStaysInline checks that attempts Run can begin
// itself are never handed to a worker, even when more are due than a
// batch of runInline: a worker would cost goroutine switches for
// nothing.
func TestSchedulerInlineStaysInline(t *testing.T) {
	clk := newFakeClock()
	s := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1})
	w := &workerless{t: t}
	timing := Timing{DelayLoop: time.Second, Timeout: time.Second}
	const servers = 10 * inlineBatch
	for i := range servers {
		if err := s.Add(Server{Name: fmt.Sprint(i), Weight: 1, Checks: []Check{{Name: "TCP_CHECK", Checker: w, Timing: timing}}}); err != nil {
			t.Fatal(err)
		}
	}
	drive(t, s, clk, 3500*time.Millisecond)
	if got, want := w.began.Load(), int64(4*servers); got != want {
		t.Errorf("%d attempts began inline, want %d", got, want)
	}
}
