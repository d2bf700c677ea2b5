package nettest

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A RouteWatch follows the next hops of one route of a namespace's
// kernel table through a netlink subscription there; each change is
// read as it comes, the same way whoever made it.
type RouteWatch struct {
	dst     string
	updates chan netlink.RouteUpdate
	hops    int
}

// WatchRoute subscribes to the route changes of h's namespace, from now
// until the test ends, and follows the route to dst (a prefix as
// net.IPNet prints it, such as 10.10.10.10/32).
func WatchRoute(t testing.TB, h *Host, dst string) *RouteWatch {
	t.Helper()
	ns, err := netns.GetFromName(h.NS)
	if err != nil {
		t.Fatalf("opening namespace %s: %v", h.NS, err)
	}
	t.Cleanup(func() { ns.Close() })
	w := &RouteWatch{dst: dst, updates: make(chan netlink.RouteUpdate, 256)}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	if err := netlink.RouteSubscribeWithOptions(w.updates, done, netlink.RouteSubscribeOptions{Namespace: &ns}); err != nil {
		t.Fatalf("route subscription in %s: %v", h.NS, err)
	}
	return w
}

// Wait reads route updates until the route has want next hops, and
// returns when it read the one that made it so.
func (w *RouteWatch) Wait(want int, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for w.hops != want {
		select {
		case u := <-w.updates:
			if u.Dst == nil || u.Dst.String() != w.dst {
				continue
			}
			if u.Type == syscall.RTM_DELROUTE {
				w.hops = 0
			} else {
				w.hops = NextHops(u.Route)
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("the route to %s has %d next hops, not %d, after %v", w.dst, w.hops, want, timeout)
		}
	}
	return time.Now(), nil
}

// Pending returns the updates of the route queued since the last read,
// without waiting for more.
func (w *RouteWatch) Pending() []netlink.RouteUpdate {
	var out []netlink.RouteUpdate
	for {
		select {
		case u := <-w.updates:
			if u.Dst != nil && u.Dst.String() == w.dst {
				out = append(out, u)
			}
		default:
			return out
		}
	}
}

// NextHops counts a route's next hops.
func NextHops(r netlink.Route) int {
	if len(r.MultiPath) > 0 {
		return len(r.MultiPath)
	}
	if r.Gw != nil {
		return 1
	}
	return 0
}
