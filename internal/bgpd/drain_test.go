package bgpd

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/bgp"
)

// TestDrain drains a director whose announcements are healthy: they carry
// GRACEFUL_SHUTDOWN for the grace, are withdrawn after it, whatever
// their health, and come back without the community on undrain.
func TestDrain(t *testing.T) {
	fs := &fakeSpeaker{}
	up := map[string]bool{"[10.10.10.10]:tcp:80": true}
	l, err := New(load(t, loopConf), Options{Log: quiet(), NewSpeaker: func(*slog.Logger) bgp.Speaker { return fs },
		Masters: func() map[string]bool { return map[string]bool{"VI_1": true} },
		Quorums: func() map[string]bool { return up }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	web := netip.MustParsePrefix("10.10.10.10/32")
	communities := func() ([]bgp.Community, bool) {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		a, ok := fs.routes[web]
		return a.Communities, ok
	}
	eventually := func(what string, within time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > within {
				t.Fatalf("%s: not within %v", what, within)
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}
	gshut := func() bool { c, ok := communities(); return ok && slices.Contains(c, bgp.GracefulShutdown) }
	eventually("WEB announced", time.Second, func() bool { _, ok := communities(); return ok })
	if gshut() {
		t.Fatal("GRACEFUL_SHUTDOWN before the drain")
	}

	const grace = 300 * time.Millisecond
	l.SetDrained(true, grace)
	eventually("WEB with GRACEFUL_SHUTDOWN", 100*time.Millisecond, gshut)
	if c, _ := communities(); !slices.Contains(c, 65000<<16|100) {
		t.Errorf("the drained route lost its own community: %v", c)
	}
	gone := eventually("WEB withdrawn", time.Second, func() bool { _, ok := communities(); return !ok })
	if gone < grace-50*time.Millisecond {
		t.Errorf("withdrawn %v into a grace of %v", gone, grace)
	}
	if a := l.Announcements(); a[0].Announced {
		t.Errorf("announcements of the drained director: %+v", a)
	}
	// Draining again changes nothing.
	l.SetDrained(true, grace)
	time.Sleep(50 * time.Millisecond)
	if _, ok := communities(); ok {
		t.Error("a second drain announced again")
	}

	l.SetDrained(false, 0)
	eventually("WEB back without GRACEFUL_SHUTDOWN", 100*time.Millisecond, func() bool {
		c, ok := communities()
		return ok && !slices.Contains(c, bgp.GracefulShutdown)
	})
}
