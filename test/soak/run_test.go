package soak

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The schedule and the observation.
const (
	flapEvery   = 2 * time.Second // a batch of real servers goes down this often
	flapBatch   = 3               // real servers per batch
	pollEvery   = 2 * time.Second
	sampleEvery = 10 * time.Second
	// settle bounds the start: both daemons up, the election over (both
	// start as BACKUP: 3 x advert_int and skew, twice on a slow machine)
	// and every real server checked once (warmup defaults to delay_loop).
	settle = 90 * time.Second
	// masterDown is a backup's master_down_interval at priority 100.
	masterDown = 3*advertInt + advertInt*(256-100)/256
)

// The tolerances. Memory and goroutines are fitted by least squares over
// the second half of the run, after the heap and the worker pool have
// grown to their working size; descriptors must stay within a band.
const (
	// rssSlopeMax: a leak of a few hundred bytes per check (about 400
	// checks a second) would exceed it within minutes. The Go heap's
	// sawtooth moves RSS by about a MiB between readings: a line through
	// 2.5 minutes of them tilted by up to 0.7 MiB a minute in flat
	// five-minute runs (a GC cycle that runs long at the end of the
	// window), by under 0.05 in 20-minute runs; make test runs six
	// minutes. The limit applies to the Theil-Sen slope (the median of
	// the slopes between pairs of readings), which a burst at either end
	// does not move; the least-squares slope is reported beside it.
	rssSlopeMax = 1.0 // MiB per minute
	// goroutineSlopeMax: one goroutine leaked per flap (more than 80 a
	// minute) or per check would exceed it by far. The count sits on a
	// floor (the worker pool and the loops) with bursts of a few dozen
	// when checks are in flight at the scrape: a burst at one end of the
	// window tilts a least-squares line by several per minute, so the
	// limit applies to the Theil-Sen slope, which bursts do not move;
	// the least-squares slope is reported beside it.
	goroutineSlopeMax = 1.0 // per minute
	// fdFloorGrowthMax: the fewest descriptors seen in the last quarter
	// of the run may exceed the fewest seen in the second quarter by this
	// much. The floor is the daemon's own descriptors (sockets, netlink,
	// epoll, logs), reached whenever few checks are in flight; a leak
	// raises it.
	fdFloorGrowthMax = 4
)

// fdBand bounds the spread of descriptors over the second half: each check
// attempt in flight holds one socket, and the scheduler runs at most 64
// attempts per CPU at once (check.Options.Workers); the metrics scrape
// and status requests hold a few more.
var fdBand = 64*runtime.NumCPU() + 16

// A change is one listener going up or down, as the schedule says.
type change struct {
	at time.Duration // from the start of the run
	rs int
	up bool
}

// schedule draws the flaps of a run of length dur from seed: every
// flapEvery, flapBatch real servers that have been up for minStable go
// down for tm.holdMin to tm.holdMax. All are up again tm.holdMin before
// the end, for the last restarts to be seen.
func schedule(seed uint64, dur time.Duration, tm timing) []change {
	holdMin, holdMax, quietTail := tm.holdMin(), tm.holdMax(), tm.holdMin()
	minStable := holdMin // a restarted real server stays up at least this long
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	free := make([]time.Duration, realCount) // when each may go down again
	var out []change
	for at := 5 * time.Second; ; at += flapEvery {
		if at+holdMax > dur-quietTail {
			break
		}
		var eligible []int
		for i, f := range free {
			if f <= at {
				eligible = append(eligible, i)
			}
		}
		for range min(flapBatch, len(eligible)) {
			k := rng.IntN(len(eligible))
			i := eligible[k]
			eligible = slices.Delete(eligible, k, k+1)
			hold := holdMin + time.Duration(rng.Int64N(int64(holdMax-holdMin)))
			hold = hold.Truncate(100 * time.Millisecond)
			out = append(out, change{at: at, rs: i, up: false}, change{at: at + hold, rs: i, up: true})
			free[i] = at + hold + minStable
		}
	}
	slices.SortStableFunc(out, func(a, b change) int { return int(a.at - b.at) })
	return out
}

