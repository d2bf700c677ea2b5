package vrrp

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// An event is a netlink notification and the time it was read. Both the
// address and the neighbour watchers stamp on receipt, so the latency they
// add (a socket read and a channel hand-off) is the same for both
// implementations and far below a millisecond.
type event[T any] struct {
	at time.Time
	u  T
}

// A watcher receives one kind of netlink notification from a namespace.
type watcher[T any] struct {
	c <-chan event[T]
}

// watchAddrs follows address changes in the namespace ns.
func watchAddrs(t *testing.T, ns string) *watcher[netlink.AddrUpdate] {
	t.Helper()
	h := nsHandle(t, ns)
	return startWatch(t, "address watch in "+ns, func(ch chan netlink.AddrUpdate, done chan struct{}, onErr func(error)) error {
		return netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: &h, ErrorCallback: onErr})
	})
}

// watchNeighs follows neighbour table changes in the namespace ns.
func watchNeighs(t *testing.T, ns string) *watcher[netlink.NeighUpdate] {
	t.Helper()
	h := nsHandle(t, ns)
	return startWatch(t, "neighbour watch in "+ns, func(ch chan netlink.NeighUpdate, done chan struct{}, onErr func(error)) error {
		return netlink.NeighSubscribeWithOptions(ch, done, netlink.NeighSubscribeOptions{Namespace: &h, ErrorCallback: onErr})
	})
}

func nsHandle(t *testing.T, ns string) netns.NsHandle {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatalf("opening namespace %s: %v", ns, err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func startWatch[T any](t *testing.T, what string, subscribe func(chan T, chan struct{}, func(error)) error) *watcher[T] {
	t.Helper()
	// Unbuffered, so an update is stamped as soon as netlink's reader
	// has it rather than when a queue drains.
	raw := make(chan T)
	done := make(chan struct{})
	// A lost subscription would make a trial time out rather than
	// measure; say why. Closing done makes the reader fail too, which
	// is no news.
	onErr := func(err error) {
		select {
		case <-done:
		default:
			t.Logf("%s: %v", what, err)
		}
	}
	if err := subscribe(raw, done, onErr); err != nil {
		t.Fatalf("%s: subscribing: %v", what, err)
	}
	out := make(chan event[T], 4096)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case u, ok := <-raw:
				if !ok {
					return
				}
				select {
				case out <- event[T]{at: time.Now(), u: u}:
				default: // nobody is waiting for old events
				}
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	return &watcher[T]{c: out}
}

// next returns the first event after since that match accepts, and its
// time, discarding everything before it.
func (w *watcher[T]) next(ctx context.Context, since time.Time, match func(T) bool) (time.Time, T, error) {
	for {
		select {
		case e := <-w.c:
			if e.at.After(since) && match(e.u) {
				return e.at, e.u, nil
			}
		case <-ctx.Done():
			var zero T
			return time.Time{}, zero, ctx.Err()
		}
	}
}

// drain discards the events received so far.
func (w *watcher[T]) drain() {
	for {
		select {
		case <-w.c:
		default:
			return
		}
	}
}

func neighIs(ip net.IP, mac net.HardwareAddr) func(netlink.NeighUpdate) bool {
	return func(u netlink.NeighUpdate) bool {
		return u.Type == unix.RTM_NEWNEIGH && u.IP.Equal(ip) && u.HardwareAddr.String() == mac.String()
	}
}
