package ipvs

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// OpenKernel opens the kernel's IPVS in the current network namespace, or
// says, as keepalived does, that the kernel has none: without the check
// the first request would fail with a misleading error, and every pass
// after it again.
func OpenKernel() (*Handle, error) {
	if _, err := netlink.GenlFamilyGet("IPVS"); err != nil {
		return nil, fmt.Errorf("IPVS: Can't initialize ipvs: %w (is the ip_vs module loaded?)", err)
	}
	h, err := Open("")
	if err != nil {
		return nil, fmt.Errorf("IPVS: Can't initialize ipvs: %w", err)
	}
	return h, nil
}
