package check

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var netnsSeq atomic.Int64

// silentNetns creates a network namespace, named with this package's gkchk-
// prefix, where 10.9.9.0/24 is routed into one end of a veth pair whose
// other end has no address: packets to 10.9.9.2 vanish without an answer or
// an error, as to a dead server.
func silentNetns(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	name := fmt.Sprintf("gkchk-%d-%d", os.Getpid(), netnsSeq.Add(1))
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	ip("-n", name, "link", "set", "lo", "up")
	ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ip("-n", name, "addr", "add", "10.9.9.1/24", "dev", "v0")
	ip("-n", name, "link", "set", "v0", "up")
	ip("-n", name, "link", "set", "v1", "up")
	// A neighbour entry sends the packets out rather than have them wait
	// for an ARP reply that never comes: either way nothing answers.
	ip("-n", name, "neigh", "add", "10.9.9.2", "lladdr", "02:00:00:00:00:02", "dev", "v0")
	return name
}

// inNetns runs fn on a thread inside the named namespace; sockets fn opens
// stay in it.
func inNetns(t *testing.T, name string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			t.Error(err)
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + name)
		if err != nil {
			t.Error(err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Error("entering", name, err)
			return
		}
		fn()
		// A thread that cannot go back is left locked, so the runtime
		// ends it with this goroutine.
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
}

// TestChecksTimeOutOnSilentServer wants each network checker to end a check
// of a server that never answers at its deadline, with a down verdict.
func TestChecksTimeOutOnSilentServer(t *testing.T) {
	ns := silentNetns(t)
	dead := netip.MustParseAddrPort("10.9.9.2:80")
	tests := []struct {
		name    string
		checker Checker
		wantErr string
	}{
		{"TCP_CHECK", &TCPCheck{Dialer: Dialer{Addr: dead}}, "deadline exceeded"},
		{"HTTP_GET", &HTTPGet{Dialer: Dialer{Addr: dead}, URLs: []URL{{Path: "/"}}}, "deadline exceeded"},
		{"SSL_GET", &HTTPGet{Dialer: Dialer{Addr: dead}, TLS: true, URLs: []URL{{Path: "/"}}}, "deadline exceeded"},
		{"SMTP_CHECK", &SMTPCheck{Dialer: Dialer{Addr: dead}}, "deadline exceeded"},
		{"DNS_CHECK", &DNSCheck{Dialer: Dialer{Addr: dead}}, "deadline exceeded"},
		{"UDP_CHECK require_reply", &UDPCheck{Dialer: Dialer{Addr: dead}, RequireReply: true}, "deadline exceeded"},
		{"PING_CHECK", &PingCheck{Dialer: Dialer{Addr: dead}}, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inNetns(t, ns, func() {
				checkVerdict(t, tt.checker, 400*time.Millisecond, tt.wantErr)
			})
		})
	}
}
