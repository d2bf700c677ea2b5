// Package kamib lays out KEEPALIVED-MIB's global scalars
// (enterprises.9586.100.5.1) and its VRRP part (…5.2), with the values and
// the quirks of keepalived 2.2.7's subagent, and builds the VRRP part's
// notifications.
//
// The package is pure: a snapshot of the daemon (Global, VRRP) is turned
// into the variables of an agentx.Builder, or into a notification's
// variable bindings. The daemon takes the snapshot at each request.
package kamib

import (
	"net/netip"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// OIDs of the MIB's parts and of the objects the notifications carry.
var (
	// Root is KEEPALIVED-MIB's keepalived node, enterprises.9586.100.5.
	Root = agentx.MustParseOID("1.3.6.1.4.1.9586.100.5")
	// GlobalOID holds the global scalars.
	GlobalOID = Root.Append(1)
	// VRRPOID holds the VRRP tables.
	VRRPOID = Root.Append(2)
	// RouterIDOID is routerId.0, which every notification carries.
	RouterIDOID = GlobalOID.Append(2, 0)
	// SyncGroupStateChange is vrrpSyncGroupStateChange.
	SyncGroupStateChange = VRRPOID.Append(10, 0, 1)
	// InstanceStateChange is vrrpInstanceStateChange.
	InstanceStateChange = VRRPOID.Append(10, 0, 2)
)

// Tri is a setting that may be left unset, such as smtp_alert, whose
// unset value defers to another.
type Tri int8

// The values of a Tri.
const (
	Unset Tri = iota
	On
	Off
)

// TriOf is the Tri of an optional boolean.
func TriOf(b *bool) Tri {
	switch {
	case b == nil:
		return Unset
	case *b:
		return On
	}
	return Off
}

// snmp is the MIB's value of t: keepalived's true(1), false(2) and, for
// unset, 3.
func (t Tri) snmp() int32 {
	switch t {
	case On:
		return 1
	case Off:
		return 2
	}
	return 3
}

// truth is an SNMPv2-TC TruthValue: true(1), false(2).
func truth(b bool) int32 {
	if b {
		return 1
	}
	return 2
}

// inetAddressType is keepalived's SNMP_InetAddressType: ipv4(1) for an
// IPv4 address and ipv6(2) for anything else, an invalid address
// included.
func inetAddressType(a netip.Addr) int32 {
	if a.Is4() {
		return 1
	}
	return 2
}

// addrBytes is an address's value as an InetAddress: 16 bytes for IPv6,
// else 4 (zero for an invalid address, as keepalived's unset sockaddr).
func addrBytes(a netip.Addr) []byte {
	switch {
	case a.Is6():
		b := a.As16()
		return b[:]
	case a.Is4():
		b := a.As4()
		return b[:]
	}
	return make([]byte, 4)
}
