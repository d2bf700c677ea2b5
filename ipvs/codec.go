package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Every request to the kernel is built by an encoder and every reply read
// by a decoder, after mdlayher/netlink's AttributeEncoder and
// AttributeDecoder, kept here rather than imported: the IPVS family needs
// a handful of attribute types, the batch path appends many messages to
// one buffer it reuses, and a destination dump must be read without
// allocating, which a library's callback-based nesting does not promise.

const (
	nlmsgHeaderLen  = unix.SizeofNlMsghdr
	nlattrHeaderLen = unix.SizeofNlAttr
	genlHeaderLen   = 4 // struct genlmsghdr: command, version, reserved

	// maxAttrLen is the most an attribute, nests included, can hold: its
	// length is 16 bits.
	maxAttrLen = 0xffff
)

// nlAlign rounds n up to netlink's 4-byte alignment, which messages and
// attributes share.
func nlAlign(n int) int { return (n + unix.NLA_ALIGNTO - 1) &^ (unix.NLA_ALIGNTO - 1) }

// An encoder appends generic netlink messages and their attributes to b.
// Messages and nests are opened by a call that returns where they start
// and closed by one that writes their length there, so a message is built
// in place, whatever else b already holds. The first attribute too long
// for netlink's 16-bit length is kept in err; what follows it is still
// appended, and the request must not be sent.
type encoder struct {
	b   []byte
	err error
}

// Message appends the netlink and generic netlink headers of a request
// and returns where the message starts, for EndMessage.
func (e *encoder) Message(family, flags uint16, seq uint32, cmd uint8) int {
	start := len(e.b)
	e.b = binary.NativeEndian.AppendUint32(e.b, 0) // length, set by EndMessage
	e.b = binary.NativeEndian.AppendUint16(e.b, family)
	e.b = binary.NativeEndian.AppendUint16(e.b, flags)
	e.b = binary.NativeEndian.AppendUint32(e.b, seq)
	e.b = binary.NativeEndian.AppendUint32(e.b, 0) // port id: the kernel's
	e.b = append(e.b, cmd, 1, 0, 0)                // command, version 1, reserved
	return start
}

// EndMessage sets the length of the message started at start.
func (e *encoder) EndMessage(start int) {
	binary.NativeEndian.PutUint32(e.b[start:], uint32(len(e.b)-start))
}

// Nest opens a nested attribute and returns where it starts, for
// EndNest.
func (e *encoder) Nest(typ uint16) int {
	start := len(e.b)
	e.b = binary.NativeEndian.AppendUint16(e.b, 0) // length, set by EndNest
	e.b = binary.NativeEndian.AppendUint16(e.b, typ|unix.NLA_F_NESTED)
	return start
}

// EndNest sets the length of the nest started at start. Its attributes
// are padded already, so it needs no padding of its own.
func (e *encoder) EndNest(start int) {
	n := len(e.b) - start
	if n > maxAttrLen {
		e.fail(binary.NativeEndian.Uint16(e.b[start+2:])&^unix.NLA_F_NESTED, n)
	}
	binary.NativeEndian.PutUint16(e.b[start:], uint16(n))
}

func (e *encoder) fail(typ uint16, n int) {
	if e.err == nil {
		e.err = fmt.Errorf("netlink attribute %d of %d bytes: longer than %d", typ, n, maxAttrLen)
	}
}

// header appends an attribute header for a value of n bytes.
func (e *encoder) header(typ uint16, n int) {
	if nlattrHeaderLen+n > maxAttrLen {
		e.fail(typ, nlattrHeaderLen+n)
	}
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(nlattrHeaderLen+n))
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
}

// pad aligns the end of b for the next attribute. Messages and attributes
// are both aligned to 4 bytes from the start of b, which every message
// begins aligned.
func (e *encoder) pad() {
	for len(e.b)%unix.NLA_ALIGNTO != 0 {
		e.b = append(e.b, 0)
	}
}

// Bytes appends an attribute holding v.
func (e *encoder) Bytes(typ uint16, v []byte) {
	e.header(typ, len(v))
	e.b = append(e.b, v...)
	e.pad()
}

// String appends a NUL-terminated string attribute, as the kernel's
// NLA_NUL_STRING and NLA_STRING policies both take.
func (e *encoder) String(typ uint16, v string) {
	e.header(typ, len(v)+1)
	e.b = append(e.b, v...)
	e.b = append(e.b, 0)
	e.pad()
}

func (e *encoder) Uint8(typ uint16, v uint8) {
	e.header(typ, 1)
	e.b = append(e.b, v)
	e.pad()
}

func (e *encoder) Uint16(typ uint16, v uint16) {
	e.header(typ, 2)
	e.b = binary.NativeEndian.AppendUint16(e.b, v)
	e.pad()
}

// Uint16BE appends a 16-bit value in network byte order, as ports are.
func (e *encoder) Uint16BE(typ uint16, v uint16) {
	e.header(typ, 2)
	e.b = binary.BigEndian.AppendUint16(e.b, v)
	e.pad()
}

