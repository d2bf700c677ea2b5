package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Defaults of keepalived's timing keywords.
const (
	DefaultDelayLoop      = 60 * time.Second
	DefaultConnectTimeout = 5 * time.Second
)

// DefaultJitter is the fraction of delay_loop by which the Scheduler moves
// each attempt at random, so that checks started together drift apart
// instead of firing in a burst every delay_loop.
const DefaultJitter = 0.05

// DefaultSpread bounds the random delay of each checker's first attempt when
// it has no warmup: checks added together start spread over this long (or
// over delay_loop, if shorter).
const DefaultSpread = time.Second

// DefaultSlack is how late the Scheduler may start an attempt so that
// attempts due close together start on one wake-up: at a hundred checks
// a second, each woken for on its own, waking costs a daemon more than
// the checks' system calls (the Go runtime wakes a second thread for each
// timer, and its poller, which counts in milliseconds, wakes early and
// again). On the host, 100 HTTP_GETs a second cost 30% less CPU at 50 ms
// than at 10 ms. 50 ms is what DefaultJitter moves an attempt by at a
// delay_loop of one second; a shorter delay_loop lowers the slack to a
// twentieth of it.
const DefaultSlack = 50 * time.Millisecond

// Timing holds a checker's timing keywords. DefaultTiming gives
// keepalived's defaults, which differ between checkers.
type Timing struct {
	// DelayLoop is the interval between verdicts (delay_loop). Zero means
	// DefaultDelayLoop.
	DelayLoop time.Duration
	// Timeout bounds one attempt: connect_timeout, or misc_timeout for
	// MISC_CHECK. Zero means DefaultConnectTimeout.
	Timeout time.Duration
	// Retry is the number of extra failed attempts before a verdict of
	// down (retry).
	Retry int
	// DelayBeforeRetry separates those attempts (delay_before_retry);
	// zero retries at once.
	DelayBeforeRetry time.Duration
	// Warmup delays the first attempt by a random time up to Warmup
	// (warmup). keepalived's default is delay_loop; zero, as in keepalived,
	// disables it, and the first attempt is then only spread by
	// Options.Spread.
	Warmup time.Duration
	// Alpha starts the checker down until its first success (alpha).
	Alpha bool
}

// DefaultTiming returns keepalived's timing defaults for a checker keyword
// (HTTP_GET, SSL_GET, TCP_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK,
// PING_CHECK, MISC_CHECK, FILE_CHECK) and a delay_loop (zero meaning
// DefaultDelayLoop): retry 1 (3 for DNS_CHECK, 0 for MISC_CHECK),
// delay_before_retry 1s (3s for HTTP_GET and SSL_GET, delay_loop for
// DNS_CHECK), warmup delay_loop, connect_timeout 5s (misc_timeout
// delay_loop for MISC_CHECK).
func DefaultTiming(keyword string, delayLoop time.Duration) Timing {
	if delayLoop <= 0 {
		delayLoop = DefaultDelayLoop
	}
	t := Timing{
		DelayLoop:        delayLoop,
		Timeout:          DefaultConnectTimeout,
		Retry:            1,
		DelayBeforeRetry: time.Second,
		Warmup:           delayLoop,
	}
	switch keyword {
	case "HTTP_GET", "SSL_GET":
		t.DelayBeforeRetry = 3 * time.Second
	case "DNS_CHECK":
		t.Retry = DefaultDNSRetry
		t.DelayBeforeRetry = delayLoop
	case "MISC_CHECK":
		t.Retry = 0
		t.Timeout = delayLoop
	}
	return t
}

// A Check is one checker of a real server.
type Check struct {
	// Name names the checker in events and logs, e.g. "TCP_CHECK".
	Name    string
	Checker Checker
	Timing  Timing
	// LogAllFailures logs every failed attempt in keepalived's words,
	// not only the verdicts (log_all_failures, or global_defs'
	// checker_log_all_failures).
	LogAllFailures bool
}

// A Server is a real server and its checkers. It is up when all its
// checkers are up.
type Server struct {
	// Name identifies the real server in events.
	Name string
	// Weight is the configured weight, which dynamic checkers adjust.
	Weight int
	Checks []Check
}

