package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// scriptedChecker returns its scripted results in turn (the last one
// forever) and records when it was called.
type scriptedChecker struct {
	clock   Clock
	mu      sync.Mutex
	results []error
	calls   []time.Time
}

func (c *scriptedChecker) Check(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, c.clock.Now())
	r := c.results[0]
	if len(c.results) > 1 {
		c.results = c.results[1:]
	}
	return r
}

func (c *scriptedChecker) offsets(start time.Time) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d []time.Duration
	for _, t := range c.calls {
		d = append(d, t.Sub(start))
	}
	return d
}

// weightScript is a WeightChecker returning scripted weight adjustments.
type weightScript struct {
	scriptedChecker
	deltas []int
}

func (c *weightScript) CheckWeight(ctx context.Context, configured int) (int, bool, error) {
	err := c.Check(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.deltas[0]
	if len(c.deltas) > 1 {
		c.deltas = c.deltas[1:]
	}
	return d - configured, true, err
}

var errDown = errors.New("down")

type sawEvent struct {
	at time.Duration
	up bool
	w  int
}

// drive runs s on clk until the next attempt would be after horizon,
// advancing the clock each time s is idle, and returns the events seen.
func drive(t *testing.T, s *Scheduler, clk *fakeClock, horizon time.Duration) []sawEvent {
	t.Helper()
	start := clk.Now()
	var evs []sawEvent
	for _, ev := range driveEvents(t, s, clk, horizon) {
		evs = append(evs, sawEvent{ev.Time.Sub(start), ev.Up, ev.Weight})
	}
	return evs
}

// driveEvents is drive returning the events whole.
func driveEvents(t *testing.T, s *Scheduler, clk *fakeClock, horizon time.Duration) []Event {
	t.Helper()
	start := clk.Now()
	idle := make(chan time.Time)
	s.onIdle = func(next time.Time) { idle <- next }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		// Run may be blocked reporting idle once more.
		for {
			select {
			case <-idle:
				continue
			case <-done:
				return
			}
		}
	}()
	var evs []Event
	for {
		select {
		case ev := <-s.Events():
			evs = append(evs, ev)
		case next := <-idle:
			if next.IsZero() || next.Sub(start) > horizon {
				return evs
			}
			clk.Set(next)
		case <-time.After(10 * time.Second):
			t.Fatal("scheduler neither idle nor reporting")
		}
	}
}

func TestSchedulerTiming(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		timing   Timing
		results  []error
		horizon  time.Duration
		attempts []time.Duration
		events   []sawEvent
	}{
		{
			name:     "retries spaced delay_before_retry then down",
			timing:   Timing{DelayLoop: 10 * s, Retry: 2, DelayBeforeRetry: 3 * s},
			results:  []error{nil, errDown, errDown, errDown, nil},
			horizon:  26 * s,
			attempts: []time.Duration{0, 10 * s, 13 * s, 16 * s, 26 * s},
			events:   []sawEvent{{0, true, 1}, {16 * s, false, 1}, {26 * s, true, 1}},
		},
		{
			name:     "first failure is enough without alpha",
			timing:   Timing{DelayLoop: 5 * s, Retry: 3, DelayBeforeRetry: 1 * s},
			results:  []error{errDown, nil},
			horizon:  5 * s,
			attempts: []time.Duration{0, 5 * s},
			events:   []sawEvent{{0, true, 1}, {0, false, 1}, {5 * s, true, 1}},
		},
		{
			name:     "alpha starts down until the first success",
			timing:   Timing{DelayLoop: 5 * s, Retry: 1, DelayBeforeRetry: 1 * s, Alpha: true},
			results:  []error{errDown, errDown, errDown, nil},
			horizon:  11 * s,
			attempts: []time.Duration{0, 5 * s, 6 * s, 11 * s},
			// The second event is the first verdict confirming the
			// down state (Event.Confirmed).
			events: []sawEvent{{0, false, 1}, {0, false, 1}, {11 * s, true, 1}},
		},
		{
			name:     "delay_before_retry 0 retries at once",
			timing:   Timing{DelayLoop: 4 * s, Retry: 2},
			results:  []error{nil, errDown},
			horizon:  4 * s,
			attempts: []time.Duration{0, 4 * s, 4 * s, 4 * s},
			events:   []sawEvent{{0, true, 1}, {4 * s, false, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.Now()
			sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Workers: 2})
			c := &scriptedChecker{clock: clk, results: tt.results}
			if err := sch.Add(Server{Name: "rs", Weight: 1, Checks: []Check{{Name: "TEST", Checker: c, Timing: tt.timing}}}); err != nil {
				t.Fatal(err)
			}
			evs := drive(t, sch, clk, tt.horizon)
			if got := c.offsets(start); fmt.Sprint(got) != fmt.Sprint(tt.attempts) {
				t.Errorf("attempts at %v, want %v", got, tt.attempts)
			}
			if fmt.Sprint(evs) != fmt.Sprint(tt.events) {
				t.Errorf("events %v, want %v", evs, tt.events)
			}
		})
	}
}

