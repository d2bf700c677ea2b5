package nettest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A Daemon is a long-running process in a host's namespace whose console
// output the test can read. It is killed when the test ends.
type Daemon struct {
	Dir  string // private directory for its files
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{}
	err  error
}

// Start runs name with args in the host's namespace until the test ends
// or the daemon is stopped.
func (h *Host) Start(t testing.TB, name string, args ...string) *Daemon {
	t.Helper()
	d := &Daemon{Dir: t.TempDir(), out: &SyncBuffer{}, done: make(chan struct{})}
	d.cmd = h.Exec(name, args...)
	d.cmd.Stdout = d.out
	d.cmd.Stderr = d.out
	// Its own process group, so that a kill reaches scripts it started.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting %s in %s: %v", name, h.NS, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			t.Logf("output of %s in %s:\n%s", name, h.NS, d.Output())
		}
	})
	return d
}

// StartKeepalived runs real keepalived in the host's namespace with conf as
// its configuration, in the foreground with console logging, and with pid
// files of its own so several can run at once. Extra arguments (such as -P
// for VRRP only) follow.
func (h *Host) StartKeepalived(t testing.TB, conf string, extra ...string) *Daemon {
	t.Helper()
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed (CI=true)")
		}
		t.Skip("keepalived is not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-l", "-D", "-G", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"),
		"-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid")}
	d := h.Start(t, bin, append(args, extra...)...)
	d.Dir = dir
	return d
}

// Output returns everything the daemon has printed so far.
func (d *Daemon) Output() string { return d.out.String() }

// WaitOutput waits until the daemon has printed s, and reports whether it
// did within timeout.
func (d *Daemon) WaitOutput(s string, timeout time.Duration) bool {
	_, ok := Eventually(timeout, func() bool { return strings.Contains(d.Output(), s) })
	return ok
}

// Signal sends sig to the daemon (the process itself, not its group).
func (d *Daemon) Signal(sig syscall.Signal) error {
	// ip netns exec replaces itself with the daemon, so the pid is the
	// daemon's.
	return d.cmd.Process.Signal(sig)
}

// Pid returns the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Kill sends SIGKILL to the daemon's whole process group and waits for it.
func (d *Daemon) Kill() {
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
}

// Stop sends SIGTERM and waits up to timeout for the daemon to exit; it
// returns the daemon's exit error, or kills it and fails the test.
func (d *Daemon) Stop(t testing.TB, timeout time.Duration) error {
	t.Helper()
	d.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return d.err
	case <-time.After(timeout):
		d.Kill()
		t.Fatalf("daemon %d did not stop within %v after SIGTERM", d.cmd.Process.Pid, timeout)
		return nil
	}
}

// Done is closed when the daemon has exited.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// ExitCode returns the daemon's exit status once Done is closed.
func (d *Daemon) ExitCode() int {
	<-d.done
	return d.cmd.ProcessState.ExitCode()
}

// PidFromFile reads a pid file such as keepalived's vrrp.pid.
func PidFromFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// SyncBuffer is a bytes.Buffer that several goroutines may write to while
// a test reads it: a process's output, a logger's.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
