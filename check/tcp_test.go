package check

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fullListener listens on loopback with an accept queue of one connection
// and fills it, so that the kernel drops the next SYN and the client sends
// it again a second later. accept frees the queue.
func fullListener(t *testing.T) (addr netip.AddrPort, accept func()) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr = netip.AddrPortFrom(netip.AddrFrom4(sa.(*unix.SockaddrInet4).Addr), uint16(sa.(*unix.SockaddrInet4).Port))
	filler, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	return addr, func() {
		nfd, _, err := unix.Accept(fd)
		if err != nil {
			t.Error(err)
			return
		}
		unix.Close(nfd)
		// The connection accepted next, when there is one, gets an
		// HTTP response.
		nfd, _, err = unix.Accept(fd)
		if err != nil {
			return
		}
		defer unix.Close(nfd)
		buf := make([]byte, 4096)
		unix.Read(nfd, buf)
		unix.Write(nfd, []byte("HTTP/1.0 204 No Content\r\n\r\n"))
	}
}

// TestTCPCheckWaitsForASlowHandshake covers the attempts whose handshake is
// not over when connect returns: they wait for it, and end at the deadline
// or when cancelled.
func TestTCPCheckWaitsForASlowHandshake(t *testing.T) {
	addr, accept := fullListener(t)
	c := &TCPCheck{Dialer: Dialer{Addr: addr}}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := c.checkBy(ctx, start.Add(5*time.Second))
	if d := time.Since(start); err == nil || !strings.Contains(err.Error(), "context canceled") || d > 900*time.Millisecond {
		t.Errorf("cancelled after 100ms: %v after %v, want context canceled at once", err, d)
	}

	start = time.Now()
	err = c.checkBy(context.Background(), start.Add(200*time.Millisecond))
	if d := time.Since(start); err == nil || !strings.Contains(err.Error(), "deadline exceeded") || d > 900*time.Millisecond {
		t.Errorf("deadline 200ms: %v after %v, want deadline exceeded then", err, d)
	}

	// The SYN dropped now is sent again after the initial
	// retransmission timeout of one second, when there is room.
	go func() {
		time.Sleep(100 * time.Millisecond)
		accept()
	}()
	h := &HTTPGet{Dialer: Dialer{Addr: addr}, URLs: []URL{{Path: "/", StatusCodes: []StatusRange{{204, 204}}}}}
	start = time.Now()
	err = h.checkBy(context.Background(), start.Add(5*time.Second))
	if d := time.Since(start); err != nil || d < 500*time.Millisecond {
		t.Errorf("HTTP_GET whose handshake a retransmitted SYN completed: %v after %v, want success after about 1s", err, d)
	}
}
