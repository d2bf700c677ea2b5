package kamib

import (
	"net/netip"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// RuleAction is a rule's action as vrrpRuleAction numbers it: the
// kernel's FR_ACT_*.
type RuleAction int32

// The rule actions.
const (
	RuleToTable     RuleAction = 1
	RuleGoto        RuleAction = 2
	RuleNop         RuleAction = 3
	RuleBlackhole   RuleAction = 6
	RuleUnreachable RuleAction = 7
	RuleProhibit    RuleAction = 8
)

// Rule is one virtual or static rule.
type Rule struct {
	From, To netip.Prefix // invalid for none
	Action   RuleAction
	Table    uint32 // for RuleToTable
	Goto     uint32 // for RuleGoto
	Set      bool
	Invert   bool
	Tos      uint8
	// Fwmark and Fwmask are shown when HasFwmark and HasFwmask.
	Fwmark, Fwmask       uint32
	HasFwmark, HasFwmask bool
	Realms               uint32
	Iif, Oif             string // no variables when empty
	Priority             uint32 // no variable when 0
	// SuppressPrefixlen is shown when HasSuppressPrefixlen;
	// SuppressGroup when not empty.
	SuppressPrefixlen    uint32
	HasSuppressPrefixlen bool
	SuppressGroup        string
	// UIDRange is shown when HasUIDRange.
	UIDRange    [2]uint32
	HasUIDRange bool
}

// fill adds row (n, m) of vrrpRuleTable.
func (r *Rule) fill(b *agentx.Builder, n, m uint32) {
	col := func(c uint32) agentx.OID { return VRRPOID.Append(8, 1, c, n, m) }
	// The obsolete direction and address columns: the destination if
	// any, else the source.
	dir := ""
	switch {
	case r.To.IsValid() && r.From.IsValid():
		dir = "both"
	case r.To.IsValid():
		dir = "to"
	case r.From.IsValid():
		dir = "from"
	}
	b.String(col(2), dir)
	if a := cmpPrefix(r.To, r.From); a.IsValid() {
		b.Int(col(3), inetAddressType(a.Addr()))
		b.Bytes(col(4), addrBytes(a.Addr()))
		b.Gauge(col(5), uint32(a.Bits()))
	}
	if r.Action == RuleToTable {
		b.Gauge(col(6), r.Table)
	}
	b.Int(col(7), truth(r.Set))
	b.Int(col(8), truth(r.Invert))
	if r.To.IsValid() {
		b.Int(col(9), inetAddressType(r.To.Addr()))
		b.Bytes(col(10), addrBytes(r.To.Addr()))
		b.Gauge(col(11), uint32(r.To.Bits()))
	}
	if r.From.IsValid() {
		b.Int(col(12), inetAddressType(r.From.Addr()))
		b.Bytes(col(13), addrBytes(r.From.Addr()))
		b.Gauge(col(14), uint32(r.From.Bits()))
	}
	b.Gauge(col(15), uint32(r.Tos))
	if r.HasFwmark {
		b.Gauge(col(16), r.Fwmark)
	}
	if r.HasFwmask {
		b.Gauge(col(17), r.Fwmask)
	}
	if r.Realms != 0 {
		b.Gauge(col(18), r.Realms&0xffff)
	}
	if r.Realms&0xffff0000 != 0 {
		b.Gauge(col(19), r.Realms>>16)
	}
	optString(b, col(20), r.Iif)
	optString(b, col(21), r.Oif)
	if r.Action == RuleGoto {
		b.Gauge(col(22), r.Goto)
	}
	b.Int(col(23), int32(r.Action))
	if r.Action == RuleToTable {
		b.Gauge(col(24), r.Table)
	}
	if r.Priority != 0 {
		b.Gauge(col(25), r.Priority)
	}
	if r.HasSuppressPrefixlen {
		b.Gauge(col(26), r.SuppressPrefixlen)
	}
	optString(b, col(27), r.SuppressGroup)
	if r.HasUIDRange {
		b.Gauge(col(30), r.UIDRange[0])
		b.Gauge(col(31), r.UIDRange[1])
	}
}

// cmpPrefix is the first valid prefix of a and b.
func cmpPrefix(a, b netip.Prefix) netip.Prefix {
	if a.IsValid() {
		return a
	}
	return b
}
