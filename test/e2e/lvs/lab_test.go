// Package e2e is the acceptance test of the IPVS reconciler against a real
// kernel: the gokeepalived daemon and keepalived itself run side by side,
// each in a network namespace of its own with the same real servers, on
// the same configurations, in Debian's kernel booted under qemu, and must
// program the same IPVS table.
//
// TestKernel, on the host, builds the daemon and this test binary, boots
// the guest once and runs the TestGuest tests there.
package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/test/vm"
)

// guestTimeout bounds the tests in the guest; the whole package must stay
// around five minutes under TCG, the differential's thirty configurations
// taking half of it.
const guestTimeout = 360 * time.Second

// TestKernel runs the TestGuest tests in one boot of the kernel guest.
func TestKernel(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	vm.Require(t)
	ctx, cancel := vm.Context(t)
	defer cancel()
	dir := t.TempDir()
	vm.Build(t, ctx, "build", "-o", filepath.Join(dir, "gokeepalived"), "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	if err := vm.StaticTestBinary(ctx, filepath.Join(dir, "e2e.test")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "testdata"), os.DirFS("testdata")); err != nil {
		t.Fatalf("copying testdata: %v", err)
	}
	// E2E_GUEST_RUN narrows the guest's run to some tests, for work on
	// one of them.
	pattern := "^TestGuest"
	if p := os.Getenv("E2E_GUEST_RUN"); p != "" {
		pattern = p
	}
	args := []string{"./e2e.test", "-test.v", "-test.count=1", "-test.run", "'" + pattern + "'",
		fmt.Sprintf("-test.timeout=%s", guestTimeout)}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	vm.RunCommand(t, ctx, dir, strings.Join(args, " "))
}

// A lab is a network namespace holding one daemon's real servers, on a
// dummy link: the live ones answer HTTP on port 8080 (which TCP_CHECK
// takes too), the dead ones refuse connections, and 192.168.200.99, in the
// link's subnet but on no host, never answers. 192.168.200.9 is left to the
// tests that stop and start a real server. Each namespace has an IPVS
// table of its own, so that keepalived and gokeepalived run side by side.
type lab struct {
	ns string
	// servers stops each live real server newLab started, by address.
	servers map[string]func()
}

// healthBody is what /health answers; the configurations' digest is its
// MD5 sum, 3b1fb749c971d7a2c6a517b37f735df2.
const healthBody = "healthy\n"

// requireGuest skips t outside the kernel guest.
func requireGuest(t *testing.T) {
	t.Helper()
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
}

// newLab sets up a lab for kind's daemon, with its live real servers
// started; all of it goes when t ends.
func newLab(t *testing.T, kind daemonKind) *lab {
	t.Helper()
	l := &lab{ns: "e2elvs-" + string(kind), servers: make(map[string]func())}
	exec.Command("ip", "netns", "del", l.ns).Run()
	run(t, "ip", "netns", "add", l.ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.ns).Run() })
	run(t, "ip", "-n", l.ns, "link", "set", "lo", "up")
	run(t, "ip", "-n", l.ns, "link", "add", "rs0", "type", "dummy")
	for _, a := range []string{"192.168.200.1/24", "192.168.200.2/24", "192.168.200.3/24", "192.168.200.9/24",
		"192.168.200.50/24", "192.168.200.51/24", "fd00:200::1/64", "fd00:200::2/64", "fd00:200::50/64"} {
		args := []string{"-n", l.ns, "addr", "add", a, "dev", "rs0"}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		run(t, "ip", args...)
	}
	run(t, "ip", "-n", l.ns, "link", "set", "rs0", "up")
	for _, addr := range []string{"192.168.200.1:8080", "192.168.200.2:8080", "192.168.200.3:8080", "[fd00:200::1]:8080", "[fd00:200::2]:8080"} {
		l.servers[addr] = l.startHTTP(t, addr)
	}
	return l
}

// command runs a program in the lab's namespace. ip netns exec execs it,
// so the process is the program itself, ready for signals.
func (l *lab) command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.ns, name}, args...)...)
}

// run runs a program in the lab and returns its output; it fails t if the
// program fails.
func (l *lab) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := l.command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %s %s: %v\n%s", l.ns, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// listen opens a TCP listener in the lab's namespace. The socket belongs
// to the namespace it was made in; the thread that made it is left
// locked, so that it ends with its goroutine instead of serving others
// from the wrong namespace.
func (l *lab) listen(addr string) (net.Listener, error) {
	ns, err := os.Open("/run/netns/" + l.ns)
	if err != nil {
		return nil, fmt.Errorf("listening on %s in %s: %w", addr, l.ns, err)
	}
	defer ns.Close()
	type result struct {
		ln  net.Listener
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			c <- result{err: fmt.Errorf("entering %s: %w", l.ns, err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		c <- result{ln, err}
	}()
	r := <-c
	return r.ln, r.err
}

// startHTTP serves the lab's pages on addr until the returned function
// or the end of t stops it.
func (l *lab) startHTTP(t *testing.T, addr string) (stop func()) {
	t.Helper()
	ln, err := l.listen(addr)
	if err != nil {
		t.Fatalf("starting real server %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, healthBody) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("real server %s: %v", addr, err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// run runs a command in the guest and returns its output; it fails t if
// the command fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
