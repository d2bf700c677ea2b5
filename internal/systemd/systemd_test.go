package systemd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen binds the socket systemd would listen on: a path, or an abstract
// name when abstract is true.
func listen(t *testing.T, abstract bool) (*net.UnixConn, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify")
	if abstract {
		b := make([]byte, 8)
		rand.Read(b)
		name = "@gokeepalived-test-" + hex.EncodeToString(b)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, name
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// receive returns the datagrams that arrive until c stays quiet for wait.
func receive(t *testing.T, c *net.UnixConn, wait time.Duration) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return got
			}
			t.Fatalf("reading notify socket: %v", err)
		}
		got = append(got, string(buf[:n]))
	}
}

func TestNotify(t *testing.T) {
	tests := []struct {
		name string
		send func(n *Notifier) error
		want string
	}{
		{"ready", (*Notifier).Ready, "READY=1"},
		{"stopping", (*Notifier).Stopping, "STOPPING=1"},
		{"status", func(n *Notifier) error { return n.Status("VRRP: 2 instances, 1 MASTER") }, "STATUS=VRRP: 2 instances, 1 MASTER"},
		{"status on one line", func(n *Notifier) error { return n.Status("a\nb") }, "STATUS=a b"},
		{"several assignments", func(n *Notifier) error { return n.Notify("READY=1", "STATUS=Running") }, "READY=1\nSTATUS=Running"},
	}
	for _, abstract := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(tt.name+"/abstract="+strconv.FormatBool(abstract), func(t *testing.T) {
				c, name := listen(t, abstract)
				n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": name}), 1)
				if err := tt.send(n); err != nil {
					t.Fatal(err)
				}
				got := receive(t, c, 100*time.Millisecond)
				if len(got) != 1 || got[0] != tt.want {
					t.Errorf("datagrams %q, want [%q]", got, tt.want)
				}
			})
		}
	}
}

func monotonicUsec(t *testing.T) uint64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3
}

func TestReloading(t *testing.T) {
	c, name := listen(t, false)
	n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": name}), 1)
	before := monotonicUsec(t)
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	after := monotonicUsec(t)
	got := receive(t, c, 100*time.Millisecond)
	if len(got) != 1 {
		t.Fatalf("datagrams %q, want one", got)
	}
	stamp, ok := strings.CutPrefix(got[0], "RELOADING=1\nMONOTONIC_USEC=")
	usec, err := strconv.ParseUint(stamp, 10, 64)
	if !ok || err != nil {
		t.Fatalf("datagram %q, want RELOADING=1\\nMONOTONIC_USEC=<usec>", got[0])
	}
	if usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC=%d, want between %d and %d", usec, before, after)
	}
}

func TestNotSystemd(t *testing.T) {
	n := newNotifier(env(map[string]string{"WATCHDOG_USEC": "1000000"}), 1)
	if n.Enabled() {
		t.Error("Enabled without NOTIFY_SOCKET")
	}
	if d := n.WatchdogInterval(); d != 0 {
		t.Errorf("WatchdogInterval without NOTIFY_SOCKET = %v, want 0", d)
	}
	for name, err := range map[string]error{
		"Ready":     n.Ready(),
		"Reloading": n.Reloading(),
		"Stopping":  n.Stopping(),
		"Status":    n.Status("x"),
		"Watchdog":  n.Watchdog(context.Background(), nil),
	} {
		if err != nil {
			t.Errorf("%s without NOTIFY_SOCKET: %v", name, err)
		}
	}
}

func TestNotifyErrors(t *testing.T) {
	tests := []struct {
		socket string
		want   string
	}{
		{"vsock:2:1234", `unsupported NOTIFY_SOCKET "vsock:2:1234"`},
		{filepath.Join(t.TempDir(), "absent"), "no such file or directory"},
	}
	for _, tt := range tests {
		n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": tt.socket}), 1)
		err := n.Ready()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `notifying systemd of "READY=1": `) {
			t.Errorf("Ready with NOTIFY_SOCKET=%s: %v, want an error about %q", tt.socket, err, tt.want)
		}
	}
}

