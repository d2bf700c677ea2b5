package bgp

import "syscall"

// sysProcAttr makes the kernel kill the child when the daemon dies, even
// by SIGKILL, so that no speaker outlives it to announce routes for a
// host whose VRRP and health checks no longer run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
