package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// drainVSConf is a NAT virtual server on the guest's own address with two
// real servers on loopback, checked every second.
const drainVSConf = `virtual_server 192.0.2.20 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 18301 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 127.0.0.1 18302 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

// greetServer answers each connection with its name, then echoes lines.
func greetServer(t *testing.T, addr, name string) {
	t.Helper()
	s := &toggleServer{addr: addr, handle: func(c net.Conn) {
		defer c.Close()
		fmt.Fprintf(c, "%s\n", name)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := c.Write([]byte(line)); err != nil {
				return
			}
		}
	}}
	s.up(t)
	t.Cleanup(s.down)
}

// session is a client connection through IPVS and the real server that
// greeted it.
type session struct {
	c      net.Conn
	r      *bufio.Reader
	server string
}

func dialVS(t *testing.T) *session {
	t.Helper()
	c, err := net.DialTimeout("tcp", "192.0.2.20:80", time.Second)
	if err != nil {
		t.Fatalf("connecting through the virtual server: %v", err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	s := &session{c: c, r: bufio.NewReader(c)}
	name, err := s.r.ReadString('\n')
	if err != nil {
		c.Close()
		t.Fatalf("reading the greeting through the virtual server: %v", err)
	}
	s.server = strings.TrimSpace(name)
	return s
}

// drainedDest is the real server 127.0.0.1:18301's destination in the
// kernel's table, and whether it is there.
func drainedDest(t *testing.T, h *ipvs.Handle) (ipvs.Destination, bool) {
	t.Helper()
	svc := ipvs.Service{Addr: netip.MustParseAddrPort("192.0.2.20:80"), Protocol: ipvs.TCP}
	ds, err := h.Destinations(svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Addr == netip.MustParseAddrPort("127.0.0.1:18301") {
			return d, true
		}
	}
	return ipvs.Destination{}, false
}

// cli runs this binary as the gokeepalived command line.
func guestCLI(t *testing.T, ctl string, args ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, append(args, "--control-socket", ctl)...)
	cmd.Env = append(os.Environ(), envRunDaemon+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gokeepalived %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGuestDrainRealServer drains a real server that holds 50 sessions
// through IPVS: weight 0 in the kernel as the command returns, no new
// connection to it, the 50 sessions still working, its removal from the
// table as the last of them closes, and its return on undrain.
func TestGuestDrainRealServer(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	if out, err := exec.Command("ip", "addr", "add", "192.0.2.20/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "addr", "del", "192.0.2.20/32", "dev", "lo").Run() })
	greetServer(t, "127.0.0.1:18301", "A")
	greetServer(t, "127.0.0.1:18302", "B")
	h, err := ipvs.OpenKernel()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	p := startGuest(t, true, drainVSConf, "--metrics-listen", "127.0.0.1:9651")
	ctl := p.cmd.Args[len(p.cmd.Args)-1] // startGuest puts the control socket last
	const series = `gokeepalived_drained{real_server="[127.0.0.1]:tcp:18301",virtual_server="[192.0.2.20]:tcp:80",what="real_server"} `
	waitFor(t, "both real servers in the table", 10*time.Second, func() bool {
		d, ok := drainedDest(t, h)
		return ok && d.Weight == 1
	})

	// 50 sessions on A; those rr gives B are closed.
	var onA []*session
	for len(onA) < 50 {
		s := dialVS(t)
		if s.server == "A" {
			onA = append(onA, s)
		} else {
			s.c.Close()
		}
	}

	guestCLI(t, ctl, "drain", "real-server", "192.0.2.20:80", "127.0.0.1:18301", "--timeout", "1m")
	returned := time.Now()
	// The first read of the kernel's table after the command returned
	// shows weight 0: the daemon changes the table before it answers.
	// How long after the return that read began is the latency; the read
	// itself takes milliseconds in the emulated guest.
	began := time.Since(returned)
	d, ok := drainedDest(t, h)
	t.Logf("drain real-server: the first read of the kernel's table, begun %v after the command returned (and taking %v), shows present %v, weight %d",
		began, time.Since(returned)-began, ok, d.Weight)
	if !ok || d.Weight != 0 || began > 10*time.Millisecond {
		t.Fatalf("weight 0 not in the table within 10 ms of the command: present %v, weight %d, read begun after %v", ok, d.Weight, began)
	}
	out, _ := exec.Command("ipvsadm", "-Ln").CombinedOutput()
	if !regexp.MustCompile(`127\.0\.0\.1:18301\s+Masq\s+0\s+50\s`).Match(out) {
		t.Errorf("ipvsadm -Ln does not show the drained server at weight 0 with 50 active connections:\n%s", out)
	}

	for i := range 20 {
		s := dialVS(t)
		if s.server != "B" {
			t.Errorf("new connection %d went to the drained server", i)
		}
		s.c.Close()
	}
	for i, s := range onA {
		s.c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := fmt.Sprintf("session %d\n", i)
		if _, err := s.c.Write([]byte(msg)); err != nil {
			t.Fatalf("session %d after the drain: %v", i, err)
		}
		if got, err := s.r.ReadString('\n'); err != nil || got != msg {
			t.Fatalf("session %d after the drain: read %q, %v", i, got, err)
		}
	}
	if _, ok := drainedDest(t, h); !ok {
		t.Fatal("the drained server left the table while it had active connections")
	}
	// A reload keeps the drain of a real server it keeps.
	p.cmd.Process.Signal(syscall.SIGHUP)
	var st control.Status
	waitFor(t, "the reload", 5*time.Second, func() bool {
		st = control.Status{}
		return json.Unmarshal([]byte(guestCLI(t, ctl, "status", "--json")), &st) == nil && !st.LastReload.IsZero()
	})
	if len(st.Drains) != 1 || st.Drains[0].RealServer != "[127.0.0.1]:tcp:18301" || st.Drains[0].Removed {
		t.Errorf("status while draining, after a reload: %+v", st.Drains)
	}
	if d, ok := drainedDest(t, h); !ok || d.Weight != 0 {
		t.Errorf("after a reload: present %v, weight %d; want weight 0", ok, d.Weight)
	}
	if m := scrapeLocal(t, "127.0.0.1:9651"); !strings.Contains(m, series+"1\n") {
		t.Errorf("metrics while draining lack %s1", series)
	}

	for _, s := range onA {
		s.c.Close()
	}
	closed := time.Now()
	left := waitFor(t, "the drained server leaves the table", 3*time.Second, func() bool {
		_, ok := drainedDest(t, h)
		return !ok
	})
	t.Logf("drain real-server: out of the table %v after the last of its 50 sessions closed", time.Since(closed).Round(time.Millisecond))
	if left > time.Second {
		t.Errorf("the drained server left the table %v after its last session closed, want within 1s", left)
	}
	for range 5 {
		s := dialVS(t)
		if s.server != "B" {
			t.Error("a connection went to the removed server")
		}
		s.c.Close()
	}
	st = control.Status{}
	if err := json.Unmarshal([]byte(guestCLI(t, ctl, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Drains) != 1 || !st.Drains[0].Removed {
		t.Errorf("status once drained: %+v", st.Drains)
	}
	if m := scrapeLocal(t, "127.0.0.1:9651"); !strings.Contains(m, series+"2\n") {
		t.Errorf("metrics once drained lack %s2", series)
	}

	guestCLI(t, ctl, "undrain", "real-server", "192.0.2.20:80", "127.0.0.1:18301")
	if d, ok := drainedDest(t, h); !ok || d.Weight != 1 {
		t.Fatalf("after undrain: present %v, weight %d; want weight 1", ok, d.Weight)
	}
	seen := map[string]bool{}
	for range 4 {
		s := dialVS(t)
		seen[s.server] = true
		s.c.Close()
	}
	if !seen["A"] || !seen["B"] {
		t.Errorf("after undrain, four connections went to %v, want both servers", seen)
	}
}
