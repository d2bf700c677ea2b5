package lvs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// fakeKernel is an in-memory IPVS table.
type fakeKernel struct {
	mu       sync.Mutex
	services map[string]*ipvs.Service
	ops      int

	// clock, when set, advances by dumpCost at each dump of the
	// services, as a large table takes time to read back.
	clock    *manualClock
	dumpCost time.Duration
}

func newFakeKernel() *fakeKernel { return &fakeKernel{services: make(map[string]*ipvs.Service)} }

func (k *fakeKernel) Services() ([]ipvs.Service, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.clock != nil {
		k.clock.advance(k.dumpCost)
	}
	var out []ipvs.Service
	for _, s := range k.services {
		h := *s
		h.Destinations = nil
		out = append(out, h)
	}
	return out, nil
}

func (k *fakeKernel) Destinations(s ipvs.Service) ([]ipvs.Destination, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ks, ok := k.services[s.String()]
	if !ok {
		return nil, syscall.ESRCH
	}
	return slices.Clone(ks.Destinations), nil
}

func (k *fakeKernel) NewService(s ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ops++
	if _, ok := k.services[s.String()]; ok {
		return syscall.EEXIST
	}
	s.Destinations = nil
	k.services[s.String()] = &s
	return nil
}

func (k *fakeKernel) UpdateService(s ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ops++
	ks, ok := k.services[s.String()]
	if !ok {
		return syscall.ESRCH
	}
	s.Destinations = ks.Destinations
	k.services[s.String()] = &s
	return nil
}

func (k *fakeKernel) DelService(s ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ops++
	if _, ok := k.services[s.String()]; !ok {
		return syscall.ESRCH
	}
	delete(k.services, s.String())
	return nil
}

func (k *fakeKernel) NewDestination(s ipvs.Service, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ops++
	ks, ok := k.services[s.String()]
	if !ok {
		return syscall.ESRCH
	}
	for _, x := range ks.Destinations {
		if x.Addr == d.Addr {
			return syscall.EEXIST
		}
	}
	ks.Destinations = append(ks.Destinations, d)
	return nil
}

func (k *fakeKernel) UpdateDestination(s ipvs.Service, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ops++
	ks, ok := k.services[s.String()]
	if !ok {
		return syscall.ESRCH
	}
	for i := range ks.Destinations {
		if ks.Destinations[i].Addr == d.Addr {
			ks.Destinations[i] = d
			return nil
		}
	}
	return syscall.ENOENT
}

func (k *fakeKernel) DelDestination(s ipvs.Service, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ops++
	ks, ok := k.services[s.String()]
	if !ok {
		return syscall.ESRCH
	}
	n := len(ks.Destinations)
	ks.Destinations = slices.DeleteFunc(ks.Destinations, func(x ipvs.Destination) bool { return x.Addr == d.Addr })
	if len(ks.Destinations) == n {
		return syscall.ENOENT
	}
	return nil
}

func (k *fakeKernel) Flush() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.services)
	return nil
}

func (k *fakeKernel) Timeouts() (ipvs.Timeouts, error) { return ipvs.Timeouts{}, nil }
func (k *fakeKernel) SetTimeouts(ipvs.Timeouts) error  { return nil }

// lines is the table as saveLines formats it.
func (k *fakeKernel) lines() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var ss []ipvs.Service
	for _, s := range k.services {
		ss = append(ss, *s)
	}
	return saveLines(ss)
}

func (k *fakeKernel) opCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ops
}

// fakeChecks records the servers given to it and delivers the events a
// test sends.
type fakeChecks struct {
	events chan check.Event
	// active counts the Runs under way, resends the calls of Resend.
	active, resends atomic.Int32

	mu      sync.Mutex
	servers map[string]check.Server
	added   []string
	removed []string
}

func newFakeChecks() *fakeChecks {
	return &fakeChecks{events: make(chan check.Event), servers: make(map[string]check.Server)}
}

func (f *fakeChecks) Add(s check.Server) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.servers[s.Name]; ok {
		return errors.New("already checked")
	}
	f.servers[s.Name] = s
	f.added = append(f.added, s.Name)
	return nil
}

func (f *fakeChecks) Remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.servers[name]; ok {
		delete(f.servers, name)
		f.removed = append(f.removed, name)
	}
}

func (f *fakeChecks) Events() <-chan check.Event { return f.events }

func (f *fakeChecks) Resend() { f.resends.Add(1) }

func (f *fakeChecks) Run(ctx context.Context) error {
	f.active.Add(1)
	defer f.active.Add(-1)
	<-ctx.Done()
	return ctx.Err()
}

// churn returns and forgets the servers added and removed so far.
func (f *fakeChecks) churn() (added, removed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	added, removed = f.added, f.removed
	f.added, f.removed = nil, nil
	return added, removed
}

// recorder is a Notifier that records what it is told, as FIFO lines
// followed by the script that would run.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(line string, s *notify.Script, stopping bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s != nil {
		line += " script=" + s.Args[len(s.Args)-1]
	}
	if stopping {
		line += " stopping"
	}
	r.lines = append(r.lines, line)
}

func (r *recorder) RealServerState(rs *notify.RealServer, vs notify.VirtualServer, up, stopping bool) {
	s := rs.Down
	if up {
		s = rs.Up
	}
	l := notify.RealServerLine(rs.Addr, vs, up)
	r.add(l[:len(l)-1], s, stopping)
}

func (r *recorder) QuorumState(q *notify.Quorum, vs notify.VirtualServer, up, stopping bool) {
	s := q.Down
	if up {
		s = q.Up
	}
	l := notify.VirtualServerLine(vs, up)
	r.add(l[:len(l)-1], s, stopping)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.lines
	r.lines = nil
	return out
}

// manualClock is a check.Clock whose timers fire when the test says.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	clock *manualClock
	c     chan time.Time
	d     time.Duration // guarded by clock.mu
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) check.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{clock: c, c: make(chan time.Time, 1), d: d}
	c.timers = append(c.timers, t)
	return t
}

func (t *manualTimer) C() <-chan time.Time { return t.c }
func (t *manualTimer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.d = d
	return true
}
func (t *manualTimer) Stop() bool { return true }

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fire fires the only timer made so far and returns its period.
func (c *manualClock) fire() (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) != 1 {
		return 0, fmt.Errorf("%d timers, want 1", len(c.timers))
	}
	c.now = c.now.Add(c.timers[0].d)
	c.timers[0].c <- c.now
	return c.timers[0].d, nil
}