// An Event reports a real server's new state.
type Event struct {
	Server string
	Up     bool
	// Weight is the configured weight plus the adjustments of MISC_CHECK
	// misc_dynamic and FILE_CHECK.
	Weight int
	// Reason says what changed: the failing checker and its error, or the
	// checker that came up.
	Reason string
	Time   time.Time
	// Confirmed marks an event whose Up, false, is no change: the first
	// verdict of an alpha checker, failing as the checker was assumed to
	// be. keepalived 2.2 runs the real server's notifiers for it all the
	// same (update_svr_checker_state calls do_rs_notifies when an alpha
	// checker's first verdict matches its initial state), so a consumer
	// runs notify_down and writes the notify FIFO's "RS ... DOWN" line on
	// it, as for a server going down, once per such checker.
	Confirmed bool
}

// Options configure a Scheduler. The zero value is usable.
type Options struct {
	// Clock defaults to SystemClock.
	Clock Clock
	// Workers bounds the attempts running at once; zero means 64 per CPU.
	// Attempts mostly wait on the network, and each attempt holds a worker
	// for at most its Timeout.
	Workers int
	// Logger receives keepalived's checker messages; nil discards them.
	Logger logrus.FieldLogger
	// Rand drives warmup, spread and jitter; nil seeds one at random.
	Rand *rand.Rand
	// Jitter is the fraction of delay_loop an attempt may move by; zero
	// means DefaultJitter, negative none.
	Jitter float64
	// Spread is the longest random delay of a first attempt without
	// warmup; zero means DefaultSpread, negative none.
	Spread time.Duration
	// Slack is how late an attempt may start so that it starts together
	// with others; zero means DefaultSlack, negative none. A twentieth of
	// the shortest delay_loop caps it.
	Slack time.Duration
	// Observe, when set, is called after every attempt, whether or not
	// it changed any state, for metrics, and before the Event of a change
	// it made is delivered. It is called with the Scheduler's lock held,
	// so it must be quick and must not call the Scheduler. Attempts ended by Remove or by the end of Run are
	// not real verdicts and are not observed.
	Observe func(Attempt)
}

// An Attempt is one run of one checker, as given to Options.Observe.
type Attempt struct {
	// Server is the real server's Server.Name.
	Server string
	// Checker is the Check.Name: the checker keyword, e.g. TCP_CHECK.
	Checker string
	// Start is when the attempt began, by the Scheduler's Clock.
	Start time.Time
	// Duration is how long the attempt took.
	Duration time.Duration
	// Err is nil when the server passed, and why it failed otherwise.
	Err error
	// Changed reports that the attempt changed its checker's verdict,
	// once the retries were spent; Up is the checker's verdict after the
	// attempt.
	Changed bool
	Up      bool
	// ServerChanged reports that the attempt changed the real server's
	// health: an Event reports it, after the attempt is observed.
	// ServerUp is the server's health after the attempt.
	ServerChanged bool
	ServerUp      bool
}

// A Scheduler runs the checks of many real servers from one timer heap and
// a bounded pool of workers, and reports each server's changes of state.
type Scheduler struct {
	clock   Clock
	log     logrus.FieldLogger
	workers int
	jitter  float64
	spread  time.Duration
	slack   time.Duration
	observe func(Attempt)
	events  chan Event
	wake    chan struct{}

	// onIdle, when set, is called by Run each time it is about to wait
	// with no attempt ready, running or being reported, with the time it
	// will wake for the next attempt (zero if none). Tests use it to
	// drive a fake clock.
	onIdle func(next time.Time)
	// testPanic, when set, is called where an attempt runs ("worker",
	// "inline", "poller") and where its result is applied ("apply"), so
	// that tests can make them panic.
	testPanic func(where string)

	// panics counts the panics contained in attempts and observers.
	panics atomic.Uint64

	mu      sync.Mutex // guards everything below
	rand    *rand.Rand
	running bool
	// ending is set while Run ends: attempts finishing then were cut
	// short by the end, not by their servers.
	ending  bool
	servers map[string]*server
	epoch   time.Time // what timers count from
	timers  timerHeap // entries waiting for their next attempt
	ready   []*entry  // entries due, waiting for a worker
	busy    int       // entries with an attempt running
	// wakeSlack is the slack, or a twentieth of the shortest delay_loop
	// if that is less.
	wakeSlack time.Duration
	poller    *poller // while Run runs
	queue     []Event // events not yet delivered
	// runCtx is the parent of the servers' contexts: cancelled when a
	// Run ends, and replaced for the next.
	runCtx    context.Context
	runCancel context.CancelFunc
}

type server struct {
	name   string
	weight int
	// poll cancels the attempts on the poller; ctx, the context of
	// those on workers, is made for the first of them (workerContext).
	// Both end on removal and when Run ends.
	poll    serverCanceller
	ctx     context.Context
	cancel  context.CancelFunc
	entries []*entry
	up      bool
	cur     int // effective weight last reported
	removed bool
}

