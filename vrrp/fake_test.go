package vrrp

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// fakeClock runs timers only when the test advances it, each at its own
// instant and in deadline order, so state machines run deterministically.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	seq     int
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := !t.stopped
	c.seq++
	t.at, t.seq, t.stopped = c.now.Add(d), c.seq, false
	return was
}

// Advance moves time forward by d, running every timer that falls due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if t.stopped || t.at.After(end) {
				continue
			}
			if next == nil || t.at.Before(next.at) || (t.at.Equal(next.at) && t.seq < next.seq) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.stopped = true
		c.now = next.at
		c.mu.Unlock()
		next.f()
	}
}

// fakeNet records what an instance does to the world, and delivers its
// adverts over a fakeWire when it has one.
type fakeNet struct {
	src     netip.Addr
	wire    *fakeWire
	adverts []Advertisement
	sends   []time.Time
	clock   Clock
	vipsUp  bool
	added   int
	removed int
	garps   []int
	addErr  error // what AddAddresses returns, the addresses added all the same
}

func (n *fakeNet) Advertise(a *Advertisement) error {
	n.adverts = append(n.adverts, *a)
	n.sends = append(n.sends, n.clock.Now())
	if n.wire != nil {
		n.wire.send(n, a)
	}
	return nil
}

func (n *fakeNet) AddAddresses() error {
	n.vipsUp = true
	n.added++
	return n.addErr
}

func (n *fakeNet) RemoveAddresses() error {
	n.vipsUp = false
	n.removed++
	return nil
}

func (n *fakeNet) Announce(rounds int) error {
	n.garps = append(n.garps, rounds)
	return nil
}

func (n *fakeNet) last() Advertisement {
	if len(n.adverts) == 0 {
		return Advertisement{}
	}
	return n.adverts[len(n.adverts)-1]
}

// fakeWire is a multicast segment: every advert reaches every other
// member a millisecond later, through the clock, so that no instance is
// called while another holds its lock.
type fakeWire struct {
	clock   *fakeClock
	members map[*fakeNet]*Instance
	down    map[*fakeNet]bool
}

func (w *fakeWire) send(from *fakeNet, a *Advertisement) {
	if w.down[from] {
		return
	}
	b, err := a.Marshal(from.src, group4)
	if err != nil {
		panic(err)
	}
	for n, inst := range w.members {
		if n == from || w.down[n] {
			continue
		}
		w.clock.AfterFunc(time.Millisecond, func() { inst.Receive(b, from.src, group4, TTL) })
	}
}

func testLogger() (*logrus.Entry, *logtest.Hook) {
	l, hook := logtest.NewNullLogger()
	return logrus.NewEntry(l), hook
}

// newTestInstance starts an instance with cfg on a fake clock and network.
func newTestInstance(t *testing.T, cfg Config) (*Instance, *fakeClock, *fakeNet, *logtest.Hook) {
	t.Helper()
	c := newFakeClock()
	n := &fakeNet{src: cfg.Primary, clock: c}
	log, hook := testLogger()
	i, err := NewInstance(cfg, n, c, log)
	if err != nil {
		t.Fatalf("NewInstance: %v", err)
	}
	if err := i.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return i, c, n, hook
}

func logged(hook *logtest.Hook, msg string) int {
	n := 0
	for _, e := range hook.AllEntries() {
		if e.Message == msg {
			n++
		}
	}
	return n
}

func messages(hook *logtest.Hook) []string {
	var out []string
	for _, e := range hook.AllEntries() {
		out = append(out, e.Message)
	}
	return out
}
