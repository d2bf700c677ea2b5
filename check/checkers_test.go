package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

// requireRoot skips a privileged test, except under CI where it must run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("test needs root")
		}
		t.Skip("test needs root")
	}
}

// acceptAndClose serves a listener that closes every connection at once.
func acceptAndClose(t *testing.T, addr string) (netip.AddrPort, <-chan net.Addr) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	peers := make(chan net.Addr, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case peers <- c.RemoteAddr():
			default:
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).AddrPort(), peers
}

func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

func TestTCPCheck(t *testing.T) {
	addr, _ := acceptAndClose(t, "127.0.0.1:0")
	checkVerdict(t, &TCPCheck{Dialer: Dialer{Addr: addr}}, time.Second, "")
	checkVerdict(t, &TCPCheck{Dialer: Dialer{Addr: closedPort(t)}}, time.Second, "connection refused")
}

// TestTCPCheckLeavesNoTimeWait checks the reason for closing with a reset:
// a burst of checks leaves no TIME_WAIT socket behind on either side.
func TestTCPCheckLeavesNoTimeWait(t *testing.T) {
	addr, _ := acceptAndClose(t, "127.0.0.1:0")
	c := &TCPCheck{Dialer: Dialer{Addr: addr}}
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Check(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip(err)
	}
	port := fmt.Sprintf(":%04X", addr.Port())
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// local, remote, state; 06 is TIME_WAIT.
		if len(f) > 3 && f[3] == "06" && (strings.HasSuffix(f[1], port) || strings.HasSuffix(f[2], port)) {
			n++
		}
	}
	if n > 0 {
		t.Errorf("%d TIME_WAIT sockets on port %d after 200 checks", n, addr.Port())
	}
}

func TestTCPCheckBindtoBindPortAndMark(t *testing.T) {
	requireRoot(t)
	addr, peers := acceptAndClose(t, "127.0.0.1:0")
	port := closedPort(t).Port()
	src := netip.MustParseAddr("127.0.0.2")
	c := &TCPCheck{Dialer: Dialer{Addr: addr, BindTo: src, BindPort: port, FWMark: 0x42}}
	for range 2 {
		checkVerdict(t, c, time.Second, "")
		if got := (<-peers).(*net.TCPAddr).AddrPort(); got != netip.AddrPortFrom(src, port) {
			t.Errorf("connection from %v, want %v", got, netip.AddrPortFrom(src, port))
		}
	}
}

// smtpServer answers with the given banner code and records HELO lines.
func smtpServer(t *testing.T, banner string, silent bool) (netip.AddrPort, func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if silent {
				continue
			}
			go func() {
				defer c.Close()
				fmt.Fprint(c, banner)
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					mu.Lock()
					lines = append(lines, l)
					mu.Unlock()
					switch {
					case strings.HasPrefix(l, "HELO "):
						fmt.Fprint(c, "250-first\r\n250 ok\r\n")
					case l == "QUIT\r\n":
						fmt.Fprint(c, "221 bye\r\n")
						return
					default:
						fmt.Fprint(c, "500 what\r\n")
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).AddrPort(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
}

func TestSMTPCheck(t *testing.T) {
	const timeout = 500 * time.Millisecond
	t.Run("greets, HELO, QUIT", func(t *testing.T) {
		addr, lines := smtpServer(t, "220-mx.example ESMTP\r\n220 ready\r\n", false)
		checkVerdict(t, &SMTPCheck{Dialer: Dialer{Addr: addr}}, timeout, "")
		want := []string{"HELO " + DefaultHeloName + "\r\n", "QUIT\r\n"}
		if got := lines(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("server saw %q, want %q", got, want)
		}
		checkVerdict(t, &SMTPCheck{Dialer: Dialer{Addr: addr}, HeloName: "lb1.example"}, timeout, "")
		if got := lines(); len(got) < 3 || got[2] != "HELO lb1.example\r\n" {
			t.Errorf("server saw %q, want HELO lb1.example", got)
		}
	})
	t.Run("refuses service", func(t *testing.T) {
		addr, _ := smtpServer(t, "554 no service\r\n", false)
		checkVerdict(t, &SMTPCheck{Dialer: Dialer{Addr: addr}}, timeout, "Bad greeting banner from server ["+addr.Addr().String()+"]:")
	})
	t.Run("never greets", func(t *testing.T) {
		addr, _ := smtpServer(t, "", true)
		checkVerdict(t, &SMTPCheck{Dialer: Dialer{Addr: addr}}, timeout, "Read timeout from server")
	})
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().(*net.TCPAddr).AddrPort()
		ln.Close()
		err = (&SMTPCheck{Dialer: Dialer{Addr: closed}}).Check(context.Background())
		// "Could not connect" when connect(2) fails at once,
		// "Error connecting" when the reset comes after it returned.
		var se *SMTPError
		server := fmt.Sprintf("to server [%s]:%d", closed.Addr(), closed.Port())
		if !errors.As(err, &se) || se.Reason != "Could not connect "+server && se.Reason != "Error connecting "+server {
			t.Errorf("connecting to a closed port: %v, want keepalived's reason", err)
		}
	})
}

