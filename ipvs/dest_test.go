package ipvs

import (
	"bytes"
	"net/netip"
	"testing"
)

// kernelDestReply builds a GET_DEST dump reply the way the kernel fills
// it: every address in a 16-byte field, the family beside it.
func kernelDestReply(d Destination, af Family) []byte {
	var addr [16]byte
	copy(addr[:], d.Addr.Addr().AsSlice())
	e := encoder{b: []byte{cmdNewDest, 1, 0, 0}}
	start := e.Nest(cmdAttrDest)
	e.Bytes(destAttrAddr, addr[:])
	e.Uint16BE(destAttrPort, d.Addr.Port())
	e.Uint32(destAttrFwdMethod, uint32(d.Method)|0x100) // plus a non-method connection flag
	e.Uint32(destAttrWeight, uint32(d.Weight))
	e.Uint32(destAttrUThresh, d.UpperThreshold)
	e.Uint32(destAttrLThresh, d.LowerThreshold)
	e.Uint16(destAttrAddrFamily, uint16(af))
	e.Uint8(destAttrTunType, uint8(d.TunnelType))
	e.Uint16BE(destAttrTunPort, d.TunnelPort)
	e.Uint16(destAttrTunFlags, uint16(d.TunnelFlags))
	e.EndNest(start)
	return e.b
}

func TestParseDestination(t *testing.T) {
	for _, tt := range []struct {
		d  Destination
		af Family
	}{
		{Destination{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Method: NAT, Weight: 65535, UpperThreshold: 7, LowerThreshold: 3}, IPv4},
		{Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:443"), Method: DirectRoute, Weight: 0}, IPv6},
		{Destination{Addr: netip.MustParseAddrPort("10.0.0.2:0"), Method: Tunnel, Weight: 1, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelRemoteChecksum}, IPv4},
	} {
		got, err := parseDestination(kernelDestReply(tt.d, tt.af))
		if err != nil {
			t.Errorf("%v: %v", tt.d, err)
			continue
		}
		if got != tt.d {
			t.Errorf("parsed %+v, want %+v", got, tt.d)
		}
	}
	if _, err := parseDestination(kernelDestReply(Destination{Addr: netip.MustParseAddrPort("10.0.0.1:80")}, 0)); err == nil {
		t.Error("parsed a destination without an address family")
	}
	if _, err := parseDestination([]byte{1, 2}); err == nil {
		t.Error("parsed a short message")
	}
}

// TestParseDestinationTruncated feeds every prefix of a reply, and the
// reply with its attributes' lengths garbled: an error, never a panic.
func TestParseDestinationTruncated(t *testing.T) {
	m := kernelDestReply(Destination{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Method: NAT, Weight: 1}, IPv4)
	for n := range len(m) {
		if _, err := parseDestination(m[:n]); err == nil {
			t.Errorf("parsed %d of %d bytes", n, len(m))
		}
	}
	for i := genlHeaderLen; i < len(m); i++ {
		b := bytes.Clone(m)
		b[i] ^= 0xff
		parseDestination(b) // must not panic
	}
}

// TestParseDestinationAllocs: a dump of tens of thousands of destinations
// is parsed without garbage.
func TestParseDestinationAllocs(t *testing.T) {
	m := kernelDestReply(Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:443"), Method: DirectRoute, Weight: 3}, IPv6)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := parseDestination(m); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per destination, want 0", n)
	}
}