func TestWatchdogInterval(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name string
		env  map[string]string
		want time.Duration
	}{
		{"unset", nil, 0},
		{"30s", map[string]string{"WATCHDOG_USEC": "30000000"}, 30 * time.Second},
		{"for us", map[string]string{"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 30 * time.Second},
		{"for another process", map[string]string{"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, 0},
		{"bad pid", map[string]string{"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, 0},
		{"zero", map[string]string{"WATCHDOG_USEC": "0"}, 0},
		{"negative", map[string]string{"WATCHDOG_USEC": "-5"}, 0},
		{"garbage", map[string]string{"WATCHDOG_USEC": "30s"}, 0},
	}
	for _, tt := range tests {
		vars := map[string]string{"NOTIFY_SOCKET": "/run/systemd/notify"}
		for k, v := range tt.env {
			vars[k] = v
		}
		if got := newNotifier(env(vars), pid).WatchdogInterval(); got != tt.want {
			t.Errorf("%s: WatchdogInterval = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWatchdog(t *testing.T) {
	c, name := listen(t, false)
	n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "10000000"}), 1)
	tick := make(chan time.Time)
	var period time.Duration
	stopped := false
	n.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
		period = d
		return tick, func() { stopped = true }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Watchdog(ctx, nil) }()

	if got := receive(t, c, 100*time.Millisecond); len(got) != 1 || got[0] != "WATCHDOG=1" {
		t.Fatalf("at start: datagrams %q, want one WATCHDOG=1", got)
	}
	for i := range 3 {
		tick <- time.Time{}
		if got := receive(t, c, 100*time.Millisecond); len(got) != 1 || got[0] != "WATCHDOG=1" {
			t.Fatalf("after tick %d: datagrams %q, want one WATCHDOG=1", i+1, got)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watchdog returned %v, want context.Canceled", err)
	}
	if period != 5*time.Second {
		t.Errorf("ticker period %v, want half of WatchdogSec=10s", period)
	}
	if !stopped {
		t.Error("ticker not stopped")
	}
	if got := receive(t, c, 50*time.Millisecond); len(got) != 0 {
		t.Errorf("after cancel: datagrams %q, want none", got)
	}
}

func TestFromEnvironment(t *testing.T) {
	c, name := listen(t, true)
	t.Setenv("NOTIFY_SOCKET", name)
	t.Setenv("WATCHDOG_USEC", "2000000")
	t.Setenv("WATCHDOG_PID", "")
	n := FromEnvironment()
	if d := n.WatchdogInterval(); d != 2*time.Second {
		t.Errorf("WatchdogInterval = %v, want 2s", d)
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c, 100*time.Millisecond); len(got) != 1 || got[0] != "READY=1" {
		t.Errorf("datagrams %q, want [READY=1]", got)
	}
}

// TestSystemdNotify checks the datagrams against systemd's own
// systemd-notify, on a path and on an abstract socket.
func TestSystemdNotify(t *testing.T) {
	bin, err := exec.LookPath("systemd-notify")
	if err != nil {
		t.Skip("systemd-notify is not installed")
	}
	tests := []struct {
		args []string // to systemd-notify, after --no-block
		send func(n *Notifier) error
	}{
		{[]string{"--ready"}, (*Notifier).Ready},
		{[]string{"STOPPING=1"}, (*Notifier).Stopping},
		{[]string{"WATCHDOG=1"}, func(n *Notifier) error { return n.Notify("WATCHDOG=1") }},
		{[]string{"--status=Entering MASTER STATE"}, func(n *Notifier) error { return n.Status("Entering MASTER STATE") }},
		{[]string{"--ready", "--status=Running"}, func(n *Notifier) error { return n.Notify("READY=1", "STATUS=Running") }},
	}
	for _, abstract := range []bool{false, true} {
		c, name := listen(t, abstract)
		n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": name}), 1)
		for _, tt := range tests {
			cmd := exec.Command(bin, append([]string{"--no-block"}, tt.args...)...)
			cmd.Env = []string{"NOTIFY_SOCKET=" + name}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("systemd-notify %q: %v: %s", tt.args, err, out)
			}
			theirs := receive(t, c, 100*time.Millisecond)
			if err := tt.send(n); err != nil {
				t.Fatal(err)
			}
			ours := receive(t, c, 100*time.Millisecond)
			if len(theirs) != 1 || len(ours) != 1 || ours[0] != theirs[0] {
				t.Errorf("NOTIFY_SOCKET=%s %q: ours %q, systemd-notify's %q", name, tt.args, ours, theirs)
			}
		}
	}
}

// TestWatchdogUnhealthy requires no ping while the health check fails,
// and pings again once it passes.
func TestWatchdogUnhealthy(t *testing.T) {
	c, name := listen(t, false)
	n := newNotifier(env(map[string]string{"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "10000000"}), 1)
	tick := make(chan time.Time)
	n.newTicker = func(time.Duration) (<-chan time.Time, func()) { return tick, func() {} }
	var fail atomic.Bool
	healthy := func() error {
		if fail.Load() {
			return errors.New("wedged")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Watchdog(ctx, healthy)
	if got := receive(t, c, 100*time.Millisecond); len(got) != 1 || got[0] != "WATCHDOG=1" {
		t.Fatalf("healthy: datagrams %q, want one WATCHDOG=1", got)
	}
	fail.Store(true)
	tick <- time.Time{}
	tick <- time.Time{}
	if got := receive(t, c, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("unhealthy: datagrams %q, want none", got)
	}
	fail.Store(false)
	tick <- time.Time{}
	if got := receive(t, c, 100*time.Millisecond); len(got) != 1 || got[0] != "WATCHDOG=1" {
		t.Fatalf("healthy again: datagrams %q, want one WATCHDOG=1", got)
	}
}
