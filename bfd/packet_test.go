package bfd

import (
	"bytes"
	"errors"
	"testing"
)

// TestControlPacketWire encodes a packet and decodes it back, and checks
// the wire form against RFC 5880 section 4.1's layout byte by byte.
func TestControlPacketWire(t *testing.T) {
	p := ControlPacket{Version: 1, Diag: DiagNeighborDown, State: Up, Poll: true, Demand: true, DetectMult: 3,
		MyDiscriminator: 0x01020304, YourDiscriminator: 0x05060708, DesiredMinTx: 10000, RequiredMinRx: 20000}
	b := p.Marshal()
	want := []byte{
		1<<5 | 3, 3<<6 | 0x20 | 0x02, 3, 24,
		1, 2, 3, 4, 5, 6, 7, 8,
		0, 0, 0x27, 0x10, 0, 0, 0x4e, 0x20, 0, 0, 0, 0,
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("wire form\n got %x\nwant %x", b, want)
	}
	var q ControlPacket
	if err := q.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	p.Length = HeaderLen
	if q != p {
		t.Fatalf("decoded %+v, want %+v", q, p)
	}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestControlPacketRefused checks the packets keepalived discards.
func TestControlPacketRefused(t *testing.T) {
	ok := ControlPacket{Version: 1, State: Down, DetectMult: 3, MyDiscriminator: 1}
	var p ControlPacket
	if err := p.Unmarshal(ok.Marshal()[:23]); !errors.Is(err, ErrShort) {
		t.Errorf("23 bytes: %v", err)
	}
	if err := p.Unmarshal(append(ok.Marshal(), 0)); !errors.Is(err, ErrLength) {
		t.Errorf("length 24 in 25 bytes: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*ControlPacket)
		want string
	}{
		{"version", func(p *ControlPacket) { p.Version = 0 }, "bfd: Packet is of unsupported version: 0"},
		{"multiplier", func(p *ControlPacket) { p.DetectMult = 0 }, "bfd: Packet 'detection multiplier' field is zero"},
		{"multipoint", func(p *ControlPacket) { p.Multipoint = true }, "bfd: Packet has 'multipoint' flag"},
		{"my discriminator", func(p *ControlPacket) { p.MyDiscriminator = 0 }, "bfd: Packet 'my discriminator' field is zero"},
		{"your discriminator", func(p *ControlPacket) { p.State = Init }, "bfd: Packet 'your discriminator' field is zero and 'state' field is not Down or AdminDown"},
		{"poll and final", func(p *ControlPacket) { p.Poll, p.Final = true, true }, "bfd: Packet has both poll and final flags set"},
		{"diag", func(p *ControlPacket) { p.Diag = 9 }, "bfd: Packet has invalid 'diag' field: 9"},
	} {
		q := ok
		c.edit(&q)
		if err := q.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid packet: %v", err)
	}
}

// FuzzUnmarshal feeds arbitrary datagrams to Unmarshal and Validate: they
// never panic, and a 24-byte packet that decodes encodes back to the
// same bytes (a longer one carries an authentication section, which
// Marshal never writes).
func FuzzUnmarshal(f *testing.F) {
	p := ControlPacket{Version: 1, State: Up, Final: true, DetectMult: 5, MyDiscriminator: 7, YourDiscriminator: 9,
		DesiredMinTx: 10000, RequiredMinRx: 10000}
	f.Add(p.Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p ControlPacket
		if err := p.Unmarshal(b); err != nil {
			return
		}
		p.Validate()
		if len(b) != HeaderLen {
			return
		}
		if got := p.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, p, got)
		}
	})
}