// An applied change is a change with the time it was made.
type applied struct {
	change
	when time.Time
}

// A poll is one reading of a daemon's status.
type poll struct {
	start, end time.Time
	alive      []bool // by real server index
	rssKiB     int64  // the daemon's RSS when the poll began
	missing    int    // real servers the status did not list
	badStates  []string
}

// A sample is one reading of a daemon's resources.
type sample struct {
	at          time.Duration
	rssKiB      int64
	fds         int
	goroutines  float64
	transitions float64
	cpuTicks    int64
}

// A stall is a time the test's own clock ticks came late: the machine (or
// the emulator under it) did not run the test, and likely not the daemons.
type stall struct {
	at  time.Time
	gap time.Duration
}

// stallTick and stallMin: a 100 ms ticker late by a second or more.
const (
	stallTick = 100 * time.Millisecond
	stallMin  = time.Second
)

// observer collects what the test saw, from several goroutines.
type observer struct {
	mu      sync.Mutex
	stalls  []stall
	changes []applied
	polls   map[string][]poll
	samples map[string][]sample
	errs    []string
}

func (o *observer) errorf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.errs) < 50 {
		o.errs = append(o.errs, fmt.Sprintf(format, args...))
	}
}

// soak runs the test with the daemon binary bin.
func soak(t *testing.T, bin string, dur time.Duration, seed uint64, tm timing) {
	t.Logf("soak: %d VRRP instances, %d real servers (%s), %s of flaps, seed %d (SOAK_SEED=%d SOAK_DURATION=%s SOAK_DELAY_LOOP=%d,%d repeats it)",
		instances, realCount, tm, dur, seed, seed, dur, tm.delays[0], tm.delays[1])
	lab := nettest.NewLab(t)
	hostA := lab.AddHost("a", "10.0.0.1/16")
	hostB := lab.AddHost("b", "10.0.0.2/16")
	addrs := []string{"10.0.0.10/16"}
	for i := 1; i <= rsAddrs; i++ {
		addrs = append(addrs, fmt.Sprintf("10.0.1.%d/16", i))
	}
	hostRS := lab.AddHost("rs", addrs...)

	rs := realServers(tm)
	byName := map[string]int{}
	for _, r := range rs {
		byName[r.name] = r.index
	}
	ls := newListeners(hostRS, rs)
	t.Cleanup(ls.closeAll)
	all := make([]int, len(rs))
	for i := range all {
		all[i] = i
	}
	if err := ls.start(all...); err != nil {
		t.Fatal(err)
	}

	// The directors start one after the other, as a pair is brought up:
	// a takes every instance, then b joins as backup. Started at once,
	// both would become master of every instance and hand 50 of them
	// over at the same moment, a burst an emulated guest may not keep up
	// with; the soak is about what follows.
	want := map[string]string{"a": "MASTER", "b": "BACKUP"}
	var daemons []*daemon
	fail := func(format string, args ...any) {
		t.Helper()
		for _, d := range daemons {
			t.Log(d.diagnose())
		}
		t.Fatalf(format, args...)
	}
	for _, c := range []struct {
		name     string
		host     *nettest.Host
		priority int
	}{{"a", hostA, 150}, {"b", hostB, 100}} {
		daemons = append(daemons, startDaemon(t, bin, c.name, c.host, keepalivedConf(c.name, c.priority, rs, tm)))
		var why string
		took, ok := nettest.Eventually(settle, func() bool {
			var ok bool
			ok, why = settled(daemons, byName, want)
			if !ok {
				time.Sleep(500 * time.Millisecond)
			}
			return ok
		})
		if !ok {
			fail("%s not settled within %s: %s", c.name, settle, why)
		}
		t.Logf("%s settled in %s: %s of %d instances, %d real servers alive", c.name, took.Round(100*time.Millisecond), want[c.name], instances, realCount)
	}
	// The election is over when no transition happened for quiet: a
	// backup that joins in BACKUP times out after master_down_interval
	// if the master's adverts do not reach it, and that must not count
	// as a soak failure but as the election's.
	transitions := func() (map[string]float64, error) {
		out := map[string]float64{}
		for _, d := range daemons {
			m, err := d.scrape()
			if err != nil {
				return nil, err
			}
			tr, ok := sumMetric(m, "gokeepalived_vrrp_transitions_total")
			if !ok {
				return nil, fmt.Errorf("%s exposes no gokeepalived_vrrp_transitions_total", d.name)
			}
			if _, ok := m["go_goroutines"]; !ok {
				return nil, fmt.Errorf("%s exposes no go_goroutines", d.name)
			}
			out[d.name] = tr
		}
		return out, nil
	}
	const quiet = 3 * masterDown
	baseline, err := transitions()
	if err != nil {
		fail("%v", err)
	}
	electionStart, quietSince := time.Now(), time.Now()
	for time.Since(quietSince) < quiet {
		if time.Since(electionStart) > settle {
			fail("the election did not end within %s: transitions %v", settle, baseline)
		}
		time.Sleep(time.Second)
		now, err := transitions()
		if err != nil {
			fail("%v", err)
		}
		ok, why := settled(daemons, byName, want)
		if !maps.Equal(now, baseline) || !ok {
			baseline, quietSince = now, time.Now()
			if !ok {
				t.Logf("election: %s", why)
			}
		}
	}
	// Each instance of a goes INIT, BACKUP, MASTER; of b, INIT, BACKUP.
	t.Logf("election over after %s: %v transitions (%d and %d without a missed advert)",
		time.Since(electionStart).Round(time.Second), baseline, 2*instances, instances)

	obs := &observer{polls: map[string][]poll{}, samples: map[string][]sample{}}
	plan := schedule(seed, dur, tm)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { sampleLoop(ctx, start, daemons, obs) })
	wg.Go(func() { pollLoop(ctx, daemons, byName, want, obs) })
	wg.Go(func() { watchStalls(ctx, obs) })
	for _, d := range daemons {
		// A daemon that dies ends the run at once.
		wg.Go(func() {
			select {
			case <-d.done:
				obs.errorf("%s exited during the run after %s: %v", d.name, time.Since(start).Round(time.Second), d.err)
				cancel()
			case <-ctx.Done():
			}
		})
	}
	flap(ctx, start, plan, ls, obs)
	// The tail: every listener is up again; the polls must see it.
	if wait := time.Until(start.Add(dur)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	cancel()
	wg.Wait()
	end := time.Since(start)

	// Both must still run, and stop cleanly.
	for _, d := range daemons {
		if err := d.running(); err != nil {
			for _, e := range obs.errs {
				t.Error(e)
			}
			fail("%v", err)
		}
	}
	for _, d := range daemons {
		if err := d.stop(15 * time.Second); err != nil {
			t.Errorf("%v", err)
		}
	}

	r := evaluate(obs, rs, start, dur, end, baseline, tm.lag())
	t.Log("\n" + r.table())
	for _, d := range daemons {
		if n := d.logLines("panic"); n > 0 {
			t.Errorf("%s logged %d lines with \"panic\"", d.name, n)
		}
	}
	for _, e := range obs.errs {
		t.Errorf("%s", e)
	}
	for _, e := range r.failures() {
		t.Error(e)
	}
	if t.Failed() {
		for _, d := range daemons {
			t.Log(d.diagnose())
		}
	}
}

