package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// An AddressSet adds and removes an instance's virtual addresses with
// rtnetlink.
type AddressSet struct {
	nl     *netlink.Handle
	device string // default interface
	vips   []VIP
}

// NewAddressSet returns the set of vips, those without a device going on
// device. A nil handle works in the caller's network namespace.
func NewAddressSet(nl *netlink.Handle, device string, vips []VIP) *AddressSet {
	if nl == nil {
		nl = &netlink.Handle{}
	}
	return &AddressSet{nl: nl, device: device, vips: vips}
}

// Add adds every address; one already present is not an error.
func (s *AddressSet) Add() error {
	var errs []error
	for _, v := range s.vips {
		link, addr, err := s.resolve(v)
		if err == nil {
			err = s.nl.AddrAdd(link, addr)
			if errors.Is(err, unix.EEXIST) {
				err = nil
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("adding VIP %s to %s: %w", v.Prefix, s.dev(v), err))
		}
	}
	return errors.Join(errs...)
}

// Remove removes every address; one already absent is not an error.
func (s *AddressSet) Remove() error {
	var errs []error
	for _, v := range s.vips {
		link, addr, err := s.resolve(v)
		if err == nil {
			err = s.nl.AddrDel(link, addr)
			if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) {
				err = nil
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing VIP %s from %s: %w", v.Prefix, s.dev(v), err))
		}
	}
	return errors.Join(errs...)
}

// Present reports whether every address is on its interface.
func (s *AddressSet) Present() (bool, error) {
	for _, v := range s.vips {
		link, _, err := s.resolve(v)
		if err != nil {
			return false, err
		}
		family := netlink.FAMILY_V4
		if v.Prefix.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		addrs, err := s.nl.AddrList(link, family)
		if err != nil {
			return false, fmt.Errorf("listing addresses of %s: %w", s.dev(v), err)
		}
		found := false
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == v.Prefix.Addr() {
				found = true
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

func (s *AddressSet) dev(v VIP) string {
	if v.Device != "" {
		return v.Device
	}
	return s.device
}

// infiniteLifetime is the lifetime rtnetlink reads as forever.
const infiniteLifetime uint32 = 0xffffffff

func (s *AddressSet) resolve(v VIP) (netlink.Link, *netlink.Addr, error) {
	link, err := s.nl.LinkByName(s.dev(v))
	if err != nil {
		return nil, nil, err
	}
	a := &netlink.Addr{
		IPNet: &net.IPNet{IP: v.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(v.Prefix.Bits(), v.Prefix.Addr().BitLen())},
		Label: v.Label,
		Scope: int(v.Scope),
	}
	if v.Peer.IsValid() {
		// The peer goes in IFA_ADDRESS, with its prefix length, on
		// removal as well: the kernel finds a point-to-point address
		// by its peer. keepalived 2.2.7 gives its own address there
		// when it deletes one, which the kernel refuses, and leaves the
		// address behind; gokeepalived removes it.
		a.Peer = &net.IPNet{IP: v.Peer.Addr().AsSlice(), Mask: net.CIDRMask(v.Peer.Bits(), v.Peer.Addr().BitLen())}
	}
	for _, f := range []struct {
		set  bool
		flag int
	}{
		{v.Home, unix.IFA_F_HOMEADDRESS}, {v.MngTmpAddr, unix.IFA_F_MANAGETEMPADDR},
		{v.NoPrefixRoute, unix.IFA_F_NOPREFIXROUTE}, {v.AutoJoin, unix.IFA_F_MCAUTOJOIN},
	} {
		if f.set {
			a.Flags |= f.flag
		}
	}
	switch {
	case v.Peer.IsValid():
		// No broadcast beside a peer, as keepalived's.
		a.Broadcast = net.IPv4zero
	case v.Broadcast.IsValid():
		a.Broadcast = v.Broadcast.AsSlice()
	case v.Prefix.Addr().Is4():
		// netlink makes up a broadcast address for an IPv4 address
		// without one; 0.0.0.0 tells it not to, and keepalived sends
		// none.
		a.Broadcast = net.IPv4zero
	}
	if v.Prefix.Addr().Is6() {
		// A VIP moves between routers: duplicate address detection
		// would hold it tentative, unusable, right after a failover.
		if !v.DAD {
			a.Flags |= unix.IFA_F_NODAD
		}
		if v.Deprecating {
			a.PreferedLft = int(v.PreferredLft)
			a.ValidLft = int(infiniteLifetime)
		}
	}
	return link, a, nil
}
