package vrrp

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNetlinkRule checks the rtnetlink rule each Rule becomes, as
// keepalived's netlink_rule builds it: the family of an address-less rule,
// main for a lookup without a table, no table for other actions, goto's
// target, and fwmark's mask only when given.
func TestNetlinkRule(t *testing.T) {
	r := netlinkRule(Rule{IPv6: true, Priority: 7, Action: RuleToTable, HasFwmark: true, Fwmark: 0x10})
	if r.Family != unix.AF_INET6 || r.Table != unix.RT_TABLE_MAIN || r.Type != uint8(RuleToTable) || r.Mark != 0x10 || r.Mask != nil ||
		r.Priority != 7 || r.Goto != -1 || r.Src != nil || r.Dst != nil {
		t.Errorf("inet6 lookup main fwmark 0x10: %+v", r)
	}
	r = netlinkRule(Rule{From: netip.MustParsePrefix("10.0.0.0/8"), Priority: 8, Action: RuleGoto, Goto: 20,
		HasFwmark: true, Fwmark: 3, HasFwMask: true, FwMask: 0xff, Iif: "eth0", Oif: "eth1", Invert: true, Protocol: RouteProtocol})
	if r.Family != unix.AF_INET || r.Table != -1 || r.Goto != 20 || r.Mask == nil || *r.Mask != 0xff || r.IifName != "eth0" ||
		r.OifName != "eth1" || !r.Invert || r.Protocol != RouteProtocol || r.Src.String() != "10.0.0.0/8" {
		t.Errorf("not from 10.0.0.0/8 goto 20: %+v", r)
	}
	r = netlinkRule(Rule{To: netip.MustParsePrefix("2001:db8::/32"), Priority: 9, Action: RuleProhibit})
	if r.Family != unix.AF_INET6 || r.Table != -1 || r.Type != uint8(RuleProhibit) || r.Dst.String() != "2001:db8::/32" {
		t.Errorf("to 2001:db8::/32 prohibit: %+v", r)
	}
	if got, want := (Rule{IPv6: true, Invert: true, To: netip.MustParsePrefix("10.1.0.0/16"), Priority: 5, Action: RuleUnreachable,
		HasFwmark: true, Fwmark: 0x10, HasFwMask: true, FwMask: 0xff}).String(),
		"not from all to 10.1.0.0/16 priority 5 tos 0x0 fwmark 0x10/0xff type unreachable"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
