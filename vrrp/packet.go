package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Protocol is the IP protocol number of VRRP.
const Protocol = 112

// TTL is the IPv4 TTL and IPv6 hop limit every advertisement is sent with
// and must arrive with, so that it cannot have crossed a router.
const TTL = 255

// Protocol versions.
const (
	Version2 = 2 // RFC 3768, keepalived's default for IPv4
	Version3 = 3 // RFC 5798, required for IPv6
)

// Priorities with a meaning of their own.
const (
	PriorityStop  = 0   // a master giving up
	PriorityOwner = 255 // the owner of the virtual addresses
)

// An AuthType is a VRRPv2 authentication type (RFC 2338 section 5.3.6,
// kept by keepalived after RFC 3768 dropped it).
type AuthType uint8

// Authentication types.
const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1 // keepalived's auth_type PASS
	AuthAH   AuthType = 2 // keepalived's auth_type AH
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(t))
}

const (
	headerLen   = 8
	authDataLen = 8
	typeAdvert  = 1
)

// An Advertisement is a VRRP advertisement, the only VRRP message.
type Advertisement struct {
	Version  int   // Version2 or Version3
	VRID     uint8 // virtual router identifier, 1-255
	Priority uint8

	// Interval is the advertisement interval: whole seconds up to 255 s
	// in version 2, centiseconds up to 40.95 s in version 3.
	Interval time.Duration

	// Addresses are the virtual addresses, all of the family of the
	// packet's IP header: IPv4 only in version 2.
	Addresses []netip.Addr

	// AuthType and AuthData are version 2 only. keepalived compares all
	// eight bytes of AuthData, so a shorter password is zero-padded.
	AuthType AuthType
	AuthData [authDataLen]byte

	// ahSeq is the AH sequence number the Network sends with it.
	ahSeq uint32
}

// Marshal encodes a as sent from src to dst. The addresses take part in
// the version 3 checksum through the pseudo-header (RFC 5798 section
// 5.2.8); version 2 ignores them.
func (a *Advertisement) Marshal(src, dst netip.Addr) ([]byte, error) {
	var alen int
	switch a.Version {
	case Version2:
		alen = 4
	case Version3:
		if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
			return nil, fmt.Errorf("marshaling VRRPv3 advertisement from %v to %v: addresses of one family needed for the checksum", src, dst)
		}
		alen = src.BitLen() / 8
	default:
		return nil, fmt.Errorf("marshaling advertisement: unsupported version %d", a.Version)
	}
	if len(a.Addresses) > 255 {
		return nil, fmt.Errorf("marshaling advertisement for VRID %d: %d addresses, at most 255 fit", a.VRID, len(a.Addresses))
	}
	for _, ip := range a.Addresses {
		if ip.BitLen()/8 != alen || ip.Zone() != "" {
			return nil, fmt.Errorf("marshaling VRRPv%d advertisement for VRID %d: address %v is of the wrong family", a.Version, a.VRID, ip)
		}
	}
	n := headerLen + alen*len(a.Addresses)
	if a.Version == Version2 {
		n += authDataLen
	}
	b := make([]byte, n)
	b[0] = byte(a.Version)<<4 | typeAdvert
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = byte(len(a.Addresses))
	switch a.Version {
	case Version2:
		if a.Interval <= 0 || a.Interval%time.Second != 0 || a.Interval > 255*time.Second {
			return nil, fmt.Errorf("marshaling VRRPv2 advertisement for VRID %d: interval %v is not 1-255 whole seconds", a.VRID, a.Interval)
		}
		b[4] = byte(a.AuthType)
		b[5] = byte(a.Interval / time.Second)
		copy(b[n-authDataLen:], a.AuthData[:])
	case Version3:
		cs := a.Interval / (10 * time.Millisecond)
		if cs <= 0 || cs > 0xfff || a.Interval%(10*time.Millisecond) != 0 {
			return nil, fmt.Errorf("marshaling VRRPv3 advertisement for VRID %d: interval %v is not 10 ms to 40.95 s in whole centiseconds", a.VRID, a.Interval)
		}
		binary.BigEndian.PutUint16(b[4:6], uint16(cs))
	}
	off := headerLen
	for _, ip := range a.Addresses {
		off += copy(b[off:], ip.AsSlice())
	}
	binary.BigEndian.PutUint16(b[6:8], checksum(a.Version, b, src, dst))
	return b, nil
}

