package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// binary is the gokeepalived command built once for the tests that run it
// as a process.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func gokeepalivedBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gokeepalived-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gokeepalived")
		// The BGP speaker beside it, where the daemon looks for it.
		out, err := exec.Command("go", "build", "-o", dir+"/", ".", "../gokeepalived-bgp").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building gokeepalived: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// proc is a gokeepalived daemon started by a test, with its own pid files
// and console log.
type proc struct {
	t    *testing.T
	dir  string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// ends and times are the end offset and the time of each write.
	ends  []int
	times []time.Time
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	l.ends, l.times = append(l.ends, l.b.Len()), append(l.times, now)
	return n, err
}

// When returns when the first occurrence of s was written, and whether
// there is one.
func (l *lockedBuffer) When(s string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := bytes.Index(l.b.Bytes(), []byte(s))
	if i < 0 {
		return time.Time{}, false
	}
	end := i + len(s)
	for j, e := range l.ends {
		if e >= end {
			return l.times[j], true
		}
	}
	return time.Time{}, false
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *proc) pidFiles() []string {
	return []string{"-p", filepath.Join(p.dir, "k.pid"), "-r", filepath.Join(p.dir, "v.pid"), "-c", filepath.Join(p.dir, "c.pid"),
		"--control-socket", filepath.Join(p.dir, "ctl.sock")}
}

func startDaemon(t *testing.T, conf string, env []string, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, dir: t.TempDir(), out: &lockedBuffer{}, done: make(chan struct{})}
	// -P: these tests are about the process, and the host kernel may
	// have no IPVS for the checkers to probe (which can be slow).
	args := append([]string{"-P", "-n", "-l", "-G", "-f", conf}, p.pidFiles()...)
	p.cmd = exec.Command(gokeepalivedBinary(t), append(args, extra...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("daemon output:\n%s", p.out.String())
		}
	})
	return p
}

