package ipvs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCodecRoundTrip encodes one attribute of each kind, and a nest of
// them, and reads them back.
func TestCodecRoundTrip(t *testing.T) {
	var e encoder
	e.Uint8(1, 0xab)
	e.Uint16(2, 0xbeef)
	e.Uint16BE(3, 8080)
	e.Uint32(4, 0xdeadbeef)
	e.Uint64(5, math.MaxUint64-1)
	e.Bytes(6, []byte{1, 2, 3, 4, 5})
	e.String(7, "wlc")
	start := e.Nest(8)
	e.Uint32(1, 7)
	inner := e.Nest(2)
	e.String(1, "deep")
	e.EndNest(inner)
	e.EndNest(start)
	e.Bytes(9, nil)
	if e.err != nil {
		t.Fatal(e.err)
	}

	d := newDecoder(e.b)
	var types []uint16
	for d.Next() {
		types = append(types, d.Type())
		switch d.Type() {
		case 1:
			if v := d.Uint8(); v != 0xab {
				t.Errorf("Uint8 = %#x", v)
			}
		case 2:
			if v := d.Uint16(); v != 0xbeef {
				t.Errorf("Uint16 = %#x", v)
			}
		case 3:
			if v := d.Uint16BE(); v != 8080 {
				t.Errorf("Uint16BE = %d", v)
			}
			if b := d.Bytes(); !bytes.Equal(b, []byte{0x1f, 0x90}) {
				t.Errorf("Uint16BE encoded as %x, want network byte order", b)
			}
		case 4:
			if v := d.Uint32(); v != 0xdeadbeef {
				t.Errorf("Uint32 = %#x", v)
			}
		case 5:
			if v := d.Uint64(); v != math.MaxUint64-1 {
				t.Errorf("Uint64 = %#x", v)
			}
		case 6:
			if v := d.Bytes(); !bytes.Equal(v, []byte{1, 2, 3, 4, 5}) {
				t.Errorf("Bytes = %x", v)
			}
		case 7:
			if v := d.String(); v != "wlc" {
				t.Errorf("String = %q", v)
			}
		case 8:
			n := d.Nested()
			var got []string
			for n.Next() {
				switch n.Type() {
				case 1:
					if v := n.Uint32(); v != 7 {
						t.Errorf("nested Uint32 = %d", v)
					}
				case 2:
					nn := n.Nested()
					for nn.Next() {
						got = append(got, nn.String())
					}
					n.Adopt(&nn)
				}
			}
			if err := n.Err(); err != nil {
				t.Error(err)
			}
			if !slices.Equal(got, []string{"deep"}) {
				t.Errorf("nest in a nest holds %q", got)
			}
		case 9:
			if v := d.Bytes(); len(v) != 0 {
				t.Errorf("empty attribute reads %x", v)
			}
		}
	}
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(types, want) {
		t.Errorf("types %v, want %v", types, want)
	}
}

// TestCodecLayout checks the bytes themselves: lengths without padding,
// values padded to 4 bytes, the nested flag on nests and a nest's length
// covering its padded attributes.
func TestCodecLayout(t *testing.T) {
	var e encoder
	e.Uint8(1, 0xaa)
	e.String(2, "ab")
	start := e.Nest(3)
	e.Uint16(4, 0x0102)
	e.EndNest(start)
	ne := binary.NativeEndian
	var want []byte
	attr := func(l, typ uint16, v ...byte) {
		want = ne.AppendUint16(want, l)
		want = ne.AppendUint16(want, typ)
		want = append(want, v...)
	}
	attr(5, 1, 0xaa, 0, 0, 0)
	attr(7, 2, 'a', 'b', 0, 0)
	attr(12, 3|unix.NLA_F_NESTED)
	attr(6, 4)
	want = ne.AppendUint16(want, 0x0102)
	want = append(want, 0, 0)
	if !bytes.Equal(e.b, want) {
		t.Errorf("encoded\n%x\nwant\n%x", e.b, want)
	}

	// A message: header lengths and fields, then its attributes; and a
	// second one after it in the same buffer.
	e = encoder{}
	for seq := uint32(1); seq <= 2; seq++ {
		m := e.Message(0x1d, unix.NLM_F_REQUEST, seq, cmdGetDest)
		e.Uint8(1, 1)
		e.EndMessage(m)
	}
	h, data, rest, err := nextMessage(e.b)
	if err != nil || h.Len != nlmsgHeaderLen+genlHeaderLen+8 || h.Type != 0x1d || h.Flags != unix.NLM_F_REQUEST || h.Seq != 1 {
		t.Fatalf("first message %+v, err %v", h, err)
	}
	if data[0] != cmdGetDest || data[1] != 1 {
		t.Errorf("generic netlink header %x", data[:genlHeaderLen])
	}
	if h, _, rest, err = nextMessage(rest); err != nil || h.Seq != 2 || len(rest) != 0 {
		t.Errorf("second message %+v, %d bytes after it, err %v", h, len(rest), err)
	}
}

