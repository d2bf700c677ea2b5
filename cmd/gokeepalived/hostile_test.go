package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/gokeepalived/gokeepalived/internal/benchproc"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

const hostileConf = `global_defs {
    router_id hostile
}
vrrp_instance VI_M {
    state BACKUP
    interface eth0
    virtual_router_id 80
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        10.79.0.100/24
    }
}
vrrp_instance VI_U {
    state BACKUP
    interface eth0
    virtual_router_id 81
    priority 100
    advert_int 1
    unicast_src_ip 10.79.0.1
    unicast_peer {
        10.79.0.9
    }
    check_unicast_src
    virtual_ipaddress {
        10.79.0.101/24
    }
}
`

// sender sends raw VRRP packets from an attacker's namespace.
type sender struct {
	t  *testing.T
	pc *ipv4.PacketConn
	rc *ipv4.RawConn
}

func newSender(t *testing.T, h *nettest.Host) *sender {
	t.Helper()
	s := &sender{t: t}
	err := h.Do(func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		s.pc = ipv4.NewPacketConn(c)
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		return s.pc.SetMulticastInterface(ifi)
	})
	if err != nil {
		t.Fatalf("raw socket in %s: %v", h.NS, err)
	}
	t.Cleanup(func() { s.pc.Close() })
	return s
}

func (s *sender) send(b []byte, dst string, ttl int) {
	s.t.Helper()
	s.pc.SetMulticastTTL(ttl)
	s.pc.SetTTL(ttl)
	if _, err := s.pc.WriteTo(b, nil, &net.IPAddr{IP: net.ParseIP(dst)}); err != nil {
		s.t.Fatalf("sending to %s: %v", dst, err)
	}
}

