package gobgp

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/bgp"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// envHelper makes the test binary a speaker for the tests, run inside a
// namespace: GoBGP dials from its own goroutines, so the whole process
// must live in the namespace. Its value is the multihop TTL, or "v6" for
// TestSpeakerIPv6.
const envHelper = "GOKEEPALIVED_BGP_SPEAKER_HELPER"

// TestMain runs the speaker helper when asked.
func TestMain(m *testing.M) {
	if v, ok := os.LookupEnv(envHelper); ok {
		var err error
		if v == "v6" {
			err = speakerHelper(0, "fd00:99::254", "fd00:99::11", "2001:db8::10/128")
		} else {
			hops, _ := strconv.Atoi(v)
			err = speakerHelper(uint8(hops), "10.98.0.2", "10.99.0.11", "10.10.10.10/32")
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// speakerHelper announces prefix to neighbor from source, prints the
// session's state as it changes, and stops the speaker, draining for a
// second, when its standard input closes.
func speakerHelper(hops uint8, neighbor, source, prefix string) error {
	ctx := context.Background()
	sp := New(nil, nil)
	if err := sp.Start(ctx, bgp.Global{RouterID: netip.MustParseAddr("10.99.0.11"), ASN: 65001}); err != nil {
		return err
	}
	err := sp.AddPeer(ctx, bgp.Neighbor{Addr: netip.MustParseAddr(neighbor), ASN: 65000, Multihop: hops,
		Source: netip.MustParseAddr(source), HoldTime: 9 * time.Second})
	if err != nil {
		return err
	}
	if err := sp.Announce(ctx, netip.MustParsePrefix(prefix), bgp.Attrs{MED: 7, HasMED: true, Communities: []bgp.Community{65001<<16 | 5}}); err != nil {
		return err
	}
	eof := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(eof) }()
	last := bgp.SessionState(-1)
	for {
		select {
		case <-eof:
			return sp.Stop(ctx, time.Second)
		case <-time.After(20 * time.Millisecond):
		}
		ps, err := sp.Peers(ctx)
		if err != nil {
			return err
		}
		if len(ps) == 1 && ps[0].State != last {
			last = ps[0].State
			fmt.Println("state", last)
		}
	}
}

// TestSpeakerMultihop runs the speaker against BIRD 2 two hops away,
// behind a router: with multihop 2 the session comes up and BIRD holds
// the route with its MED and community, then sees GRACEFUL_SHUTDOWN
// (65535:0) on it when the speaker stops, before the withdrawal; without
// multihop the speaker's TTL of 1 dies at the router and no session
// comes up.
func TestSpeakerMultihop(t *testing.T) {
	nettest.RequireRoot(t)
	if _, err := exec.LookPath("bird"); err != nil {
		nettest.SkipUnlessCI(t, "BIRD 2 (bird2) is not installed")
		t.Fatal(err)
	}
	lab := nettest.NewLab(t)
	rt := lab.AddHost("rt", "10.99.0.254/24")
	sp := lab.AddHost("sp", "10.99.0.11/24")
	far := rt.NS + "-far"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", far)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", far).Run() })
	ip("-n", rt.NS, "link", "add", "vfar", "type", "veth", "peer", "name", "vrt", "netns", far)
	ip("-n", rt.NS, "addr", "add", "10.98.0.1/24", "dev", "vfar")
	ip("-n", rt.NS, "link", "set", "vfar", "up")
	ip("-n", far, "addr", "add", "10.98.0.2/24", "dev", "vrt")
	ip("-n", far, "link", "set", "vrt", "up")
	ip("-n", far, "link", "set", "lo", "up")
	ip("-n", far, "route", "add", "default", "via", "10.98.0.1")
	ip("-n", sp.NS, "route", "add", "10.98.0.0/24", "via", "10.99.0.254")
	if out, err := rt.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	conf := `router id 10.98.0.2;
protocol device { scan time 10; }
protocol bgp sp {
    local 10.98.0.2 as 65000;
    neighbor 10.99.0.11 as 65001;
    multihop 2;
    hold time 9;
    connect retry time 1;
    ipv4 { import all; export none; };
}
`
	birdc := startBIRD(t, far, conf)

	runSpeaker := func(hops int) (io.Closer, <-chan string, *exec.Cmd) {
		return startHelper(t, sp, strconv.Itoa(hops))
	}
	route := "10.10.10.10/32"

	// Without multihop: no session.
	in, lines, cmd := runSpeaker(0)
	time.Sleep(4 * time.Second)
	if p := birdc("show", "protocols", "sp"); strings.Contains(p, "Established") {
		t.Errorf("a session came up through a router with TTL 1:\n%s", p)
	}
	in.Close()
	cmd.Wait()
	for l := range lines {
		if l == "state Established" {
			t.Error("the speaker reported Established without multihop")
		}
	}

	// With multihop 2: the session, then the route.
	in, lines, cmd = runSpeaker(2)
	t0 := time.Now()
	established := false
	timeout := time.After(10 * time.Second)
	for !established {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the speaker exited")
			}
			established = l == "state Established"
		case <-timeout:
			t.Fatalf("no session within 10s:\n%s", birdc("show", "protocols", "all", "sp"))
		}
	}
	t.Logf("Established after %v", time.Since(t0).Round(time.Millisecond))
	if _, ok := nettest.Eventually(3*time.Second, func() bool { return strings.Contains(birdc("show", "route", "all", route), "BGP.med: 7") }); !ok {
		t.Fatalf("BIRD has no route with MED 7:\n%s", birdc("show", "route", "all", route))
	}
	if all := birdc("show", "route", "all", route); !strings.Contains(all, "(65001,5)") || !strings.Contains(all, "BGP.next_hop: 10.99.0.11") {
		t.Errorf("BIRD's route lacks the community or the next hop:\n%s", all)
	}

	// Stop: GRACEFUL_SHUTDOWN first, then the withdrawal.
	in.Close()
	t1 := time.Now()
	took, ok := nettest.Eventually(3*time.Second, func() bool { return strings.Contains(birdc("show", "route", "all", route), "(65535,0)") })
	if !ok {
		t.Fatalf("BIRD never saw GRACEFUL_SHUTDOWN:\n%s", birdc("show", "route", "all", route))
	}
	if _, ok := nettest.Eventually(5*time.Second, func() bool { return !strings.Contains(birdc("show", "route", route), "10.10.10.10") }); !ok {
		t.Fatalf("the route stayed after the speaker stopped:\n%s", birdc("show", "route", "all", route))
	}
	t.Logf("GRACEFUL_SHUTDOWN seen %v after the stop, withdrawal %v after it", took.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	if err := cmd.Wait(); err != nil {
		t.Errorf("speaker: %v", err)
	}
}

