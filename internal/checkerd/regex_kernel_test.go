package checkerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/test/vm"
)

// TestKernel runs the TestGuest tests, which need IPVS, in one boot of
// the kernel guest.
func TestKernel(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	vm.RunTests(t, "^TestGuest")
}

// regexPort is where the guest test's web server listens.
const regexPort = 18190

// regexBody is what the guest test's web server answers.
const regexBody = "<html>\n<p>state: healthy</p>\n<b>ok</b>\n</html>\n"

// regexConf is a virtual server whose real server, alpha so that it
// enters the table only once its HTTP_GET passes, is checked with the url
// block lines given.
const regexConf = `virtual_server 192.0.2.20 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        weight 1
        HTTP_GET {
            alpha
            connect_timeout 1
            retry 0
            url {
                path /
                %s
            }
        }
    }
}
`

// TestGuestRegexBesideKeepalived runs keepalived's checker and then
// gokeepalived's on HTTP_GET url regexes with PCRE2 features RE2 lacks
// (lookahead, a backreference) and regex_options caseless, against a web
// server the test starts, and requires the same verdict: the real server
// in the IPVS table or not.
func TestGuestRegexBesideKeepalived(t *testing.T) {
	resp := "HTTP/1.0 200 OK\r\nContent-Length: " + fmt.Sprint(len(regexBody)) + "\r\n\r\n" + regexBody
	guestServer(t, regexPort, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte(resp))
	})

	for _, tc := range []struct {
		name  string
		lines string
		up    bool
	}{
		{"lookahead", `regex "state: (?=healthy)"`, true},
		{"lookahead fails", `regex "state: (?=sick)"`, false},
		{"backreference", `regex "<(\\w+)>ok</\\1>"`, true},
		{"backreference fails", `regex "<(\\w+)>ok</\\1x>"`, false},
		{"caseless", "regex \"STATE: HEALTHY\"\n                regex_options caseless", true},
		{"case sensitive", `regex "STATE: HEALTHY"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := fmt.Sprintf(regexConf, regexPort, tc.lines)
			theirs, _ := runKeepalived(t, conf, settle, regexPort)
			ours, _ := runGokeepalived(t, conf, settle, regexPort)
			if theirs != tc.up {
				t.Errorf("keepalived: real server in the table %v, want %v", theirs, tc.up)
			}
			if ours != theirs {
				t.Errorf("gokeepalived: real server in the table %v, keepalived %v", ours, theirs)
			}
		})
	}
}

// settle is how long each daemon checks before the table is read: the
// first attempt comes within delay_loop's warmup.
const settle = 3 * time.Second

// loopbackUpGuest skips t outside the kernel guest, and inside brings up
// its lo, where the tests' servers listen.
func loopbackUpGuest(t *testing.T) {
	t.Helper()
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v\n%s", err, out)
	}
}

// guestServer is loopbackUpGuest, then a server on 127.0.0.1:port that
// hands each connection to handle until t ends.
func guestServer(t *testing.T, port int, handle func(net.Conn)) {
	t.Helper()
	loopbackUpGuest(t)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serve(ln, handle)
}

// inTable reports whether the real server 127.0.0.1:port is in the IPVS
// table.
func inTable(t *testing.T, port int) bool {
	t.Helper()
	out, err := exec.Command("ipvsadm", "-Ln").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v\n%s", err, out)
	}
	return strings.Contains(string(out), fmt.Sprintf("127.0.0.1:%d", port))
}

// runKeepalived runs keepalived's checker process on conf for d and
// tells whether the real server 127.0.0.1:port is in the table then, and
// what keepalived logged.
func runKeepalived(t *testing.T, conf string, d time.Duration, port int) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("keepalived", "-n", "-l", "-D", "-C", "-f", path, "-p", filepath.Join(dir, "k.pid"),
		"-c", filepath.Join(dir, "c.pid"), "-r", filepath.Join(dir, "v.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	time.Sleep(d)
	up := inTable(t, port)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Errorf("keepalived did not stop within 10 s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("keepalived's output:\n%s", out.String())
	}
	return up, out.String()
}

// runGokeepalived runs this package's checker loop on conf for d and
// tells whether the real server 127.0.0.1:port is in the table then, and
// the messages it logged, a line each.
func runGokeepalived(t *testing.T, conf string, d time.Duration, port int) (bool, string) {
	t.Helper()
	log := logrus.New()
	var out lockedBuilder
	log.Out = &out
	log.Formatter = messageOnly{}
	l, err := New(loadConf(t, conf), Options{Log: log, Notify: outputs{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	time.Sleep(d)
	up := inTable(t, port)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	l.Close()
	if inTable(t, port) {
		t.Error("the real server stayed in the table after Close")
	}
	if t.Failed() {
		t.Logf("gokeepalived's output:\n%s", out.String())
	}
	return up, out.String()
}

// messageOnly formats a log entry as its message alone, as keepalived's
// lines read once their prefix is taken off.
type messageOnly struct{}

func (messageOnly) Format(e *logrus.Entry) ([]byte, error) { return []byte(e.Message + "\n"), nil }

// lockedBuilder is a strings.Builder the checkers' goroutines can log to.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
