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
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// TestMessageEncoding checks the requests built in place against the same
// requests built attribute by attribute with the netlink library.
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
			if got, want := e.b[4:], libraryRequest(family, seq, &op); !bytes.Equal(got, want) {
				t.Errorf("%s:\n got %x\nwant %x", op, got, want)
			}
		}
	}
}

// libraryRequest builds op's request with the netlink library, which the
// package does not use otherwise: an encoding made apart from its own.
func libraryRequest(family uint16, seq uint32, op *Op) []byte {
	cmd, _ := command(op.Kind)
	req := nl.NewNetlinkRequest(int(family), 0)
	req.Seq = seq
	req.AddData(&nl.Genlmsg{Command: cmd, Version: 1})
	s := &op.Service
	svc := nl.NewRtAttr(cmdAttrService|unix.NLA_F_NESTED, nil)
	svc.AddRtAttr(svcAttrAF, nl.Uint16Attr(uint16(s.family())))
	if s.FWMark != 0 {
		svc.AddRtAttr(svcAttrFWMark, nl.Uint32Attr(s.FWMark))
	} else {
		svc.AddRtAttr(svcAttrProtocol, nl.Uint16Attr(uint16(s.Protocol)))
		svc.AddRtAttr(svcAttrAddr, s.Addr.Addr().AsSlice())
		svc.AddRtAttr(svcAttrPort, binary.BigEndian.AppendUint16(nil, s.Addr.Port()))
	}
	if op.Kind == AddService || op.Kind == UpdateService {
		svc.AddRtAttr(svcAttrSchedName, nl.ZeroTerminated(s.Scheduler))
		flags := binary.NativeEndian.AppendUint32(nil, uint32(s.Flags))
		svc.AddRtAttr(svcAttrFlags, binary.NativeEndian.AppendUint32(flags, ^uint32(0)))
		svc.AddRtAttr(svcAttrTimeout, nl.Uint32Attr(uint32(s.Timeout/time.Second)))
		svc.AddRtAttr(svcAttrNetmask, nl.Uint32Attr(s.netmaskBits()))
	}
	req.AddData(svc)
	if op.Kind == AddDestination || op.Kind == UpdateDestination || op.Kind == DeleteDestination {
		d := &op.Destination
		dst := nl.NewRtAttr(cmdAttrDest|unix.NLA_F_NESTED, nil)
		f := IPv6
		if d.Addr.Addr().Is4() {
			f = IPv4
		}
		dst.AddRtAttr(destAttrAddrFamily, nl.Uint16Attr(uint16(f)))
		dst.AddRtAttr(destAttrAddr, d.Addr.Addr().AsSlice())
		dst.AddRtAttr(destAttrPort, binary.BigEndian.AppendUint16(nil, d.Addr.Port()))
		dst.AddRtAttr(destAttrFwdMethod, nl.Uint32Attr(uint32(d.Method)))
		dst.AddRtAttr(destAttrWeight, nl.Uint32Attr(uint32(d.Weight)))
		dst.AddRtAttr(destAttrUThresh, nl.Uint32Attr(d.UpperThreshold))
		dst.AddRtAttr(destAttrLThresh, nl.Uint32Attr(d.LowerThreshold))
		dst.AddRtAttr(destAttrTunType, nl.Uint8Attr(uint8(d.TunnelType)))
		dst.AddRtAttr(destAttrTunPort, binary.BigEndian.AppendUint16(nil, d.TunnelPort))
		dst.AddRtAttr(destAttrTunFlags, nl.Uint16Attr(uint16(d.TunnelFlags)))
		req.AddData(dst)
	}
	b := req.Serialize()
	// The library's generic netlink header is two bytes it serializes as
	// four, the reserved two being whatever follows it in memory; the
	// kernel ignores them.
	b[unix.SizeofNlMsghdr+2], b[unix.SizeofNlMsghdr+3] = 0, 0
	return b
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
