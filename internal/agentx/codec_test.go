package agentx

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

var keepalivedMIB = MustParseOID("1.3.6.1.4.1.9586.100.5")

// TestRoundTrip checks that every PDU a subagent or a master sends
// decodes to what was encoded.
func TestRoundTrip(t *testing.T) {
	vbs := []VarBind{
		{Name: keepalivedMIB.Append(1, 1, 0), Type: OctetString, Value: []byte("Keepalived v2.2.7 (01/16,2022)")},
		{Name: keepalivedMIB.Append(2, 3, 1, 4, 1), Type: Integer, Value: int32(-2)},
		{Name: keepalivedMIB.Append(2, 3, 1, 5, 1), Type: Gauge32, Value: uint32(100)},
		{Name: keepalivedMIB.Append(2, 3, 1, 6, 1), Type: Counter32, Value: uint32(7)},
		{Name: keepalivedMIB.Append(2, 3, 1, 7, 1), Type: Counter64, Value: uint64(1) << 40},
		{Name: keepalivedMIB.Append(2, 3, 1, 8, 1), Type: TimeTicks, Value: uint32(12345)},
		{Name: keepalivedMIB.Append(2, 3, 1, 9, 1), Type: IPAddress, Value: [4]byte{10, 0, 0, 1}},
		{Name: MustParseOID("1.3.6.1.6.3.1.1.4.1.0"), Type: ObjectIdentifier, Value: keepalivedMIB.Append(3, 0, 2)},
		{Name: OID{2, 5}, Type: Opaque, Value: []byte{1, 2, 3, 4, 5}},
		{Name: OID{1, 3, 6, 1, 300, 1}, Type: Null},
		{Name: keepalivedMIB.Append(9), Type: NoSuchObject},
		{Name: keepalivedMIB.Append(9, 1), Type: NoSuchInstance},
		{Name: keepalivedMIB.Append(9, 2), Type: EndOfMIBView},
	}
	pdus := []*PDU{
		{Type: TypeOpen, Timeout: 1, ID: keepalivedMIB, Descr: "Keepalived"},
		{Type: TypeOpen, Descr: "no id"},
		{Type: TypeClose, SessionID: 3, Reason: ReasonShutdown},
		{Type: TypeRegister, SessionID: 3, PacketID: 2, Timeout: 0, Priority: 127, Subtree: keepalivedMIB.Append(1)},
		{Type: TypeRegister, Priority: 127, RangeSubID: 9, Subtree: keepalivedMIB.Append(2, 3, 1, 1, 1), UpperBound: 20, Context: "ctx"},
		{Type: TypeUnregister, Priority: 127, Subtree: keepalivedMIB},
		{Type: TypeGet, SessionID: 3, TransactionID: 9, PacketID: 10, Ranges: []SearchRange{{Start: keepalivedMIB.Append(1, 1, 0)}, {Start: OID{1, 3}}}},
		{Type: TypeGetNext, Ranges: []SearchRange{{Start: keepalivedMIB, Include: true, End: keepalivedMIB.Append(3)}}},
		{Type: TypeGetBulk, NonRepeaters: 1, MaxRepetitions: 10, Ranges: []SearchRange{{Start: OID{1, 3, 6, 1, 2, 1, 1, 3}}, {Start: keepalivedMIB, End: keepalivedMIB.Append(9)}}},
		{Type: TypeTestSet, VarBinds: vbs[:3]},
		{Type: TypeCommitSet}, {Type: TypeUndoSet}, {Type: TypeCleanupSet},
		{Type: TypeNotify, VarBinds: vbs},
		{Type: TypePing, Context: "c"},
		{Type: TypeIndexAllocate, Flags: FlagNewIndex, VarBinds: vbs[1:2]},
		{Type: TypeIndexDeallocate, VarBinds: vbs[1:2]},
		{Type: TypeAddAgentCaps, ID: keepalivedMIB.Append(1), Descr: "The MIB module for Keepalived"},
		{Type: TypeRemoveAgentCaps, ID: keepalivedMIB.Append(1)},
		{Type: TypeResponse, SysUpTime: 42, Error: NotWritable, Index: 1, VarBinds: vbs},
	}
	for _, p := range pdus {
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("%v: %v", p.Type, err)
		}
		if (len(b)-HeaderLen)%4 != 0 {
			t.Errorf("%v: payload of %d octets, not a multiple of 4", p.Type, len(b)-HeaderLen)
		}
		q, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%v: unmarshal %x: %v", p.Type, b, err)
		}
		want := *p
		want.Flags |= FlagNetworkByteOrder
		if want.Context != "" {
			want.Flags |= FlagNonDefaultContext
		}
		if !reflect.DeepEqual(*q, want) {
			t.Errorf("%v: round trip\n got %+v\nwant %+v", p.Type, *q, want)
		}
		r, err := ReadPDU(bytes.NewReader(b))
		if err != nil || !reflect.DeepEqual(r, q) {
			t.Errorf("%v: ReadPDU = %+v, %v; want %+v", p.Type, r, err, q)
		}
	}
}