// TestDecoderLastAttributeUnpadded reads a final attribute the sender did
// not pad, which netlink allows.
func TestDecoderLastAttributeUnpadded(t *testing.T) {
	var e encoder
	e.Uint32(1, 5)
	e.Uint8(2, 9)
	d := newDecoder(e.b[:len(e.b)-3])
	var got []uint32
	for d.Next() {
		switch d.Type() {
		case 1:
			got = append(got, d.Uint32())
		case 2:
			got = append(got, uint32(d.Uint8()))
		}
	}
	if err := d.Err(); err != nil || !slices.Equal(got, []uint32{5, 9}) {
		t.Errorf("read %v, err %v", got, err)
	}
}

// TestDecoderShortAttribute: a getter on an attribute too short, or of
// the wrong size, sets the sticky error and returns zero; nothing after
// it is read.
func TestDecoderShortAttribute(t *testing.T) {
	for _, tt := range []struct {
		name string
		get  func(d *decoder) any
		v    []byte
	}{
		{"Uint8 of nothing", func(d *decoder) any { return d.Uint8() }, nil},
		{"Uint16 of 1", func(d *decoder) any { return d.Uint16() }, []byte{1}},
		{"Uint16BE of 1", func(d *decoder) any { return d.Uint16BE() }, []byte{1}},
		{"Uint32 of 2", func(d *decoder) any { return d.Uint32() }, []byte{1, 2}},
		{"Uint32 of 8", func(d *decoder) any { return d.Uint32() }, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"Uint64 of 4", func(d *decoder) any { return d.Uint64() }, []byte{1, 2, 3, 4}},
		{"BytesN(16) of 4", func(d *decoder) any { return d.BytesN(16) }, []byte{1, 2, 3, 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e encoder
			e.Bytes(1, tt.v)
			e.Uint32(2, 7)
			d := newDecoder(e.b)
			if !d.Next() {
				t.Fatal(d.Err())
			}
			got := tt.get(&d)
			if !errors.Is(d.Err(), errShort) {
				t.Errorf("error %v, want a short attribute", d.Err())
			}
			switch v := got.(type) {
			case []byte:
				if v != nil {
					t.Errorf("got %x, want nothing", v)
				}
			default:
				if v != reflectZero(v) {
					t.Errorf("got %v, want zero", v)
				}
			}
			if d.Next() {
				t.Error("Next went on after the error")
			}
			if v := d.Uint32(); v != 0 || d.String() != "" || d.Bytes() != nil {
				t.Error("a getter after the error read a value")
			}
			if n := d.Nested(); n.Next() || n.Err() == nil {
				t.Error("a nest of a failed decoder decodes")
			}
		})
	}
}

func reflectZero(v any) any {
	switch v.(type) {
	case uint8:
		return uint8(0)
	case uint16:
		return uint16(0)
	case uint32:
		return uint32(0)
	case uint64:
		return uint64(0)
	}
	return nil
}

// TestDecoderMalformed: attribute headers that lie about their length end
// the walk with an error, and a nest's error reaches its parent through
// Adopt.
func TestDecoderMalformed(t *testing.T) {
	ne := binary.NativeEndian
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"header cut", []byte{8, 0}},
		{"length under a header", ne.AppendUint16(ne.AppendUint16(nil, 3), 1)},
		{"length past the end", append(ne.AppendUint16(ne.AppendUint16(nil, 12), 1), 1, 2, 3, 4)},
	} {
		d := newDecoder(tt.b)
		for d.Next() {
		}
		if d.Err() == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}

	var e encoder
	start := e.Nest(1)
	e.Uint16(2, 3)
	e.EndNest(start)
	e.Uint32(3, 1)
	e.b[nlattrHeaderLen] = 12 // the nested attribute's length, past its nest
	d := newDecoder(e.b)
	var after bool
	for d.Next() {
		switch d.Type() {
		case 1:
			n := d.Nested()
			for n.Next() {
			}
			if n.Err() == nil {
				t.Error("the malformed nest decoded")
			}
			d.Adopt(&n)
		case 3:
			after = true
		}
	}
	if d.Err() == nil || after {
		t.Errorf("after a malformed nest: parent error %v, attribute after it read %v", d.Err(), after)
	}

	if d := decodeMessage([]byte{1, 1}); d.Next() || d.Err() == nil {
		t.Error("a message short of its generic netlink header decodes")
	}
}