// entry is one checker of a server.
type entry struct {
	srv   *server
	check Check
	state checkerState
	// urls steps an HTTP_GET or SSL_GET through its urls; nil for the
	// other checkers.
	urls  *urlState
	delta int // weight adjustment reported by a WeightChecker
	due   time.Time
	index int // in Scheduler.timers, or -1

	// start is when the attempt Run began inline began; done reports
	// its outcome.
	start time.Time
	done  func(error)
	// late is how long after due the attempt became ready, up to the
	// slack: the next attempt is due that much earlier, so that waking
	// late for company does not stretch delay_loop.
	late time.Duration
	// inflight is set from when an attempt is due until complete takes
	// its result: an attempt whose start panicked is completed
	// in its place, and a late report of it is then dropped.
	inflight bool
}

type result struct {
	e            *entry
	start, end   time.Time // when the attempt began and ended
	took         time.Duration
	err          error
	delta        int
	deltaChanged bool
}

// NewScheduler returns a Scheduler; checks run while Run runs.
func NewScheduler(opts Options) *Scheduler {
	s := &Scheduler{
		clock:   opts.Clock,
		log:     opts.Logger,
		workers: opts.Workers,
		rand:    opts.Rand,
		jitter:  opts.Jitter,
		spread:  opts.Spread,
		slack:   opts.Slack,
		observe: opts.Observe,
		events:  make(chan Event),
		wake:    make(chan struct{}, 1),
		servers: make(map[string]*server),
	}
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	s.epoch = s.clock.Now()
	if s.log == nil {
		l := logrus.New()
		l.Out = io.Discard
		s.log = l
	}
	if s.workers <= 0 {
		s.workers = 64 * runtime.NumCPU()
	}
	if s.rand == nil {
		s.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	switch {
	case s.jitter == 0:
		s.jitter = DefaultJitter
	case s.jitter < 0:
		s.jitter = 0
	}
	switch {
	case s.spread == 0:
		s.spread = DefaultSpread
	case s.spread < 0:
		s.spread = 0
	}
	switch {
	case s.slack == 0:
		s.slack = DefaultSlack
	case s.slack < 0:
		s.slack = 0
	}
	s.wakeSlack = s.slack
	return s
}

// Events delivers the servers' changes of state, beginning with each
// server's initial state when it is added, while Run runs.
func (s *Scheduler) Events() <-chan Event { return s.events }

// Add starts checking srv. It fails if a server of that name is already
// checked. It may be called before Run or while it runs.
func (s *Scheduler) Add(srv Server) error {
	if srv.Name == "" {
		return errors.New("adding real server: empty name")
	}
	for i, c := range srv.Checks {
		if c.Checker == nil {
			return fmt.Errorf("adding real server %s: checker %d (%s) is nil", srv.Name, i, c.Name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.servers[srv.Name]; ok {
		return fmt.Errorf("adding real server %s: already checked", srv.Name)
	}
	now := s.clock.Now()
	sv := &server{name: srv.Name, weight: srv.Weight, up: true, cur: srv.Weight}
	sv.poll.run = s.runCtx
	for _, c := range srv.Checks {
		e := &entry{srv: sv, check: c, state: newCheckerState(c.Timing.Retry, c.Timing.Alpha), index: -1}
		if sc, ok := c.Checker.(stepChecker); ok && sc.steps() > 0 {
			e.urls = &urlState{urls: sc.steps()}
			if h, ok := c.Checker.(*HTTPGet); ok {
				e.urls.fast = h.FastRecovery
			}
		}
		s.wakeSlack = min(s.wakeSlack, c.Timing.delayLoop()/20)
		sv.up = sv.up && e.state.up
		s.schedule(e, now.Add(s.firstDelay(c.Timing)))
		sv.entries = append(sv.entries, e)
	}
	s.servers[srv.Name] = sv
	s.enqueue(Event{Server: sv.name, Up: sv.up, Weight: sv.cur, Reason: "added", Time: now})
	s.poke()
	return nil
}

// Resend queues an event with the current state of every server, for a
// consumer that may have lost events: one whose loop ended, by a panic,
// between taking an event and applying it. A state it already has
// changes nothing.
func (s *Scheduler) Resend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, sv := range s.servers {
		s.enqueue(Event{Server: sv.name, Up: sv.up, Weight: sv.cur, Time: now})
	}
	s.poke()
}

// Remove stops checking the named server and cancels its running attempts.
// Removing an unknown server does nothing.
func (s *Scheduler) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.servers[name]
	if !ok {
		return
	}
	delete(s.servers, name)
	sv.removed = true
	sv.poll.gone.Store(true)
	if sv.cancel != nil {
		sv.cancel()
	}
	if s.poller != nil {
		// Its attempts on the poller end now rather than at their
		// deadline.
		s.poller.wake()
	}
	for _, e := range sv.entries {
		if e.index >= 0 {
			s.timers.remove(e.index)
		}
	}
	s.poke()
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// firstDelay is warmup's random delay, or a random spread so that checks
// added together do not all start at once.
func (s *Scheduler) firstDelay(t Timing) time.Duration {
	limit := t.Warmup
	if limit <= 0 {
		limit = min(s.spread, t.delayLoop())
	}
	if limit <= 0 {
		return 0
	}
	return time.Duration(s.rand.Int64N(int64(limit) + 1))
}

func (t Timing) delayLoop() time.Duration {
	if t.DelayLoop <= 0 {
		return DefaultDelayLoop
	}
	return t.DelayLoop
}

func (t Timing) timeout() time.Duration {
	if t.Timeout <= 0 {
		return DefaultConnectTimeout
	}
	return t.Timeout
}

// Run runs the checks until ctx is done. It returns once every attempt
// and worker has ended, with ctx's error. Servers stay added: Run may be
// called again.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("check scheduler already running")
	}
	p, err := newPoller()
	if err != nil {
		s.running = false
		s.mu.Unlock()
		return err
	}
	s.running = true
	s.poller = p
	p.contain, p.testPanic = s.contained, s.testPanic
	s.mu.Unlock()
	pollerDone := make(chan struct{})
	go func() {
		defer close(pollerDone)
		p.run()
	}()

	jobs := make(chan *entry)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			for e := range jobs {
				s.complete(s.attempt(e))
			}
		})
	}
	defer func() {
		s.mu.Lock()
		s.ending = true
		s.runCancel()
		s.poller = nil
		s.mu.Unlock()
		close(jobs)
		wg.Wait()
		p.stop()
		<-pollerDone

		s.mu.Lock()
		defer s.mu.Unlock()
		// Attempts cut short by the shutdown run again first in the
		// next Run.
		now := s.clock.Now()
		s.runCtx, s.runCancel = context.WithCancel(context.Background())
		for _, sv := range s.servers {
			sv.poll.run = s.runCtx
			sv.ctx, sv.cancel = nil, nil
			for _, e := range sv.entries {
				e.inflight = false
				if e.index < 0 {
					s.schedule(e, now)
				}
			}
		}
		s.ready, s.busy = nil, 0
		s.running, s.ending = false, false
	}()

	timer := s.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ran := s.runInline(inlineBatch)
		s.mu.Lock()
		now := s.clock.Now()
		s.popDue(now)
		// Entries of removed servers are dropped here rather than by
		// Remove, which must not disturb the slice the loop sends from.
		s.dropRemoved()
		var next time.Time
		if len(s.timers) > 0 {
			next = s.timers[0].e.due
		}
		slack := s.wakeSlack
		// An attempt runInline can begin waits for it, even one that
		// fell due since it looked: on a worker it would cost two
		// goroutine switches and a blocking wait.
		inlineDue := len(s.ready) > 0 && runsInline(s.ready[0])
		var job *entry
		var jobc chan<- *entry
		if len(s.ready) > 0 && !inlineDue {
			job, jobc = s.ready[0], jobs
			s.workerContext(job.srv)
		}
		var ev Event
		var evc chan<- Event
		if len(s.queue) > 0 {
			ev, evc = s.queue[0], s.events
		}
		idle := job == nil && evc == nil && s.busy == 0
		s.mu.Unlock()

		if ran > 0 || inlineDue {
			if ran == inlineBatch {
				runtime.Gosched()
			}
			// More may be due: hand over what is ready and deliver
			// what happened without waiting, then look again.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case jobc <- job:
				s.dispatched()
			case evc <- ev:
				s.delivered()
			default:
			}
			continue
		}
		var timerc <-chan time.Time
		if !next.IsZero() {
			// Waking slack after the first due attempt takes along
			// the attempts due by then.
			next = next.Add(slack)
			timer.Reset(next.Sub(now))
			timerc = timer.C()
		}
		if idle && s.onIdle != nil {
			s.onIdle(next)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-timerc:
		case jobc <- job:
			s.dispatched()
		case evc <- ev:
			s.delivered()
		}
	}
}

