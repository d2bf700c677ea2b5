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
