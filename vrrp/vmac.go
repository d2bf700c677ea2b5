package vrrp

import (
	"net"
	"strconv"
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