// settled reports whether every daemon runs, has its instances in the state
// wanted and calls every real server alive; if not, it says why.
func settled(daemons []*daemon, byName map[string]int, want map[string]string) (bool, string) {
	for _, d := range daemons {
		if err := d.running(); err != nil {
			return false, err.Error()
		}
		st, err := d.status()
		if err != nil {
			return false, err.Error()
		}
		p := readPoll(st, byName, want[d.name])
		if len(st.Instances) != instances || len(p.badStates) > 0 {
			return false, fmt.Sprintf("%s: %d instances, not yet %s: %v", d.name, len(st.Instances), want[d.name], first(p.badStates, 5))
		}
		if p.missing > 0 {
			return false, fmt.Sprintf("%s: %d real servers missing from status", d.name, p.missing)
		}
		if n := countFalse(p.alive); n > 0 {
			return false, fmt.Sprintf("%s: %d real servers not alive yet", d.name, n)
		}
	}
	return true, ""
}

// flap applies the plan until it is done or ctx ends.
func flap(ctx context.Context, start time.Time, plan []change, ls *listeners, obs *observer) {
	for _, c := range plan {
		if wait := time.Until(start.Add(c.at)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
		}
		var err error
		if c.up {
			err = ls.start(c.rs)
		} else {
			err = ls.stop(c.rs)
		}
		now := time.Now()
		if err != nil {
			obs.errorf("flap at %s: %v", c.at, err)
			continue
		}
		obs.mu.Lock()
		obs.changes = append(obs.changes, applied{change: c, when: now})
		obs.mu.Unlock()
	}
}