// TestEncoderTooLong: netlink lengths are 16 bits; an attribute or nest
// past them is an error, not a length that wraps.
func TestEncoderTooLong(t *testing.T) {
	var e encoder
	e.String(1, strings.Repeat("x", maxAttrLen))
	if e.err == nil {
		t.Error("an attribute of 64 KiB encoded without an error")
	}
	e = encoder{}
	start := e.Nest(1)
	for range 9000 {
		e.Uint32(2, 1)
	}
	e.EndNest(start)
	if e.err == nil {
		t.Error("a nest of 72 KB encoded without an error")
	}
}

// TestDecoderTruncated cuts a message of every attribute kind, nests
// included, at every byte: the decoder stops with an error or reads less,
// and never panics.
func TestDecoderTruncated(t *testing.T) {
	for _, m := range replySeeds() {
		for n := range len(m) {
			for _, parse := range replyParsers {
				parse(m[:n])
			}
		}
	}
}

// replySeeds are replies in the kernel's form of each kind the package
// decodes, built by the encoder: the fuzz target's seeds too.
func replySeeds() [][]byte {
	reply := func(cmd uint8, fill func(e *encoder)) []byte {
		e := encoder{b: []byte{cmd, 1, 0, 0}}
		fill(&e)
		return e.b
	}
	service := func(s Service) []byte {
		return reply(cmdNewService, func(e *encoder) {
			start := e.Nest(cmdAttrService)
			e.Uint16(svcAttrAF, uint16(s.family()))
			if s.FWMark != 0 {
				e.Uint32(svcAttrFWMark, s.FWMark)
			} else {
				var addr [16]byte
				copy(addr[:], s.Addr.Addr().AsSlice())
				e.Uint16(svcAttrProtocol, uint16(s.Protocol))
				e.Bytes(svcAttrAddr, addr[:])
				e.Uint16BE(svcAttrPort, s.Addr.Port())
			}
			e.String(svcAttrSchedName, s.Scheduler)
			var flags [8]byte
			binary.NativeEndian.PutUint32(flags[:], uint32(s.Flags|flagHashed))
			binary.NativeEndian.PutUint32(flags[4:], ^uint32(0))
			e.Bytes(svcAttrFlags, flags[:])
			e.Uint32(svcAttrTimeout, uint32(s.Timeout/time.Second))
			e.Uint32(svcAttrNetmask, s.netmaskBits())
			stats := e.Nest(10)
			e.Uint32(1, 42)
			e.EndNest(stats)
			e.EndNest(start)
		})
	}
	return [][]byte{
		service(Service{Addr: ap("192.0.2.1:80"), Protocol: TCP, Scheduler: "wlc", Flags: FlagPersistent, Timeout: 300 * time.Second, Netmask: net.CIDRMask(24, 32)}),
		service(Service{Addr: ap("[2001:db8::1]:443"), Protocol: SCTP, Scheduler: "mh", Flags: FlagMHPort}),
		service(Service{FWMark: 7, Family: IPv6, Scheduler: "rr"}),
		kernelDestReply(Destination{Addr: ap("10.0.0.1:80"), Method: NAT, Weight: 3, UpperThreshold: 9, LowerThreshold: 2}, IPv4),
		kernelDestReply(Destination{Addr: ap("10.0.0.2:0"), Method: Tunnel, Weight: 1, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum}, IPv4),
		kernelDestReply(Destination{Addr: ap("[2001:db8::2]:443"), Method: DirectRoute}, IPv6),
		reply(cmdNewDaemon, func(e *encoder) {
			start := e.Nest(cmdAttrDaemon)
			e.Uint32(daemonAttrState, uint32(SyncBackup))
			e.String(daemonAttrMcastIfn, "eth1")
			e.Uint32(daemonAttrSyncID, 52)
			e.Uint16(daemonAttrSyncMaxLen, 1024)
			e.addr(daemonAttrMcastGroup, netip.MustParseAddr("239.1.1.1"))
			e.Uint16(daemonAttrMcastPort, 9000)
			e.Uint8(daemonAttrMcastTTL, 2)
			e.EndNest(start)
		}),
		reply(cmdSetConfig, func(e *encoder) {
			e.timeouts(&Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second})
		}),
	}
}

