package nettest

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A VRRPWatch records, in a host's namespace, every IPv4 VRRP advert
// that arrives (a raw socket) and every addition of one address (a
// netlink address subscription), each stamped as it is read: the same
// observer for gokeepalived and keepalived, for tests that time a
// takeover from outside both.
type VRRPWatch struct {
	mu      sync.Mutex
	adverts []advertSeen
	adds    []time.Time
}

type advertSeen struct {
	at  time.Time
	src netip.Addr
}

// WatchVRRP starts watching h for adverts and for additions of addr;
// it stops when the test ends.
func WatchVRRP(t testing.TB, h *Host, addr netip.Addr) *VRRPWatch {
	t.Helper()
	w := &VRRPWatch{}
	var fd int
	if err := h.Do(func() (err error) {
		fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, 112)
		return err
	}); err != nil {
		t.Fatalf("VRRP raw socket in %s: %v", h.NS, err)
	}
	f := os.NewFile(uintptr(fd), "vrrp")
	t.Cleanup(func() { f.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			now := time.Now()
			if n < 20 {
				continue
			}
			w.mu.Lock()
			w.adverts = append(w.adverts, advertSeen{at: now, src: netip.AddrFrom4([4]byte(buf[12:16]))})
			w.mu.Unlock()
		}
	}()

	ns, err := netns.GetFromName(h.NS)
	if err != nil {
		t.Fatalf("opening namespace %s: %v", h.NS, err)
	}
	t.Cleanup(func() { ns.Close() })
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: &ns}); err != nil {
		t.Fatalf("address subscription in %s: %v", h.NS, err)
	}
	go func() {
		for u := range ch {
			now := time.Now()
			if a, ok := netip.AddrFromSlice(u.LinkAddress.IP); ok && a.Unmap() == addr && u.NewAddr {
				w.mu.Lock()
				w.adds = append(w.adds, now)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// LastAdvert is when the last advert from src arrived before t; zero if
// none did.
func (w *VRRPWatch) LastAdvert(src netip.Addr, before time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last time.Time
	for _, a := range w.adverts {
		if a.src == src && a.at.Before(before) {
			last = a.at
		}
	}
	return last
}

// AddedAfter waits up to timeout for the address's first addition after
// t.
func (w *VRRPWatch) AddedAfter(after time.Time, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, v := range w.adds {
			if v.After(after) {
				w.mu.Unlock()
				return v, nil
			}
		}
		w.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("the address was not added within %v", timeout)
}

// AddsAfter counts the address's additions after t.
func (w *VRRPWatch) AddsAfter(after time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, v := range w.adds {
		if v.After(after) {
			n++
		}
	}
	return n
}
