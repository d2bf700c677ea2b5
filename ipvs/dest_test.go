package ipvs

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// kernelDestReply builds a GET_DEST dump reply the way the kernel fills
// it: every address in a 16-byte field, the family beside it.
func kernelDestReply(d Destination, af Family) []byte {
	var addr [16]byte
	copy(addr[:], d.Addr.Addr().AsSlice())
	a := nl.NewRtAttr(cmdAttrDest|unix.NLA_F_NESTED, nil)
	a.AddRtAttr(destAttrAddr, addr[:])
	a.AddRtAttr(destAttrPort, binary.BigEndian.AppendUint16(nil, d.Addr.Port()))
	a.AddRtAttr(destAttrFwdMethod, nl.Uint32Attr(uint32(d.Method)|0x100)) // plus a non-method connection flag
	a.AddRtAttr(destAttrWeight, nl.Uint32Attr(uint32(d.Weight)))
	a.AddRtAttr(destAttrUThresh, nl.Uint32Attr(d.UpperThreshold))
	a.AddRtAttr(destAttrLThresh, nl.Uint32Attr(d.LowerThreshold))
	a.AddRtAttr(destAttrAddrFamily, nl.Uint16Attr(uint16(af)))
	a.AddRtAttr(destAttrTunType, nl.Uint8Attr(uint8(d.TunnelType)))
	a.AddRtAttr(destAttrTunPort, binary.BigEndian.AppendUint16(nil, d.TunnelPort))
	a.AddRtAttr(destAttrTunFlags, nl.Uint16Attr(uint16(d.TunnelFlags)))
	hdr := (&nl.Genlmsg{Command: cmdNewDest, Version: 1}).Serialize()
	return append(hdr, a.Serialize()...)
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
	for i := nl.SizeofGenlmsg; i < len(m); i++ {
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
