package vrrp

import (
	"net/netip"
	"strconv"
	"strings"
)

// A RuleAction is what a policy routing rule does with the packets it
// matches (fib_rule_hdr's action), with the kernel's values.
type RuleAction uint8

// The actions keepalived's rules take.
const (
	RuleToTable     RuleAction = 1 // table, lookup
	RuleGoto        RuleAction = 2 // goto
	RuleNop         RuleAction = 3 // nop
	RuleBlackhole   RuleAction = 6 // blackhole
	RuleUnreachable RuleAction = 7 // unreachable
	RuleProhibit    RuleAction = 8 // prohibit
)

// String returns the action as ip-rule(8) spells it, or its number.
func (a RuleAction) String() string {
	switch a {
	case RuleToTable:
		return "lookup"
	case RuleGoto:
		return "goto"
	case RuleNop:
		return "nop"
	case RuleBlackhole:
		return "blackhole"
	case RuleUnreachable:
		return "unreachable"
	case RuleProhibit:
		return "prohibit"
	}
	return strconv.Itoa(int(a))
}

// A Rule is a virtual_rules or static_rules entry: a policy routing rule,
// installed as keepalived's netlink_rule sends it.
type Rule struct {
	// NoTrack (no_track): the rule's deletion by hand is not acted on.
	NoTrack bool
	// IPv6 makes a rule with neither From nor To an IPv6 one (inet6);
	// otherwise their family decides.
	IPv6     bool
	From     netip.Prefix // from; invalid: all
	To       netip.Prefix // to; invalid: all
	Priority int          // priority, preference
	Action   RuleAction
	Table    int    // table for RuleToTable; zero: main
	Goto     int    // goto's target priority
	Fwmark   uint32 // fwmark
	// FwMask is fwmark's mask, used when HasFwMask; the kernel takes a
	// mark without one as 0xffffffff.
	FwMask    uint32
	HasFwmark bool
	HasFwMask bool
	Iif       string // iif, dev
	Oif       string // oif
	Invert    bool   // not
	Tos       uint8  // tos, dsfield
	// Protocol is the rule's protocol (FRA_PROTOCOL); zero sends none,
	// as keepalived does unless protocol is given.
	Protocol uint8
	Realms   uint32 // realms: source << 16 | destination
	// The selectors below are sent when their Has is set.
	SuppressPrefixlen    int // suppress_prefixlength
	HasSuppressPrefixlen bool
	SuppressIfgroup      uint32 // suppress_ifgroup
	HasSuppressIfgroup   bool
	UIDRange             [2]uint32 // uidrange, first and last
	HasUIDRange          bool
	IPProto              uint8 // ipproto
	HasIPProto           bool
	Sport, Dport         [2]uint16 // sport, dport ranges
	HasSport, HasDport   bool
}

// Is6 reports whether the rule is an IPv6 one.
func (ru Rule) Is6() bool {
	switch {
	case ru.From.IsValid():
		return ru.From.Addr().Is6()
	case ru.To.IsValid():
		return ru.To.Addr().Is6()
	}
	return ru.IPv6
}

// String returns the rule as keepalived's format_iprule writes it.
func (ru Rule) String() string {
	var b strings.Builder
	if ru.IPv6 && !ru.From.IsValid() && !ru.To.IsValid() {
		b.WriteString("inet6 ")
	}
	if ru.Invert {
		b.WriteString("not ")
	}
	if ru.From.IsValid() {
		b.WriteString("from " + prefixText(ru.From))
	} else {
		b.WriteString("from all")
	}
	if ru.To.IsValid() {
		b.WriteString(" to " + prefixText(ru.To))
	}
	b.WriteString(" priority " + strconv.Itoa(ru.Priority))
	b.WriteString(" tos 0x" + strconv.FormatUint(uint64(ru.Tos), 16))
	if ru.HasFwmark {
		b.WriteString(" fwmark 0x" + strconv.FormatUint(uint64(ru.Fwmark), 16))
		if ru.HasFwMask && ru.FwMask != 0xffffffff {
			b.WriteString("/0x" + strconv.FormatUint(uint64(ru.FwMask), 16))
		}
	}
	if ru.Iif != "" {
		b.WriteString(" iif " + ru.Iif)
	}
	if ru.Oif != "" {
		b.WriteString(" oif " + ru.Oif)
	}
	if ru.Protocol != 0 {
		b.WriteString(" protocol " + strconv.Itoa(int(ru.Protocol)))
	}
	switch ru.Action {
	case RuleToTable:
		t := ru.Table
		if t == 0 {
			t = 254
		}
		b.WriteString(" lookup " + strconv.Itoa(t))
	case RuleGoto:
		b.WriteString(" goto " + strconv.Itoa(ru.Goto))
	case RuleNop:
		b.WriteString(" nop")
	default:
		b.WriteString(" type " + ru.Action.String())
	}
	return b.String()
}

// prefixText is p as keepalived's ipaddresstos writes it: no length for a
// host address.
func prefixText(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}
