// Package agentx speaks the subagent side of the Agent Extensibility
// Protocol, AgentX version 1 (RFC 2741): the protocol by which a program
// such as keepalived serves its MIBs through a master agent such as
// net-snmp's snmpd.
//
// The package has three parts. The codec encodes and decodes the PDUs a
// subagent sends and receives (Open, Close, Register, AddAgentCaps,
// Notify, Ping and Response from the subagent; Get, GetNext, GetBulk, the
// Set phases and Response from the master). A View is a MIB's variables
// at one moment, sorted, answering the master's Get and GetNext searches
// by the rules of RFC 2741 section 7.2.3. A Session runs one connection to
// the master agent: it opens the session, registers subtrees, answers the
// master's requests from a View taken once per request, and sends
// notifications.
//
// Every variable this package serves is read-only: a Set is refused with
// notWritable, as keepalived refuses it.
package agentx

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is an AgentX PDU type (RFC 2741 section 6.1).
type Type uint8

// The PDU types.
const (
	TypeOpen            Type = 1
	TypeClose           Type = 2
	TypeRegister        Type = 3
	TypeUnregister      Type = 4
	TypeGet             Type = 5
	TypeGetNext         Type = 6
	TypeGetBulk         Type = 7
	TypeTestSet         Type = 8
	TypeCommitSet       Type = 9
	TypeUndoSet         Type = 10
	TypeCleanupSet      Type = 11
	TypeNotify          Type = 12
	TypePing            Type = 13
	TypeIndexAllocate   Type = 14
	TypeIndexDeallocate Type = 15
	TypeAddAgentCaps    Type = 16
	TypeRemoveAgentCaps Type = 17
	TypeResponse        Type = 18
)

var typeNames = [...]string{
	TypeOpen: "Open", TypeClose: "Close", TypeRegister: "Register",
	TypeUnregister: "Unregister", TypeGet: "Get", TypeGetNext: "GetNext",
	TypeGetBulk: "GetBulk", TypeTestSet: "TestSet", TypeCommitSet: "CommitSet",
	TypeUndoSet: "UndoSet", TypeCleanupSet: "CleanupSet", TypeNotify: "Notify",
	TypePing: "Ping", TypeIndexAllocate: "IndexAllocate",
	TypeIndexDeallocate: "IndexDeallocate", TypeAddAgentCaps: "AddAgentCaps",
	TypeRemoveAgentCaps: "RemoveAgentCaps", TypeResponse: "Response",
}

func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Flags are the header's h.flags bits.
type Flags uint8

// The header flags.
const (
	FlagInstanceRegistration Flags = 0x01
	FlagNewIndex             Flags = 0x02
	FlagAnyIndex             Flags = 0x04
	FlagNonDefaultContext    Flags = 0x08
	FlagNetworkByteOrder     Flags = 0x10
)

// Error is a Response PDU's res.error: AgentX's own errors and the SNMP
// error-status values a subagent may return.
type Error uint16

// The errors.
const (
	NoError               Error = 0
	GenErr                Error = 5
	NoAccess              Error = 6
	NotWritable           Error = 17
	OpenFailed            Error = 256
	NotOpen               Error = 257
	IndexWrongType        Error = 258
	IndexAlreadyAllocated Error = 259
	IndexNoneAvailable    Error = 260
	IndexNotAllocated     Error = 261
	UnsupportedContext    Error = 262
	DuplicateRegistration Error = 263
	UnknownRegistration   Error = 264
	UnknownAgentCaps      Error = 265
	ParseError            Error = 266
	RequestDenied         Error = 267
	ProcessingError       Error = 268
)

var errorNames = map[Error]string{
	NoError: "noError", GenErr: "genErr", NoAccess: "noAccess",
	NotWritable: "notWritable", OpenFailed: "openFailed", NotOpen: "notOpen",
	IndexWrongType: "indexWrongType", IndexAlreadyAllocated: "indexAlreadyAllocated",
	IndexNoneAvailable: "indexNoneAvailable", IndexNotAllocated: "indexNotAllocated",
	UnsupportedContext: "unsupportedContext", DuplicateRegistration: "duplicateRegistration",
	UnknownRegistration: "unknownRegistration", UnknownAgentCaps: "unknownAgentCaps",
	ParseError: "parseError", RequestDenied: "requestDenied", ProcessingError: "processingError",
}

