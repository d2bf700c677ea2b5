package vrrp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FuzzVerifyAH feeds AH datagrams, as a raw socket of protocol 51
// returns them, to verifyAH: it never panics, and what it accepts is the
// datagram's own tail, behind a header it checked.
func FuzzVerifyAH(f *testing.F) {
	key := []byte("secret")
	for _, unicast := range []bool{false, true} {
		dst := netip.MustParseAddr("224.0.0.18")
		if unicast {
			dst = netip.MustParseAddr("10.0.0.2")
		}
		a := &Advertisement{Version: 2, VRID: 51, Priority: 100, Interval: 1e9,
			Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.100")}, AuthType: AuthAH}
		b, err := a.Marshal(netip.MustParseAddr("10.0.0.1"), dst)
		if err != nil {
			f.Fatal(err)
		}
		d := marshalAH(b, netip.MustParseAddr("10.0.0.1"), dst, 7, 42, key, unicast, -1)
		f.Add(d, unicast)
		f.Add(d[:len(d)-1], unicast)
		bad := bytes.Clone(d)
		bad[len(bad)-1] ^= 1
		f.Add(bad, unicast)
	}
	f.Add([]byte{0x4f}, false)
	f.Fuzz(func(t *testing.T, p []byte, unicast bool) {
		v, seq, err := verifyAH(p, key, unicast)
		if err != nil {
			if err.Reason == 0 {
				t.Fatalf("drop without a reason: %v", err)
			}
			return
		}
		if !bytes.HasSuffix(p, v) || len(v) < headerLen {
			t.Fatalf("accepted VRRP message %x is not a tail of %x", v, p)
		}
		hl := int(p[0]&0x0f) << 2
		if got := binary.BigEndian.Uint32(p[hl+8 : hl+12]); got != seq {
			t.Fatalf("sequence number %d, header says %d", seq, got)
		}
	})
}

// FuzzRawReceive feeds what the raw sockets return to their parsers: an
// IPv4 datagram with its header, and IPv6 control messages. Neither
// panics, and an IPv4 datagram taken has a header of the length it
// claims.
func FuzzRawReceive(f *testing.F) {
	a := &Advertisement{Version: 2, VRID: 51, Priority: 100, Interval: 1e9,
		Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	b, err := a.Marshal(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("224.0.0.18"))
	if err != nil {
		f.Fatal(err)
	}
	ip := []byte{0x45, 0xc0, 0, byte(20 + len(b)), 0, 0, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18}
	f.Add(append(ip, b...), false)
	f.Add([]byte{0x46, 0, 0, 0}, false)
	// An IPV6_HOPLIMIT control message.
	cm := make([]byte, cmsgAlign(unix.SizeofCmsghdr)+cmsgAlign(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&cm[0]))
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(cm[cmsgAlign(unix.SizeofCmsghdr):], 255)
	f.Add(cm, true)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		if v6 {
			var p rawPacket
			parseCmsg6(b, &p)
			return
		}
		p, ok := parseIPv4(b, false)
		if !ok {
			return
		}
		if hl := int(b[0]&0x0f) << 2; len(p.ip) != hl || len(p.ip)+len(p.payload) != len(b) {
			t.Fatalf("header %d bytes and payload %d of a %d-byte datagram whose header says %d", len(p.ip), len(p.payload), len(b), hl)
		}
	})
}