// schedule makes e's next attempt due at due. s.mu is held.
func (s *Scheduler) schedule(e *entry, due time.Time) {
	e.due = due
	s.timers.push(e, s.since(due))
}

// since is t as the timer heap keys it.
func (s *Scheduler) since(t time.Time) int64 {
	return int64(t.Sub(s.epoch))
}

// popDue moves the entries due by now to the ready queue. s.mu is held.
func (s *Scheduler) popDue(now time.Time) {
	at := s.since(now)
	for len(s.timers) > 0 && s.timers[0].at <= at {
		e := s.timers.pop()
		e.late = min(now.Sub(e.due), s.wakeSlack)
		// Set before a worker can have the entry, let alone complete
		// it.
		e.inflight = true
		s.ready = append(s.ready, e)
	}
}

// dropRemoved drops the entries of removed servers at the head of the
// ready queue. s.mu is held.
func (s *Scheduler) dropRemoved() {
	for len(s.ready) > 0 && s.ready[0].srv.removed {
		s.ready = s.ready[1:]
	}
}

func (s *Scheduler) dispatched() {
	s.mu.Lock()
	s.ready = s.ready[1:]
	s.busy++
	s.mu.Unlock()
}

func (s *Scheduler) delivered() {
	s.mu.Lock()
	if len(s.queue) == 1 {
		// Drained: the start-up's burst of events (one per real
		// server when lvs resends them) leaves an array of that size
		// behind, which the few events of later changes do not need.
		s.queue = nil
	} else {
		s.queue[0] = Event{}
		s.queue = s.queue[1:]
	}
	s.mu.Unlock()
}

