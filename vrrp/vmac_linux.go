package vrrp

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// addVMAC creates, or reuses when it has the right parent and address,
// the macvlan interface name on parent, in private mode with the virtual
// MAC address mac, as keepalived's use_vmac does, and brings it up. An IPv6
// instance's VMAC (local valid: the parent's link-local address) gets the
// IPv6 virtual MAC and local as its only link-local address; an IPv4
// one, no IPv6 at all unless keepIPv6. Its settings are written through
// /proc/sys, in the caller's network namespace.
func addVMAC(nl *netlink.Handle, log logrus.FieldLogger, instance, name string, parent *net.Interface, mac net.HardwareAddr, local netip.Addr, keepIPv6 bool) (*net.Interface, error) {
	v6 := local.IsValid()
	if link, err := nl.LinkByName(name); err == nil {
		a := link.Attrs()
		if _, ok := link.(*netlink.Macvlan); !ok {
			return nil, fmt.Errorf("creating VMAC interface %s: an interface of type %s has the name", name, link.Type())
		}
		if a.ParentIndex != parent.Index || a.HardwareAddr.String() != mac.String() {
			log.Infof("vmac: Removing old VMAC interface %s due to conflicting interface or MAC for vrrp_instance %s!!!", name, instance)
			if err := nl.LinkDel(link); err != nil {
				return nil, fmt.Errorf("removing VMAC interface %s: %w", name, err)
			}
		} else if err := nl.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("bringing up VMAC interface %s: %w", name, err)
		} else {
			if v6 {
				if err := addLinkLocal(nl, link, local); err != nil {
					return nil, fmt.Errorf("VMAC interface %s: %w", name, err)
				}
			}
			return net.InterfaceByName(name)
		}
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.ParentIndex, attrs.HardwareAddr = name, parent.Index, mac
	link := &netlink.Macvlan{LinkAttrs: attrs, Mode: netlink.MACVLAN_MODE_PRIVATE}
	if err := nl.LinkAdd(link); err != nil {
		log.Infof("(%s): Unable to create VMAC interface %s", instance, name)
		return nil, fmt.Errorf("creating VMAC interface %s on %s: %w", name, parent.Name, err)
	}
	log.Infof("(%s): Success creating VMAC interface %s", instance, name)
	errs := []error{
		// It must hear the other routers' adverts with no address of
		// its own, and not answer ARP for its parent's addresses.
		writeConf("ipv4", name, "arp_ignore", "1"),
		writeConf("ipv4", name, "accept_local", "1"),
		writeConf("ipv4", name, "rp_filter", "0"),
		writeConf("ipv4", name, "promote_secondaries", "1"),
		// The parent must not answer ARP for the VIPs, which live on
		// the VMAC interface.
		writeConf("ipv4", parent.Name, "arp_ignore", "1"),
		writeConf("ipv4", parent.Name, "arp_filter", "1"),
	}
	// No link-local address from the virtual MAC, which would be the
	// same on every router: an IPv6 instance's VMAC gets the parent's,
	// added below; keepalived sets the mode on an IPv4 one's too.
	errs = append(errs, writeConf("ipv6", name, "addr_gen_mode", "1"))
	if v6 {
		errs = append(errs, writeConf("ipv6", name, "accept_dad", "0"))
	} else if !keepIPv6 {
		// No IPv6 on an IPv4 instance's VMAC, unless it has IPv6
		// excluded addresses.
		errs = append(errs, writeConf("ipv6", name, "disable_ipv6", "1"))
	}
	if err := errors.Join(errs...); err != nil {
		log.Warnf("(%s) setting up VMAC interface %s: %v", instance, name, err)
	}
	if err := nl.LinkSetUp(link); err != nil {
		nl.LinkDel(link)
		return nil, fmt.Errorf("bringing up VMAC interface %s: %w", name, err)
	}
	if v6 {
		if err := addLinkLocal(nl, link, local); err != nil {
			nl.LinkDel(link)
			return nil, fmt.Errorf("VMAC interface %s: %w", name, err)
		}
	}
	return net.InterfaceByName(name)
}

// addLinkLocal gives an IPv6 VMAC interface its parent's link-local
// address, as keepalived does: without duplicate address detection, which
// would find the parent's, and deprecated, so that the kernel picks it as
// a source only where asked to, for the adverts.
func addLinkLocal(nl *netlink.Handle, link netlink.Link, local netip.Addr) error {
	addr := &netlink.Addr{
		IPNet:       &net.IPNet{IP: local.AsSlice(), Mask: net.CIDRMask(64, 128)},
		Flags:       unix.IFA_F_NODAD,
		ValidLft:    math.MaxUint32, // forever
		PreferedLft: 0,
	}
	if err := nl.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("adding link-local address %v: %w", local, err)
	}
	return nil
}

// addVMAC is addVMAC on h, with the VMAC put in the firewall's VMAC
// map, as keepalived's firewall_add_vmac does: for its family, and the
// other family's too when otherFamily (excluded VIPs of that family),
// which also keeps IPv6 on an IPv4 instance's VMAC.
func (h *host) addVMAC(instance, name string, parent *net.Interface, mac net.HardwareAddr, local netip.Addr, otherFamily bool) (*net.Interface, error) {
	ifi, err := addVMAC(h.nl, h.log, instance, name, parent, mac, local, otherFamily)
	if err == nil && h.fw != nil {
		if err := h.fw.addVMAC(ifi.Index, parent.Index, local.IsValid(), otherFamily); err != nil {
			h.log.Errorf("(%s) %v", instance, err)
		}
	}
	return ifi, err
}

// removeVMAC is removeVMAC on h, with the VMAC taken out of the
// firewall's VMAC maps.
func (h *host) removeVMAC(instance, name string) {
	if h.fw != nil {
		if link, err := h.nl.LinkByName(name); err == nil {
			if err := h.fw.removeVMAC(link.Attrs().Index, link.Attrs().ParentIndex, false, true); err != nil {
				h.log.Errorf("(%s) %v", instance, err)
			}
		}
	}
	removeVMAC(h.nl, h.log, instance, name)
}

// removeVMAC deletes the VMAC interface name.
func removeVMAC(nl *netlink.Handle, log logrus.FieldLogger, instance, name string) {
	link, err := nl.LinkByName(name)
	if err == nil {
		if _, ok := link.(*netlink.Macvlan); !ok {
			return // never remove a real interface
		}
		err = nl.LinkDel(link)
	}
	if err != nil {
		log.Infof("vmac: Error removing VMAC interface %s for vrrp_instance %s!!!", name, instance)
		return
	}
	log.Infof("vmac: Success removing VMAC interface %s for vrrp_instance %s", name, instance)
}

func writeConf(family, ifname, name, value string) error {
	path := filepath.Join("/proc/sys/net", family, "conf", ifname, name)
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("setting %s: %w", path, err)
	}
	return nil
}
