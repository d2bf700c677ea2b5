package vrrp

import (
	"net/netip"
	"strconv"
	"strings"
)

// A VIP is a virtual_ipaddress entry: an address with the ip-address(8)
// options keepalived accepts on it.
type VIP struct {
	// Prefix is the address and its prefix length, /32 or /128 when the
	// configuration gives none, as keepalived does.
	Prefix    netip.Prefix
	Device    string     // dev; empty: the instance's interface
	Broadcast netip.Addr // brd
	Scope     Scope      // scope; zero is global
	Label     string     // label
	// NoTrack (no_track) leaves a master in MASTER when the address is
	// deleted from under it.
	NoTrack bool
	// Peer (peer) is the remote end of a point-to-point address; the
	// address then takes the peer's prefix length, as keepalived's does.
	Peer netip.Prefix
	// Home, MngTmpAddr, NoPrefixRoute and AutoJoin are the address
	// flags of ip-address(8)'s home, mngtmpaddr, noprefixroute and
	// autojoin.
	Home, MngTmpAddr, NoPrefixRoute, AutoJoin bool
	// DAD (-nodad) lets an IPv6 address go through duplicate address
	// detection, which a VIP otherwise skips.
	DAD bool
	// PreferredLft, when Deprecating, is an IPv6 address's preferred
	// lifetime in seconds (preferred_lft; 0 deprecates it at once, as
	// keepalived does by default for a /128). Otherwise the address is
	// preferred forever.
	PreferredLft uint32
	Deprecating  bool
}

func (v VIP) String() string {
	var b strings.Builder
	b.WriteString(v.Prefix.String())
	if v.Broadcast.IsValid() {
		b.WriteString(" brd " + v.Broadcast.String())
	}
	if v.Device != "" {
		b.WriteString(" dev " + v.Device)
	}
	if v.Scope != ScopeUniverse {
		b.WriteString(" scope " + v.Scope.String())
	}
	if v.Label != "" {
		b.WriteString(" label " + v.Label)
	}
	if v.Peer.IsValid() {
		b.WriteString(" peer " + v.Peer.String())
	}
	return b.String()
}

// A Scope is an rtnetlink address or route scope (rtm_scope, ifa_scope),
// with the kernel's values.
type Scope uint8

// The scopes ip-address(8) and ip-route(8) name.
const (
	ScopeUniverse Scope = 0   // global
	ScopeSite     Scope = 200 // site
	ScopeLink     Scope = 253 // link
	ScopeHost     Scope = 254 // host
	ScopeNowhere  Scope = 255 // nowhere
)

// String returns the scope as ip(8) spells it, or its number.
func (s Scope) String() string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}
