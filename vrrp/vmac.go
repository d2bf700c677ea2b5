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

// VMACNames names the VMAC interfaces use_vmac leaves unnamed, as
// keepalived does: prefix (vmac_prefix, "vrrp" when empty) dot VRID,
// or when another instance has that name, prefix, a number and dot VRID,
// the number counting from 1, but from 6 for IPv6, as in vrrp6.51. A
// name is cut short in the prefix to fit an interface name. named holds
// the names given, used up front; wants lists, in configuration order,
// the VRID and address family of each unnamed VMAC, and the result
// gives each its name.
func VMACNames(prefix string, named []string, wants []VMACWant) []string {
	if prefix == "" {
		prefix = "vrrp"
	}
	used := make(map[string]bool, len(named)+len(wants))
	for _, n := range named {
		used[n] = true
	}
	names := make([]string, len(wants))
	for i, w := range wants {
		num := 0
		for {
			name := vmacName(prefix, num, w.VRID)
			if !used[name] {
				used[name] = true
				names[i] = name
				break
			}
			switch {
			case w.IPv6 && num == 0:
				num = 6
			case w.IPv6 && num == 6:
				num = 1
			default:
				num++
				if w.IPv6 && num == 6 {
					num++
				}
			}
		}
	}
	return names
}

// A VMACWant is a VMAC use_vmac leaves unnamed.
type VMACWant struct {
	VRID uint8
	IPv6 bool
}

// vmacName is prefix[num].vrid, the prefix cut to fit IFNAMSIZ.
func vmacName(prefix string, num int, vrid uint8) string {
	tail := "." + strconv.Itoa(int(vrid))
	if num > 0 {
		tail = strconv.Itoa(num) + tail
	}
	if len(prefix)+len(tail) > 15 {
		prefix = prefix[:max(0, 15-len(tail))]
	}
	return prefix + tail
}
