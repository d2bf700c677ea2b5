// Package nettest builds throw-away networks of Linux network namespaces for
// end-to-end tests: hosts joined by a bridge, with real links, addresses,
// ARP and multicast, and helpers to run processes such as keepalived inside
// them.
//
// Nothing is created in the test's own namespace except, for an instant,
// the two ends of each veth pair before they move. The bridge lives in a
// namespace of its own, so deleting the lab's namespaces removes every link,
// bridge and address it made. Names carry a random suffix so that test
// binaries running in parallel, or leftovers of a killed run, never collide.
package nettest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// RequireRoot skips t when the test cannot create namespaces, except under
// CI=true, where a privileged test that does not run is a failure.
func RequireRoot(t testing.TB) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "needs root"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "needs iproute2's ip"
		}
	}
	if why == "" {
		return
	}
	SkipUnlessCI(t, why)
}

// SkipUnlessCI skips t for want of why (a tool, a file, a privilege),
// except under CI=true, where every test must run and a missing need is
// a failure.
func SkipUnlessCI(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: every test must run)", why)
	}
	t.Skip(why)
}

// A Lab is a set of hosts on one Ethernet segment.
type Lab struct {
	t      testing.TB
	id     string // random, keeps names unique
	sw     string // namespace holding the bridge
	mu     sync.Mutex
	hosts  []*Host
	closed bool
}

// A Host is one network namespace with an Ethernet link (eth0) on the lab's
// bridge and lo up.
type Host struct {
	Name string           // short name given to AddHost
	NS   string           // namespace name, for ip netns exec
	Link string           // "eth0"
	MAC  net.HardwareAddr // eth0's address
	lab  *Lab
	port string // the veth end on the bridge
}

// NewLab creates an empty segment. Everything it and its hosts create is
// removed when the test ends.
func NewLab(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	l := &Lab{t: t, id: randomID()}
	l.sw = "gk" + l.id + "-sw"
	t.Cleanup(l.Close)
	l.mustIP("netns", "add", l.sw)
	l.mustIP("-n", l.sw, "link", "set", "lo", "up")
	l.mustIP("-n", l.sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
	// Multicast snooping would make VRRP multicast depend on IGMP timing.
	l.mustIP("-n", l.sw, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0")
	l.mustIP("-n", l.sw, "link", "set", "br0", "up")
	return l
}

// AddHost creates a host with eth0 on the segment and the given addresses
// (CIDR notation, IPv4 or IPv6) on eth0.
func (l *Lab) AddHost(name string, addrs ...string) *Host {
	l.t.Helper()
	l.mu.Lock()
	n := len(l.hosts)
	l.mu.Unlock()
	h := &Host{
		Name: name,
		NS:   "gk" + l.id + "-" + name,
		Link: "eth0",
		lab:  l,
		port: fmt.Sprintf("p%s%d", l.id, n),
	}
	tmp := fmt.Sprintf("t%s%d", l.id, n)
	l.mustIP("netns", "add", h.NS)
	l.mu.Lock()
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	l.mustIP("link", "add", tmp, "type", "veth", "peer", "name", h.port)
	l.mustIP("link", "set", tmp, "netns", h.NS)
	l.mustIP("link", "set", h.port, "netns", l.sw)
	l.mustIP("-n", h.NS, "link", "set", tmp, "name", h.Link)
	l.mustIP("-n", l.sw, "link", "set", h.port, "master", "br0", "up")
	// Duplicate address detection would hold IPv6 addresses tentative
	// for a second and make VRRPv3/IPv6 tests wait for it.
	l.mustRun(h.Exec("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv6.conf.eth0.accept_dad=0"))
	l.mustIP("-n", h.NS, "link", "set", "lo", "up")
	l.mustIP("-n", h.NS, "link", "set", h.Link, "up")
	for _, a := range addrs {
		l.mustIP("-n", h.NS, "addr", "add", a, "dev", h.Link)
	}
	out := l.mustIP("-n", h.NS, "-br", "link", "show", h.Link)
	if f := strings.Fields(out); len(f) >= 3 {
		h.MAC, _ = net.ParseMAC(f[2])
	}
	return h
}

// Close deletes every namespace of the lab. It runs by itself when the
// test ends; calling it again does nothing.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	hosts := l.hosts
	l.mu.Unlock()
	for _, h := range hosts {
		// Processes left in the namespace would keep it alive as a
		// mount-less zombie; ip netns pids finds them.
		if out, err := exec.Command("ip", "netns", "pids", h.NS).Output(); err == nil {
			for _, pid := range strings.Fields(string(out)) {
				// A thread of the test itself can be in
				// the namespace (Do); never kill the test.
				if pid == strconv.Itoa(os.Getpid()) {
					continue
				}
				exec.Command("kill", "-9", pid).Run()
			}
		}
		exec.Command("ip", "netns", "del", h.NS).Run()
	}
	exec.Command("ip", "netns", "del", l.sw).Run()
}

// SetPort brings the host's port on the bridge up or down: the host sees
// carrier loss on eth0, as when a cable is pulled.
func (l *Lab) SetPort(h *Host, up bool) {
	l.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	l.mustIP("-n", l.sw, "link", "set", h.port, state)
}

// Isolate cuts h off the segment while its link stays up (a partition, not
// a link failure); Heal joins it again.
func (l *Lab) Isolate(h *Host) {
	l.t.Helper()
	l.mustIP("-n", l.sw, "link", "set", h.port, "nomaster")
}

// Heal undoes Isolate.
func (l *Lab) Heal(h *Host) {
	l.t.Helper()
	l.mustIP("-n", l.sw, "link", "set", h.port, "master", "br0")
}

// Exec returns a command that runs in the host's namespace.
func (h *Host) Exec(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// ExecContext is Exec with a context.
func (h *Host) ExecContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Run runs a command in the host's namespace and returns its combined
// output; a failure fails the test.
func (h *Host) Run(name string, args ...string) string {
	h.lab.t.Helper()
	return h.lab.mustRun(h.Exec(name, args...))
}

// Do runs fn on an OS thread that has entered the host's namespace.
// Sockets and netlink handles opened inside fn stay in the namespace after
// it returns; goroutines started by fn do not.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("reading the current namespace: %w", err)
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromName(h.NS)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening namespace %s: %w", h.NS, err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering namespace %s: %w", h.NS, err)
			return
		}
		err = fn()
		// Only a thread back in its own namespace may run other
		// goroutines. If the way back fails, the thread stays locked
		// and the runtime retires it with this goroutine (or, for the
		// main thread, parks it).
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// Netlink returns a netlink handle bound to the host's namespace.
func (h *Host) Netlink() *netlink.Handle {
	h.lab.t.Helper()
	ns, err := netns.GetFromName(h.NS)
	if err != nil {
		h.lab.t.Fatalf("opening namespace %s: %v", h.NS, err)
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		h.lab.t.Fatalf("netlink handle in %s: %v", h.NS, err)
	}
	h.lab.t.Cleanup(nh.Close)
	return nh
}