// TestEncodingOpen pins the octets of an Open PDU against RFC 2741's
// layout: the header, the timeout, a prefix-compressed OID and a padded
// Octet String.
func TestEncodingOpen(t *testing.T) {
	b, err := (&PDU{Type: TypeOpen, PacketID: 1, Timeout: 5, ID: OID{1, 3, 6, 1, 4, 1, 9586}, Descr: "Keep"}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"01011000", "00000000", "00000000", "00000001", "00000018", // header: v1 Open, network byte order, payload 24
		"05000000",                         // timeout 5
		"02040000", "00000001", "00002572", // OID: 2 subids, prefix 4 (1.3.6.1.4), 1.9586
		"00000004", "4b656570", // "Keep"
	}, "")
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("Open encodes as\n%s\nwant\n%s", got, want)
	}
}

// TestLittleEndian checks that a PDU from a master that sends in its host
// order (the flag clear) is read in that order.
func TestLittleEndian(t *testing.T) {
	b, _ := hex.DecodeString(strings.Join([]string{
		"01050000", "07000000", "08000000", "09000000", "10000000", // Get, session 7, transaction 8, packet 9, payload 16
		"02040000", "01000000", "72250000", // start 1.3.6.1.4.1.9586
		"00000000", // empty end
	}, ""))
	p, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != TypeGet || p.SessionID != 7 || p.TransactionID != 8 || p.PacketID != 9 ||
		len(p.Ranges) != 1 || p.Ranges[0].Start.String() != "1.3.6.1.4.1.9586" || p.Ranges[0].End != nil {
		t.Errorf("little-endian Get read as %+v", p)
	}
}

// TestMalformed checks that broken PDUs are errors, not panics or
// silent truncation.
func TestMalformed(t *testing.T) {
	good, _ := (&PDU{Type: TypeResponse, VarBinds: []VarBind{{Name: OID{1, 3}, Type: OctetString, Value: []byte("abc")}}}).MarshalBinary()
	cases := map[string][]byte{
		"short header":   good[:10],
		"version 2":      append([]byte{2}, good[1:]...),
		"truncated":      good[:len(good)-4],
		"trailing":       append(append([]byte(nil), good...), 0, 0, 0, 0),
		"unknown type":   append([]byte{1, 99}, good[2:]...),
		"payload not /4": func() []byte { b := append([]byte(nil), good...); b[19]++; return b }(),
	}
	for name, b := range cases {
		if p, err := Unmarshal(b); err == nil {
			t.Errorf("%s: decoded as %+v", name, p)
		}
	}
	if _, err := (&PDU{Type: TypeClose, Context: "x"}).MarshalBinary(); err == nil {
		t.Error("a Close with a context was encoded")
	}
	if _, err := (&PDU{Type: TypeNotify, VarBinds: []VarBind{{Name: OID{1}, Type: Integer, Value: "x"}}}).MarshalBinary(); err == nil {
		t.Error("an Integer holding a string was encoded")
	}
	if _, err := (&PDU{Type: TypeGet, Ranges: []SearchRange{{Start: make(OID, 129)}}}).MarshalBinary(); err == nil {
		t.Error("an OID of 129 subidentifiers was encoded")
	}
}

// FuzzUnmarshal checks that no input panics the decoder and that what
// decodes encodes to a PDU that decodes the same.
func FuzzUnmarshal(f *testing.F) {
	for _, p := range []*PDU{
		{Type: TypeGet, Ranges: []SearchRange{{Start: keepalivedMIB}}},
		{Type: TypeGetBulk, NonRepeaters: 1, MaxRepetitions: 3, Ranges: []SearchRange{{Start: keepalivedMIB, Include: true, End: keepalivedMIB.Append(5)}}},
		{Type: TypeResponse, VarBinds: []VarBind{{Name: OID{1, 3, 6, 1, 2}, Type: Counter64, Value: uint64(9)}}},
		{Type: TypeTestSet, Context: "c", VarBinds: []VarBind{{Name: OID{1}, Type: IPAddress, Value: [4]byte{1, 2, 3, 4}}}},
	} {
		b, _ := p.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			return
		}
		b2, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", p, err)
		}
		q, err := Unmarshal(b2)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", b2, err)
		}
		// The encoder always uses network byte order, and sets the
		// context flag only for a context it sends.
		p.Flags |= FlagNetworkByteOrder
		if p.Context == "" {
			p.Flags &^= FlagNonDefaultContext
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip\n got %+v\nwant %+v", q, p)
		}
	})
}