// waitLog waits for the daemon to have logged s n times in all.
func (p *proc) waitLog(s string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.out.String(), s) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("daemon did not log %q (%d times) within 10s", s, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) stop() int {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatal("daemon did not stop within 10s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

func TestDaemonReloadAndStop(t *testing.T) {
	conf := writeConf(t, "k.conf", validLVS)
	p := startDaemon(t, conf, nil)
	p.waitLog("Configuration file "+conf, 1)

	// The pid files of the parent and of VRRP hold the daemon's pid;
	// with -P, as keepalived, there is no checkers pid file.
	if _, err := os.Stat(filepath.Join(p.dir, "c.pid")); !os.IsNotExist(err) {
		t.Errorf("checkers pid file written with -P")
	}
	for _, f := range []string{"k.pid", "v.pid"} {
		b, err := os.ReadFile(filepath.Join(p.dir, f))
		if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(p.cmd.Process.Pid) {
			t.Errorf("%s = %q, %v; want %d", f, b, err, p.cmd.Process.Pid)
		}
	}

	// A valid change is taken.
	os.WriteFile(conf, []byte(strings.Replace(validLVS, "weight 3", "weight 4", 1)), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog("Reload finished", 1)

	// A broken file is refused, with its errors at file:line, and the
	// daemon keeps running.
	os.WriteFile(conf, []byte(badLBKind), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog("Reload of "+conf+" refused", 1)
	if !strings.Contains(p.out.String(), conf+":3: PARSER : unknown [FULLNAT] routing method") {
		t.Errorf("refused reload did not log the error with file:line")
	}
	select {
	case <-p.done:
		t.Fatal("daemon exited after a refused reload")
	default:
	}

	if rc := p.stop(); rc != exitOK {
		t.Errorf("exit code after SIGTERM = %d, want 0", rc)
	}
	for _, f := range []string{"k.pid", "v.pid", "c.pid"} {
		if _, err := os.Stat(filepath.Join(p.dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s left behind after stop", f)
		}
	}
}

func TestDaemonAlreadyRunning(t *testing.T) {
	conf := writeConf(t, "k.conf", validLVS)
	p := startDaemon(t, conf, nil)
	p.waitLog("Configuration file", 1)
	args := append([]string{"-P", "-n", "-l", "-G", "-f", conf}, p.pidFiles()...)
	out, err := exec.Command(gokeepalivedBinary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("second daemon: %v (keepalived exits 0 here)", err)
	}
	if !strings.Contains(string(out), "daemon is already running") {
		t.Errorf("second daemon said %q", out)
	}
}

func TestDaemonForks(t *testing.T) {
	conf := writeConf(t, "k.conf", validLVS)
	dir := t.TempDir()
	pid := filepath.Join(dir, "k.pid")
	cmd := exec.Command(gokeepalivedBinary(t), "-P", "-G", "-f", conf, "-p", pid, "-r", filepath.Join(dir, "v"), "-c", filepath.Join(dir, "c"),
		"--control-socket", filepath.Join(dir, "ctl.sock"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parent: %v: %s", err, out)
	}
	var child int
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(pid)
		if err == nil {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if child > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if child == 0 || child == cmd.Process.Pid {
		t.Fatalf("no daemon child in %s (got %d)", pid, child)
	}
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	if sid, _ := syscall.Getpgid(child); sid != child {
		t.Errorf("daemon is not a session leader (pgid %d, pid %d)", sid, child)
	}
	syscall.Kill(child, syscall.SIGTERM)
	deadline = time.Now().Add(10 * time.Second)
	for syscall.Kill(child, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("forked daemon did not stop on SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDaemonSystemdNotify checks the sd_notify messages on a socket that
// plays systemd's part.
func TestDaemonSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ln.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	// The status line comes between the others, whenever it changes.
	var status []string
	next := func(want string) {
		t.Helper()
		for {
			select {
			case m := <-msgs:
				if rest, ok := strings.CutPrefix(m, "STATUS="); ok {
					status = append(status, rest)
					continue
				}
				if !strings.HasPrefix(m, want) {
					t.Fatalf("sd_notify message %q, want %q", m, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no sd_notify message, want %q", want)
			}
			return
		}
	}
	conf := writeConf(t, "k.conf", validLVS)
	p := startDaemon(t, conf, []string{"NOTIFY_SOCKET=" + sock})
	next("READY=1")
	p.cmd.Process.Signal(syscall.SIGHUP)
	next("RELOADING=1\nMONOTONIC_USEC=")
	next("READY=1")
	p.cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	// One that came late is still in the socket.
	for len(status) == 0 {
		select {
		case m := <-msgs:
			if rest, ok := strings.CutPrefix(m, "STATUS="); ok {
				status = append(status, rest)
			}
			continue
		case <-time.After(2 * time.Second):
		}
		break
	}
	// -P with a configuration of virtual servers only: nothing runs.
	if want := "no VRRP instance and no virtual server"; len(status) == 0 || status[0] != want {
		t.Errorf("status lines %q, want %q first", status, want)
	}
}

// startOursOn writes conf to dir/keepalived.conf and starts gokeepalived
// (bin) on h in the foreground with it, its pid files and control socket
// in dir, and extra options.
func startOursOn(t *testing.T, h *nettest.Host, bin, dir, conf string, extra ...string) *nettest.Daemon {
	t.Helper()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-l", "-P", "-f", path,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock")}
	return h.Start(t, bin, append(args, extra...)...)
}

// startEither starts gokeepalived (ours, with startOursOn in dir) or
// keepalived on h with conf, VRRP only, each with extra options: the two
// sides of a comparison started the same way.
func startEither(t *testing.T, h *nettest.Host, bin string, ours bool, dir, conf string, extra ...string) *nettest.Daemon {
	t.Helper()
	if ours {
		return startOursOn(t, h, bin, dir, conf, extra...)
	}
	return h.StartKeepalived(t, conf, append([]string{"-P"}, extra...)...)
}
