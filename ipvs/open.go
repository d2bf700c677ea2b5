package ipvs

import "fmt"

// OpenKernel opens the kernel's IPVS in the current network namespace, or
// says, as keepalived does, that the kernel has none: without the check
// the first request would fail with a misleading error, and every pass
// after it again.
func OpenKernel() (*Handle, error) {
	h, err := Open("")
	if err != nil {
		return nil, fmt.Errorf("IPVS: Can't initialize ipvs: %w", err)
	}
	if _, err := h.ipvsFamily(); err != nil {
		h.Close()
		return nil, fmt.Errorf("IPVS: Can't initialize ipvs: %w (is the ip_vs module loaded?)", err)
	}
	return h, nil
}