// watchStalls records when the test itself was not run for stallMin or
// more, so that a failure at that moment can be told from the daemon's.
func watchStalls(ctx context.Context, obs *observer) {
	tick := time.NewTicker(stallTick)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case now := <-tick.C:
			if gap := now.Sub(last); gap >= stallMin {
				obs.mu.Lock()
				obs.stalls = append(obs.stalls, stall{at: last, gap: gap})
				obs.mu.Unlock()
			}
			last = now
		case <-ctx.Done():
			return
		}
	}
}

// pollLoop reads both daemons' status every pollEvery.
func pollLoop(ctx context.Context, daemons []*daemon, byName map[string]int, want map[string]string, obs *observer) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		for _, d := range daemons {
			begin := time.Now()
			rss, err := procRSS(d.pid)
			if err != nil {
				if ctx.Err() == nil {
					obs.errorf("%v", err)
				}
				continue
			}
			st, err := d.status()
			if err != nil {
				if ctx.Err() == nil {
					obs.errorf("status of %s: %v", d.name, err)
				}
				continue
			}
			p := readPoll(st, byName, want[d.name])
			p.start, p.end, p.rssKiB = begin, time.Now(), rss
			obs.mu.Lock()
			obs.polls[d.name] = append(obs.polls[d.name], p)
			obs.mu.Unlock()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// readPoll turns a status into a poll: each real server's health by index,
// and the instances not in the state wanted.
func readPoll(st *control.Status, byName map[string]int, wantState string) poll {
	p := poll{alive: make([]bool, realCount)}
	seen := make([]bool, realCount)
	for _, vs := range st.VirtualServers {
		for _, r := range vs.RealServers {
			if i, ok := byName[r.Name]; ok {
				p.alive[i], seen[i] = r.Alive, true
			}
		}
	}
	p.missing = countFalse(seen)
	for _, in := range st.Instances {
		if in.State != wantState {
			p.badStates = append(p.badStates, in.Name+" "+in.State)
		}
	}
	return p
}

// sampleLoop reads each daemon's resources every sampleEvery.
func sampleLoop(ctx context.Context, start time.Time, daemons []*daemon, obs *observer) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		for _, d := range daemons {
			s, err := readSample(d)
			if err != nil {
				if ctx.Err() == nil {
					obs.errorf("sampling %s: %v", d.name, err)
				}
				continue
			}
			s.at = time.Since(start)
			obs.mu.Lock()
			obs.samples[d.name] = append(obs.samples[d.name], s)
			obs.mu.Unlock()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func readSample(d *daemon) (sample, error) {
	var s sample
	var err error
	if s.rssKiB, err = procRSS(d.pid); err != nil {
		return s, err
	}
	if s.fds, err = procFDs(d.pid); err != nil {
		return s, err
	}
	if s.cpuTicks, err = procCPU(d.pid); err != nil {
		return s, err
	}
	m, err := d.scrape()
	if err != nil {
		return s, err
	}
	var ok bool
	if s.goroutines, ok = m["go_goroutines"]; !ok {
		return s, fmt.Errorf("%s exposes no go_goroutines", d.name)
	}
	if s.transitions, ok = sumMetric(m, "gokeepalived_vrrp_transitions_total"); !ok {
		return s, fmt.Errorf("%s exposes no gokeepalived_vrrp_transitions_total", d.name)
	}
	return s, nil
}

func countFalse(b []bool) int {
	n := 0
	for _, v := range b {
		if !v {
			n++
		}
	}
	return n
}

func first(s []string, n int) []string {
	return s[:min(n, len(s))]
}

// A result is the verdict for each daemon.
type result struct {
	names         []string
	dur, end, lag time.Duration
	stalls        []stall
	daemons       map[string]*daemonResult
	applied       int
}

type daemonResult struct {
	samples        []sample
	rssSlope       float64 // MiB per minute, second half, Theil-Sen
	rssLSQ         float64 // the same, least squares
	goroutineSlope float64 // per minute, second half, Theil-Sen
	goroutineLSQ   float64 // the same, least squares
	fdMin, fdMax   int     // second half
	fdFloor2       int     // fewest descriptors in the second quarter
	fdFloor4       int     // and in the last
	rssReadings    int     // RSS readings fitted
	election       float64 // transitions until the election was over
	transitions    float64 // after the election
	seen           int     // flaps seen
	unseen         []string
	polls          int
	checked        int // real server readings compared with the listener
	stale          []string
	staleCount     int
	badStates      int
	badExample     string
	missing        int
	cpuPerMin      float64 // seconds of CPU per minute of run
}

// evaluate compares what the daemons said with what the listeners did.
func evaluate(obs *observer, rs []realServer, start time.Time, dur, end time.Duration, baseline map[string]float64, lag time.Duration) *result {
	obs.mu.Lock()
	defer obs.mu.Unlock()
	r := &result{names: []string{"a", "b"}, dur: dur, end: end, lag: lag, daemons: map[string]*daemonResult{}, applied: len(obs.changes), stalls: obs.stalls}
	// Each real server's changes, in order.
	hist := make([][]applied, len(rs))
	for _, c := range obs.changes {
		hist[c.rs] = append(hist[c.rs], c)
	}
	for _, name := range r.names {
		dr := &daemonResult{election: baseline[name]}
		r.daemons[name] = dr
		ss := obs.samples[name]
		dr.samples = ss
		// Memory is fitted on the polls' readings, five times as many as
		// the samples': the heap's sawtooth averages out.
		var xs, gs, rx, rss []float64
		dr.fdMin, dr.fdMax = -1, -1
		fdFloor := func(from, to time.Duration) int {
			m := -1
			for _, s := range ss {
				if s.at >= from && s.at < to && (m < 0 || s.fds < m) {
					m = s.fds
				}
			}
			return m
		}
		dr.fdFloor2, dr.fdFloor4 = fdFloor(end/4, end/2), fdFloor(3*end/4, end+time.Minute)
		for _, s := range ss {
			if s.at < end/2 {
				continue
			}
			xs = append(xs, s.at.Minutes())
			gs = append(gs, s.goroutines)
			if dr.fdMin < 0 || s.fds < dr.fdMin {
				dr.fdMin = s.fds
			}
			if s.fds > dr.fdMax {
				dr.fdMax = s.fds
			}
		}
		for _, p := range obs.polls[name] {
			if at := p.start.Sub(start); at >= end/2 {
				rx = append(rx, at.Minutes())
				rss = append(rss, float64(p.rssKiB)/1024)
			}
		}
		dr.rssReadings = len(rss)
		dr.rssSlope, dr.rssLSQ = theilSen(rx, rss), slope(rx, rss)
		dr.goroutineSlope, dr.goroutineLSQ = theilSen(xs, gs), slope(xs, gs)
		if len(ss) > 0 {
			last := ss[len(ss)-1]
			dr.transitions = last.transitions - baseline[name]
			if len(ss) > 1 && last.at > ss[0].at {
				dr.cpuPerMin = float64(last.cpuTicks-ss[0].cpuTicks) / 100 / (last.at - ss[0].at).Minutes()
			}
		}

		polls := obs.polls[name]
		dr.polls = len(polls)
		for _, p := range polls {
			dr.missing += p.missing
			if len(p.badStates) > 0 {
				dr.badStates++
				if dr.badExample == "" {
					dr.badExample = fmt.Sprintf("%s: %v", p.start.Format(time.TimeOnly), first(p.badStates, 5))
				}
			}
			for i := range rs {
				up, since, changedDuring := listenerAt(hist[i], p.start, p.end)
				if changedDuring || p.start.Sub(since) < lag {
					continue
				}
				dr.checked++
				if p.alive[i] != up {
					dr.staleCount++
					if len(dr.stale) < 10 {
						dr.stale = append(dr.stale, fmt.Sprintf("%s at %s: listener %s for %s, checker says alive=%v",
							rs[i].name, p.start.Format(time.TimeOnly), upWord(up), p.start.Sub(since).Round(time.Second), p.alive[i]))
					}
				}
			}
		}
		for i := range rs {
			for k, c := range hist[i] {
				until := time.Time{} // the end of the run
				if k+1 < len(hist[i]) {
					until = hist[i][k+1].when.Add(lag)
				}
				if seenIn(polls, i, c, until) {
					dr.seen++
				} else if len(dr.unseen) < 10 {
					dr.unseen = append(dr.unseen, fmt.Sprintf("%s %s at %s", rs[i].name, upWord(c.up), c.when.Format(time.TimeOnly)))
				}
			}
		}
	}
	return r
}

// listenerAt returns a listener's state at t, since when it has been in
// it (the zero time when it never changed) and whether it changed between
// t and u.
func listenerAt(h []applied, t, u time.Time) (up bool, since time.Time, changed bool) {
	up = true
	for _, c := range h {
		if c.when.After(t) {
			return up, since, !c.when.After(u)
		}
		up, since = c.up, c.when
	}
	return up, since, false
}

// seenIn reports whether a poll made after change c, and before until
// (zero: any time), shows real server i in c's state.
func seenIn(polls []poll, i int, c applied, until time.Time) bool {
	for _, p := range polls {
		if p.start.Before(c.when) {
			continue
		}
		if !until.IsZero() && p.start.After(until) {
			break
		}
		if p.alive[i] == c.up {
			return true
		}
	}
	return false
}

func upWord(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// failures lists what the run did wrong.
func (r *result) failures() []string {
	var out []string
	for _, name := range r.names {
		dr := r.daemons[name]
		if len(dr.samples) < 6 {
			out = append(out, fmt.Sprintf("%s: %d samples, too few to judge", name, len(dr.samples)))
			continue
		}
		if dr.rssSlope > rssSlopeMax {
			out = append(out, fmt.Sprintf("%s: RSS grows %.2f MiB/min over the second half (limit %.1f)", name, dr.rssSlope, rssSlopeMax))
		}
		if dr.goroutineSlope > goroutineSlopeMax {
			out = append(out, fmt.Sprintf("%s: goroutines grow %.2f/min over the second half (Theil-Sen; limit %.1f)", name, dr.goroutineSlope, goroutineSlopeMax))
		}
		if dr.fdMax-dr.fdMin > fdBand {
			out = append(out, fmt.Sprintf("%s: open descriptors range %d..%d over the second half (band %d)", name, dr.fdMin, dr.fdMax, fdBand))
		}
		if dr.fdFloor4-dr.fdFloor2 > fdFloorGrowthMax {
			out = append(out, fmt.Sprintf("%s: the fewest open descriptors grew from %d in the second quarter to %d in the last (limit +%d)", name, dr.fdFloor2, dr.fdFloor4, fdFloorGrowthMax))
		}
		if dr.transitions != 0 {
			out = append(out, fmt.Sprintf("%s: %.0f VRRP transitions after the election", name, dr.transitions))
		}
		if dr.badStates > 0 {
			out = append(out, fmt.Sprintf("%s: %d polls found instances out of their state, first %s", name, dr.badStates, dr.badExample))
		}
		if dr.missing > 0 {
			out = append(out, fmt.Sprintf("%s: real servers missing from status %d times", name, dr.missing))
		}
		if dr.seen != r.applied {
			out = append(out, fmt.Sprintf("%s: saw %d of %d flaps; unseen: %s", name, dr.seen, r.applied, strings.Join(dr.unseen, "; ")))
		}
		if dr.staleCount > 0 {
			out = append(out, fmt.Sprintf("%s: %d readings disagree with a listener stable for over %s: %s", name, dr.staleCount, r.lag, strings.Join(dr.stale, "; ")))
		}
		if dr.polls < int(r.dur/pollEvery)/2 {
			out = append(out, fmt.Sprintf("%s: only %d status polls answered", name, dr.polls))
		}
	}
	if r.applied == 0 {
		out = append(out, "no flaps applied")
	}
	if len(out) > 0 && len(r.stalls) > 0 {
		out = append(out, "the test itself was not run for a second or more "+r.stallList()+
			": a failure at those times may be the machine's, not the daemon's")
	}
	return out
}

// stallList describes the stalls, the longest first, at most ten.
func (r *result) stallList() string {
	ss := slices.Clone(r.stalls)
	slices.SortFunc(ss, func(a, b stall) int { return int(b.gap - a.gap) })
	var parts []string
	for _, s := range ss[:min(10, len(ss))] {
		parts = append(parts, fmt.Sprintf("%s at %s", s.gap.Round(100*time.Millisecond), s.at.Format(time.TimeOnly)))
	}
	return fmt.Sprintf("%d times (%s)", len(ss), strings.Join(parts, ", "))
}

// table is the report: every sample, then the verdicts.
func (r *result) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%8s", "t")
	for _, name := range r.names {
		fmt.Fprintf(&b, " | %s: %8s %5s %4s %5s %6s", name, "RSS MiB", "gor", "fds", "trans", "cpu s")
	}
	b.WriteString("\n")
	n := 0
	for _, name := range r.names {
		n = max(n, len(r.daemons[name].samples))
	}
	for i := range n {
		at := time.Duration(0)
		for _, name := range r.names {
			if ss := r.daemons[name].samples; i < len(ss) {
				at = ss[i].at
			}
		}
		fmt.Fprintf(&b, "%8s", at.Round(time.Second))
		for _, name := range r.names {
			ss := r.daemons[name].samples
			if i >= len(ss) {
				fmt.Fprintf(&b, " | %s: %8s %5s %4s %5s %6s", name, "-", "-", "-", "-", "-")
				continue
			}
			s := ss[i]
			fmt.Fprintf(&b, " | %s: %8.1f %5.0f %4d %5.0f %6.1f", name, float64(s.rssKiB)/1024, s.goroutines, s.fds, s.transitions, float64(s.cpuTicks)/100)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "run %s (flaps for %s), %d flaps applied (limits: RSS %.1f MiB/min, goroutines %.1f/min, fd band %d, fd floor +%d)\n",
		r.end.Round(time.Second), r.dur, r.applied, rssSlopeMax, goroutineSlopeMax, fdBand, fdFloorGrowthMax)
	if len(r.stalls) > 0 {
		fmt.Fprintf(&b, "stalls of the test (a 100 ms tick late by 1 s or more): %s\n", r.stallList())
	} else {
		b.WriteString("stalls of the test (a 100 ms tick late by 1 s or more): none\n")
	}
	for _, name := range r.names {
		dr := r.daemons[name]
		fmt.Fprintf(&b, "%s: samples %d, RSS slope %+.3f MiB/min (least squares %+.3f, %d readings), goroutine slope %+.2f/min (least squares %+.2f), fds %d..%d (floor %d -> %d), transitions in the election %.0f and after it %.0f, flaps seen %d/%d, polls %d (%d readings compared, %d stale), CPU %.2f s/min\n",
			name, len(dr.samples), dr.rssSlope, dr.rssLSQ, dr.rssReadings, dr.goroutineSlope, dr.goroutineLSQ, dr.fdMin, dr.fdMax, dr.fdFloor2, dr.fdFloor4, dr.election, dr.transitions, dr.seen, r.applied, dr.polls, dr.checked, dr.staleCount, dr.cpuPerMin)
	}
	return b.String()
}