// HasAddr reports whether the host has addr (no prefix length) on any link.
func (h *Host) HasAddr(addr string) bool {
	out, err := exec.Command("ip", "-n", h.NS, "-o", "addr", "show").Output()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if (f[i] == "inet" || f[i] == "inet6") && strings.SplitN(f[i+1], "/", 2)[0] == addr {
				return true
			}
		}
	}
	return false
}

// Neighbor returns the link-layer address the host's neighbour table holds
// for ip, or nil when it has none.
func (h *Host) Neighbor(ip string) net.HardwareAddr {
	out, err := exec.Command("ip", "-n", h.NS, "neigh", "show", ip).Output()
	if err != nil {
		return nil
	}
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "lladdr" {
			mac, _ := net.ParseMAC(f[i+1])
			return mac
		}
	}
	return nil
}

// Eventually polls cond every few milliseconds until it is true or timeout
// passes, and returns how long that took and whether it became true.
func Eventually(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *Lab) mustIP(args ...string) string {
	l.t.Helper()
	return l.mustRun(exec.Command("ip", args...))
}

func (l *Lab) mustRun(cmd *exec.Cmd) string {
	l.t.Helper()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		l.t.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String()
}

func randomID() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// LinkStorm makes n veth pairs in the host's namespace and deletes them:
// 4n link changes in a burst, as many as overflow a netlink subscriber
// that does not read them meanwhile.
func (h *Host) LinkStorm(n int) {
	h.lab.t.Helper()
	var add, del strings.Builder
	for k := range n {
		fmt.Fprintf(&add, "link add st%da type veth peer name st%db\n", k, k)
		fmt.Fprintf(&del, "link del st%da\n", k)
	}
	for _, batch := range []string{add.String(), del.String()} {
		cmd := exec.Command("ip", "-n", h.NS, "-batch", "-")
		cmd.Stdin = strings.NewReader(batch)
		h.lab.mustRun(cmd)
	}
}

// StartLines starts cmd with pipes on its standard input and output and
// returns the input and a channel of its output's lines, closed at its
// end; the process is killed and waited for when the test ends.
func StartLines(t testing.TB, cmd *exec.Cmd) (io.WriteCloser, <-chan string) {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	return in, lines
}