// Unmarshal decodes an advertisement received from src for dst (the
// packet's IP addresses, which decide the address family and take part in
// the version 3 checksum). A malformed packet yields a *DropError.
func (a *Advertisement) Unmarshal(b []byte, src, dst netip.Addr) error {
	return a.decode(b, src, dst, nil)
}

// decode is Unmarshal appending the addresses to addrs, so that a
// receiver can reuse one slice for every advert.
func (a *Advertisement) decode(b []byte, src, dst netip.Addr, addrs []netip.Addr) error {
	if len(b) < headerLen {
		return dropf(DropLength, "vrrp header too short. %d and expect at least %d", len(b), headerLen)
	}
	version := int(b[0] >> 4)
	if version != Version2 && version != Version3 {
		return dropf(DropVersion, "invalid version. %d", version)
	}
	if t := b[0] & 0x0f; t != typeAdvert {
		return dropf(DropType, "Invalid packet type. %d and expect %d", t, typeAdvert)
	}
	alen := 4
	if src.Is6() && !src.Is4In6() {
		if version == Version2 {
			return dropf(DropVersion, "invalid version. 2 over IPv6")
		}
		alen = 16
	}
	count := int(b[3])
	want := headerLen + alen*count
	if version == Version2 {
		want += authDataLen
	}
	if len(b) != want {
		return dropf(DropLength, "Received packet length mismatch against expected. %d and expect %d", len(b), want)
	}
	if version == Version2 && AuthType(b[4]) > AuthAH {
		return dropf(DropAuth, "Invalid auth type: %d", b[4])
	}
	if checksum(version, b, src, dst) != 0 {
		return dropf(DropChecksum, "Invalid VRRPv%d checksum", version)
	}

	if addrs == nil {
		addrs = make([]netip.Addr, 0, count)
	}
	*a = Advertisement{
		Version:   version,
		VRID:      b[1],
		Priority:  b[2],
		Addresses: addrs,
	}
	switch version {
	case Version2:
		a.AuthType = AuthType(b[4])
		a.Interval = time.Duration(b[5]) * time.Second
		copy(a.AuthData[:], b[len(b)-authDataLen:])
	case Version3:
		// The top four bits are reserved and ignored on receipt.
		a.Interval = time.Duration(binary.BigEndian.Uint16(b[4:6])&0xfff) * 10 * time.Millisecond
	}
	for off := headerLen; count > 0; count-- {
		var ip netip.Addr
		if alen == 4 {
			ip = netip.AddrFrom4([4]byte(b[off : off+4]))
		} else {
			ip = netip.AddrFrom16([16]byte(b[off : off+16]))
		}
		a.Addresses = append(a.Addresses, ip)
		off += alen
	}
	return nil
}

// checksum returns the Internet checksum of a VRRP message b, with the
// pseudo-header for version 3. Over a message whose checksum field is
// filled in it returns zero when the checksum is right.
func checksum(version int, b []byte, src, dst netip.Addr) uint16 {
	var sum uint32
	if version == Version3 {
		sum += sumBytes(src.AsSlice())
		sum += sumBytes(dst.AsSlice())
		// Both pseudo-headers reduce to protocol and length for the
		// sum: the IPv6 one only widens the length to 32 bits.
		sum += Protocol + uint32(len(b))
	}
	sum += sumBytes(b)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func sumBytes(b []byte) uint32 {
	var sum uint32
	for len(b) >= 8 {
		// Four 16-bit words at a time; a VRRP message is far too
		// short for the 32-bit sum to overflow.
		v := binary.BigEndian.Uint64(b)
		sum += uint32(v>>48) + uint32(v>>32&0xffff) + uint32(v>>16&0xffff) + uint32(v&0xffff)
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}