func TestSchedulerWarmupAndJitterBounds(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	sch := NewScheduler(Options{Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)), Jitter: 0.1})
	var checkers []*scriptedChecker
	for i := range 50 {
		c := &scriptedChecker{clock: clk, results: []error{nil}}
		checkers = append(checkers, c)
		timing := Timing{DelayLoop: 10 * time.Second, Warmup: 30 * time.Second}
		if err := sch.Add(Server{Name: fmt.Sprint(i), Checks: []Check{{Name: "TEST", Checker: c, Timing: timing}}}); err != nil {
			t.Fatal(err)
		}
	}
	drive(t, sch, clk, 60*time.Second)
	firsts := map[time.Duration]bool{}
	for i, c := range checkers {
		at := c.offsets(start)
		if len(at) < 2 {
			t.Fatalf("checker %d ran %d times", i, len(at))
		}
		if at[0] < 0 || at[0] > 30*time.Second {
			t.Errorf("checker %d first ran at %v, want within warmup 30s", i, at[0])
		}
		firsts[at[0]] = true
		for j := 1; j < len(at); j++ {
			// Starting up to the slack late moves an interval by as
			// much again.
			if d := at[j] - at[j-1]; d < 9*time.Second-DefaultSlack || d > 11*time.Second+DefaultSlack {
				t.Errorf("checker %d: interval %v outside delay_loop 10s ± 10%% ± the slack", i, d)
			}
		}
	}
	if len(firsts) < 45 {
		t.Errorf("only %d distinct first attempts for 50 checkers: warmup is not spreading them", len(firsts))
	}
}

// TestSchedulerSlack checks that attempts due within the slack of the
// first one start on its wake-up, and that starting late does not stretch
// delay_loop: the next attempt is due delay_loop after the due time.
func TestSchedulerSlack(t *testing.T) {
	ms := time.Millisecond
	clk := newFakeClock()
	start := clk.Now()
	sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: 10 * ms})
	timing := Timing{DelayLoop: time.Second}
	checkers := map[string]*scriptedChecker{}
	// a is due at once, b 4 ms later, c 30 ms later.
	for _, c := range []struct {
		name string
		at   time.Duration
	}{{"a", 0}, {"b", 4 * ms}, {"c", 30 * ms}} {
		clk.Set(start.Add(c.at))
		checkers[c.name] = &scriptedChecker{clock: clk, results: []error{nil}}
		if err := sch.Add(Server{Name: c.name, Weight: 1, Checks: []Check{{Name: "TEST", Checker: checkers[c.name], Timing: timing}}}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(start)
	drive(t, sch, clk, 2050*ms)
	want := map[string][]time.Duration{
		"a": {0, 1010 * ms, 2010 * ms},
		"b": {14 * ms, 1010 * ms, 2010 * ms},
		"c": {40 * ms, 1040 * ms, 2040 * ms},
	}
	for name, c := range checkers {
		if got := c.offsets(start); fmt.Sprint(got) != fmt.Sprint(want[name]) {
			t.Errorf("%s: attempts at %v, want %v", name, got, want[name])
		}
	}
}

func TestSchedulerServerNeedsAllCheckersAndWeights(t *testing.T) {
	clk := newFakeClock()
	sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1})
	s := time.Second
	a := &scriptedChecker{clock: clk, results: []error{nil, nil, errDown, nil}}
	// The dynamic checker sets weights 5, then 7 while the other fails,
	// then 7 again.
	b := &weightScript{scriptedChecker: scriptedChecker{clock: clk, results: []error{nil}}, deltas: []int{5, 7}}
	timing := Timing{DelayLoop: 10 * s}
	err := sch.Add(Server{Name: "rs", Weight: 1, Checks: []Check{
		{Name: "A", Checker: a, Timing: timing},
		{Name: "B", Checker: b, Timing: timing},
	}})
	if err != nil {
		t.Fatal(err)
	}
	evs := drive(t, sch, clk, 30*s)
	want := []sawEvent{{0, true, 1}, {0, true, 5}, {10 * s, true, 7}, {20 * s, false, 7}, {30 * s, true, 7}}
	if fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", evs, want)
	}
}

