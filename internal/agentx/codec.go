package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// HeaderLen is the length of the fixed header of every PDU.
const HeaderLen = 20

// MaxPayload bounds the payload a Session reads: the master's requests
// are short, and a larger claimed length is a broken or hostile peer.
const MaxPayload = 1 << 20

// maxSubIDs is the longest OID RFC 2741 allows (section 5.1).
const maxSubIDs = 128

// internet is 1.3.6.1, the prefix the OID encoding compresses.
var internet = OID{1, 3, 6, 1}

// PDU is one AgentX PDU. Which fields are used depends on Type:
//
//   - Open: Timeout, ID, Descr.
//   - Close: Reason.
//   - Register, Unregister: Timeout (Register only), Priority, RangeSubID,
//     Subtree, UpperBound (when RangeSubID is not 0).
//   - Get, GetNext: Ranges. GetBulk: NonRepeaters, MaxRepetitions, Ranges.
//   - TestSet, Notify, IndexAllocate, IndexDeallocate: VarBinds.
//   - AddAgentCaps: ID, Descr. RemoveAgentCaps: ID.
//   - Response: SysUpTime, Error, Index, VarBinds.
//   - CommitSet, UndoSet, CleanupSet, Ping: nothing.
//
// Context is the non-default context of the PDUs that carry one.
type PDU struct {
	Type          Type
	Flags         Flags
	SessionID     uint32
	TransactionID uint32
	PacketID      uint32

	Context string

	Timeout    uint8
	ID         OID
	Descr      string
	Reason     Reason
	Priority   uint8
	RangeSubID uint8
	Subtree    OID
	UpperBound uint32

	NonRepeaters   uint16
	MaxRepetitions uint16
	Ranges         []SearchRange

	SysUpTime uint32
	Error     Error
	Index     uint16
	VarBinds  []VarBind
}

// hasContext reports whether PDUs of type t may carry a context.
func hasContext(t Type) bool {
	switch t {
	case TypeRegister, TypeUnregister, TypeGet, TypeGetNext, TypeGetBulk,
		TypeTestSet, TypeNotify, TypePing, TypeIndexAllocate,
		TypeIndexDeallocate, TypeAddAgentCaps, TypeRemoveAgentCaps:
		return true
	}
	return false
}

// MarshalBinary encodes p in network byte order, the order every PDU this
// package sends uses (the header's flag says so).
func (p *PDU) MarshalBinary() ([]byte, error) {
	e := encoder{b: make([]byte, HeaderLen, 64)}
	flags := p.Flags | FlagNetworkByteOrder
	if p.Context != "" {
		if !hasContext(p.Type) {
			return nil, fmt.Errorf("agentx: marshal %v: a context is not allowed", p.Type)
		}
		flags |= FlagNonDefaultContext
		e.octets([]byte(p.Context))
	} else {
		flags &^= FlagNonDefaultContext
	}
	switch p.Type {
	case TypeOpen:
		e.u8(p.Timeout)
		e.pad(3)
		if err := e.oid(p.ID, false); err != nil {
			return nil, err
		}
		e.octets([]byte(p.Descr))
	case TypeClose:
		e.u8(uint8(p.Reason))
		e.pad(3)
	case TypeRegister, TypeUnregister:
		if p.Type == TypeRegister {
			e.u8(p.Timeout)
		} else {
			e.u8(0)
		}
		e.u8(p.Priority)
		e.u8(p.RangeSubID)
		e.u8(0)
		if err := e.oid(p.Subtree, false); err != nil {
			return nil, err
		}
		if p.RangeSubID != 0 {
			e.u32(p.UpperBound)
		}
	case TypeGet, TypeGetNext, TypeGetBulk:
		if p.Type == TypeGetBulk {
			e.u16(p.NonRepeaters)
			e.u16(p.MaxRepetitions)
		}
		for _, r := range p.Ranges {
			if err := e.oid(r.Start, r.Include); err != nil {
				return nil, err
			}
			if err := e.oid(r.End, false); err != nil {
				return nil, err
			}
		}
	case TypeTestSet, TypeNotify, TypeIndexAllocate, TypeIndexDeallocate:
		if err := e.varBinds(p.VarBinds); err != nil {
			return nil, err
		}
	case TypeAddAgentCaps, TypeRemoveAgentCaps:
		if err := e.oid(p.ID, false); err != nil {
			return nil, err
		}
		if p.Type == TypeAddAgentCaps {
			e.octets([]byte(p.Descr))
		}
	case TypeResponse:
		e.u32(p.SysUpTime)
		e.u16(uint16(p.Error))
		e.u16(p.Index)
		if err := e.varBinds(p.VarBinds); err != nil {
			return nil, err
		}
	case TypeCommitSet, TypeUndoSet, TypeCleanupSet, TypePing:
	default:
		return nil, fmt.Errorf("agentx: marshal: unknown PDU type %v", p.Type)
	}
	b := e.b
	b[0] = 1
	b[1] = byte(p.Type)
	b[2] = byte(flags)
	b[3] = 0
	binary.BigEndian.PutUint32(b[4:], p.SessionID)
	binary.BigEndian.PutUint32(b[8:], p.TransactionID)
	binary.BigEndian.PutUint32(b[12:], p.PacketID)
	binary.BigEndian.PutUint32(b[16:], uint32(len(b)-HeaderLen))
	return b, nil
}

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) pad(n int) {
	for ; n > 0; n-- {
		e.b = append(e.b, 0)
	}
}

