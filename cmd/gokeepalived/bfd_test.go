package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// consoleLine is a console log line of either daemon: the time, then the
// message.
var consoleLine = regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$`)

// bfdLines returns the messages of a daemon's output about session name,
// in order.
func bfdLines(out, name string) []string {
	var lines []string
	pad := strings.Repeat(" ", len(name)+2) + " "
	for l := range strings.Lines(out) {
		m := consoleLine.FindStringSubmatch(strings.TrimRight(l, "\n"))
		if m != nil && (strings.HasPrefix(m[1], "("+name+") ") || strings.HasPrefix(m[1], pad) && !strings.HasPrefix(m[1], pad+" ")) ||
			m != nil && strings.HasPrefix(m[1], pad+"         min_tx") {
			lines = append(lines, m[1])
		}
	}
	return lines
}

// bfdForms are the forms of every message keepalived 2.2.7's BFD process
// logs about a session (bfd_scheduler.c, bfd.c), for session B1.
var bfdForms = map[string]*regexp.Regexp{
	"state":      regexp.MustCompile(`^\(B1\) Entering (Up|Init|AdminDown) state$`),
	"down":       regexp.MustCompile(`^\(B1\) Entering Down state \(Local diagnostic - (No Diagnostic|Control Detection Time Expired|Neighbor Signaled Session Down), Remote diagnostic - (No Diagnostic|Control Detection Time Expired|Neighbor Signaled Session Down|Administratively Down)\)$`),
	"expired":    regexp.MustCompile(`^\(B1\) Expired after \d+ ms \(\d+ usec overdue\)$`),
	"poll":       regexp.MustCompile(`^\(B1\) Starting poll sequence$`),
	"parameters": regexp.MustCompile(`^\(B1\) ---------------< Session parameters >--------------$`),
	"header":     regexp.MustCompile(`^ {4}          min_tx  min_rx  tx_intv  mult  detect_time$`),
	"local":      regexp.MustCompile(`^ {4} local  [ \d]{7}\d [ \d]{6}\d [ \d]{7}\d [ \d]{4}\d [ \d]{11}\d$`),
	"remote":     regexp.MustCompile(`^ {4} remote [ \d]{7}\d [ \d]{6}\d [ \d]{7}\d [ \d]{4}\d [ \d]{11}\d$`),
	"detection":  regexp.MustCompile(`^ {4} Detection time is \d+ us \(was \d+ us\)$`),
}

// countOf counts the lines of out that contain s.
func countOf(out, s string) int { return strings.Count(out, s) }

// waitCount waits until out() holds want lines containing s, polling
// every millisecond, and returns when it saw them.
func waitCount(t *testing.T, what string, timeout time.Duration, out func() string, s string, want int) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if countOf(out(), s) >= want {
			return time.Now()
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, timeout)
	return time.Time{}
}

// TestDaemonBFDBesideKeepalived runs a BFD session between gokeepalived
// and keepalived 2.2.7 on a veth segment: both come Up; SIGSTOP of either
// daemon makes the other declare the session Down within its detection
// time (multiplier x min_rx) plus 30 ms, measured from the signal; SIGCONT
// brings it Up again. The session messages of both daemons are compared
// word for word, numbers aside, and so are the BFD Topology sections of
// their USR1 data files (keepalived_bfd.data).
func TestDaemonBFDBesideKeepalived(t *testing.T) {
	const mult = 3
	const budget = mult*10*time.Millisecond + 30*time.Millisecond
	// A bfd_instance toward nbr from src, detecting a silent neighbor
	// after multiplier x 10 ms.
	bfdConf := func(src, nbr string, multiplier int) string {
		return fmt.Sprintf(`bfd_instance B1 {
    neighbor_ip %s
    source_ip %s
    min_rx 10
    min_tx 10
    idle_tx 1000
    multiplier %d
}
`, nbr, src, multiplier)
	}
	lab := nettest.NewLab(t)
	g := lab.AddHost("g", "10.78.0.1/24")
	k := lab.AddHost("k", "10.78.0.2/24")
	bin := gokeepalivedBinary(t)

	dir := t.TempDir()
	// Both with -D, which adds the sessions' parameters to their logs.
	ours := startOursOn(t, g, bin, dir, bfdConf("10.78.0.1", "10.78.0.2", mult), "-D")
	kdir := t.TempDir()
	theirs := k.StartKeepalived(t, bfdConf("10.78.0.2", "10.78.0.1", mult), "-b", filepath.Join(kdir, "bfd.pid"))

	up := "(B1) Entering Up state"
	down := "(B1) Entering Down state"
	waitCount(t, "gokeepalived's session Up", 10*time.Second, ours.Output, up, 1)
	waitCount(t, "keepalived's session Up", 10*time.Second, theirs.Output, up, 1)
	// The poll sequence that follows Up brings both to 10 ms packets.
	waitCount(t, "gokeepalived at 30 ms detection", 5*time.Second, ours.Output, "Detection time is 30000 us", 1)
	waitCount(t, "keepalived at 30 ms detection", 5*time.Second, theirs.Output, "Detection time is 30000 us", 1)
	time.Sleep(200 * time.Millisecond)

	// keepalived's BFD child stops: gokeepalived detects it.
	child, err := nettest.PidFromFile(filepath.Join(kdir, "bfd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGCONT) })
	stopped := time.Now()
	seen := waitCount(t, "gokeepalived's session Down", 5*time.Second, ours.Output, down, 1)
	took := seen.Sub(stopped)
	t.Logf("gokeepalived saw keepalived stop after %v (detection time %v, budget %v)", took, budget-30*time.Millisecond, budget)
	if took > budget {
		t.Errorf("gokeepalived declared Down %v after SIGSTOP; want at most %v", took, budget)
	}
	if err := syscall.Kill(child, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "gokeepalived's session Up again", 10*time.Second, ours.Output, up, 2)
	waitCount(t, "keepalived's session Up again", 10*time.Second, theirs.Output, up, 2)
	time.Sleep(500 * time.Millisecond)

	// gokeepalived stops: keepalived detects it.
	if err := ours.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped = time.Now()
	before := countOf(theirs.Output(), down)
	seen = waitCount(t, "keepalived's session Down", 5*time.Second, theirs.Output, down, before+1)
	took = seen.Sub(stopped)
	t.Logf("keepalived saw gokeepalived stop after %v (budget %v)", took, budget)
	if took > budget {
		t.Errorf("keepalived declared Down %v after SIGSTOP of gokeepalived; want at most %v", took, budget)
	}
	if err := ours.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "keepalived's session Up after gokeepalived resumed", 10*time.Second, theirs.Output, up, 3)
	waitCount(t, "gokeepalived's session Up after it resumed", 10*time.Second, ours.Output, up, 3)
	time.Sleep(300 * time.Millisecond)

	// Both data files show the session the same way, numbers aside and
	// but for keepalived's lines about its own descriptors and threads.
	theirFile := fetchData(t, bfdDataFile, child)
	ourFile := fetchData(t, bfdDataFile, ours.Pid())
	internal := regexp.MustCompile(`^   (fd_out|thread_|sands_)`)
	// The discriminators are random: their hex digits are masked too.
	hex := regexp.MustCompile(`= Nx[0-9a-fN]+`)
	topology := func(file string) []string {
		lines := slices.DeleteFunc(dataSection(file, "------< BFD Topology >------"), internal.MatchString)
		for i, l := range lines {
			lines[i] = hex.ReplaceAllString(l, "= 0xH")
		}
		return lines
	}
	theirTopology := topology(theirFile)
	diffBlocks(t, "BFD Topology", topology(ourFile), theirTopology)
	if len(theirTopology) < 30 {
		t.Errorf("keepalived's BFD Topology:\n%s", strings.Join(theirTopology, "\n"))
	}

	// Every message of both daemons about the session has one of the
	// forms keepalived's BFD process logs, and both logged each form the
	// test went through.
	ol, tl := bfdLines(ours.Output(), "B1"), bfdLines(theirs.Output(), "B1")
	t.Logf("gokeepalived:\n%s", strings.Join(ol, "\n"))
	t.Logf("keepalived:\n%s", strings.Join(tl, "\n"))
	for who, lines := range map[string][]string{"gokeepalived": ol, "keepalived": tl} {
		seen := make(map[string]bool)
		for _, l := range lines {
			form := ""
			for name, re := range bfdForms {
				if re.MatchString(l) {
					form = name
				}
			}
			if form == "" {
				t.Errorf("%s logs %q, a form keepalived's BFD process has not", who, l)
			}
			seen[form] = true
		}
		for name := range bfdForms {
			if !seen[name] && name != "down" {
				t.Errorf("%s logged no %s message", who, name)
			}
		}
		if !slices.Contains(lines, "(B1) Entering Down state (Local diagnostic - Control Detection Time Expired, Remote diagnostic - No Diagnostic)") {
			t.Errorf("%s did not log the Down of an expired session as keepalived does", who)
		}
	}
	// The first detection times, numbers included, are the same: 3 s on
	// idle packets, then 30 ms once Up.
	det := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.Contains(l, "Detection time") && len(out) < 2 {
				out = append(out, l)
			}
		}
		return out
	}
	want := []string{"     Detection time is 3000000 us (was 0 us)", "     Detection time is 30000 us (was 3000000 us)"}
	if o, k := det(ol), det(tl); !slices.Equal(o, want) || !slices.Equal(k, want) {
		t.Errorf("first detection times:\ngokeepalived: %q\nkeepalived: %q\nwant: %q", o, k, want)
	}
}

// TestDaemonBFDHopsBesideKeepalived shows the TTL and hop limit
// gokeepalived sends and the Generalized TTL Security Mechanism it
// applies, against keepalived, over IPv4 and IPv6: a session whose
// max_hops takes keepalived's TTL of 254 comes Up; keepalived discards, and says so,
// packets sent with a TTL of 254 or a hop limit of 63 where it wants 255
// and 64; a passive session comes Up when keepalived speaks first.
func TestDaemonBFDHopsBesideKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	g := lab.AddHost("g", "10.79.0.1/24", "10.79.0.11/24", "fd79::1/64", "fd79::11/64")
	k := lab.AddHost("k", "10.79.0.2/24", "10.79.0.12/24", "fd79::2/64", "fd79::12/64")
	// H1: keepalived sends with TTL 254, which gokeepalived takes only
	// because max_hops allows one hop.
	oursConf := `bfd_instance H1 {
    neighbor_ip 10.79.0.2
    source_ip 10.79.0.1
    max_hops 1
}
bfd_instance H2 {
    neighbor_ip 10.79.0.12
    source_ip 10.79.0.11
    ttl 254
}
bfd_instance H3 {
    neighbor_ip fd79::2
    source_ip fd79::1
    hoplimit 63
}
bfd_instance H4 {
    neighbour_ip fd79::12
    source_ip fd79::11
    passive
}
`
	theirsConf := `bfd_instance H1 {
    neighbor_ip 10.79.0.1
    source_ip 10.79.0.2
    ttl 254
    max_hops 1
}
bfd_instance H2 {
    neighbor_ip 10.79.0.11
    source_ip 10.79.0.12
}
bfd_instance H3 {
    neighbor_ip fd79::1
    source_ip fd79::2
}
bfd_instance H4 {
    neighbor_ip fd79::11
    source_ip fd79::12
}
`
	ours := startOursOn(t, g, gokeepalivedBinary(t), t.TempDir(), oursConf, "-D")
	theirs := k.StartKeepalived(t, theirsConf, "-b", filepath.Join(t.TempDir(), "bfd.pid"))
	for _, name := range []string{"H1", "H4"} {
		waitCount(t, name+" Up at gokeepalived", 10*time.Second, ours.Output, "("+name+") Entering Up state", 1)
		waitCount(t, name+" Up at keepalived", 10*time.Second, theirs.Output, "("+name+") Entering Up state", 1)
	}
	waitCount(t, "keepalived discards TTL 254", 5*time.Second, theirs.Output, "Packet ttl(254) < 255 - discarding", 1)
	waitCount(t, "keepalived discards hop limit 63", 5*time.Second, theirs.Output, "Packet hop_limit(63) < 64 - discarding", 1)
	// Two seconds of 1 s idle packets later, those sessions are still not Up.
	time.Sleep(2 * time.Second)
	for _, name := range []string{"H2", "H3"} {
		if n := countOf(ours.Output(), "("+name+") Entering Up state"); n != 0 {
			t.Errorf("%s came Up at gokeepalived although keepalived discards its packets", name)
		}
		if n := countOf(theirs.Output(), "("+name+") Entering Up state"); n != 0 {
			t.Errorf("%s came Up at keepalived although it discards gokeepalived's packets", name)
		}
	}
	if countOf(theirs.Output(), "Packet ttl(255)") != 0 || countOf(theirs.Output(), "Packet hop_limit(64)") != 0 {
		t.Errorf("keepalived discards packets sent with the default TTL or hop limit:\n%s", theirs.Output())
	}
}

// TestDaemonBFDReloadBesideKeepalived reloads gokeepalived with new
// min_rx and min_tx while its session with keepalived is Up: the session
// stays Up on both sides, and the poll sequence that follows takes both
// detection times from 30 ms to 60 ms, as keepalived does when reloaded.
func TestDaemonBFDReloadBesideKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	g := lab.AddHost("g", "10.81.0.1/24")
	k := lab.AddHost("k", "10.81.0.2/24")
	conf := func(src, nbr string, ms int) string {
		return fmt.Sprintf("bfd_instance R1 {\n    neighbor_ip %s\n    source_ip %s\n    min_rx %d\n    min_tx %d\n    multiplier 3\n}\n", nbr, src, ms, ms)
	}
	dir := t.TempDir()
	ours := startOursOn(t, g, gokeepalivedBinary(t), dir, conf("10.81.0.1", "10.81.0.2", 10))
	theirs := k.StartKeepalived(t, conf("10.81.0.2", "10.81.0.1", 10), "-b", filepath.Join(t.TempDir(), "bfd.pid"))
	waitCount(t, "gokeepalived at 30 ms", 10*time.Second, ours.Output, "Detection time is 30000 us", 1)
	waitCount(t, "keepalived at 30 ms", 10*time.Second, theirs.Output, "Detection time is 30000 us", 1)

	if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(conf("10.81.0.1", "10.81.0.2", 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ours.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "gokeepalived at 60 ms", 5*time.Second, ours.Output, "      Detection time is 60000 us (was 30000 us)", 1)
	waitCount(t, "keepalived at 60 ms", 5*time.Second, theirs.Output, "      Detection time is 60000 us (was 30000 us)", 1)
	time.Sleep(300 * time.Millisecond)
	for name, out := range map[string]string{"gokeepalived": ours.Output(), "keepalived": theirs.Output()} {
		if n := countOf(out, "(R1) Entering Down state"); n != 0 {
			t.Errorf("%s's session went Down across the reload:\n%s", name, out)
		}
		if n := countOf(out, "(R1) Entering Up state"); n != 1 {
			t.Errorf("%s's session came Up %d times", name, n)
		}
	}
}
