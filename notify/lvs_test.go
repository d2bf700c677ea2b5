package notify

import (
	_ "embed"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// The checker scenario needs IPVS, so it runs inside the kernel guest. A
// director runs keepalived's checkers (-C) for three virtual servers on
// real servers whose TCP ports the test opens and closes:
//
//	VS [10.232.0.100]:tcp:80, quorum 2: RS :8081 and RS :8082
//	VS FWM 7:                           RS :8082 (connect_port)
//	VS [fd00:232::100]:tcp:80:          RS [fd00:232::2]:8081
//
// Phases: 8081 open and 8082 closed; 8082 opened; 8081 closed.

const lvsRS = "10.232.0.2"

// lvsEvents is the checker scenario as the checkers report it, phase by
// phase: which real servers and quorums change.
var lvsEvents = [][]lvsEvent{
	// Every virtual server starts with its quorum up, before any check.
	{{quorum: true, vs: 0, up: true}, {quorum: true, vs: 1, up: true}, {quorum: true, vs: 2, up: true},
		{rs: "10.232.0.2:8082", vs: 0}, {quorum: true, vs: 0}, {rs: "10.232.0.2:0", vs: 1}, {quorum: true, vs: 1}},
	{{rs: "10.232.0.2:8082", vs: 0, up: true}, {quorum: true, vs: 0, up: true}, {rs: "10.232.0.2:0", vs: 1, up: true}, {quorum: true, vs: 1, up: true}},
	{{rs: "10.232.0.2:8081", vs: 0}, {quorum: true, vs: 0}, {rs: "[fd00:232::2]:8081", vs: 2}, {quorum: true, vs: 2}},
}

type lvsEvent struct {
	rs     string // real server, or
	quorum bool   // the virtual server's quorum
	vs     int    // index in lvsServers
	up     bool
}

var lvsServers = []VirtualServer{
	{Addr: netip.MustParseAddrPort("10.232.0.100:80"), Protocol: TCP},
	// keepalived ignores a fwmark service's protocol.
	{FWMark: 7},
	{Addr: netip.MustParseAddrPort("[fd00:232::100]:80"), Protocol: TCP},
}

func lvsConf(dir, rec string) string {
	check := func(port int) string {
		return fmt.Sprintf("    TCP_CHECK {\n      connect_port %d\n      connect_timeout 1\n      retry 0\n    }\n", port)
	}
	rs := func(addr string, port, checkPort int, tag string) string {
		return fmt.Sprintf("  real_server %s %d {\n    weight 1\n    notify_up \"%s up %s\"\n    notify_down \"%s down %s\"\n%s  }\n",
			addr, port, rec, tag, rec, tag, check(checkPort))
	}
	vs := func(head, tag, quorum, body string) string {
		return fmt.Sprintf("virtual_server %s {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n%s  quorum_up \"%s qup %s\"\n  quorum_down \"%s qdown %s\"\n%s}\n",
			head, quorum, rec, tag, rec, tag, body)
	}
	return "global_defs {\n  enable_script_security\n  script_user root\n" +
		"  notify_fifo " + filepath.Join(dir, "global.fifo") + "\n" +
		"  lvs_notify_fifo " + filepath.Join(dir, "lvs.fifo") + "\n}\n" +
		vs("10.232.0.100 80", "vs4", "  quorum 2\n", rs(lvsRS, 8081, 8081, "rs4a")+rs(lvsRS, 8082, 8082, "rs4b")) +
		vs("fwmark 7", "fwm", "", rs(lvsRS, 0, 8082, "fwm")) +
		vs("fd00:232::100 80", "vs6", "", rs("fd00:232::2", 8081, 8081, "rs6"))
}

// lvsScripts parses the scripts of lvsConf as keepalived would.
func lvsScripts(t *testing.T, rec string) (rs map[string]*RealServer, q []*Quorum) {
	t.Helper()
	def, err := DefaultUser("root", "", true)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(cmd string) *Script {
		s, err := NewScript("notify", cmd, "", "", &def)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rs = map[string]*RealServer{}
	for addr, tag := range map[string]string{"10.232.0.2:8081": "rs4a", "10.232.0.2:8082": "rs4b", "10.232.0.2:0": "fwm", "[fd00:232::2]:8081": "rs6"} {
		rs[addr] = &RealServer{Addr: netip.MustParseAddrPort(addr), Up: parse(rec + " up " + tag), Down: parse(rec + " down " + tag)}
	}
	for _, tag := range []string{"vs4", "fwm", "vs6"} {
		q = append(q, &Quorum{Up: parse(rec + " qup " + tag), Down: parse(rec + " qdown " + tag)})
	}
	return rs, q
}

// runLVSScenario feeds lvsEvents to a Notifier.
func runLVSScenario(t *testing.T, dir string) recording {
	t.Helper()
	rec := writeRecorder(t, dir)
	servers, quorums := lvsScripts(t, rec)
	n, global, vrrp, lvs := notifierUnderTest(t, dir)
	for _, phase := range lvsEvents {
		for _, ev := range phase {
			if ev.quorum {
				n.QuorumState(quorums[ev.vs], lvsServers[ev.vs], ev.up, false)
			} else {
				n.RealServerState(servers[ev.rs], lvsServers[ev.vs], ev.up, false)
			}
		}
	}
	finish(t, n, global, vrrp, lvs)
	if len(vrrp.Lines()) != 0 {
		t.Errorf("checker events reached the vrrp FIFO: %q", vrrp.Lines())
	}
	return recording{Argv: readLines(t, filepath.Join(dir, "argv")), GlobalFIFO: global.Lines(), FIFO: lvs.Lines()}
}

var (
	//go:embed testdata/keepalived-lvs-scripts.golden
	goldenLVSArgv string
	//go:embed testdata/keepalived-lvs-fifo.golden
	goldenLVSFIFO string
)

func goldenLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// TestNotifierMatchesKeepalivedLVS compares the Notifier's checker
// reports with keepalived's recorded in the kernel guest.
func TestNotifierMatchesKeepalivedLVS(t *testing.T) {
	dir := t.TempDir()
	got := runLVSScenario(t, dir).normalize(dir)
	diffLines(t, "script arguments", got.Argv, goldenLines(goldenLVSArgv))
	diffLines(t, "lvs_notify_fifo lines", got.FIFO, goldenLines(goldenLVSFIFO))
	diffLines(t, "notify_fifo lines", got.GlobalFIFO, goldenLines(goldenLVSFIFO))
}

// TestKernel runs the tests that need IPVS inside the kernel guest.
func TestKernel(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	vm.RunTests(t, "^TestGuest")
}

const listenEnv = "NOTIFY_TEST_LISTEN"

// TestHelperListener is not a test: TestGuestKeepalivedLVS runs the test
// binary with it to listen on the TCP addresses in $NOTIFY_TEST_LISTEN,
// in a real server's namespace, until killed.
func TestHelperListener(t *testing.T) {
	addrs := os.Getenv(listenEnv)
	if addrs == "" {
		t.Skip("helper process for TestGuestKeepalivedLVS")
	}
	for _, a := range strings.Fields(addrs) {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		// TCP_CHECK only connects.
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	fmt.Println("listening")
	select {}
}

// TestGuestKeepalivedLVS drives real keepalived's checkers through the
// scenario and checks that the Notifier, fed the same events, runs the
// same scripts and writes the same FIFO lines. It logs keepalived's
// recording, normalized, for testdata/keepalived-lvs-*.golden.
func TestGuestKeepalivedLVS(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	lab := nettest.NewLab(t)
	d := lab.AddHost("d", "10.232.0.1/24", "fd00:232::1/64")
	r := lab.AddHost("r", lvsRS+"/24", "fd00:232::2/64")

	// The real servers' ports are processes in r's namespace, closed
	// by killing them.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	listen := func(addrs ...string) *nettest.Daemon {
		t.Helper()
		t.Setenv(listenEnv, strings.Join(addrs, " "))
		l := r.Start(t, self, "-test.run=^TestHelperListener$")
		if !l.WaitOutput("listening\n", 10*time.Second) {
			t.Fatalf("nothing listens on %s:\n%s", addrs, l.Output())
		}
		return l
	}
	l8081 := listen(lvsRS+":8081", "[fd00:232::2]:8081")

	dir := t.TempDir()
	rec := writeRecorder(t, dir)
	ka := d.StartKeepalived(t, lvsConf(dir, rec), "-C")
	var readers []*fifoReader
	for _, name := range []string{"global.fifo", "lvs.fifo"} {
		path := filepath.Join(dir, name)
		if _, ok := nettest.Eventually(10*time.Second, func() bool { _, err := os.Stat(path); return err == nil }); !ok {
			t.Fatalf("keepalived did not create %s:\n%s", name, ka.Output())
		}
		readers = append(readers, readFIFO(t, path))
	}
	lvs := readers[1]
	want := 0
	for i, phase := range lvsEvents {
		switch i {
		case 1:
			listen(lvsRS + ":8082")
		case 2:
			l8081.Kill()
		}
		want += len(phase)
		// Every event runs a script, which must record before keepalived
		// stops: its scripts die with it.
		argv := filepath.Join(dir, "argv")
		if _, ok := nettest.Eventually(20*time.Second, func() bool {
			return len(lvs.Lines()) >= want && len(readLines(t, argv)) >= want
		}); !ok {
			t.Fatalf("phase %d: keepalived wrote %q and ran %q, want %d of each\n%s", i, lvs.Lines(), readLines(t, argv), want, ka.Output())
		}
	}
	// Without omega, stopping reports nothing more.
	ka.Stop(t, 10*time.Second)
	for _, r := range readers {
		<-r.done
	}
	time.Sleep(300 * time.Millisecond) // the last scripts finish
	theirs := recording{Argv: readLines(t, filepath.Join(dir, "argv")), GlobalFIFO: readers[0].Lines(), FIFO: lvs.Lines()}.normalize(dir)
	t.Logf("keepalived's scripts (normalized):\n%s", strings.Join(theirs.Argv, "\n"))
	t.Logf("keepalived's lvs_notify_fifo (normalized):\n%s", strings.Join(theirs.FIFO, "\n"))

	ourDir := t.TempDir()
	ours := runLVSScenario(t, ourDir).normalize(ourDir)
	diffLines(t, "keepalived's notify_fifo and lvs_notify_fifo lines", theirs.GlobalFIFO, theirs.FIFO)
	diffLines(t, "script arguments (ours vs keepalived's)", ours.Argv, theirs.Argv)
	diffLines(t, "lvs_notify_fifo lines (ours vs keepalived's)", ours.FIFO, theirs.FIFO)
	diffLines(t, "script arguments (keepalived vs golden)", theirs.Argv, goldenLines(goldenLVSArgv))
	diffLines(t, "FIFO lines (keepalived vs golden)", theirs.FIFO, goldenLines(goldenLVSFIFO))
}
