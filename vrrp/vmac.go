package vrrp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
)

// VirtualMAC returns the virtual router MAC address of RFC 3768 section
// 7.3 and RFC 5798 section 7.3: 00-00-5E-00-01-{VRID} for IPv4,
// 00-00-5E-00-02-{VRID} for IPv6.
func VirtualMAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	mac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, vrid}
	if ipv6 {
		mac[4] = 0x02
	}
	return mac
}

// DefaultVMACName is the name keepalived gives a VMAC interface when
// use_vmac names none: vrrp.{VRID}.
func DefaultVMACName(vrid uint8) string { return "vrrp." + strconv.Itoa(int(vrid)) }

// addVMAC creates, or reuses when it has the right parent and address,
// the macvlan interface name on parent, in private mode with the virtual
// MAC of vrid, as keepalived's use_vmac does, and brings it up. Its IPv4
// settings are written through /proc/sys, in the caller's network
// namespace.
func addVMAC(nl *netlink.Handle, log logrus.FieldLogger, instance, name string, parent *net.Interface, vrid uint8) (*net.Interface, error) {
	mac := VirtualMAC(vrid, false)
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
	// No IPv6 on an IPv4 instance's VMAC: a link-local address from the
	// virtual MAC would be the same on every router.
	errs = append(errs, writeConf("ipv6", name, "disable_ipv6", "1"))
	if err := errors.Join(errs...); err != nil {
		log.Warnf("(%s) setting up VMAC interface %s: %v", instance, name, err)
	}
	if err := nl.LinkSetUp(link); err != nil {
		nl.LinkDel(link)
		return nil, fmt.Errorf("bringing up VMAC interface %s: %w", name, err)
	}
	return net.InterfaceByName(name)
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
