package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// A RuleSet adds and removes policy routing rules with rtnetlink.
type RuleSet struct {
	nl    *netlink.Handle
	rules []Rule
}

// NewRuleSet returns the set of rules. A nil handle works in the caller's
// network namespace.
func NewRuleSet(nl *netlink.Handle, rules []Rule) *RuleSet {
	if nl == nil {
		nl = &netlink.Handle{}
	}
	return &RuleSet{nl: nl, rules: rules}
}

// Add adds every rule; one already present is not an error.
func (s *RuleSet) Add() error {
	var errs []error
	for _, ru := range s.rules {
		err := s.nl.RuleAdd(netlinkRule(ru))
		if err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("adding rule %v: %w", ru, err))
		}
	}
	return errors.Join(errs...)
}

// Remove removes every rule; one already absent is not an error.
func (s *RuleSet) Remove() error {
	var errs []error
	for _, ru := range s.rules {
		err := s.nl.RuleDel(netlinkRule(ru))
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("removing rule %v: %w", ru, err))
		}
	}
	return errors.Join(errs...)
}

// netlinkRule is ru as netlink sends it. A rule is deleted by the same
// attributes it was added with, so that only that rule goes.
func netlinkRule(ru Rule) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = unix.AF_INET
	if ru.Is6() {
		r.Family = unix.AF_INET6
	}
	r.Priority = ru.Priority
	r.Src, r.Dst = ipNet(ru.From), ipNet(ru.To)
	r.Invert = ru.Invert
	r.Tos = uint(ru.Tos)
	r.Type = uint8(ru.Action)
	r.Table = -1 // RT_TABLE_UNSPEC unless the rule looks a table up
	if ru.Action == RuleToTable {
		r.Table = ru.Table
		if r.Table == 0 {
			r.Table = unix.RT_TABLE_MAIN
		}
	}
	if ru.Action == RuleGoto {
		r.Goto = ru.Goto
	}
	if ru.HasFwmark {
		r.Mark = ru.Fwmark
		if ru.HasFwMask {
			mask := ru.FwMask
			r.Mask = &mask
		}
	}
	r.IifName, r.OifName = ru.Iif, ru.Oif
	r.Protocol = ru.Protocol
	if ru.Realms != 0 {
		r.Flow = int(ru.Realms)
	}
	if ru.HasSuppressPrefixlen {
		r.SuppressPrefixlen = ru.SuppressPrefixlen
	}
	if ru.HasSuppressIfgroup {
		r.SuppressIfgroup = int(ru.SuppressIfgroup)
	}
	if ru.HasUIDRange {
		r.UIDRange = netlink.NewRuleUIDRange(ru.UIDRange[0], ru.UIDRange[1])
	}
	if ru.HasIPProto {
		r.IPProto = int(ru.IPProto)
	}
	if ru.HasSport {
		r.Sport = netlink.NewRulePortRange(ru.Sport[0], ru.Sport[1])
	}
	if ru.HasDport {
		r.Dport = netlink.NewRulePortRange(ru.Dport[0], ru.Dport[1])
	}
	return r
}

// ipNet is p for netlink; nil for an invalid prefix.
func ipNet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() {
		return nil
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
