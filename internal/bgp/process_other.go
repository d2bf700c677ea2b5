//go:build !linux

package bgp

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
