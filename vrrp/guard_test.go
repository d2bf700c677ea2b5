package vrrp

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// panickyNet is a Network that panics instead of sending its next
// adverts, as a bug would.
type panickyNet struct {
	*fakeNet
	panics int // adverts left to panic on
}

func (n *panickyNet) Advertise(a *Advertisement) error {
	if n.panics > 0 {
		n.panics--
		panic("injected fault in Advertise")
	}
	return n.fakeNet.Advertise(a)
}

// newPanickyMaster starts the address owner, master at once, on a fake
// clock and a network that panics when told to.
func newPanickyMaster(t *testing.T) (*Instance, *fakeClock, *panickyNet, *logtest.Hook) {
	t.Helper()
	c := newFakeClock()
	n := &panickyNet{fakeNet: &fakeNet{src: ours, clock: c}}
	log, hook := testLogger()
	i, err := NewInstance(Config{Name: "VI_1", VRID: 51, Priority: PriorityOwner,
		Addresses: []netip.Addr{vip}, Primary: ours}, n, c, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := i.Start(); err != nil {
		t.Fatal(err)
	}
	if st := i.Status(); st.State != StateMaster || !n.vipsUp {
		t.Fatalf("started as %v with VIPs up %v, want MASTER with them", st.State, n.vipsUp)
	}
	return i, c, n, hook
}

// checkPanicLogged wants one error-level entry with the panic's value and
// its stack.
func checkPanicLogged(t *testing.T, hook *logtest.Hook, where string) {
	t.Helper()
	var errs []*logrus.Entry
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel {
			errs = append(errs, e)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("%d error entries, want 1: %q", len(errs), messages(hook))
	}
	msg := errs[0].Message
	for _, want := range []string{where, "recovered from panic: injected fault in Advertise", "goroutine ", "guard_test.go"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("panic logged as %q, without %q", msg, want)
		}
	}
}

// TestPanicInTimer makes the advert timer's work panic: the master stays
// MASTER with its VIP, counts the panic, and goes on advertising every
// interval.
func TestPanicInTimer(t *testing.T) {
	i, c, n, hook := newPanickyMaster(t)
	sent, removed := len(n.adverts), n.removed
	n.panics = 1
	c.Advance(time.Second) // the next advert panics
	st := i.Status()
	if st.State != StateMaster || !n.vipsUp || n.removed != removed || st.Stats.Transitions != 1 {
		t.Fatalf("after the panic: %v, VIPs up %v, removed %d times, %d transitions; want MASTER, up, not removed, 1",
			st.State, n.vipsUp, n.removed-removed, st.Stats.Transitions)
	}
	if st.Stats.Panics != 1 {
		t.Fatalf("%d panics counted, want 1", st.Stats.Panics)
	}
	checkPanicLogged(t, hook, "(VI_1) timer")
	c.Advance(3 * time.Second)
	if got := len(n.adverts) - sent; got != 3 {
		t.Fatalf("%d adverts in the 3 s after the panic, want 3", got)
	}
	if at := n.sends[len(n.sends)-1]; !at.Equal(c.Now()) {
		t.Fatalf("last advert at %v, want %v: the interval moved", at, c.Now())
	}
}

// TestPanicInReader makes an instance panic while it handles a packet
// from the socket: answering a lower priority advert. The reader goes on
// with the next packet, the master keeps its state, its VIP and its
// advert timer, and the router counts the panic.
func TestPanicInReader(t *testing.T) {
	i, c, n, hook := newPanickyMaster(t)
	removed := n.removed
	r := NewRouter(nil, i.log)
	i.guard.parent = &r.guard
	conn := &Conn{ifi: &net.Interface{Name: "test0"}, group: group4, log: i.log, guard: &guard{log: i.log, parent: &r.guard},
		drops: make(map[DropReason]uint64), logged: make(map[DropReason]bool)}
	if err := conn.Register(51, i); err != nil {
		t.Fatal(err)
	}
	n.panics = 1
	conn.deliver(&rawPacket{payload: advert(t, lower, 100, nil), src: lower, dst: group4, ttl: TTL})
	if got := r.Panics(); got != 1 {
		t.Fatalf("router counted %d panics, want 1", got)
	}
	checkPanicLogged(t, hook, "VRRP reader on test0")

	// The next packet is handled, and answered.
	sent := len(n.adverts)
	conn.deliver(&rawPacket{payload: advert(t, lower, 100, nil), src: lower, dst: group4, ttl: TTL})
	if len(n.adverts) != sent+1 || n.last().Priority != PriorityOwner {
		t.Fatalf("the lower priority advert after the panic was not answered: %d adverts", len(n.adverts)-sent)
	}
	c.Advance(2 * time.Second)
	st := i.Status()
	if st.State != StateMaster || !n.vipsUp || n.removed != removed || len(n.adverts) != sent+3 {
		t.Fatalf("after the panic: %v, VIPs up %v, removed %d times, %d adverts; want MASTER, up, not removed, 3",
			st.State, n.vipsUp, n.removed-removed, len(n.adverts)-sent)
	}
	if got := r.Panics(); got != 1 {
		t.Fatalf("router counted %d panics, want still 1", got)
	}
}

// panickyRunner panics on its first run and succeeds afterwards.
type panickyRunner struct{ runs atomic.Int32 }

func (p *panickyRunner) RunScript(ctx context.Context, s *TrackScript) (int, error) {
	if p.runs.Add(1) == 1 {
		panic("injected fault in RunScript")
	}
	return 0, nil
}

// TestPanicInTracker makes a track script's runner panic once: the
// tracker counts it, reports no result for that run, and reports the next
// runs as usual.
func TestPanicInTracker(t *testing.T) {
	log, hook := testLogger()
	r := NewRouter(nil, log)
	tr := newScriptTracker(&TrackScript{Name: "chk", Args: []string{"true"}, Interval: 20 * time.Millisecond})
	results := make(chan int, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg = &r.trackWG
	tr.start(ctx, wg, &panickyRunner{}, &r.guard, func(status int, err error) {
		if err != nil {
			t.Errorf("script reported %v", err)
		}
		select {
		case results <- status:
		default:
		}
	})
	defer func() {
		cancel()
		wg.Wait()
	}()
	select {
	case st := <-results:
		if st != 0 {
			t.Fatalf("status %d, want 0", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no result after the panicking run")
	}
	if got := r.Panics(); got != 1 {
		t.Fatalf("router counted %d panics, want 1", got)
	}
	found := false
	for _, e := range hook.AllEntries() {
		found = found || (e.Level == logrus.ErrorLevel && strings.Contains(e.Message, "track script chk: recovered from panic: injected fault in RunScript"))
	}
	if !found {
		t.Fatalf("panic not logged: %q", messages(hook))
	}
}