func (e *encoder) Uint32(typ uint16, v uint32) {
	e.header(typ, 4)
	e.b = binary.NativeEndian.AppendUint32(e.b, v)
}

func (e *encoder) Uint64(typ uint16, v uint64) {
	e.header(typ, 8)
	e.b = binary.NativeEndian.AppendUint64(e.b, v)
}

// A decoder walks the attributes of a message or of a nest, which it
// reads in place: Bytes and Nested return parts of the buffer it was
// given, and nothing but String allocates.
//
// Its error is sticky: a malformed attribute, or a getter called on an
// attribute too short for it, sets it, after which Next returns false and
// every getter a zero value. A caller reads what it wants in a loop over
// Next and checks Err once after it.
type decoder struct {
	b   []byte // the attributes after the current one
	typ uint16
	v   []byte // the current attribute's value
	err error
}

// newDecoder returns a decoder of the attributes in b.
func newDecoder(b []byte) decoder { return decoder{b: b} }

// decodeMessage returns a decoder of the attributes of m, the payload of
// a generic netlink message, after its generic netlink header.
func decodeMessage(m []byte) decoder {
	if len(m) < genlHeaderLen {
		return decoder{err: fmt.Errorf("generic netlink message of %d bytes, short of its header", len(m))}
	}
	return decoder{b: m[genlHeaderLen:]}
}

// Next moves to the next attribute and reports whether there is one. It
// is false at the end and after an error.
func (d *decoder) Next() bool {
	if d.err != nil || len(d.b) == 0 {
		return false
	}
	if len(d.b) < nlattrHeaderLen {
		d.err = fmt.Errorf("%d bytes left, short of a netlink attribute header", len(d.b))
		return false
	}
	n := int(binary.NativeEndian.Uint16(d.b[0:2]))
	if n < nlattrHeaderLen || n > len(d.b) {
		d.err = fmt.Errorf("netlink attribute of %d bytes in %d", n, len(d.b))
		return false
	}
	d.typ = binary.NativeEndian.Uint16(d.b[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	d.v = d.b[nlattrHeaderLen:n]
	// The last attribute may come without its padding.
	d.b = d.b[min(nlAlign(n), len(d.b)):]
	return true
}

// Type is the current attribute's type, without the nested and
// byte-order flags.
func (d *decoder) Type() uint16 { return d.typ }

// Err is the first error met, if any.
func (d *decoder) Err() error { return d.err }

// errShort is the error of a getter on too short an attribute. The sticky
// error is set at most once, so only a malformed message pays for it.
var errShort = errors.New("short netlink attribute")

// value returns the current attribute's value if it is exactly n bytes,
// or at least n when exact is false, and sets the error otherwise.
func (d *decoder) value(n int, exact bool) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.v) < n || exact && len(d.v) != n {
		d.err = fmt.Errorf("netlink attribute %d of %d bytes, want %d: %w", d.typ, len(d.v), n, errShort)
		return nil
	}
	return d.v
}

// Bytes returns the current attribute's value, in the decoder's buffer.
func (d *decoder) Bytes() []byte {
	if d.err != nil {
		return nil
	}
	return d.v
}

// BytesN returns the current attribute's value, which must be at least n
// bytes, in the decoder's buffer: the kernel sends fixed structures, and
// addresses in a 16-byte field whatever their family.
func (d *decoder) BytesN(n int) []byte { return d.value(n, false) }

// String returns the current attribute's value up to its first NUL.
func (d *decoder) String() string {
	v := d.Bytes()
	for i, c := range v {
		if c == 0 {
			v = v[:i]
			break
		}
	}
	return string(v)
}

func (d *decoder) Uint8() uint8 {
	if v := d.value(1, true); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) Uint16() uint16 {
	if v := d.value(2, true); v != nil {
		return binary.NativeEndian.Uint16(v)
	}
	return 0
}

// Uint16BE reads a 16-bit value in network byte order, as ports are.
func (d *decoder) Uint16BE() uint16 {
	if v := d.value(2, true); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) Uint32() uint32 {
	if v := d.value(4, true); v != nil {
		return binary.NativeEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) Uint64() uint64 {
	if v := d.value(8, true); v != nil {
		return binary.NativeEndian.Uint64(v)
	}
	return 0
}

// Nested returns a decoder of the attributes nested in the current one.
// Its error is its own: the caller checks it, or hands it back to d with
// Adopt.
func (d *decoder) Nested() decoder {
	if d.err != nil {
		return decoder{err: d.err}
	}
	return decoder{b: d.v}
}

// Adopt makes the error of nested, a decoder Nested returned, d's own if
// d has none yet, so that one check of d's error after its loop covers
// both.
func (d *decoder) Adopt(nested *decoder) {
	if d.err == nil && nested.err != nil {
		d.err = nested.err
		d.b = nil
	}
}
