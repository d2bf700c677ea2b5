package ipvs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMessageEncoding reads every change to every form of service back
// from its request: the key, the service's attributes when the change
// carries them, the destination when it names one.
func TestMessageEncoding(t *testing.T) {
	const family, seq = 0x1d, 42
	for _, s := range everyForm() {
		ops := []Op{
			{Kind: AddService, Service: s.header()},
			{Kind: UpdateService, Service: s.header()},
			{Kind: DeleteService, Service: s.header()},
		}
		for _, d := range s.Destinations {
			for _, k := range []OpKind{AddDestination, UpdateDestination, DeleteDestination} {
				ops = append(ops, Op{Kind: k, Service: s.header(), Destination: d})
			}
		}
		for _, op := range ops {
			e := encoder{b: []byte{0xff, 0xff, 0xff, 0xff}} // appends after the message before
			e.op(family, seq, &op)
			h, m, rest, err := nextMessage(e.b[4:])
			if err != nil || len(rest) != 0 || h.Type != family || h.Seq != seq || h.Flags != unix.NLM_F_REQUEST {
				t.Fatalf("%s: message %+v, %d bytes after it, err %v", op, h, len(rest), err)
			}
			if cmd, _ := command(op.Kind); m[0] != cmd {
				t.Errorf("%s: command %d, want %d", op, m[0], cmd)
			}
			got, err := parseService(m)
			if err != nil || got.Key() != s.Key() {
				t.Errorf("%s: service %s, err %v", op, got, err)
			}
			switch op.Kind {
			case AddService, UpdateService:
				if !sameAttributes(&got, &op.Service) {
					t.Errorf("%s: read back %s", op, got.describe())
				}
			case DeleteService:
				if got.Scheduler != "" {
					t.Errorf("%s: carries scheduler %q", op, got.Scheduler)
				}
			default:
				if d, err := parseDestination(m); err != nil || d != op.Destination {
					t.Errorf("%s: destination %+v, err %v", op, d, err)
				}
			}
		}
	}
}

// TestMessageBytes pins three requests to the bytes the kernel takes,
// written out by hand: a firewall-mark service with a persistence
// netmask, sent in network byte order; an IPv4 destination under an IPv6
// service, with its own family; and a service named by its key alone.
func TestMessageBytes(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the bytes below are a little-endian host's")
	}
	six := everyForm()[3]
	for _, tt := range []struct {
		op   Op
		want []byte
	}{
		{
			Op{Kind: AddService, Service: everyForm()[4].header()},
			[]byte{
				0x4c, 0, 0, 0, 0x1d, 0, 1, 0, 42, 0, 0, 0, 0, 0, 0, 0, // netlink header
				cmdNewService, 1, 0, 0, // generic netlink header
				0x38, 0, 1, 0x80, // service, nested
				6, 0, 1, 0, 2, 0, 0, 0, // family IPv4
				8, 0, 5, 0, 7, 0, 0, 0, // mark 7
				7, 0, 6, 0, 'm', 'h', 0, 0, // scheduler
				12, 0, 7, 0, 0x11, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // flags, mask
				8, 0, 8, 0, 0x2c, 1, 0, 0, // timeout 300
				8, 0, 9, 0, 0xff, 0xff, 0xff, 0, // netmask 255.255.255.0
			},
		},
		{
			Op{Kind: AddDestination, Service: six.header(), Destination: six.Destinations[2]},
			[]byte{
				0x98, 0, 0, 0, 0x1d, 0, 1, 0, 42, 0, 0, 0, 0, 0, 0, 0,
				cmdNewDest, 1, 0, 0,
				0x30, 0, 1, 0x80,
				6, 0, 1, 0, 10, 0, 0, 0, // family IPv6
				6, 0, 2, 0, 6, 0, 0, 0, // TCP
				20, 0, 3, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				6, 0, 4, 0, 0x01, 0xbb, 0, 0, // port 443
				0x54, 0, 2, 0x80, // destination, nested
				6, 0, 11, 0, 2, 0, 0, 0, // its own family, IPv4
				8, 0, 1, 0, 10, 0, 0, 12,
				6, 0, 2, 0, 0x01, 0xbb, 0, 0,
				8, 0, 3, 0, 2, 0, 0, 0, // tunnel
				8, 0, 4, 0, 1, 0, 0, 0, // weight
				8, 0, 5, 0, 0, 0, 0, 0,
				8, 0, 6, 0, 0, 0, 0, 0,
				5, 0, 13, 0, 1, 0, 0, 0, // GUE
				6, 0, 14, 0, 0x17, 0xc0, 0, 0, // port 6080
				6, 0, 15, 0, 2, 0, 0, 0, // remote checksum
			},
		},
		{
			Op{Kind: DeleteService, Service: everyForm()[1].header()},
			[]byte{
				0x38, 0, 0, 0, 0x1d, 0, 1, 0, 42, 0, 0, 0, 0, 0, 0, 0,
				cmdDelService, 1, 0, 0,
				0x24, 0, 1, 0x80,
				6, 0, 1, 0, 2, 0, 0, 0,
				6, 0, 2, 0, 17, 0, 0, 0, // UDP
				8, 0, 3, 0, 192, 0, 2, 1,
				6, 0, 4, 0, 0, 53, 0, 0,
			},
		},
	} {
		var e encoder
		e.op(0x1d, 42, &tt.op)
		if !bytes.Equal(e.b, tt.want) {
			t.Errorf("%s:\n got %x\nwant %x", tt.op, e.b, tt.want)
		}
	}
}

