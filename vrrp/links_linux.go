package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// A linkCache answers the interface and address lookups of one
// configuration pass. Each uncached lookup is a netlink dump of the whole
// table, and a master of hundreds of instances holds hundreds of
// addresses: one dump per instance made a reload quadratic.
type linkCache struct {
	byName map[string]*net.Interface
	addrs  map[int][]net.Addr
}

func newLinkCache() *linkCache {
	return &linkCache{addrs: make(map[int][]net.Addr)}
}

// interfaceByName is net.InterfaceByName from one listing of the links.
func (c *linkCache) interfaceByName(name string) (*net.Interface, error) {
	if c.byName == nil {
		ifis, err := net.Interfaces()
		if err != nil {
			return nil, fmt.Errorf("listing interfaces: %w", err)
		}
		c.byName = make(map[string]*net.Interface, len(ifis))
		for i := range ifis {
			c.byName[ifis[i].Name] = &ifis[i]
		}
	}
	ifi, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("route ip+net: no such network interface")
	}
	return ifi, nil
}

// primaryAddress is primaryAddress from one listing of ifi's addresses.
func (c *linkCache) primaryAddress(ifi *net.Interface, v6 bool, vips []netip.Addr) (netip.Addr, error) {
	addrs, ok := c.addrs[ifi.Index]
	if !ok {
		var err error
		if addrs, err = ifi.Addrs(); err != nil {
			return netip.Addr{}, fmt.Errorf("listing addresses of %s: %w", ifi.Name, err)
		}
		c.addrs[ifi.Index] = addrs
	}
	return pickPrimary(ifi.Name, addrs, v6, vips)
}

// primaryAddress picks the address adverts come from when none is
// configured: the interface's first IPv4 address, or its IPv6 link-local
// address as RFC 5798 section 5.1.2.1 requires.
func primaryAddress(ifi *net.Interface, v6 bool, vips []netip.Addr) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("listing addresses of %s: %w", ifi.Name, err)
	}
	return pickPrimary(ifi.Name, addrs, v6, vips)
}

func pickPrimary(name string, addrs []net.Addr, v6 bool, vips []netip.Addr) (netip.Addr, error) {
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipn.IP)
		ip = ip.Unmap()
		if slices.Contains(vips, ip) {
			continue
		}
		if (!v6 && ip.Is4()) || (v6 && ip.Is6() && ip.IsLinkLocalUnicast()) {
			return ip, nil
		}
	}
	family := "IPv4"
	if v6 {
		family = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address", name, family)
}