// inlineBatch bounds the attempts Run begins inline before it delivers
// events, hands work to the workers and yields the processor. Left to run
// longer than 10 ms, as 64 checks take under emulation, a goroutine is
// preempted by a signal, which costs more than yielding.
const inlineBatch = 16

// An inlineChecker begins an attempt on Run's goroutine without
// blocking, and leaves what must wait to the poller. A TCP_CHECK against
// a nearby server is over when connect(2) returns; handing each attempt
// to a worker would cost two goroutine switches, about what the check's
// own system calls cost.
type inlineChecker interface {
	// inline reports whether start can run this checker's attempts.
	inline() bool
	// start begins an attempt that ends by deadline or once ctx
	// reports an error, and calls done with its outcome exactly once,
	// on this goroutine or on p's.
	start(p *poller, ctx canceller, deadline time.Time, done func(error))
}

// A canceller tells an attempt on the poller that it is cut short, as a
// context's Err does: the poller asks for nothing else.
type canceller interface {
	Err() error
}

// A serverCanceller cuts a server's attempts on the poller short once the
// server is removed or Run ends. It lives inside the server: a
// context.Context of each server's own would cost ten thousand servers
// two allocations each (the context, its cancel function), a tenth of
// the checks' memory, for the attempts on workers alone, whose checkers
// wait on Done; those get server.ctx, made when the first one runs.
type serverCanceller struct {
	run  context.Context // Run's, done when it ends
	gone atomic.Bool     // the server was removed
}

func (c *serverCanceller) Err() error {
	if c.gone.Load() {
		return context.Canceled
	}
	return c.run.Err()
}

// runInline begins up to max due attempts of inline checkers on Run's
// goroutine, up to the first attempt that is not one. It reports how many
// attempts it began.
func (s *Scheduler) runInline(max int) int {
	ran := 0
	for ran < max {
		s.mu.Lock()
		now := s.clock.Now()
		s.popDue(now)
		s.dropRemoved()
		if len(s.ready) == 0 || s.poller == nil {
			s.mu.Unlock()
			return ran
		}
		e := s.ready[0]
		if !runsInline(e) {
			s.mu.Unlock()
			return ran
		}
		ic := e.check.Checker.(inlineChecker)
		s.ready = s.ready[1:]
		s.busy++
		e.start = now
		if e.done == nil {
			e.done = func(err error) {
				end := s.clock.Now()
				s.complete(result{e: e, err: err, start: e.start, end: end, took: end.Sub(e.start)})
			}
		}
		p := s.poller
		s.mu.Unlock()

		ran++
		s.startInline(ic, p, e, s.realTime(now).Add(e.check.Timing.timeout()))
	}
	return ran
}