// octets encodes an Octet String: its length, the octets, and padding to
// a multiple of four.
func (e *encoder) octets(s []byte) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
	e.pad((4 - len(s)%4) % 4)
}

// oid encodes an Object Identifier, with 1.3.6.1.x compressed into the
// prefix field as RFC 2741 section 5.1 allows.
func (e *encoder) oid(o OID, include bool) error {
	if len(o) > maxSubIDs {
		return fmt.Errorf("agentx: marshal OID %v: %d subidentifiers, more than %d", o, len(o), maxSubIDs)
	}
	prefix := uint8(0)
	if len(o) >= 5 && o.HasPrefix(internet) && o[4] > 0 && o[4] <= math.MaxUint8 {
		prefix = uint8(o[4])
		o = o[5:]
	}
	e.u8(uint8(len(o)))
	e.u8(prefix)
	if include {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.u8(0)
	for _, n := range o {
		e.u32(n)
	}
	return nil
}

func (e *encoder) varBinds(vbs []VarBind) error {
	for _, v := range vbs {
		if err := e.varBind(v); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) varBind(v VarBind) error {
	e.u16(uint16(v.Type))
	e.u16(0)
	if err := e.oid(v.Name, false); err != nil {
		return err
	}
	bad := func() error {
		return fmt.Errorf("agentx: marshal %v: a %v value cannot be %T", v.Name, v.Type, v.Value)
	}
	switch v.Type {
	case Integer:
		n, ok := v.Value.(int32)
		if !ok {
			return bad()
		}
		e.u32(uint32(n))
	case Counter32, Gauge32, TimeTicks:
		n, ok := v.Value.(uint32)
		if !ok {
			return bad()
		}
		e.u32(n)
	case Counter64:
		n, ok := v.Value.(uint64)
		if !ok {
			return bad()
		}
		e.u64(n)
	case OctetString, Opaque:
		s, ok := v.Value.([]byte)
		if !ok {
			return bad()
		}
		e.octets(s)
	case IPAddress:
		a, ok := v.Value.([4]byte)
		if !ok {
			return bad()
		}
		e.octets(a[:])
	case ObjectIdentifier:
		o, ok := v.Value.(OID)
		if !ok {
			return bad()
		}
		return e.oid(o, false)
	case Null, NoSuchObject, NoSuchInstance, EndOfMIBView:
	default:
		return fmt.Errorf("agentx: marshal %v: unknown value type %v", v.Name, v.Type)
	}
	return nil
}

// errShort is wrapped by the decoder's errors for a payload that ends
// inside a field.
var errShort = errors.New("payload ends inside a field")

// ParseHeader decodes the fixed header at the start of b and returns the
// PDU with its header fields set and the payload's length.
func ParseHeader(b []byte) (*PDU, uint32, error) {
	if len(b) < HeaderLen {
		return nil, 0, fmt.Errorf("agentx: header: %w", errShort)
	}
	if b[0] != 1 {
		return nil, 0, fmt.Errorf("agentx: header: version %d, want 1", b[0])
	}
	p := &PDU{Type: Type(b[1]), Flags: Flags(b[2])}
	var o binary.ByteOrder = binary.LittleEndian
	if p.Flags&FlagNetworkByteOrder != 0 {
		o = binary.BigEndian
	}
	p.SessionID = o.Uint32(b[4:])
	p.TransactionID = o.Uint32(b[8:])
	p.PacketID = o.Uint32(b[12:])
	n := o.Uint32(b[16:])
	if n%4 != 0 {
		return nil, 0, fmt.Errorf("agentx: %v header: payload length %d is not a multiple of 4", p.Type, n)
	}
	return p, n, nil
}

// Unmarshal decodes one whole PDU, header and payload, from b, which must
// hold exactly that PDU.
func Unmarshal(b []byte) (*PDU, error) {
	p, n, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if uint64(len(b)-HeaderLen) != uint64(n) {
		return nil, fmt.Errorf("agentx: %v: payload of %d octets, header says %d", p.Type, len(b)-HeaderLen, n)
	}
	if err := p.unmarshalPayload(b[HeaderLen:]); err != nil {
		return nil, err
	}
	return p, nil
}

// ReadPDU reads one PDU from r. A payload longer than MaxPayload is an
// error, read no further.
func ReadPDU(r io.Reader) (*PDU, error) {
	var h [HeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	p, n, err := ParseHeader(h[:])
	if err != nil {
		return nil, err
	}
	if n > MaxPayload {
		return nil, fmt.Errorf("agentx: %v: payload of %d octets, more than %d", p.Type, n, MaxPayload)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, fmt.Errorf("agentx: %v payload: %w", p.Type, err)
	}
	if err := p.unmarshalPayload(payload); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PDU) unmarshalPayload(b []byte) error {
	d := decoder{b: b, o: binary.LittleEndian}
	if p.Flags&FlagNetworkByteOrder != 0 {
		d.o = binary.BigEndian
	}
	if err := p.decode(&d); err != nil {
		return fmt.Errorf("agentx: %v: %w", p.Type, err)
	}
	return nil
}

func (p *PDU) decode(d *decoder) error {
	if p.Flags&FlagNonDefaultContext != 0 {
		if !hasContext(p.Type) {
			return errors.New("a context where none is allowed")
		}
		c, err := d.octets()
		if err != nil {
			return fmt.Errorf("context: %w", err)
		}
		p.Context = string(c)
	}
	var err error
	switch p.Type {
	case TypeOpen:
		if p.Timeout, err = d.u8(); err != nil {
			return err
		}
		if err = d.skip(3); err != nil {
			return err
		}
		if p.ID, _, err = d.oid(); err != nil {
			return err
		}
		var s []byte
		if s, err = d.octets(); err != nil {
			return err
		}
		p.Descr = string(s)
	case TypeClose:
		var r uint8
		if r, err = d.u8(); err != nil {
			return err
		}
		p.Reason = Reason(r)
		err = d.skip(3)
	case TypeRegister, TypeUnregister:
		var t uint8
		if t, err = d.u8(); err != nil {
			return err
		}
		if p.Type == TypeRegister {
			p.Timeout = t
		}
		if p.Priority, err = d.u8(); err != nil {
			return err
		}
		if p.RangeSubID, err = d.u8(); err != nil {
			return err
		}
		if err = d.skip(1); err != nil {
			return err
		}
		if p.Subtree, _, err = d.oid(); err != nil {
			return err
		}
		if p.RangeSubID != 0 {
			p.UpperBound, err = d.u32()
		}
	case TypeGet, TypeGetNext, TypeGetBulk:
		if p.Type == TypeGetBulk {
			if p.NonRepeaters, err = d.u16(); err != nil {
				return err
			}
			if p.MaxRepetitions, err = d.u16(); err != nil {
				return err
			}
		}
		for len(d.b) > 0 {
			var r SearchRange
			if r.Start, r.Include, err = d.oid(); err != nil {
				return err
			}
			if r.End, _, err = d.oid(); err != nil {
				return err
			}
			p.Ranges = append(p.Ranges, r)
		}
	case TypeTestSet, TypeNotify, TypeIndexAllocate, TypeIndexDeallocate:
		p.VarBinds, err = d.varBinds()
	case TypeAddAgentCaps, TypeRemoveAgentCaps:
		if p.ID, _, err = d.oid(); err != nil {
			return err
		}
		if p.Type == TypeAddAgentCaps {
			var s []byte
			if s, err = d.octets(); err != nil {
				return err
			}
			p.Descr = string(s)
		}
	case TypeResponse:
		if p.SysUpTime, err = d.u32(); err != nil {
			return err
		}
		var e uint16
		if e, err = d.u16(); err != nil {
			return err
		}
		p.Error = Error(e)
		if p.Index, err = d.u16(); err != nil {
			return err
		}
		p.VarBinds, err = d.varBinds()
	case TypeCommitSet, TypeUndoSet, TypeCleanupSet, TypePing:
	default:
		return errors.New("unknown PDU type")
	}
	if err != nil {
		return err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d octets after the last field", len(d.b))
	}
	return nil
}

type decoder struct {
	b []byte
	o binary.ByteOrder
}

func (d *decoder) need(n int) error {
	if len(d.b) < n {
		return errShort
	}
	return nil
}

func (d *decoder) skip(n int) error {
	if err := d.need(n); err != nil {
		return err
	}
	d.b = d.b[n:]
	return nil
}

func (d *decoder) u8() (uint8, error) {
	if err := d.need(1); err != nil {
		return 0, err
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v, nil
}

func (d *decoder) u16() (uint16, error) {
	if err := d.need(2); err != nil {
		return 0, err
	}
	v := d.o.Uint16(d.b)
	d.b = d.b[2:]
	return v, nil
}

func (d *decoder) u32() (uint32, error) {
	if err := d.need(4); err != nil {
		return 0, err
	}
	v := d.o.Uint32(d.b)
	d.b = d.b[4:]
	return v, nil
}

func (d *decoder) u64() (uint64, error) {
	if err := d.need(8); err != nil {
		return 0, err
	}
	v := d.o.Uint64(d.b)
	d.b = d.b[8:]
	return v, nil
}

func (d *decoder) octets() ([]byte, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	padded := uint64(n) + uint64((4-n%4)%4)
	if uint64(len(d.b)) < padded {
		return nil, errShort
	}
	s := append([]byte(nil), d.b[:n]...)
	d.b = d.b[padded:]
	return s, nil
}

func (d *decoder) oid() (OID, bool, error) {
	if err := d.need(4); err != nil {
		return nil, false, err
	}
	n, prefix, include := int(d.b[0]), d.b[1], d.b[2] != 0
	d.b = d.b[4:]
	if n > maxSubIDs {
		return nil, false, fmt.Errorf("an OID of %d subidentifiers, more than %d", n, maxSubIDs)
	}
	if err := d.need(4 * n); err != nil {
		return nil, false, err
	}
	var o OID
	if prefix != 0 {
		o = make(OID, 0, 5+n)
		o = append(o, internet...)
		o = append(o, uint32(prefix))
	} else if n > 0 {
		o = make(OID, 0, n)
	}
	for i := 0; i < n; i++ {
		o = append(o, d.o.Uint32(d.b[4*i:]))
	}
	d.b = d.b[4*n:]
	return o, include, nil
}

func (d *decoder) varBinds() ([]VarBind, error) {
	var vbs []VarBind
	for len(d.b) > 0 {
		v, err := d.varBind()
		if err != nil {
			return nil, err
		}
		vbs = append(vbs, v)
	}
	return vbs, nil
}

func (d *decoder) varBind() (VarBind, error) {
	var v VarBind
	t, err := d.u16()
	if err != nil {
		return v, err
	}
	v.Type = VarType(t)
	if err := d.skip(2); err != nil {
		return v, err
	}
	if v.Name, _, err = d.oid(); err != nil {
		return v, err
	}
	switch v.Type {
	case Integer:
		var n uint32
		n, err = d.u32()
		v.Value = int32(n)
	case Counter32, Gauge32, TimeTicks:
		v.Value, err = d.u32()
	case Counter64:
		v.Value, err = d.u64()
	case OctetString, Opaque:
		v.Value, err = d.octets()
	case IPAddress:
		var s []byte
		if s, err = d.octets(); err == nil {
			if len(s) != 4 {
				return v, fmt.Errorf("%v: an IpAddress of %d octets", v.Name, len(s))
			}
			v.Value = [4]byte(s)
		}
	case ObjectIdentifier:
		v.Value, _, err = d.oid()
	case Null, NoSuchObject, NoSuchInstance, EndOfMIBView:
	default:
		return v, fmt.Errorf("%v: unknown value type %d", v.Name, t)
	}
	return v, err
}
