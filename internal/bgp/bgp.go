// Package bgp announces host routes to BGP neighbors.
//
// A Speaker holds the sessions and the routes announced on them. The
// daemon speaks to it only through the Speaker interface, so that another
// BGP implementation can replace GoBGP's, in package gobgp: it listens on
// no port and dials its neighbors. The daemon's Speaker is a Process,
// which runs that implementation in gokeepalived-bgp, a program of its
// own, so that the daemon does not link GoBGP.
package bgp

import (
	"context"
	"net/netip"
	"slices"
	"time"
)

// GracefulShutdown is the well-known community GRACEFUL_SHUTDOWN,
// 65535:0 (RFC 8326): a neighbor that honours it lowers the preference
// of the routes that carry it, so that traffic moves away before they are
// withdrawn.
const GracefulShutdown Community = 0xFFFF0000

// A Community is a BGP community (RFC 1997), ASN:value in one number.
type Community uint32

// String formats c as "ASN:value".
func (c Community) String() string {
	return itoa(uint32(c)>>16) + ":" + itoa(uint32(c)&0xFFFF)
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for ; v > 0; v /= 10 {
		i--
		b[i] = byte('0' + v%10)
	}
	return string(b[i:])
}

// A LargeCommunity is a BGP large community (RFC 8092):
// global administrator, then two local data parts.
type LargeCommunity struct {
	ASN, Local1, Local2 uint32
}

// String formats c as "ASN:local1:local2".
func (c LargeCommunity) String() string {
	return itoa(c.ASN) + ":" + itoa(c.Local1) + ":" + itoa(c.Local2)
}

// Global is what a Speaker says of itself.
type Global struct {
	RouterID netip.Addr
	ASN      uint32
}

// A Neighbor is one BGP session's configuration. The Speaker dials it.
type Neighbor struct {
	Addr     netip.Addr
	ASN      uint32
	Password string // TCP MD5 signature key (RFC 2385), if set
	// Multihop is the TTL of an eBGP session to a neighbor not on a
	// connected network; 0 keeps the default of 1.
	Multihop uint8
	Source   netip.Addr // local address to dial from, if set
	// HoldTime is the hold time offered; the keepalive interval is a
	// third of it.
	HoldTime time.Duration
	// RestartTime, if set, advertises graceful restart (RFC 4724) with
	// this restart time: the neighbor keeps the routes of a speaker
	// whose session ends without a NOTIFICATION, until the speaker's
	// End-of-RIB on the next session or the end of that time.
	RestartTime time.Duration
}

// Attrs are the path attributes of an announced route.
type Attrs struct {
	Communities      []Community
	LargeCommunities []LargeCommunity
	MED              uint32
	HasMED           bool
	// NextHop is the next hop announced; the zero Addr announces the
	// session's local address.
	NextHop netip.Addr
}

// Equal reports whether a and b are the same attributes.
func (a Attrs) Equal(b Attrs) bool {
	return a.MED == b.MED && a.HasMED == b.HasMED && a.NextHop == b.NextHop &&
		slices.Equal(a.Communities, b.Communities) && slices.Equal(a.LargeCommunities, b.LargeCommunities)
}

// SessionState is the BGP finite state machine's state (RFC 4271 8.2.2).
type SessionState int

// The session states.
const (
	Idle SessionState = iota
	Connect
	Active
	OpenSent
	OpenConfirm
	Established
)

func (s SessionState) String() string {
	switch s {
	case Idle:
		return "Idle"
	case Connect:
		return "Connect"
	case Active:
		return "Active"
	case OpenSent:
		return "OpenSent"
	case OpenConfirm:
		return "OpenConfirm"
	case Established:
		return "Established"
	}
	return "SessionState(" + itoa(uint32(s)) + ")"
}

// PeerStatus is a snapshot of one session.
type PeerStatus struct {
	Addr  netip.Addr
	ASN   uint32
	State SessionState
}

// A Speaker announces routes to its neighbors. Its methods may be called
// from several goroutines.
type Speaker interface {
	// Start opens the speaker; it dials neighbors as they are added.
	Start(ctx context.Context, g Global) error
	// AddPeer adds a neighbor, or replaces one at the same address
	// whose configuration differs.
	AddPeer(ctx context.Context, n Neighbor) error
	// RemovePeer closes the session to addr and forgets it.
	RemovePeer(ctx context.Context, addr netip.Addr) error
	// Announce announces prefix, or replaces its attributes, to every
	// neighbor, with a.NextHop or else this host as next hop.
	Announce(ctx context.Context, prefix netip.Prefix, a Attrs) error
	// Withdraw withdraws prefix.
	Withdraw(ctx context.Context, prefix netip.Prefix) error
	// Peers returns the sessions' states, in the order they were added.
	Peers(ctx context.Context) ([]PeerStatus, error)
	// Stop re-announces every route with GracefulShutdown, waits for
	// drain (cut short by ctx), withdraws them all and closes the
	// sessions with a NOTIFICATION: a stop is no restart, and neighbors
	// keep no route of it, graceful restart or not.
	Stop(ctx context.Context, drain time.Duration) error
}