// TestGuestBatchErrorAttribution sends the kernel batches spanning several
// datagrams in which some changes fail, the last of a datagram among them,
// and checks that each failure is reported on its own change, with the
// kernel's error, and that every other change took effect.
func TestGuestBatchErrorAttribution(t *testing.T) {
	h := guest(t)
	svc := Service{Addr: ap("192.0.2.1:80"), Protocol: TCP, Scheduler: "wlc"}
	missing := Service{Addr: ap("192.0.2.2:80"), Protocol: TCP, Scheduler: "wlc"}
	dest := func(i int) Destination {
		return Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), 80), Method: NAT, Weight: 1}
	}

	const n = 3*batchMessages + 10
	ops := []Op{{Kind: AddService, Service: svc}}
	want := []error{nil}
	added := 0
	for i := 1; i < n; i++ {
		op := Op{Kind: AddDestination, Service: svc, Destination: dest(i)}
		var err error
		switch {
		case i%50 == 7, i == batchMessages-1, i == batchMessages, i == n-1:
			// The last of the first datagram, the first of the second
			// and the last of all among them.
			op.Service, err = missing, syscall.ESRCH
		case i%61 == 3:
			op.Destination = dest(1) // added already
			err = syscall.EEXIST
		case i%97 == 5:
			op.Destination.LowerThreshold, op.Destination.UpperThreshold = 10, 5
			err = syscall.ERANGE
		default:
			added++
		}
		ops = append(ops, op)
		want = append(want, err)
	}
	// A change of another kind is refused without being sent; the
	// others around it still are.
	notBatched := errors.New("any error")
	ops = append(ops, Op{Kind: FlushTable}, Op{Kind: AddService, Service: svc})
	want = append(want, notBatched, syscall.EEXIST)

	errs := h.apply(ops)
	if len(errs) != len(ops) {
		t.Fatalf("apply returned %d errors for %d ops", len(errs), len(ops))
	}
	for i, err := range errs {
		switch w := want[i]; {
		case (w == nil) != (err == nil),
			w == notBatched && err == nil,
			w != nil && w != notBatched && !errors.Is(err, w):
			t.Errorf("op %d, %s: error %v, want %v", i, ops[i], err, w)
		}
	}
	ds, err := h.Destinations(svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != added {
		t.Errorf("the service has %d destinations, want %d", len(ds), added)
	}
	if _, ok, err := h.LookupService(missing); err != nil || ok {
		t.Errorf("LookupService(%s) = %v, %v; want no service", missing, ok, err)
	}
}

// TestGuestReconcileFromEmptyReportsEachRefusal programs a table from
// empty in which the kernel refuses one service, for its unknown
// scheduler, and one destination, for its thresholds: each refusal is
// reported on its own op with the kernel's error, the refused service's
// destinations are not tried, and everything else is in the table and
// owned.
func TestGuestReconcileFromEmptyReportsEachRefusal(t *testing.T) {
	h := guest(t)
	table := everyForm()
	noSched := Service{Addr: ap("192.0.2.7:80"), Protocol: TCP, Scheduler: "nosuch",
		Destinations: []Destination{{Addr: ap("10.0.7.1:80"), Method: NAT, Weight: 1}}}
	badDest := Destination{Addr: ap("10.0.0.9:80"), Method: NAT, Weight: 1, UpperThreshold: 5, LowerThreshold: 10}
	table = append(table[:1:1], append([]Service{noSched}, table[1:]...)...)
	table[0].Destinations = append(table[0].Destinations[:1:1], append([]Destination{badDest}, table[0].Destinations[1:]...)...)

	r := NewReconciler(h, ReconcilerConfig{})
	ops, err := r.Reconcile(context.Background(), table)
	if !errors.Is(err, syscall.ENOENT) || !errors.Is(err, syscall.ERANGE) {
		t.Errorf("Reconcile error = %v, want ENOENT and ERANGE", err)
	}
	var want []string
	for _, s := range table {
		want = append(want, Op{Kind: AddService, Service: s.header()}.String())
		if s.Scheduler == noSched.Scheduler {
			continue
		}
		for _, d := range s.Destinations {
			want = append(want, Op{Kind: AddDestination, Service: s.header(), Destination: d}.String())
		}
	}
	if got := opStrings(ops); !slices.Equal(got, want) {
		t.Errorf("ops:\n%q\nwant:\n%q", got, want)
	}
	for _, op := range ops {
		var want error
		switch {
		case op.Kind == AddService && op.Service.Scheduler == noSched.Scheduler:
			want = syscall.ENOENT
		case op.Kind == AddDestination && op.Destination == badDest:
			want = syscall.ERANGE
		}
		if (want == nil) != (op.Err == nil) || want != nil && !errors.Is(op.Err, want) {
			t.Errorf("%s: error %v, want %v", op, op.Err, want)
		}
	}
	wantSaved(t, everyFormSaved...)
	for _, s := range everyForm() {
		if !r.Owns(s, s.Destinations...) {
			t.Errorf("the reconciler does not own %s and its destinations", s)
		}
	}
	if r.Owns(noSched) || r.Owns(table[0], badDest) {
		t.Error("the reconciler owns an entry the kernel refused")
	}
}