// startInline begins e's attempt. A panic in it fails the attempt, as if
// the checker had reported it, rather than ending Run: left without a
// verdict, the entry would never be due again and its server would keep
// its state for good.
func (s *Scheduler) startInline(ic inlineChecker, p *poller, e *entry, deadline time.Time) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		err := s.contained("check attempt", v)
		s.mu.Lock()
		pending := e.inflight
		s.mu.Unlock()
		if pending {
			e.done(err)
		}
	}()
	if s.testPanic != nil {
		s.testPanic("inline")
	}
	if e.urls != nil {
		ic.(stepChecker).startStep(p, &e.srv.poll, deadline, e.urls.it, e.done)
		return
	}
	ic.start(p, &e.srv.poll, deadline, e.done)
}

// contained counts and logs a panic recovered in what, and returns it as
// the error of what.
func (s *Scheduler) contained(what string, v any) error {
	s.panics.Add(1)
	s.log.Errorf("%s: recovered from panic: %v\n%s", what, v, debug.Stack())
	return fmt.Errorf("%s: panic: %v", what, v)
}

// Panics returns the number of panics contained in check attempts and in
// Options.Observe since the Scheduler was created. Each was logged at
// error level with its stack; an attempt that panicked counted as a
// failed attempt, and the checks went on.
func (s *Scheduler) Panics() uint64 { return s.panics.Load() }

// workerContext makes sv's context for its attempts on workers, if it
// has none yet: done once sv is removed or Run ends. s.mu is held.
func (s *Scheduler) workerContext(sv *server) {
	if sv.ctx != nil {
		return
	}
	sv.ctx, sv.cancel = context.WithCancel(s.runCtx)
	if sv.removed {
		sv.cancel()
	}
}

// runsInline reports whether runInline begins e's attempts.
func runsInline(e *entry) bool {
	ic, ok := e.check.Checker.(inlineChecker)
	return ok && ic.inline()
}

// complete applies an attempt's result on the worker that ran it, rather
// than waking Run for each one, and wakes Run only when it has something
// to do: an entry due before the one its timer waits for, an event to
// deliver, or (for tests) an idle state to report. An attempt whose server
// was removed, or cut short by the end of Run, is dropped; Run's shutdown
// schedules it again for the next Run.
func (s *Scheduler) complete(r result) {
	if s.apply(r) {
		s.poke()
	}
}

// apply is complete under s.mu; it reports whether to wake Run. A panic
// in it, a bug of the Scheduler's own, must neither leave s.mu held nor
// leave the entry without a next attempt, which would keep its server in
// its state for good: it is contained, and the entry is due again after
// delay_loop.
func (s *Scheduler) apply(r result) (wake bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !r.e.inflight {
		// The attempt panicked and was completed in its place.
		return false
	}
	r.e.inflight = false
	s.busy--
	defer func() {
		if v := recover(); v != nil {
			s.contained("applying a check attempt", v)
			if e := r.e; e.index < 0 && !e.srv.removed {
				s.schedule(e, s.clock.Now().Add(e.check.Timing.delayLoop()))
			}
			wake = true
		}
	}()
	// Removal and the end of Run are what cancel a server's context:
	// the flags say so without taking the context's lock.
	if !r.e.srv.removed && !s.ending {
		if s.testPanic != nil {
			s.testPanic("apply")
		}
		s.observeAttempt(r, s.finish(r))
	}
	return r.e.index == 0 || len(s.queue) > 0 || (s.busy <= 0 && s.onIdle != nil)
}

// A deadlineChecker takes its timeout as a deadline apart from its
// context, which then only cancels it. The Scheduler runs such a checker
// without a context and timer of its own per attempt: at thousands of
// checks a second they cost more than a TCP_CHECK's system calls.
type deadlineChecker interface {
	checkBy(ctx context.Context, deadline time.Time) error
}

// attempt runs one check under its timeout; it runs on a worker and reads
// only what does not change after Add.
func (s *Scheduler) attempt(e *entry) (r result) {
	r.e = e
	r.start = s.clock.Now()
	defer func() {
		if v := recover(); v != nil {
			r.err = s.contained("check attempt", v)
			r.delta, r.deltaChanged = 0, false
			r.end = s.clock.Now()
			r.took = r.end.Sub(r.start)
		}
	}()
	if s.testPanic != nil {
		s.testPanic("worker")
	}
	switch c := e.check.Checker.(type) {
	case stepChecker:
		if e.urls != nil {
			r.err = c.checkStepBy(e.srv.ctx, s.realTime(r.start).Add(e.check.Timing.timeout()), e.urls.it)
			break
		}
		ctx, cancel := context.WithTimeout(e.srv.ctx, e.check.Timing.timeout())
		r.err = e.check.Checker.Check(ctx)
		cancel()
	case deadlineChecker:
		r.err = c.checkBy(e.srv.ctx, s.realTime(r.start).Add(e.check.Timing.timeout()))
	case WeightChecker:
		ctx, cancel := context.WithTimeout(e.srv.ctx, e.check.Timing.timeout())
		r.delta, r.deltaChanged, r.err = c.CheckWeight(ctx, e.srv.weight)
		cancel()
	default:
		ctx, cancel := context.WithTimeout(e.srv.ctx, e.check.Timing.timeout())
		r.err = c.Check(ctx)
		cancel()
	}
	r.end = s.clock.Now()
	r.took = r.end.Sub(r.start)
	return r
}