// advert builds a priority-254 advert for VI_M that a master must not
// yield to unless it is valid; mod spoils it.
func advert(t *testing.T, mod func(*vrrp.Advertisement)) []byte {
	t.Helper()
	a := &vrrp.Advertisement{Version: 2, VRID: 80, Priority: 254, Interval: time.Second,
		Addresses: []netip.Addr{netip.MustParseAddr("10.79.0.100")}, AuthType: vrrp.AuthPass}
	copy(a.AuthData[:], "secret")
	if mod != nil {
		mod(a)
	}
	b, err := a.Marshal(netip.MustParseAddr("10.79.0.2"), netip.MustParseAddr("224.0.0.18"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDaemonHostilePackets sends every kind of bad VRRP packet at a master
// from a raw socket: each is dropped and counted under its reason, the
// masters stay masters, and a flood costs bounded CPU.
func TestDaemonHostilePackets(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.79.0.1/24")
	a := lab.AddHost("a", "10.79.0.2/24")
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(hostileConf), 0o644)
	d := m.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"), "--metrics-listen", "127.0.0.1:9651")
	waitFor(t, "both instances master", 10*time.Second, func() bool { return m.HasAddr("10.79.0.100") && m.HasAddr("10.79.0.101") })
	if !d.WaitOutput("(VI_U) Entering MASTER STATE", 5*time.Second) {
		t.Fatal("VI_U not master")
	}
	s := newSender(t, a)
	const group = "224.0.0.18"
	good := advert(t, nil)
	badSum := append([]byte(nil), good...)
	badSum[6] ^= 0xff
	manyAddrs := append([]byte(nil), good...)
	manyAddrs[3] = 200 // claims 200 addresses, carries one

	cases := []struct {
		reason string
		send   func()
	}{
		{"ttl", func() { s.send(good, group, 64) }},
		{"version", func() { s.send(advert(t, func(a *vrrp.Advertisement) { a.Version = 3; a.AuthType = 0 }), group, 255) }},
		{"checksum", func() { s.send(badSum, group, 255) }},
		{"length", func() { s.send(good[:6], group, 255) }},
		{"length", func() { s.send(manyAddrs, group, 255) }},
		{"auth", func() {
			s.send(advert(t, func(a *vrrp.Advertisement) { a.AuthData = [8]byte{}; copy(a.AuthData[:], "wrong") }), group, 255)
		}},
		{"interval", func() { s.send(advert(t, func(a *vrrp.Advertisement) { a.Interval = 2 * time.Second }), group, 255) }},
		{"addresses", func() {
			s.send(advert(t, func(a *vrrp.Advertisement) { a.Addresses = []netip.Addr{netip.MustParseAddr("10.79.0.200")} }), group, 255)
		}},
		// A spoofed higher priority from an address that is not a
		// unicast peer, with check_unicast_src.
		{"source", func() {
			b, _ := (&vrrp.Advertisement{Version: 2, VRID: 81, Priority: 254, Interval: time.Second,
				Addresses: []netip.Addr{netip.MustParseAddr("10.79.0.101")}}).Marshal(
				netip.MustParseAddr("10.79.0.2"), netip.MustParseAddr("10.79.0.1"))
			s.send(b, "10.79.0.1", 255)
		}},
	}
	for _, c := range cases {
		before := dropCount(t, m, c.reason)
		c.send()
		waitFor(t, "drop counted as "+c.reason, 3*time.Second, func() bool { return dropCount(t, m, c.reason) > before })
	}
	// An unknown VRID is counted where no instance sees it.
	s.send(advert(t, func(a *vrrp.Advertisement) { a.VRID = 99 }), group, 255)
	if _, ok := nettest.Eventually(3*time.Second, func() bool { return dropCount(t, m, "vrid") == 1 }); !ok {
		t.Fatalf("unknown VRID not counted:\n%s", grepLines(scrape(t, m, "127.0.0.1:9651"), "dropped"))
	}

	// A flood of bad adverts: each one that reaches the daemon's socket
	// is dropped and counted, and the flood costs bounded CPU, measured
	// once the daemon has counted all it received.
	cpu0 := cpuTime(t, d.Pid())
	auth0, kernel0 := dropCount(t, m, "auth"), rawSocketDrops(t, m)
	bad := advert(t, func(a *vrrp.Advertisement) { a.AuthData = [8]byte{}; copy(a.AuthData[:], "flood") })
	const flood = 20000
	start := time.Now()
	for i := 0; i < flood; i++ {
		s.send(bad, group, 255)
	}
	sent := time.Since(start)
	counted := func() int { return dropCount(t, m, "auth") - auth0 + rawSocketDrops(t, m) - kernel0 }
	if _, ok := nettest.Eventually(10*time.Second, func() bool { return counted() >= flood }); !ok {
		t.Fatalf("of %d bad adverts, %d dropped by the daemon and %d by the kernel's socket buffer",
			flood, dropCount(t, m, "auth")-auth0, rawSocketDrops(t, m)-kernel0)
	}
	cpu := cpuTime(t, d.Pid()) - cpu0
	daemon := dropCount(t, m, "auth") - auth0
	t.Logf("flood of %d bad adverts in %v (%d counted by the daemon, %d dropped by the kernel) cost the daemon %v of CPU",
		flood, sent, daemon, rawSocketDrops(t, m)-kernel0, cpu)
	// The kernel drops what the socket's buffer cannot hold (more when
	// the daemon waits for a CPU), but a good part of the flood must reach
	// the daemon and be counted there: a daemon that read nothing would
	// otherwise pass on the kernel's counter alone.
	if daemon < flood/10 {
		t.Errorf("the daemon counted %d of %d bad adverts, want at least a tenth", daemon, flood)
	}
	if cpu > 3*time.Second {
		t.Errorf("flood of %d bad adverts cost %v of CPU", flood, cpu)
	}

	if !m.HasAddr("10.79.0.100") || !m.HasAddr("10.79.0.101") {
		t.Fatal("a master lost its VIP to hostile packets")
	}
	if n := strings.Count(d.Output(), "Entering BACKUP STATE"); n != 2 {
		t.Errorf("%d BACKUP transitions, want only the 2 of start-up", n)
	}
	// Each reason is logged once, not each packet: the wrong password
	// of the auth case and of the flood makes one line.
	if n := strings.Count(d.Output(), "(VI_M) received an invalid passwd!"); n != 1 {
		t.Errorf("the bad password was logged %d times, want once", n)
	}
}

var dropLine = regexp.MustCompile(`gokeepalived_vrrp_(?:socket_)?dropped_total\{reason="([a-z]+)"(?:,vrrp_instance="VI_[MU]")?\} ([0-9]+)`)

// dropCount sums the drops of a reason, by the instances and by the socket
// (which drops what it cannot hand to an instance, such as a header too
// short to hold a VRID).
func dropCount(t *testing.T, h *nettest.Host, reason string) int {
	n := 0
	for _, m := range dropLine.FindAllStringSubmatch(scrape(t, h, "127.0.0.1:9651"), -1) {
		if m[1] == reason {
			v, _ := strconv.Atoi(m[2])
			n += v
		}
	}
	return n
}

// rawSocketDrops sums the drops of h's raw sockets of protocol 112
// (VRRP): what the kernel dropped because a socket's buffer was full.
func rawSocketDrops(t *testing.T, h *nettest.Host) int {
	n := 0
	for _, l := range strings.Split(h.Run("cat", "/proc/net/raw"), "\n")[1:] {
		f := strings.Fields(l)
		// local_address is ADDR:PROTO in hex; drops is the last field.
		if len(f) < 13 || !strings.HasSuffix(f[1], ":0070") {
			continue
		}
		v, _ := strconv.Atoi(f[len(f)-1])
		n += v
	}
	return n
}

// cpuTime reads the on-CPU time of a process's threads, in nanoseconds
// (schedstat), not in clock ticks.
func cpuTime(t *testing.T, pid int) time.Duration {
	u, err := benchproc.Self(pid)
	if err != nil {
		t.Fatal(err)
	}
	return u.CPU
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDaemonMasterRxLowerPri sends a master a valid advert of a lower
// priority, as from a router that believes itself master, under
// keepalived and then under gokeepalived: both run
// notify_master_rx_lower_pri and write the event's FIFO line.
func TestDaemonMasterRxLowerPri(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.79.0.1/24")
	a := lab.AddHost("a", "10.79.0.2/24")
	s := newSender(t, a)
	lines := map[bool]string{}
	for _, ours := range []bool{false, true} {
		dir := t.TempDir()
		notifyScript(t, dir)
		conf := strings.Replace(hostileConf, "    priority 100\n", fmt.Sprintf("    priority 100\n    notify_master_rx_lower_pri \"%s/notify.sh rx-lower\"\n", dir), 1)
		fifo := filepath.Join(dir, "fifo")
		conf = strings.Replace(conf, "router_id hostile", "router_id hostile\n    vrrp_notify_fifo "+fifo+"\n    script_user root", 1)
		var d *nettest.Daemon
		if ours {
			path := filepath.Join(dir, "keepalived.conf")
			os.WriteFile(path, []byte(conf), 0o644)
			d = m.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", path,
				"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
				"--control-socket", filepath.Join(dir, "ctl.sock"))
		} else {
			d = m.StartKeepalived(t, conf, "-P")
		}
		r := readFIFO(t, fifo)
		waitFor(t, "VI_M master", 10*time.Second, func() bool { return r.has(`INSTANCE "VI_M" MASTER 100`) })
		s.send(advert(t, func(a *vrrp.Advertisement) { a.Priority = 50 }), "224.0.0.18", 255)
		waitFor(t, "notify_master_rx_lower_pri", 10*time.Second, func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "calls"))
			return strings.Contains(string(b), "rx-lower")
		})
		waitFor(t, "the event's FIFO line", 10*time.Second, func() bool { return r.has(`INSTANCE "VI_M" MASTER_RX_LOWER_PRI 100`) })
		b, _ := os.ReadFile(filepath.Join(dir, "calls"))
		lines[ours] = string(b)
		if !m.HasAddr("10.79.0.100") {
			t.Errorf("ours=%v: the master lost its VIP to a lower priority", ours)
		}
		d.Stop(t, 10*time.Second)
	}
	if lines[true] != lines[false] {
		t.Errorf("script calls:\n%s\nkeepalived's:\n%s", lines[true], lines[false])
	}
}
