package vrrp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"net/netip"
)

// keepalived's auth_type AH puts a VRRPv2 advert behind an IPsec
// Authentication Header (RFC 2402): the IPv4 datagram carries protocol 51,
// then the AH header, then the VRRP message with auth type 2 and eight zero
// bytes of authentication data. There is no security association: the
// SPI is the sender's address, the sequence number counts the sender's
// adverts, and the integrity check value is HMAC-MD5-96 (RFC 2403) keyed
// with auth_pass over the whole datagram with the fields a router may
// change zeroed: TOS, flags and fragment offset, header checksum, and the
// TTL when unicast peers may be routed. The IP identification is covered;
// keepalived sends the sequence number's low bits there.

const (
	// ProtocolAH is the IP protocol number of the Authentication Header.
	ProtocolAH = 51
	// ahLen is the AH header keepalived sends: next header, payload
	// length, reserved, SPI, sequence number and a 96-bit ICV.
	ahLen = 24
	// ahPayloadLen is ahLen in 32-bit words minus 2 (RFC 2402 2.2).
	ahPayloadLen = ahLen/4 - 2
	icvLen       = 12 // HMAC-MD5-96
	icvOffset    = 12 // of the ICV in the AH header
)

// marshalAH returns the IPv4 datagram of an AH-authenticated advert: vrrp
// is the VRRPv2 message (auth type AH), sent from src to dst with IP
// identification id and AH sequence number seq, its ICV keyed with key.
// unicast zeroes the TTL in the ICV, as keepalived does for unicast peers.
// The datagram carries TTL 255 unless ttl is in 0-255.
func marshalAH(vrrp []byte, src, dst netip.Addr, id uint16, seq uint32, key []byte, unicast bool, ttl int) []byte {
	b := make([]byte, ipv4HeaderLen+ahLen+len(vrrp))
	ip := b[:ipv4HeaderLen]
	ip[0] = 4<<4 | ipv4HeaderLen/4
	ip[1] = 0xc0 // internetwork control, as the VRRP socket's TOS
	binary.BigEndian.PutUint16(ip[2:4], uint16(len(b)))
	binary.BigEndian.PutUint16(ip[4:6], id)
	ip[8] = TTL
	if ttl >= 0 && ttl <= 255 {
		ip[8] = byte(ttl)
	}
	ip[9] = ProtocolAH
	s4, d4 := src.As4(), dst.As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	ah := b[ipv4HeaderLen : ipv4HeaderLen+ahLen]
	ah[0] = Protocol
	ah[1] = ahPayloadLen
	copy(ah[4:8], s4[:]) // the SPI
	binary.BigEndian.PutUint32(ah[8:12], seq)
	copy(b[ipv4HeaderLen+ahLen:], vrrp)
	copy(ah[icvOffset:], ahICV(b, ipv4HeaderLen, key, unicast))
	binary.BigEndian.PutUint16(ip[10:12], ^fold(sumBytes(ip)))
	return b
}

// verifyAH checks an AH-authenticated datagram p (IPv4 header, AH, VRRP)
// with key and returns the VRRP message and the sequence number. The
// caller checks the sequence number against the last it accepted.
func verifyAH(p []byte, key []byte, unicast bool) (vrrp []byte, seq uint32, err *DropError) {
	if len(p) < ipv4HeaderLen || p[9] != ProtocolAH {
		return nil, 0, dropf(DropAuth, "No AH header but auth type is AH")
	}
	hl := int(p[0]&0x0f) << 2
	if hl < ipv4HeaderLen || len(p) < hl+ahLen+headerLen {
		return nil, 0, dropf(DropLength, "vrrp packet too short, length %d", len(p))
	}
	ah := p[hl : hl+ahLen]
	if ah[0] != Protocol || ah[1] != ahPayloadLen {
		return nil, 0, dropf(DropAuth, "AH header for protocol %d, length %d: not a VRRP advert", ah[0], ah[1])
	}
	if !hmac.Equal(ahICV(p, hl, key, unicast), ah[icvOffset:icvOffset+icvLen]) {
		return nil, 0, dropf(DropAuth, "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !")
	}
	if subtle.ConstantTimeCompare(ah[4:8], p[12:16]) != 1 {
		return nil, 0, dropf(DropAuth, "IPSEC AH : invalid IPSEC SPI value. %d and expect %d",
			binary.BigEndian.Uint32(p[12:16]), binary.BigEndian.Uint32(ah[4:8]))
	}
	return p[hl+ahLen:], binary.BigEndian.Uint32(ah[8:12]), nil
}

// ahICV computes the ICV of datagram p, whose AH header starts at hl, as
// though its mutable fields and its ICV were zero.
func ahICV(p []byte, hl int, key []byte, unicast bool) []byte {
	var hdr [60 + ahLen]byte
	n := copy(hdr[:], p[:hl+ahLen])
	hdr[1] = 0              // TOS
	hdr[6], hdr[7] = 0, 0   // flags, fragment offset
	hdr[10], hdr[11] = 0, 0 // checksum
	if unicast {
		hdr[8] = 0 // TTL
	}
	clear(hdr[hl+icvOffset : hl+icvOffset+icvLen])
	m := hmac.New(md5.New, key)
	m.Write(hdr[:n])
	m.Write(p[hl+ahLen:])
	return m.Sum(nil)[:icvLen]
}

// fold reduces a one's complement sum to 16 bits.
func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