// realTime is now if the Scheduler's Clock is the system's, and the
// system's time otherwise: deadlines are for real I/O. Under emulation a
// clock read costs a system call, so a check reads the clock twice, when
// it begins and when it ends.
func (s *Scheduler) realTime(now time.Time) time.Time {
	if _, ok := s.clock.(SystemClock); ok {
		return now
	}
	return time.Now()
}

// A verdict is what finish made of an attempt.
type verdict struct {
	changed, serverChanged, serverUp bool
}

// observeAttempt reports an attempt that finish applied to
// Options.Observe. s.mu is held.
func (s *Scheduler) observeAttempt(r result, v verdict) {
	if s.observe == nil || r.e.srv.removed {
		return
	}
	// A panicking observer must not leave s.mu held, nor the attempt
	// unreported: its verdict is already applied.
	defer func() {
		if v := recover(); v != nil {
			s.contained("observing a check attempt", v)
		}
	}()
	s.observe(Attempt{
		Server:        r.e.srv.name,
		Checker:       r.e.check.Name,
		Start:         r.start,
		Duration:      r.took,
		Err:           r.err,
		Changed:       v.changed,
		Up:            r.e.state.up,
		ServerChanged: v.serverChanged,
		ServerUp:      v.serverUp,
	})
}

// finish applies an attempt's result and schedules the next attempt. s.mu
// is held.
func (s *Scheduler) finish(r result) verdict {
	e, sv := r.e, r.e.srv
	if sv.removed {
		return verdict{serverUp: sv.up}
	}
	ok := r.err == nil
	retries, firstRun, wasUp := e.state.retryIt, !e.state.hasRun, e.state.up
	if firstRun {
		retries = 0
	}
	var changed, loop, upLog, downLog bool
	wait := waitRetry
	if e.urls != nil {
		if ok && !wasUp {
			// check_http.c logs each url that passes while the
			// checker is down.
			if h, isHTTP := e.check.Checker.(*HTTPGet); isHTTP {
				s.log.WithFields(logrus.Fields{"server": sv.name, "checker": e.check.Name}).Info(h.URLs[e.urls.it].successMessage(sv.name))
			}
		}
		changed, upLog, downLog, wait = e.urls.observe(&e.state, ok)
		loop = wait != waitRetry
		// keepalived counts the retries of a url as spent at its
		// verdict, before the first one too.
		retries = e.check.Timing.Retry
	} else {
		changed, loop = e.state.observe(ok)
		upLog = ok && (changed || firstRun)
		downLog = !ok && (changed || (firstRun && loop))
		if loop {
			wait = waitLoop
		}
	}
	if r.deltaChanged {
		e.delta = r.delta
	}
	// The fields are built only for an attempt that logs: most attempts
	// confirm a state and log nothing, and at thousands of checks a
	// second the fields would cost more than the check's bookkeeping.
	log := func() logrus.FieldLogger {
		return s.log.WithFields(logrus.Fields{"server": sv.name, "checker": e.check.Name})
	}
	if !ok && e.check.LogAllFailures {
		if line, ok := failureLine(e.check.Name, sv.name, r.err, wasUp, !firstRun); ok {
			log().WithError(r.err).Info(line)
		}
	}
	var reason string
	// Like keepalived, the first verdict is logged even when it confirms
	// the state the checker started in.
	switch {
	case upLog:
		reason = e.check.Name + " succeeded"
		if w, ok := e.check.Checker.(stateWorder); ok {
			log().Info(w.stateMessage(sv.name, true))
		} else {
			log().Info(upMessage(e.check.Name, sv.name))
		}
	case downLog:
		reason = fmt.Sprintf("%s failed: %v", e.check.Name, r.err)
		if w, ok := e.check.Checker.(stateWorder); ok {
			log().Info(w.stateMessage(sv.name, false))
		} else {
			log().WithError(r.err).Info(downMessage(e.check.Name, sv.name, retries))
		}
	case !ok:
		// A BFD_CHECK reads its session every BFDPollInterval: it has
		// no attempts to tell of, only the changes logged above, as
		// keepalived's, which hears of each change, logs them.
		if _, bfd := e.check.Checker.(*BFDCheck); s.debug() && !bfd {
			log().WithError(r.err).Debugf("%s on service %s failed, retry %d of %d.", e.check.Name, sv.name, e.state.retryIt, e.check.Timing.Retry)
		}
	case r.deltaChanged:
		reason = e.check.Name + " set the weight"
	}

	now := r.end
	if now.IsZero() {
		now = s.clock.Now()
	}
	// A retry waits delay_before_retry after the failure, as
	// keepalived's does; the loop makes up for a late start instead.
	delay := e.check.Timing.DelayBeforeRetry
	switch wait {
	case waitNone:
		delay = 0
	case waitFailed:
		delay = max(delay, e.check.Timing.delayLoop())
	case waitLoop:
		delay = e.check.Timing.delayLoop() - e.late
		if s.jitter > 0 {
			j := int64(float64(e.check.Timing.delayLoop()) * s.jitter)
			if j > 0 {
				delay += time.Duration(s.rand.Int64N(2*j+1) - j)
			}
		}
	}
	s.schedule(e, now.Add(delay))

	up, weight := true, sv.weight
	for _, x := range sv.entries {
		up = up && x.state.up
		weight += x.delta
	}
	// An alpha checker starts down, so its first verdict changes nothing
	// when it fails; keepalived notifies it nonetheless.
	// HTTP_GET and SSL_GET do not: their epilog reports a verdict
	// only for a checker that was up or had not run, and timeout_epilog
	// has marked it as run by then.
	confirmed := firstRun && loop && !ok && !changed && e.check.Timing.Alpha && e.urls == nil
	v := verdict{changed: changed, serverChanged: up != sv.up, serverUp: up}
	if up == sv.up && weight == sv.cur && !confirmed {
		return v
	}
	sv.up, sv.cur = up, weight
	s.enqueue(Event{Server: sv.name, Up: up, Weight: weight, Reason: reason, Time: now, Confirmed: confirmed})
	return v
}

