// Package bfd implements Bidirectional Forwarding Detection (RFC 5880) in
// asynchronous mode over single-hop UDP (RFC 5881), as keepalived's BFD
// process does: the control packet, the session state machine with its
// timers, and, on Linux, the sockets that carry the packets.
//
// The state machine does not read the time itself: a Session is driven by
// its owner, which hands it received packets and calls Tick when Next
// says a timer is due, with the time taken from a Clock. That keeps the
// protocol logic deterministic under test.
package bfd

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// State is a session state, the Sta field of a control packet.
type State uint8

// The session states of RFC 5880 section 4.1.
const (
	AdminDown State = iota
	Down
	Init
	Up
)

// String returns the state's name as keepalived logs it.
func (s State) String() string {
	switch s {
	case AdminDown:
		return "AdminDown"
	case Down:
		return "Down"
	case Init:
		return "Init"
	case Up:
		return "Up"
	}
	return "Unknown"
}

// Diag is a diagnostic code, the Diag field of a control packet.
type Diag uint8

// The diagnostic codes of RFC 5880 section 4.1.
const (
	DiagNone Diag = iota
	DiagExpired
	DiagEchoFailed
	DiagNeighborDown
	DiagForwardingReset
	DiagPathDown
	DiagConcatPathDown
	DiagAdminDown
	DiagReverseConcatPathDown
)

// String returns the diagnostic as keepalived logs it.
func (d Diag) String() string {
	switch d {
	case DiagNone:
		return "No Diagnostic"
	case DiagExpired:
		return "Control Detection Time Expired"
	case DiagEchoFailed:
		return "Echo Function Failed"
	case DiagNeighborDown:
		return "Neighbor Signaled Session Down"
	case DiagForwardingReset:
		return "Forwarding Plane Reset"
	case DiagPathDown:
		return "Path Down"
	case DiagConcatPathDown:
		return "Concatenated Path Down"
	case DiagAdminDown:
		return "Administratively Down"
	case DiagReverseConcatPathDown:
		return "Reverse Concatenated Path Down"
	}
	return "Unknown"
}

// Version is the protocol version this package speaks.
const Version = 1

// HeaderLen is the length of a control packet without authentication.
const HeaderLen = 24

// Ports of RFC 5881 section 4 and the source port range of its section 4.
const (
	ControlPort   = 3784
	MinSourcePort = 49152
	MaxSourcePort = 65535
)

// A ControlPacket is a BFD control packet (RFC 5880 section 4.1). The
// intervals are in microseconds, as on the wire.
type ControlPacket struct {
	Version    uint8
	Diag       Diag
	State      State
	Poll       bool
	Final      bool
	CPI        bool // control plane independent
	Auth       bool // an authentication section follows
	Demand     bool
	Multipoint bool
	DetectMult uint8
	// Length is the length field: the whole packet's length in bytes.
	Length            uint8
	MyDiscriminator   uint32
	YourDiscriminator uint32
	DesiredMinTx      uint32
	RequiredMinRx     uint32
	RequiredMinEchoRx uint32
}

// Flag bits of the second byte.
const (
	flagPoll       = 0x20
	flagFinal      = 0x10
	flagCPI        = 0x08
	flagAuth       = 0x04
	flagDemand     = 0x02
	flagMultipoint = 0x01
)

// Append appends the packet's wire form to b. The length field is
// written as HeaderLen whatever p.Length says: no authentication
// section is ever sent.
func (p *ControlPacket) Append(b []byte) []byte {
	var flags byte
	for _, f := range []struct {
		set bool
		bit byte
	}{{p.Poll, flagPoll}, {p.Final, flagFinal}, {p.CPI, flagCPI}, {p.Auth, flagAuth}, {p.Demand, flagDemand}, {p.Multipoint, flagMultipoint}} {
		if f.set {
			flags |= f.bit
		}
	}
	b = append(b, p.Version<<5|byte(p.Diag)&0x1f, byte(p.State&3)<<6|flags, p.DetectMult, HeaderLen)
	b = binary.BigEndian.AppendUint32(b, p.MyDiscriminator)
	b = binary.BigEndian.AppendUint32(b, p.YourDiscriminator)
	b = binary.BigEndian.AppendUint32(b, p.DesiredMinTx)
	b = binary.BigEndian.AppendUint32(b, p.RequiredMinRx)
	return binary.BigEndian.AppendUint32(b, p.RequiredMinEchoRx)
}

// Marshal returns the packet's wire form.
func (p *ControlPacket) Marshal() []byte { return p.Append(make([]byte, 0, HeaderLen)) }

// ErrShort and ErrLength are Unmarshal's errors for a datagram too short
// for a control packet and one whose length field does not match its size.
var (
	ErrShort  = errors.New("bfd: packet is too small")
	ErrLength = errors.New("bfd: packet size mismatch")
)

// Unmarshal decodes the control packet that makes up all of b. It checks
// only what decoding needs: the size, and that the length field is the
// datagram's size, as keepalived insists. Validate checks the rest.
func (p *ControlPacket) Unmarshal(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if int(b[3]) != len(b) {
		return fmt.Errorf("%w: length field: %d bytes, buffer size: %d bytes", ErrLength, b[3], len(b))
	}
	*p = ControlPacket{
		Version:           b[0] >> 5,
		Diag:              Diag(b[0] & 0x1f),
		State:             State(b[1] >> 6),
		Poll:              b[1]&flagPoll != 0,
		Final:             b[1]&flagFinal != 0,
		CPI:               b[1]&flagCPI != 0,
		Auth:              b[1]&flagAuth != 0,
		Demand:            b[1]&flagDemand != 0,
		Multipoint:        b[1]&flagMultipoint != 0,
		DetectMult:        b[2],
		Length:            b[3],
		MyDiscriminator:   binary.BigEndian.Uint32(b[4:]),
		YourDiscriminator: binary.BigEndian.Uint32(b[8:]),
		DesiredMinTx:      binary.BigEndian.Uint32(b[12:]),
		RequiredMinRx:     binary.BigEndian.Uint32(b[16:]),
		RequiredMinEchoRx: binary.BigEndian.Uint32(b[20:]),
	}
	return nil
}

// Validate applies the checks of RFC 5880 section 6.8.6 that need no
// session, and keepalived's additional ones (Poll with Final, an unknown
// diagnostic). The error text is keepalived's detail message.
func (p *ControlPacket) Validate() error {
	switch {
	case p.Version != Version:
		return fmt.Errorf("bfd: Packet is of unsupported version: %d", p.Version)
	case p.DetectMult == 0:
		return errors.New("bfd: Packet 'detection multiplier' field is zero")
	case p.Multipoint:
		return errors.New("bfd: Packet has 'multipoint' flag")
	case p.MyDiscriminator == 0:
		return errors.New("bfd: Packet 'my discriminator' field is zero")
	case p.YourDiscriminator == 0 && p.State != Down && p.State != AdminDown:
		return errors.New("bfd: Packet 'your discriminator' field is zero and 'state' field is not Down or AdminDown")
	case p.Poll && p.Final:
		return errors.New("bfd: Packet has both poll and final flags set")
	case p.Diag > DiagReverseConcatPathDown:
		return fmt.Errorf("bfd: Packet has invalid 'diag' field: %d", p.Diag)
	}
	return nil
}
