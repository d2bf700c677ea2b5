package vrrp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// TestRouteIsKernel checks that a deleted route is known by table,
// family, destination and tos, as keepalived's route_is_ours knows it.
func TestRouteIsKernel(t *testing.T) {
	rt := Route{Dst: netip.MustParsePrefix("10.80.7.0/24"), Table: 100}
	_, dst, _ := net.ParseCIDR("10.80.7.0/24")
	k := netlink.Route{Family: unix.AF_INET, Dst: dst, Table: 100}
	if !rt.IsKernel(k) {
		t.Error("the route itself does not match")
	}
	other, tos := k, k
	other.Table, tos.Tos = unix.RT_TABLE_MAIN, 4
	if rt.IsKernel(other) {
		t.Error("a route of another table matches")
	}
	if rt.IsKernel(tos) {
		t.Error("a route with a tos matches")
	}
	def := Route{Dst: netip.MustParsePrefix("0.0.0.0/0")}
	if !def.IsKernel(netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN}) {
		t.Error("the default route in main does not match")
	}
	if def.IsKernel(netlink.Route{Family: unix.AF_INET6, Table: unix.RT_TABLE_MAIN}) {
		t.Error("the IPv6 default route matches an IPv4 one")
	}
}

// ruleMsg is a RTM_DELRULE payload as the kernel sends it.
func ruleMsg(family, srcLen, table, action uint8, flags uint32, attrs ...*nl.RtAttr) []byte {
	b := []byte{family, 0, srcLen, 0, table, 0, 0, action, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(b[8:], flags)
	for _, a := range attrs {
		b = append(b, a.Serialize()...)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// TestDeletedRuleIs checks that a deleted rule is known by the
// fields keepalived's compare_rule compares.
func TestDeletedRuleIs(t *testing.T) {
	ru := Rule{From: netip.MustParsePrefix("10.80.6.0/24"), Priority: 500, Action: RuleToTable, Table: 100,
		Protocol: RouteProtocol}
	msg := func(prio uint32, flags uint32, extra ...*nl.RtAttr) DeletedRule {
		attrs := append([]*nl.RtAttr{
			nl.NewRtAttr(nl.FRA_PRIORITY, u32(prio)),
			nl.NewRtAttr(nl.FRA_SRC, []byte{10, 80, 6, 0}),
			nl.NewRtAttr(nl.FRA_PROTOCOL, []byte{RouteProtocol}),
		}, extra...)
		d, ok := ParseDeletedRule(ruleMsg(unix.AF_INET, 24, 100, 1, flags, attrs...))
		if !ok {
			t.Fatal("message not parsed")
		}
		return d
	}
	if d := msg(500, 0); !d.Is(ru) || !d.Ours() || !d.hasProto {
		t.Errorf("the rule itself does not match: %+v", d)
	}
	if msg(501, 0).Is(ru) {
		t.Error("another priority matches")
	}
	if msg(500, netlink.FibRuleInvert).Is(ru) {
		t.Error("an inverted rule matches")
	}
	if msg(500, 0, nl.NewRtAttr(nl.FRA_FWMARK, u32(3))).Is(ru) {
		t.Error("a rule with a fwmark matches")
	}
	marked := ru
	marked.HasFwmark, marked.Fwmark = true, 3
	if !msg(500, 0, nl.NewRtAttr(nl.FRA_FWMARK, u32(3)), nl.NewRtAttr(nl.FRA_FWMASK, u32(0xffffffff))).Is(marked) {
		t.Error("fwmark 3 with the kernel's mask does not match fwmark 3")
	}
	if _, ok := ParseDeletedRule([]byte{2, 0}); ok {
		t.Error("a short message parsed")
	}
}