// queueSlack is how many events beyond two per server the queue holds
// before it is compacted.
const queueSlack = 64

// enqueue queues ev for delivery. While no one takes the events (the
// consumer's loop stopped, or is far behind), the queue would grow with
// every flap of every server: beyond two events per server it is
// compacted to the newest event of each server, which says all of its
// state. Only the head stays as it is, since Run may be delivering it.
// s.mu is held.
func (s *Scheduler) enqueue(ev Event) {
	s.queue = append(s.queue, ev)
	if len(s.queue) <= 2*len(s.servers)+queueSlack {
		return
	}
	last := make(map[string]int, len(s.servers))
	for i, e := range s.queue[1:] {
		last[e.Server] = i + 1
	}
	out := s.queue[:1]
	for i, e := range s.queue[1:] {
		if last[e.Server] == i+1 && s.servers[e.Server] != nil {
			out = append(out, e)
		}
	}
	clear(s.queue[len(out):])
	s.queue = out
}

// debug tells whether the logger keeps debug messages; a logger that
// cannot tell is assumed to.
func (s *Scheduler) debug() bool {
	switch l := s.log.(type) {
	case *logrus.Logger:
		return l.IsLevelEnabled(logrus.DebugLevel)
	case *logrus.Entry:
		return l.Logger.IsLevelEnabled(logrus.DebugLevel)
	}
	return true
}

// A stateWorder is a checker that words its changes of state itself,
// where keepalived's checker of its kind has a message of its own.
type stateWorder interface {
	stateMessage(server string, up bool) string
}

// upMessage words a checker coming up as keepalived logs it.
func upMessage(kind, server string) string {
	switch kind {
	case "TCP_CHECK":
		return fmt.Sprintf("TCP connection to %s success.", server)
	case "HTTP_GET", "SSL_GET":
		return fmt.Sprintf("Remote Web server %s succeed on service.", server)
	}
	return fmt.Sprintf("%s on service %s succeed.", kind, server)
}

// downMessage words a checker going down after retries failed retries as
// keepalived logs it.
func downMessage(kind, server string, retries int) string {
	if kind == "HTTP_GET" || kind == "SSL_GET" {
		kind = "HTTP_CHECK"
	}
	if retries > 0 {
		return fmt.Sprintf("%s on service %s failed after %d retries.", kind, server, retries)
	}
	return fmt.Sprintf("%s on service %s failed.", kind, server)
}