func (e Error) Error() string {
	if s, ok := errorNames[e]; ok {
		return "agentx: " + s
	}
	return "agentx: error " + strconv.Itoa(int(e))
}

// Reason is a Close PDU's c.reason.
type Reason uint8

// The reasons for closing a session.
const (
	ReasonOther         Reason = 1
	ReasonParseError    Reason = 2
	ReasonProtocolError Reason = 3
	ReasonTimeouts      Reason = 4
	ReasonShutdown      Reason = 5
	ReasonByManager     Reason = 6
)

// VarType is the type of a variable binding's value (RFC 2741 section
// 5.4).
type VarType uint16

// The value types. Integer is an int32; Counter32, Gauge32 and TimeTicks
// are uint32; Counter64 a uint64; OctetString and Opaque a []byte;
// IPAddress a [4]byte; ObjectIdentifier an OID. Null and the three
// exceptions carry no value.
const (
	Integer          VarType = 2
	OctetString      VarType = 4
	Null             VarType = 5
	ObjectIdentifier VarType = 6
	IPAddress        VarType = 64
	Counter32        VarType = 65
	Gauge32          VarType = 66
	TimeTicks        VarType = 67
	Opaque           VarType = 68
	Counter64        VarType = 70
	NoSuchObject     VarType = 128
	NoSuchInstance   VarType = 129
	EndOfMIBView     VarType = 130
)

var varTypeNames = map[VarType]string{
	Integer: "Integer", OctetString: "OctetString", Null: "Null",
	ObjectIdentifier: "ObjectIdentifier", IPAddress: "IPAddress",
	Counter32: "Counter32", Gauge32: "Gauge32", TimeTicks: "TimeTicks",
	Opaque: "Opaque", Counter64: "Counter64", NoSuchObject: "noSuchObject",
	NoSuchInstance: "noSuchInstance", EndOfMIBView: "endOfMibView",
}

func (t VarType) String() string {
	if s, ok := varTypeNames[t]; ok {
		return s
	}
	return "VarType(" + strconv.Itoa(int(t)) + ")"
}

// VarBind is one variable: its name, the type of its value and the
// value, of the Go type VarType's documentation gives.
type VarBind struct {
	Name  OID
	Type  VarType
	Value any
}

func (v VarBind) String() string {
	return fmt.Sprintf("%v = %v: %v", v.Name, v.Type, v.Value)
}

// OID is an object identifier.
type OID []uint32

// ParseOID parses the dotted form "1.3.6.1.4.1.9586", with or without a
// leading dot.
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ".")
	o := make(OID, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse OID %q: %w", s, err)
		}
		o[i] = uint32(n)
	}
	return o, nil
}

// MustParseOID is ParseOID for constants; it panics on a malformed OID.
func MustParseOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

func (o OID) String() string {
	var b strings.Builder
	for i, n := range o {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return b.String()
}

// Compare compares o and p in lexicographic order, the order of a MIB
// walk: -1 when o comes first, 0 when they are equal, +1 otherwise.
func (o OID) Compare(p OID) int {
	for i := 0; i < len(o) && i < len(p); i++ {
		switch {
		case o[i] < p[i]:
			return -1
		case o[i] > p[i]:
			return 1
		}
	}
	switch {
	case len(o) < len(p):
		return -1
	case len(o) > len(p):
		return 1
	}
	return 0
}

// HasPrefix reports whether o lies in the subtree p (or is p).
func (o OID) HasPrefix(p OID) bool {
	if len(o) < len(p) {
		return false
	}
	for i := range p {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

// Append returns o followed by the subidentifiers sub, in a new OID.
func (o OID) Append(sub ...uint32) OID {
	r := make(OID, 0, len(o)+len(sub))
	return append(append(r, o...), sub...)
}

// SearchRange is one range of a Get, GetNext or GetBulk request: the
// variable at Start (Include) or after it, and before End when End is
// not empty.
type SearchRange struct {
	Start   OID
	Include bool
	End     OID
}
