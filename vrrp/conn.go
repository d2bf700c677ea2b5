package vrrp

import "net/netip"

// DefaultGroup4 returns the IPv4 group of RFC 3768, 224.0.0.18,
// keepalived's vrrp_mcast_group4 default.
func DefaultGroup4() netip.Addr { return netip.AddrFrom4([4]byte{224, 0, 0, 18}) }

// DefaultGroup6 returns the IPv6 group of RFC 5798, ff02::12.
func DefaultGroup6() netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
}

// A Receiver takes the VRRP messages of one VRID; *Instance is one.
type Receiver interface {
	// Receive handles one message: the bytes after the IP header, the
	// header's addresses, and the TTL or hop limit it arrived with. b
	// is valid only until Receive returns: the socket reads the next
	// messages into it.
	Receive(b []byte, src, dst netip.Addr, ttl int)
}

// An ahReceiver takes whole datagrams with an Authentication Header;
// *Instance is one.
type ahReceiver interface {
	receiveAH(datagram []byte, src, dst netip.Addr, ttl int)
}
