package bfd

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// logLines records a session's messages.
type logLines struct{ lines []string }

func (l *logLines) Infof(f string, a ...any)  { l.lines = append(l.lines, "I "+fmt.Sprintf(f, a...)) }
func (l *logLines) Warnf(f string, a ...any)  { l.lines = append(l.lines, "W "+fmt.Sprintf(f, a...)) }
func (l *logLines) Errorf(f string, a ...any) { l.lines = append(l.lines, "E "+fmt.Sprintf(f, a...)) }

// peer is a session under test with what it logged and reported.
type peer struct {
	s       *Session
	log     logLines
	changes []State
	sent    []*ControlPacket
}

// lab is two sessions joined by a lossless link without delay, on one
// fake clock. Jitter is always the least allowed, so times are exact.
type lab struct {
	clock *fakeClock
	a, b  *peer
	cut   bool // packets are lost
}

func testConfig(name string) Config {
	return Config{Name: name, DesiredMinTx: 10000, RequiredMinRx: 10000, IdleTx: 1000000, DetectMult: 3, TTL: 255}
}

func newPeer(clock *fakeClock, cfg Config, discr uint32) *peer {
	p := &peer{}
	p.s = NewSession(cfg, Options{
		Clock:         clock,
		Log:           &p.log,
		Discriminator: func() uint32 { discr++; return discr },
		Jitter:        func(lo, hi uint32) uint32 { return lo },
		Changed:       func(s State) { p.changes = append(p.changes, s) },
	})
	return p
}

func newLab(ca, cb Config) *lab {
	c := &fakeClock{now: time.Unix(1000, 0)}
	return &lab{clock: c, a: newPeer(c, ca, 100), b: newPeer(c, cb, 200)}
}

// send sends from's packet to to, and any reply it calls for.
func (l *lab) send(from, to *peer) {
	p := from.s.Packet()
	from.sent = append(from.sent, p)
	if l.cut {
		return
	}
	var q ControlPacket
	if err := q.Unmarshal(p.Marshal()); err != nil {
		panic(err)
	}
	if err := q.Validate(); err != nil {
		panic(err)
	}
	if to.s.Receive(&q) {
		l.send(to, from)
	}
}

// run advances the clock from timer to timer for d.
func (l *lab) run(d time.Duration) {
	end := l.clock.now.Add(d)
	for {
		next := end
		for _, p := range []*peer{l.a, l.b} {
			if t := p.s.Next(); !t.IsZero() && t.Before(next) {
				next = t
			}
		}
		if next.Equal(end) {
			l.clock.now = end
			return
		}
		l.clock.now = next
		for _, pair := range [][2]*peer{{l.a, l.b}, {l.b, l.a}} {
			if t := pair[0].s.Next(); !t.IsZero() && !t.After(l.clock.now) && pair[0].s.Tick() {
				l.send(pair[0], pair[1])
			}
		}
	}
}

func (l *lab) start() {
	if l.a.s.Start() {
		l.send(l.a, l.b)
	}
	if l.b.s.Start() {
		l.send(l.b, l.a)
	}
}