// dnsServer answers queries on UDP as mode says.
func dnsServer(t *testing.T, mode string) (netip.AddrPort, <-chan dnsmessage.Message) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	queries := make(chan dnsmessage.Message, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var q dnsmessage.Message
			if err := q.Unpack(buf[:n]); err != nil {
				continue
			}
			select {
			case queries <- q:
			default:
			}
			if mode == "silent" {
				continue
			}
			resp := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true}, Questions: q.Questions}
			switch mode {
			case "nxdomain":
				resp.RCode = dnsmessage.RCodeNameError
			case "noanswer":
			case "answer", "wrongid":
				resp.Answers = []dnsmessage.Resource{{
					Header: dnsmessage.ResourceHeader{Name: q.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
					Body:   &dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}},
				}}
			}
			if mode == "wrongid" {
				// A stray response first; the check must wait for its own.
				stray := resp
				stray.ID++
				b, _ := stray.Pack()
				pc.WriteTo(b, from)
			}
			b, _ := resp.Pack()
			pc.WriteTo(b, from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort(), queries
}

func TestDNSCheck(t *testing.T) {
	const timeout = 500 * time.Millisecond
	tests := []struct {
		mode    string
		check   DNSCheck
		wantErr string
	}{
		{mode: "answer", check: DNSCheck{Type: dnsmessage.TypeA, Name: "www.example.com", RequireAnswer: true}},
		{mode: "noanswer", check: DNSCheck{}},
		{mode: "noanswer", check: DNSCheck{RequireAnswer: true}, wantErr: "no SOA record"},
		{mode: "wrongid", check: DNSCheck{Type: dnsmessage.TypeA, Name: "a.example."}},
		{mode: "nxdomain", check: DNSCheck{}, wantErr: "RCodeNameError"},
		{mode: "silent", check: DNSCheck{}, wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.mode, tt.check.RequireAnswer), func(t *testing.T) {
			addr, queries := dnsServer(t, tt.mode)
			tt.check.Dialer.Addr = addr
			checkVerdict(t, &tt.check, timeout, tt.wantErr)
			q := <-queries
			wantName, wantType := tt.check.Name, tt.check.Type
			if wantName == "" {
				wantName = "."
			}
			if !strings.HasSuffix(wantName, ".") {
				wantName += "."
			}
			if wantType == 0 {
				wantType = dnsmessage.TypeSOA
			}
			if !q.RecursionDesired || len(q.Questions) != 1 || q.Questions[0].Name.String() != wantName || q.Questions[0].Type != wantType {
				t.Errorf("query %+v, want RD and %s %s", q, wantType, wantName)
			}
		})
	}
}

func TestDNSCheckPortUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	checkVerdict(t, &DNSCheck{Dialer: Dialer{Addr: addr}}, 500*time.Millisecond, "connection refused")
}