// blockingChecker blocks until its attempt's context ends.
type blockingChecker struct{ started, ended chan struct{} }

func (c *blockingChecker) Check(ctx context.Context) error {
	c.started <- struct{}{}
	<-ctx.Done()
	close(c.ended)
	return ctx.Err()
}

func TestSchedulerRemoveCancelsAndLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()

	sch := NewScheduler(Options{Workers: 8})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sch.Run(ctx) }()
	go func() {
		for range sch.Events() {
		}
	}()

	blocker := &blockingChecker{started: make(chan struct{}, 1), ended: make(chan struct{})}
	timing := Timing{DelayLoop: 50 * time.Millisecond, Timeout: time.Minute}
	if err := sch.Add(Server{Name: "blocked", Checks: []Check{{Name: "BLOCK", Checker: blocker, Timing: timing}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		c := &TCPCheck{Dialer: Dialer{Addr: addr}}
		if err := sch.Add(Server{Name: fmt.Sprint(i), Checks: []Check{{Name: "TCP_CHECK", Checker: c, Timing: timing}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sch.Add(Server{Name: "0"}); err == nil {
		t.Error("adding a server twice succeeded")
	}
	<-blocker.started
	t0 := time.Now()
	sch.Remove("blocked")
	// The blocked attempt must end with the removal, long before its
	// one-minute timeout.
	select {
	case <-blocker.ended:
	case <-time.After(time.Second):
		t.Fatal("removing a server did not cancel its running attempt")
	}
	// Let the other checks run a few rounds on the workers.
	time.Sleep(200 * time.Millisecond)
	for i := range 100 {
		sch.Remove(fmt.Sprint(i))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("shutdown after removal took %v", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	// One goroutine still drains Events by design of this test.
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestSchedulerRejectsBadServers(t *testing.T) {
	sch := NewScheduler(Options{})
	if err := sch.Add(Server{}); err == nil {
		t.Error("server without name accepted")
	}
	if err := sch.Add(Server{Name: "x", Checks: []Check{{Name: "TCP_CHECK"}}}); err == nil {
		t.Error("check without checker accepted")
	}
}

func TestDefaultTiming(t *testing.T) {
	s := time.Second
	tests := []struct {
		keyword   string
		delayLoop time.Duration
		want      Timing
	}{
		{"TCP_CHECK", 0, Timing{DelayLoop: 60 * s, Timeout: 5 * s, Retry: 1, DelayBeforeRetry: s, Warmup: 60 * s}},
		{"HTTP_GET", 10 * s, Timing{DelayLoop: 10 * s, Timeout: 5 * s, Retry: 1, DelayBeforeRetry: 3 * s, Warmup: 10 * s}},
		{"SSL_GET", 10 * s, Timing{DelayLoop: 10 * s, Timeout: 5 * s, Retry: 1, DelayBeforeRetry: 3 * s, Warmup: 10 * s}},
		{"DNS_CHECK", 10 * s, Timing{DelayLoop: 10 * s, Timeout: 5 * s, Retry: 3, DelayBeforeRetry: 10 * s, Warmup: 10 * s}},
		{"MISC_CHECK", 10 * s, Timing{DelayLoop: 10 * s, Timeout: 10 * s, Retry: 0, DelayBeforeRetry: s, Warmup: 10 * s}},
	}
	for _, tt := range tests {
		if got := DefaultTiming(tt.keyword, tt.delayLoop); got != tt.want {
			t.Errorf("DefaultTiming(%s, %v) = %+v, want %+v", tt.keyword, tt.delayLoop, got, tt.want)
		}
	}
}

func TestSchedulerLogsAsKeepalived(t *testing.T) {
	s := time.Second
	tests := []struct {
		kind    string
		timing  Timing
		results []error
		want    []string
	}{
		{
			kind:    "TCP_CHECK",
			timing:  Timing{DelayLoop: 10 * s, Retry: 2, DelayBeforeRetry: s},
			results: []error{nil, errDown, errDown, errDown, nil},
			want: []string{
				"TCP connection to [192.0.2.1]:tcp:80 success.",
				"TCP_CHECK on service [192.0.2.1]:tcp:80 failed after 2 retries.",
				"TCP connection to [192.0.2.1]:tcp:80 success.",
			},
		},
		{
			kind:    "HTTP_GET",
			timing:  Timing{DelayLoop: 10 * s, Retry: 1, DelayBeforeRetry: s},
			results: []error{errDown, nil},
			want: []string{
				"HTTP_CHECK on service [192.0.2.1]:tcp:80 failed.",
				"Remote Web server [192.0.2.1]:tcp:80 succeed on service.",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			logger, hook := test.NewNullLogger()
			logger.SetLevel(logrus.InfoLevel)
			clk := newFakeClock()
			sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Logger: logger})
			c := &scriptedChecker{clock: clk, results: tt.results}
			name := Dialer{Addr: netip.MustParseAddrPort("192.0.2.1:80")}.String()
			if err := sch.Add(Server{Name: name, Checks: []Check{{Name: tt.kind, Checker: c, Timing: tt.timing}}}); err != nil {
				t.Fatal(err)
			}
			drive(t, sch, clk, 30*s)
			var got []string
			for _, e := range hook.AllEntries() {
				got = append(got, e.Message)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSchedulerLogsRetriesAtDebug checks that a failed attempt short of a
// verdict is logged, with its fields, only by a logger that keeps debug
// messages, whichever form of logger the Scheduler was given.
func TestSchedulerLogsRetriesAtDebug(t *testing.T) {
	const (
		success = "TCP connection to [192.0.2.1]:tcp:80 success."
		retry   = "TCP_CHECK on service [192.0.2.1]:tcp:80 failed, retry 1 of 2."
	)
	tests := []struct {
		name  string
		level logrus.Level
		entry bool // pass a *logrus.Entry rather than the *logrus.Logger
		want  []string
	}{
		{"logger at debug", logrus.DebugLevel, false, []string{success, retry}},
		{"entry at debug", logrus.DebugLevel, true, []string{success, retry}},
		{"logger at info", logrus.InfoLevel, false, []string{success}},
		{"entry at info", logrus.InfoLevel, true, []string{success}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, hook := test.NewNullLogger()
			logger.SetLevel(tt.level)
			var log logrus.FieldLogger = logger
			if tt.entry {
				log = logger.WithField("component", "checker")
			}
			clk := newFakeClock()
			sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Logger: log})
			c := &scriptedChecker{clock: clk, results: []error{nil, errDown, nil}}
			name := Dialer{Addr: netip.MustParseAddrPort("192.0.2.1:80")}.String()
			timing := Timing{DelayLoop: 10 * time.Second, Retry: 2, DelayBeforeRetry: time.Second}
			if err := sch.Add(Server{Name: name, Checks: []Check{{Name: "TCP_CHECK", Checker: c, Timing: timing}}}); err != nil {
				t.Fatal(err)
			}
			drive(t, sch, clk, 15*time.Second)
			var got []string
			for _, e := range hook.AllEntries() {
				got = append(got, e.Message)
				if e.Data["server"] != name || e.Data["checker"] != "TCP_CHECK" {
					t.Errorf("%q logged with fields %v", e.Message, e.Data)
				}
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSchedulerObservesEveryAttempt(t *testing.T) {
	s := time.Second
	clk := newFakeClock()
	start := clk.Now()
	var mu sync.Mutex
	var seen []Attempt
	sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Workers: 2, Observe: func(a Attempt) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a)
	}})
	c := &scriptedChecker{clock: clk, results: []error{nil, nil, errDown, errDown, nil}}
	timing := Timing{DelayLoop: 5 * s, Retry: 1, DelayBeforeRetry: s}
	if err := sch.Add(Server{Name: "rs", Weight: 1, Checks: []Check{{Name: "TCP_CHECK", Checker: c, Timing: timing}}}); err != nil {
		t.Fatal(err)
	}
	// A server whose first checker is always down: its second checker's
	// changes leave the server down.
	once := Timing{DelayLoop: 5 * s}
	err := sch.Add(Server{Name: "pair", Weight: 1, Checks: []Check{
		{Name: "DOWN", Checker: &scriptedChecker{clock: clk, results: []error{errDown}}, Timing: once},
		{Name: "FLAP", Checker: &scriptedChecker{clock: clk, results: []error{nil, errDown, nil}}, Timing: once},
	}})
	if err != nil {
		t.Fatal(err)
	}
	drive(t, sch, clk, 16*s)
	mu.Lock()
	defer mu.Unlock()
	type obs struct {
		at                   time.Duration
		err                  error
		changed, up          bool
		serverChanged, srvUp bool
	}
	got := map[string][]obs{}
	for _, a := range seen {
		if a.Duration != 0 {
			t.Errorf("attempt %+v took time on a fake clock", a)
		}
		got[a.Server+" "+a.Checker] = append(got[a.Server+" "+a.Checker], obs{a.Start.Sub(start), a.Err, a.Changed, a.Up, a.ServerChanged, a.ServerUp})
	}
	want := map[string][]obs{
		// Two attempts that change nothing (0 s, 5 s), a failure that
		// only counts a retry (10 s), the verdict down (11 s), up again
		// (16 s).
		"rs TCP_CHECK": {
			{0, nil, false, true, false, true},
			{5 * s, nil, false, true, false, true},
			{10 * s, errDown, false, true, false, true},
			{11 * s, errDown, true, false, true, false},
			{16 * s, nil, true, true, true, true},
		},
		"pair DOWN": {
			{0, errDown, true, false, true, false},
			{5 * s, errDown, false, false, false, false},
			{10 * s, errDown, false, false, false, false},
			{15 * s, errDown, false, false, false, false},
		},
		// Its changes at 5 s and 10 s leave the server down. At 0 s
		// the two checkers of the server run in either order, so the
		// server may still be up after its first attempt.
		"pair FLAP": {
			{0, nil, false, true, false, false},
			{5 * s, errDown, true, false, false, false},
			{10 * s, nil, true, true, false, false},
			{15 * s, nil, false, true, false, false},
		},
	}
	if f := got["pair FLAP"]; len(f) > 0 && f[0].srvUp {
		f[0].srvUp = false
	}
	for k, w := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(w) {
			t.Errorf("%s observed\n%v\nwant\n%v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("observed %v", got)
	}
}

// TestSchedulerConfirmsAlphaFirstFailure follows keepalived's
// update_svr_checker_state: an alpha checker's first verdict, a failure,
// changes no state but is reported (Confirmed) so that notify_down runs, once
// per such checker; no other event is Confirmed.
func TestSchedulerConfirmsAlphaFirstFailure(t *testing.T) {
	s := time.Second
	type want struct {
		at        time.Duration
		up        bool
		confirmed bool
		reason    string
	}
	tests := []struct {
		name   string
		checks [][]error // each checker's scripted results
		alpha  []bool
		events []want
	}{
		{
			name:   "alpha failing",
			checks: [][]error{{errDown}},
			alpha:  []bool{true},
			events: []want{{0, false, false, "added"}, {0, false, true, "A failed: down"}},
		},
		{
			name:   "alpha succeeding",
			checks: [][]error{{nil}},
			alpha:  []bool{true},
			events: []want{{0, false, false, "added"}, {0, true, false, "A succeeded"}},
		},
		{
			name:   "not alpha failing",
			checks: [][]error{{errDown}},
			alpha:  []bool{false},
			events: []want{{0, true, false, "added"}, {0, false, false, "A failed: down"}},
		},
		{
			name:   "two alpha checkers failing",
			checks: [][]error{{errDown}, {errDown}},
			alpha:  []bool{true, true},
			events: []want{{0, false, false, "added"}, {0, false, true, "A failed: down"}, {0, false, true, "B failed: down"}},
		},
		{
			name:   "alpha failing beside a checker up",
			checks: [][]error{{nil}, {errDown}},
			alpha:  []bool{false, true},
			events: []want{{0, false, false, "added"}, {0, false, true, "B failed: down"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.Now()
			sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Workers: 1})
			var checks []Check
			for i, results := range tt.checks {
				checks = append(checks, Check{
					Name:    string(rune('A' + i)),
					Checker: &scriptedChecker{clock: clk, results: results},
					// Checker i runs i ms after the first, so that
					// the events come in a known order.
					Timing: Timing{DelayLoop: 10 * s, Retry: 1, DelayBeforeRetry: s, Alpha: tt.alpha[i], Warmup: time.Duration(i) * time.Millisecond},
				})
			}
			if err := sch.Add(Server{Name: "rs", Weight: 1, Checks: checks}); err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, ev := range driveEvents(t, sch, clk, 25*s) {
				got = append(got, want{ev.Time.Sub(start).Truncate(s), ev.Up, ev.Confirmed, ev.Reason})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.events) {
				t.Errorf("events\n%v\nwant\n%v", got, tt.events)
			}
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestSchedulerPendingConnect follows a TCP_CHECK whose handshake is still
// under way when Run's inline connect returns: the poller waits for it until
// connect_timeout, and removing the server or ending Run while it waits
// releases the socket.
func TestSchedulerPendingConnect(t *testing.T) {
	addr, _ := fullListener(t)
	fds := openFDs(t)
	var mu sync.Mutex
	var attempts []Attempt
	sch := NewScheduler(Options{Spread: -1, Observe: func(a Attempt) {
		mu.Lock()
		attempts = append(attempts, a)
		mu.Unlock()
	}})
	timing := Timing{DelayLoop: time.Hour, Timeout: 300 * time.Millisecond}
	for _, name := range []string{"timeout", "removed"} {
		if err := sch.Add(Server{Name: name, Weight: 1, Checks: []Check{{Name: "TCP_CHECK", Checker: &TCPCheck{Dialer: Dialer{Addr: addr}}, Timing: timing}}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sch.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		<-done
	})
	defer stop()
	t0 := time.Now()
	// Both attempts wait for their handshake once their sockets are
	// open, beside the poller's epoll set and eventfd.
	running := fds + 2
	for openFDs(t) < running+2 {
		if time.Since(t0) > 5*time.Second {
			t.Fatalf("%d descriptors open, want the poller's and the two attempts' %d", openFDs(t), running+2)
		}
		time.Sleep(time.Millisecond)
	}
	sch.Remove("removed")
	// The removed server's socket closes with the removal, not at its
	// deadline 300ms after the start.
	removed := time.Now()
	for openFDs(t) != running+1 {
		if time.Since(removed) > 150*time.Millisecond {
			t.Fatalf("%d descriptors open %v after the removal, want %d once the removed server's attempt ended", openFDs(t), time.Since(removed), running+1)
		}
		time.Sleep(time.Millisecond)
	}
	var down Event
	for down.Server == "" {
		select {
		case ev := <-sch.Events():
			if ev.Server == "timeout" && !ev.Up {
				down = ev
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no down event within 5s")
		}
	}
	took := time.Since(t0)
	if took < 250*time.Millisecond || took > 2*time.Second {
		t.Errorf("down after %v, want about connect_timeout 300ms", took)
	}
	if !strings.Contains(down.Reason, "timeout") {
		t.Errorf("down reason %q, want a timeout", down.Reason)
	}
	mu.Lock()
	for _, a := range attempts {
		if a.Server == "removed" {
			t.Errorf("attempt of the removed server observed: %+v", a)
		}
	}
	mu.Unlock()
	stop()
	if n := openFDs(t); n != fds {
		t.Errorf("%d open descriptors after Run, %d before", n, fds)
	}
}
