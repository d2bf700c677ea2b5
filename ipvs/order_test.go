package ipvs

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// mhService is an mh service whose destinations are listed in the given
// order, each of weight 1.
func mhService(sched string, addrs ...string) Service {
	s := Service{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Protocol: TCP, Scheduler: sched, Flags: FlagMHFallback}
	for _, a := range addrs {
		s.Destinations = append(s.Destinations, Destination{Addr: netip.MustParseAddrPort(a), Method: DirectRoute, Weight: 1})
	}
	return s
}

// kernelOrder returns the addresses of the service's destinations in the
// fake kernel's order.
func kernelOrder(t *testing.T, k *fakeKernel, s Service) string {
	t.Helper()
	ds, err := k.Destinations(s)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Addr.String())
	}
	return strings.Join(out, " ")
}

func without(s Service, addr string) Service {
	s.Destinations = slices.DeleteFunc(slices.Clone(s.Destinations), func(d Destination) bool {
		return d.Addr == netip.MustParseAddrPort(addr)
	})
	return s
}

// TestMHCanonicalOrder runs two reconcilers on kernels that add at the
// head of the list, as Linux does, with the real servers of an mh service
// in different orders and one of them failing and coming back on one
// side only: both kernels end with the same canonical order, and the
// destinations the flap moved are deleted and added back in front.
func TestMHCanonicalOrder(t *testing.T) {
	ctx := context.Background()
	const want = "10.0.0.1:80 10.0.0.2:80 10.0.0.3:80 10.0.0.10:80"
	a := mhService("mh", "10.0.0.3:80", "10.0.0.10:80", "10.0.0.1:80", "10.0.0.2:80")
	b := mhService("mh", "10.0.0.10:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.3:80")
	ka, kb := &fakeKernel{prepend: true}, &fakeKernel{prepend: true}
	ra, rb := NewReconciler(ka, ReconcilerConfig{}), NewReconciler(kb, ReconcilerConfig{})
	for _, c := range []struct {
		r *Reconciler
		s Service
	}{{ra, a}, {rb, b}} {
		if _, err := c.r.Reconcile(ctx, []Service{c.s}); err != nil {
			t.Fatal(err)
		}
	}
	if got, got2 := kernelOrder(t, ka, a), kernelOrder(t, kb, b); got != want || got2 != want {
		t.Fatalf("after the start: %q and %q, want %q", got, got2, want)
	}

	// 10.0.0.2 fails on a only, then comes back: the kernel would put it
	// first; 10.0.0.1 must go back in front of it.
	for _, step := range []Service{without(a, "10.0.0.2:80"), a} {
		if _, err := ra.ReconcileServices(ctx, []Service{step}, step.Key()); err != nil {
			t.Fatal(err)
		}
	}
	if got := kernelOrder(t, ka, a); got != want {
		t.Errorf("after the flap: %q, want %q", got, want)
	}
	flap := ka.calls[len(ka.calls)-3:]
	wantCalls := []string{
		"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -g -w 1",
		"delete-destination -t 192.0.2.1:80 -r 10.0.0.1:80",
		"add-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -g -w 1",
	}
	if !slices.Equal(flap, wantCalls) {
		t.Errorf("the return of 10.0.0.2 made\n%s\nwant\n%s", strings.Join(flap, "\n"), strings.Join(wantCalls, "\n"))
	}
	fa, _ := ka.Destinations(a)
	fb, _ := kb.Destinations(b)
	if OrderFingerprint(fa) != OrderFingerprint(fb) {
		t.Errorf("fingerprints differ for equal orders: %08x %08x", OrderFingerprint(fa), OrderFingerprint(fb))
	}

	// The first in canonical order coming back goes to the head of the
	// list, its place: nothing else moves.
	n := len(ka.calls)
	for _, step := range []Service{without(a, "10.0.0.1:80"), a} {
		if _, err := ra.Reconcile(ctx, []Service{step}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ka.calls[n:]; len(got) != 2 || !strings.HasPrefix(got[1], "add-destination") {
		t.Errorf("the flap of the last destination made %q, want one delete and one add", got)
	}
	if got := kernelOrder(t, ka, a); got != want {
		t.Errorf("after the second flap: %q, want %q", got, want)
	}

	// A pass over a table in order changes nothing.
	n = len(ka.calls)
	if ops, err := ra.Reconcile(ctx, []Service{a}); err != nil || len(ops) != 0 {
		t.Errorf("a pass over an ordered table: %v, %v", ops, err)
	}
	if len(ka.calls) != n {
		t.Errorf("a pass over an ordered table called %q", ka.calls[n:])
	}
}

// TestMHOrderRepairsForeignShuffle puts an owned mh service's
// destinations out of order behind the reconciler's back: the next pass
// restores the canonical order.
func TestMHOrderRepairsForeignShuffle(t *testing.T) {
	ctx := context.Background()
	s := mhService("mh", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")
	k := &fakeKernel{prepend: true}
	r := NewReconciler(k, ReconcilerConfig{})
	if _, err := r.Reconcile(ctx, []Service{s}); err != nil {
		t.Fatal(err)
	}
	// ipvsadm -d and -a of 10.0.0.3 puts it first.
	d := s.Destinations[2]
	k.DelDestination(s, d)
	k.NewDestination(s, d)
	if got := kernelOrder(t, k, s); got != "10.0.0.3:80 10.0.0.1:80 10.0.0.2:80" {
		t.Fatalf("shuffled: %q", got)
	}
	if _, err := r.Reconcile(ctx, []Service{s}); err != nil {
		t.Fatal(err)
	}
	if got := kernelOrder(t, k, s); got != "10.0.0.1:80 10.0.0.2:80 10.0.0.3:80" {
		t.Errorf("after a pass: %q", got)
	}
}

// TestOtherSchedulersKeepConfigOrder checks that the order of the
// configuration, not the canonical one, still decides for a scheduler
// other than mh, and that a returning destination moves nothing.
func TestOtherSchedulersKeepConfigOrder(t *testing.T) {
	ctx := context.Background()
	s := mhService("rr", "10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80")
	k := &fakeKernel{prepend: true}
	r := NewReconciler(k, ReconcilerConfig{})
	if _, err := r.Reconcile(ctx, []Service{s}); err != nil {
		t.Fatal(err)
	}
	if got := kernelOrder(t, k, s); got != "10.0.0.2:80 10.0.0.1:80 10.0.0.3:80" {
		t.Errorf("rr after the start: %q, want the configuration's order reversed, as keepalived leaves it", got)
	}
	n := len(k.calls)
	for _, step := range []Service{without(s, "10.0.0.3:80"), s} {
		if _, err := r.Reconcile(ctx, []Service{step}); err != nil {
			t.Fatal(err)
		}
	}
	if got := k.calls[n:]; len(got) != 2 {
		t.Errorf("rr: a flap made %q, want one delete and one add", got)
	}
}

func TestOrderFingerprint(t *testing.T) {
	d := func(a string, w int) Destination { return Destination{Addr: netip.MustParseAddrPort(a), Weight: w} }
	base := []Destination{d("10.0.0.1:80", 1), d("10.0.0.2:80", 1)}
	same := []Destination{d("10.0.0.1:80", 5), d("10.0.0.2:80", 2)}
	if OrderFingerprint(base) != OrderFingerprint(same) {
		t.Error("weights above zero change the fingerprint")
	}
	for name, other := range map[string][]Destination{
		"swapped":  {d("10.0.0.2:80", 1), d("10.0.0.1:80", 1)},
		"weight 0": {d("10.0.0.1:80", 1), d("10.0.0.2:80", 0)},
		"port":     {d("10.0.0.1:80", 1), d("10.0.0.2:81", 1)},
		"fewer":    {d("10.0.0.1:80", 1)},
	} {
		if OrderFingerprint(base) == OrderFingerprint(other) {
			t.Errorf("%s: same fingerprint %08x", name, OrderFingerprint(base))
		}
	}
	if OrderFingerprint(base[:1], base[1:]) == OrderFingerprint(base) {
		t.Error("the service boundary does not count")
	}
}

// TestMHOrderInOneBatch checks that the moves restoring the order go to
// a kernel that takes batches in one batch, with the return that needs
// them.
func TestMHOrderInOneBatch(t *testing.T) {
	ctx := context.Background()
	s := mhService("mh", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")
	k := &batchingFake{fakeKernel: &fakeKernel{prepend: true}}
	r := NewReconciler(k, ReconcilerConfig{})
	if _, err := r.Reconcile(ctx, []Service{s}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, []Service{without(s, "10.0.0.3:80")}); err != nil {
		t.Fatal(err)
	}
	k.batches = nil
	ops, err := r.Reconcile(ctx, []Service{s})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 5 || len(k.batches) != 1 || k.batches[0] != 5 {
		t.Errorf("the return of 10.0.0.3 made %d ops in batches %v, want 5 in one", len(ops), k.batches)
	}
	if got := kernelOrder(t, k.fakeKernel, s); got != "10.0.0.1:80 10.0.0.2:80 10.0.0.3:80" {
		t.Errorf("after the return: %q", got)
	}
}