// replyParsers are every decoding of a reply, for the fuzz target.
var replyParsers = []func(m []byte){
	func(m []byte) { parseService(m) },
	func(m []byte) { parseDestination(m) },
	func(m []byte) { parseSyncDaemon(m) },
	func(m []byte) { parseTimeouts(m) },
	func(m []byte) { parseFamilyID(m) },
}

// TestParseReplies reads back each seed as what it is.
func TestParseReplies(t *testing.T) {
	seeds := replySeeds()
	s, err := parseService(seeds[0])
	want := Service{Addr: ap("192.0.2.1:80"), Protocol: TCP, Scheduler: "wlc", Flags: FlagPersistent, Timeout: 300 * time.Second, Netmask: net.CIDRMask(24, 32)}
	if err != nil || !sameAttributes(&s, &want) || s.Key() != want.Key() || s.Netmask.String() != want.Netmask.String() || s.Flags != FlagPersistent {
		t.Errorf("service %+v, err %v; want %+v, the HASHED flag masked", s, err, want)
	}
	s, err = parseService(seeds[1])
	if err != nil || s.Addr != ap("[2001:db8::1]:443") || s.Protocol != SCTP || s.Netmask.String() != net.CIDRMask(128, 128).String() {
		t.Errorf("IPv6 service %+v, err %v", s, err)
	}
	s, err = parseService(seeds[2])
	if err != nil || s.FWMark != 7 || s.Family != IPv6 || s.Addr.IsValid() {
		t.Errorf("firewall-mark service %+v, err %v", s, err)
	}
	d, err := parseSyncDaemon(seeds[6])
	if want := (SyncDaemon{State: SyncBackup, Interface: "eth1", SyncID: 52, MaxLen: 1024, Port: 9000, TTL: 2, Group: netip.MustParseAddr("239.1.1.1")}); err != nil || d != want {
		t.Errorf("sync daemon %v, err %v; want %v", d, err, want)
	}
	to, err := parseTimeouts(seeds[7])
	if want := (Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}); err != nil || to != want {
		t.Errorf("timeouts %+v, err %v; want %+v", to, err, want)
	}
	// A service of a family it cannot read is an error, not a guess.
	bad := bytes.Clone(seeds[0])
	i := genlHeaderLen + 2*nlattrHeaderLen // the family's value
	binary.NativeEndian.PutUint16(bad[i:], 99)
	if _, err := parseService(bad); err == nil {
		t.Error("parsed a service of family 99")
	}
}

// TestServiceKeyEncoding: every request naming a service names it the
// same way, whatever else it carries.
func TestServiceKeyEncoding(t *testing.T) {
	for _, s := range everyForm() {
		var key encoder
		key.serviceKey(&s)
		for _, kind := range []OpKind{DeleteService, AddDestination, DeleteDestination} {
			var e encoder
			e.op(0x1d, 1, &Op{Kind: kind, Service: s, Destination: Destination{Addr: ap("10.0.0.1:80")}})
			if body := e.b[nlmsgHeaderLen+genlHeaderLen:]; !bytes.HasPrefix(body, key.b) {
				t.Errorf("%s %s: key %x, message %x", kind, s, key.b, body)
			}
		}
		var full encoder
		full.service(&s)
		got, err := parseService(append([]byte{cmdNewService, 1, 0, 0}, full.b...))
		if err != nil || !sameAttributes(&got, &s) || got.Key() != s.Key() {
			t.Errorf("%s: read back %s, err %v", s.describe(), got.describe(), err)
		}
	}
}

// FuzzDecode feeds arbitrary replies to every reply decoder: none may
// panic, and a destination read without error names a valid address.
func FuzzDecode(f *testing.F) {
	for _, m := range replySeeds() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, m []byte) {
		for _, parse := range replyParsers {
			parse(m)
		}
		if d, err := parseDestination(m); err == nil && !d.Addr.IsValid() {
			t.Errorf("destination %+v without an address", d)
		}
		if s, err := parseService(m); err == nil && s.FWMark == 0 && !s.Addr.IsValid() {
			t.Errorf("service %+v without an address or a mark", s)
		}
	})
}