// TestSessionHandshake brings two sessions Up through Down, Init and Up
// (RFC 5880 section 6.8.6), then through the poll sequence to the fast
// interval, with keepalived's messages.
func TestSessionHandshake(t *testing.T) {
	l := newLab(testConfig("A"), testConfig("B"))
	l.start()
	// A started first: its Down took B to Init, B's Init took A Up.
	if l.a.s.State() != Up || l.b.s.State() != Init {
		t.Fatalf("after the first packets: A %s, B %s", l.a.s.State(), l.b.s.State())
	}
	l.run(time.Second)
	if !slices.Equal(l.a.changes, []State{Down, Up}) || !slices.Equal(l.b.changes, []State{Down, Up}) {
		t.Errorf("reported: A %v, B %v", l.a.changes, l.b.changes)
	}
	for _, p := range []*peer{l.a, l.b} {
		st := p.s.Status()
		if st.LocalDetect != 30000 || st.LocalTx != 10000 || st.Poll || p.s.State() != Up {
			t.Errorf("after a second: %+v", st)
		}
		// 10 ms less 10% jitter: a packet every 9 ms.
		last := p.sent[len(p.sent)-1]
		if last.DesiredMinTx != 10000 || last.State != Up || last.YourDiscriminator == 0 {
			t.Errorf("last packet sent: %+v", last)
		}
	}
	want := []string{
		"I     Detection time is 3000000 us (was 0 us)",
		"I     Detection time is 30000 us (was 3000000 us)",
		"I (B) Entering Up state",
	}
	if !slices.Equal(l.b.log.lines, want) {
		t.Errorf("B logged:\n%s\nwant:\n%s", strings.Join(l.b.log.lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestSessionExpiry cuts the link between two Up sessions: each goes Down
// one detection time (3 x 10 ms) after the last packet it received, with
// keepalived's messages, and reports it; once the link is back they come
// Up again.
func TestSessionExpiry(t *testing.T) {
	l := newLab(testConfig("A"), testConfig("B"))
	l.start()
	l.run(time.Second)
	l.a.log.lines = nil
	l.cut = true
	cutAt := l.clock.now
	for l.a.s.State() == Up {
		l.run(time.Millisecond)
	}
	took := l.clock.now.Sub(cutAt)
	if took > 30*time.Millisecond || took < 20*time.Millisecond {
		t.Errorf("A went Down %v after the cut; want within the 30 ms detection time", took)
	}
	if got := l.a.log.lines; len(got) != 2 || !strings.HasPrefix(got[0], "W (A) Expired after ") ||
		got[1] != "W (A) Entering Down state (Local diagnostic - Control Detection Time Expired, Remote diagnostic - No Diagnostic)" {
		t.Errorf("A logged:\n%s", strings.Join(got, "\n"))
	}
	if !slices.Equal(l.a.changes, []State{Down, Up, Down}) {
		t.Errorf("A reported %v", l.a.changes)
	}
	// Idle again, A's packets go out once a second or so.
	if st := l.a.s.Status(); st.LocalTx != 1000000 || st.RemoteDiscr != 0 {
		t.Errorf("A down: %+v", st)
	}
	l.cut = false
	l.run(5 * time.Second)
	if l.a.s.State() != Up || l.b.s.State() != Up {
		t.Errorf("after the link came back: A %s, B %s", l.a.s.State(), l.b.s.State())
	}
}

// TestSessionNeighborDown has the neighbor say Down while Up: the session
// goes Down with "Neighbor Signaled Session Down", keepalived's words.
func TestSessionNeighborDown(t *testing.T) {
	l := newLab(testConfig("A"), testConfig("B"))
	l.start()
	l.run(100 * time.Millisecond)
	l.a.log.lines = nil
	p := l.b.s.Packet()
	p.State, p.Diag = Down, DiagAdminDown
	l.a.s.Receive(p)
	want := "W (A) Entering Down state (Local diagnostic - Neighbor Signaled Session Down, Remote diagnostic - Administratively Down)"
	if !slices.Contains(l.a.log.lines, want) || l.a.s.State() != Down {
		t.Errorf("A %s, logged:\n%s", l.a.s.State(), strings.Join(l.a.log.lines, "\n"))
	}
}

// TestSessionPassive shows a passive session: it sends nothing until the
// neighbor speaks, then answers and comes Up; two passive sessions never
// do.
func TestSessionPassive(t *testing.T) {
	passive := testConfig("P")
	passive.Passive = true
	l := newLab(passive, testConfig("B"))
	if l.a.s.Start() {
		t.Fatal("a passive session sends at start")
	}
	l.run(3 * time.Second)
	if len(l.a.sent) != 0 {
		t.Fatalf("the passive session sent %d packets before its neighbor spoke", len(l.a.sent))
	}
	if l.b.s.Start() {
		l.send(l.b, l.a)
	}
	l.run(time.Second)
	if l.a.s.State() != Up || l.b.s.State() != Up || len(l.a.sent) == 0 {
		t.Errorf("P %s (sent %d), B %s", l.a.s.State(), len(l.a.sent), l.b.s.State())
	}

	other := testConfig("Q")
	other.Passive = true
	l = newLab(passive, other)
	l.start()
	l.run(5 * time.Second)
	if len(l.a.sent)+len(l.b.sent) != 0 || l.a.s.State() != Down {
		t.Errorf("two passive sessions: sent %d and %d, P %s", len(l.a.sent), len(l.b.sent), l.a.s.State())
	}
}

// TestSessionHopsOK is the TTL check of RFC 5881 section 5 with
// keepalived's max_hops.
func TestSessionHopsOK(t *testing.T) {
	for _, c := range []struct {
		ttl, maxHops, got uint8
		ok                bool
	}{
		{255, 0, 255, true},
		{255, 0, 254, false},
		{255, 1, 254, true},
		{255, 1, 253, false},
		{64, 0, 64, true},
		{64, 0, 63, false},
		{255, NoHopCheck, 1, true},
		{255, 0, 0, true}, // the kernel gave no TTL
	} {
		s := NewSession(Config{Name: "H", TTL: c.ttl, MaxHops: c.maxHops, IdleTx: 1000000},
			Options{Clock: &fakeClock{}, Log: &logLines{}, Discriminator: func() uint32 { return 1 }})
		if got := s.HopsOK(c.got); got != c.ok {
			t.Errorf("ttl %d max_hops %d: TTL %d accepted %v, want %v", c.ttl, c.maxHops, c.got, got, c.ok)
		}
	}
}

// TestSessionReconfigure changes an Up session's intervals as a reload
// does: it stays Up, polls, and once the neighbor answers with Final both
// use the new intervals.
func TestSessionReconfigure(t *testing.T) {
	l := newLab(testConfig("A"), testConfig("B"))
	l.start()
	l.run(time.Second)
	cfg := testConfig("A")
	cfg.RequiredMinRx, cfg.DesiredMinTx = 20000, 20000
	l.a.s.Reconfigure(cfg)
	if !l.a.s.Status().Poll {
		t.Fatal("no poll sequence after the intervals changed")
	}
	l.run(time.Second)
	for _, p := range []*peer{l.a, l.b} {
		if st := p.s.Status(); st.LocalDetect != 60000 || st.Poll || p.s.State() != Up {
			t.Errorf("after the poll sequence: %s %+v", p.s.State(), st)
		}
	}
	if len(l.a.changes) != 2 || len(l.b.changes) != 2 {
		t.Errorf("reported: A %v, B %v", l.a.changes, l.b.changes)
	}
}