// startHelper starts the speaker helper in h's namespace with mode;
// closing what it returns stops it. Its lines go to the channel.
func startHelper(t *testing.T, h *nettest.Host, mode string) (io.Closer, <-chan string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.NS, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode)
	cmd.Stderr = os.Stderr
	in, lines := nettest.StartLines(t, cmd)
	return in, lines, cmd
}

// startBIRD runs BIRD 2 with conf in namespace ns and returns a birdc
// for it.
func startBIRD(t *testing.T, ns, conf string) func(args ...string) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "bird.ctl")
	if err := os.WriteFile(filepath.Join(dir, "bird.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bird := exec.Command("ip", "netns", "exec", ns, "bird", "-f", "-c", filepath.Join(dir, "bird.conf"), "-s", sock, "-P", filepath.Join(dir, "bird.pid"))
	if err := bird.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bird.Process.Kill(); bird.Wait() })
	birdc := func(args ...string) string {
		out, _ := exec.Command("ip", append([]string{"netns", "exec", ns, "birdc", "-s", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	if _, ok := nettest.Eventually(5*time.Second, func() bool { return strings.Contains(birdc("show", "status"), "Daemon is up") }); !ok {
		t.Fatal("BIRD did not come up")
	}
	return birdc
}

// TestSpeakerIPv6 announces an IPv6 host route over an IPv6 session to
// BIRD 2, next hop the speaker's address, and withdraws it at stop.
func TestSpeakerIPv6(t *testing.T) {
	nettest.RequireRoot(t)
	if _, err := exec.LookPath("bird"); err != nil {
		nettest.SkipUnlessCI(t, "BIRD 2 (bird2) is not installed")
		t.Fatal(err)
	}
	lab := nettest.NewLab(t)
	rt := lab.AddHost("rt", "fd00:99::254/64")
	sp := lab.AddHost("sp", "fd00:99::11/64")
	birdc := startBIRD(t, rt.NS, `router id 10.99.0.254;
protocol device { scan time 10; }
protocol bgp sp {
    local fd00:99::254 as 65000;
    neighbor fd00:99::11 as 65001;
    hold time 9;
    ipv6 { import all; export none; };
}
`)
	in, lines, cmd := startHelper(t, sp, "v6")
	route := "2001:db8::10/128"
	if _, ok := nettest.Eventually(10*time.Second, func() bool { return strings.Contains(birdc("show", "route", "all", route), "BGP.med: 7") }); !ok {
		t.Fatalf("BIRD has no route to %s:\n%s\n%s", route, birdc("show", "route", "all", route), birdc("show", "protocols", "all", "sp"))
	}
	all := birdc("show", "route", "all", route)
	if !strings.Contains(all, "BGP.next_hop: fd00:99::11") || !strings.Contains(all, "(65001,5)") {
		t.Errorf("BIRD's route lacks the next hop or the community:\n%s", all)
	}
	in.Close()
	if _, ok := nettest.Eventually(5*time.Second, func() bool { return !strings.Contains(birdc("show", "route", route), "2001:db8::10") }); !ok {
		t.Fatalf("the route stayed after the speaker stopped:\n%s", birdc("show", "route", "all", route))
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("speaker: %v", err)
	}
	for l := range lines {
		if strings.HasPrefix(l, "error") {
			t.Error(l)
		}
	}
}
