package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// SCTP one-to-one style sockets read and write a byte stream as TCP's
// do, and the net package's file conversions take them as stream
// sockets: they become a net.Conn and a net.Listener with deadlines.
// The package has no SCTP of its own.

// listenSCTP listens on addr:port in the calling thread's namespace.
func listenSCTP(addr string, port int) (net.Listener, error) {
	fd, err := sctpSocket(addr, port)
	if err != nil {
		return nil, err
	}
	if err := syscall.Listen(fd, 128); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("listen SCTP %s:%d: %w", addr, port, err)
	}
	f := os.NewFile(uintptr(fd), "sctp-listener")
	defer f.Close()
	return net.FileListener(f)
}

// dialSCTP connects from local (any port) to addr:port in the calling
// thread's namespace.
func dialSCTP(local, addr string, port int) (net.Conn, error) {
	fd, err := sctpSocket(local, 0)
	if err != nil {
		return nil, err
	}
	a := netip.MustParseAddr(addr).As4()
	if err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: a}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("connect SCTP %s:%d: %w", addr, port, err)
	}
	f := os.NewFile(uintptr(fd), "sctp")
	defer f.Close()
	return net.FileConn(f)
}

// sctpSocket returns an SCTP stream socket bound to addr:port; port 0
// is any.
func sctpSocket(addr string, port int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_SCTP)
	if err != nil {
		return -1, fmt.Errorf("SCTP socket: %w", err)
	}
	sa := &syscall.SockaddrInet4{Port: port, Addr: netip.MustParseAddr(addr).As4()}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("bind SCTP %s:%d: %w", addr, port, err)
	}
	return fd, nil
}