func TestParseHexString(t *testing.T) {
	data, mask, err := ParseHexString("Ab12f 3 456 546443123", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("% X", data), "AB 12 0F 03 45 06 54 64 43 12 03"; got != want {
		t.Errorf("data %s, want %s", got, want)
	}
	if got, want := fmt.Sprintf("% X", mask), "FF FF FF FF FF FF FF FF FF FF FF"; got != want {
		t.Errorf("mask %s, want %s", got, want)
	}
	data, mask, err = ParseHexString("1x X2", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("% X/% X", data, mask), "10 02/F0 0F"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, _, err := ParseHexString("1x", false); err == nil {
		t.Error("X accepted in a payload")
	}
}

// udpServer echoes datagrams, or answers them with reply, or stays silent.
func udpServer(t *testing.T, reply []byte, silent bool) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if silent {
				continue
			}
			if reply != nil {
				pc.WriteTo(reply, from)
			} else {
				pc.WriteTo(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestUDPCheck(t *testing.T) {
	const timeout = 400 * time.Millisecond
	pattern, mask, err := ParseHexString("CAFE xX", true)
	if err != nil {
		t.Fatal(err)
	}
	closed := func() netip.AddrPort {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).AddrPort()
	}()
	tests := []struct {
		name    string
		addr    netip.AddrPort
		check   UDPCheck
		wantErr string
	}{
		{name: "echo with require_reply", addr: udpServer(t, nil, false), check: UDPCheck{Payload: []byte{0xca, 0xfe, 0x12}, RequireReply: true, Reply: pattern, ReplyMask: mask}},
		{name: "reply differs", addr: udpServer(t, []byte{0xca, 0xff, 0x12}, false), check: UDPCheck{RequireReply: true, Reply: pattern, ReplyMask: mask}, wantErr: "differs"},
		{name: "reply too short", addr: udpServer(t, []byte{1}, false), check: UDPCheck{RequireReply: true, MinReplyLength: 2}, wantErr: "1 bytes"},
		{name: "reply too long", addr: udpServer(t, make([]byte, 300), false), check: UDPCheck{RequireReply: true}, wantErr: "256 bytes"},
		// max_reply_length: a reply longer than it fails, one as long
		// passes.
		{name: "reply over max_reply_length", addr: udpServer(t, make([]byte, 10), false), check: UDPCheck{RequireReply: true, MaxReplyLength: 9}, wantErr: "10 bytes, want 0 to 9"},
		{name: "reply of max_reply_length", addr: udpServer(t, make([]byte, 10), false), check: UDPCheck{RequireReply: true, MaxReplyLength: 10}},
		{name: "port unreachable", addr: closed, check: UDPCheck{}, wantErr: "connection refused"},
		{name: "silence without require_reply is up", addr: udpServer(t, nil, true), check: UDPCheck{}},
		{name: "silence with require_reply is down", addr: udpServer(t, nil, true), check: UDPCheck{RequireReply: true}, wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check.Dialer.Addr = tt.addr
			checkVerdict(t, &tt.check, timeout, tt.wantErr)
		})
	}
}

func TestPingCheckLoopback(t *testing.T) {
	probe := &PingCheck{Dialer: Dialer{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}
	conn, _, err := probe.listen(context.Background(), false)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("no ICMP socket:", err)
	}
	conn.Close()
	for range 3 {
		checkVerdict(t, probe, time.Second, "")
	}
	if os.Geteuid() == 0 {
		// A mark forces the raw socket path.
		checkVerdict(t, &PingCheck{Dialer: Dialer{Addr: netip.MustParseAddrPort("127.0.0.1:0"), FWMark: 7}}, time.Second, "")
	}
}

// alive reports whether pid is running: neither gone nor a zombie waiting
// for a reaper.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// writeScript writes a shell script to run as "/bin/sh path": executing the
// written file itself races with parallel tests' forks (ETXTBSY).
func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMiscCheck(t *testing.T) {
	tests := []struct {
		name        string
		script      string
		dynamic     bool
		wantErr     string
		wantDelta   int
		wantChanged bool
	}{
		{name: "exit 0 is up", script: "exit 0"},
		{name: "exit 1 is down", script: "echo sick; exit 1", wantErr: `status 1: "sick\n"`},
		{name: "exit 5 is down without misc_dynamic", script: "exit 5", wantErr: "status 5"},
		{name: "misc_dynamic exit 5 sets weight 3", script: "exit 5", dynamic: true, wantDelta: 3 - 10, wantChanged: true},
		{name: "misc_dynamic exit 1 is down", script: "exit 1", dynamic: true, wantErr: "status 1"},
		{name: "misc_dynamic exit 0 leaves the weight", script: "exit 0", dynamic: true},
		{name: "output is capped", script: "head -c 5000000 /dev/zero | tr '\\0' x; exit 1", wantErr: "(4999000 more bytes)"},
		{name: "killed by a signal", script: "kill -9 $$", wantErr: "killed"},
		// A child left behind keeps the output open past WaitDelay.
		{name: "exit 0 with a child left is up", script: "sleep 1 & exit 0"},
		{name: "exit 1 with a child left is down", script: "sleep 1 & exit 1", wantErr: "status 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &MiscCheck{Args: []string{"/bin/sh", writeScript(t, tt.script)}, Dynamic: tt.dynamic, MaxOutput: 1000}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			delta, changed, err := c.CheckWeight(ctx, 10)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("failed: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if delta != tt.wantDelta || changed != tt.wantChanged {
				t.Errorf("delta %d changed %v, want %d %v", delta, changed, tt.wantDelta, tt.wantChanged)
			}
			if err != nil && len(err.Error()) > 2000 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestMiscCheckRunsAsUser(t *testing.T) {
	requireRoot(t)
	c := &MiscCheck{
		Args:       []string{"/bin/sh", "-c", `id -u; [ "$(id -u)" = 65534 ] && [ "$(id -g)" = 65534 ]`},
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
	}
	checkVerdict(t, c, 2*time.Second, "")
	c.Credential = nil
	checkVerdict(t, c, 2*time.Second, `status 1: "0\n"`)
}

// TestMiscCheckTimeoutKillsProcessGroup runs scripts that hang, with and
// without children and with SIGTERM ignored, and wants the verdict within
// misc_timeout (plus the SIGKILL grace when SIGTERM is ignored) and no
// process of the group left.
func TestMiscCheckTimeoutKillsProcessGroup(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name   string
		script string
		bound  time.Duration
	}{
		{name: "hangs", script: "sleep 60 & echo $! > %s; sleep 60", bound: timeout + 300*time.Millisecond},
		{name: "ignores SIGTERM", script: "trap '' TERM; sleep 60 & echo $! > %s; while :; do sleep 0.05; done", bound: timeout + miscKillGrace + 300*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "child.pid")
			c := &MiscCheck{Args: []string{"/bin/sh", writeScript(t, fmt.Sprintf(tt.script, pidFile))}}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err := c.Check(ctx)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "timed out") {
				t.Fatalf("error %v, want a timeout", err)
			}
			if took > tt.bound {
				t.Errorf("verdict after %v, want within %v", took, tt.bound)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Second)
			for alive(pid) {
				if time.Now().After(deadline) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("child %d of the script survived the timeout", pid)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestFileCheck(t *testing.T) {
	tests := []struct {
		content string
		check   FileCheck
		wantErr bool
		delta   int
	}{
		{content: "0\n", check: FileCheck{}},
		{content: "", check: FileCheck{}},
		{content: "1\n", check: FileCheck{}, wantErr: true},
		{content: "0", check: FileCheck{Reverse: true}, wantErr: true},
		{content: "3", check: FileCheck{Reverse: true}},
		{content: "3", check: FileCheck{Weight: 5, Dynamic: true}, delta: 15},
		{content: "3", check: FileCheck{Weight: 5, Reverse: true, Dynamic: true}, delta: -15},
		{content: "3", check: FileCheck{Weight: 5}},
		{content: "-2147483648", check: FileCheck{Weight: 1, Dynamic: true}, wantErr: true},
		// strtol's rules, as keepalived reads the file.
		{content: "junk", check: FileCheck{}},
		{content: "junk", check: FileCheck{Reverse: true}, wantErr: true},
		{content: "  0x10 and more", check: FileCheck{Weight: 1, Dynamic: true}, delta: 16},
		{content: "010", check: FileCheck{Weight: 1, Dynamic: true}, delta: 8},
		{content: "12abc", check: FileCheck{Weight: 1, Dynamic: true}, delta: 12},
		{content: "0x", check: FileCheck{}},
		{content: "-7", check: FileCheck{Weight: 2, Dynamic: true}, delta: -14},
		{content: "2147483648", check: FileCheck{Weight: 1, Dynamic: true}, delta: math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q %+v", tt.content, tt.check), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "track")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			tt.check.Path = p
			delta, changed, err := tt.check.CheckWeight(context.Background(), 1)
			if (err != nil) != tt.wantErr || delta != tt.delta || !changed {
				t.Errorf("delta %d changed %v err %v, want delta %d err %v", delta, changed, err, tt.delta, tt.wantErr)
			}
		})
	}
	// keepalived reads a file it cannot open as 0.
	missing := FileCheck{Path: filepath.Join(t.TempDir(), "none")}
	if err := missing.Check(context.Background()); err != nil {
		t.Errorf("missing track_file: %v, want 0, not a fault", err)
	}
	missing.Reverse = true
	if err := missing.Check(context.Background()); err == nil {
		t.Error("missing track_file with reverse is not a fault")
	}
}

// TestFileCheckIgnoresOutOfRange: keepalived ignores a number outside
// 32 bits, with its message, and the previous verdict stays.
func TestFileCheckIgnoresOutOfRange(t *testing.T) {
	p := filepath.Join(t.TempDir(), "track")
	for _, s := range []string{"2147483649", "-2147483649", "99999999999999999999999"} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		var logged []string
		c := FileCheck{Path: p, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
		delta, changed, err := c.CheckWeight(context.Background(), 1)
		if changed || delta != 0 || err != nil {
			t.Errorf("%s: delta %d changed %v err %v, want the previous verdict kept", s, delta, changed, err)
		}
		if len(logged) != 1 || !strings.HasPrefix(logged[0], "Invalid number ") || !strings.HasSuffix(logged[0], " read from "+p+" - ignoring") {
			t.Errorf("%s: logged %q", s, logged)
		}
	}
}

// TestFileCheckHostileFiles: a 1 TiB sparse file and a FIFO with no
// writer at the path get keepalived's verdict promptly: it reads at most
// 127 bytes without blocking, and both read as 0.
func TestFileCheckHostileFiles(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		f.Close()
		t.Skipf("no 1 TiB sparse file here: %v", err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sparse, fifo} {
		for _, reverse := range []bool{false, true} {
			c := FileCheck{Path: p, Reverse: reverse}
			done := make(chan error, 1)
			go func() { done <- c.Check(context.Background()) }()
			select {
			case err := <-done:
				if (err != nil) != reverse {
					t.Errorf("%s reverse %v: %v, want it read as 0", p, reverse, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: the check has not returned after 5s", p)
			}
		}
	}
}
