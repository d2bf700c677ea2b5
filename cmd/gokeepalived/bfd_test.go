package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// bfdConf is a bfd_instance toward nbr from src, detecting a silent
// neighbor after multiplier x 10 ms.
func bfdConf(src, nbr string, multiplier int) string {
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

// bfdLines returns the BFD session messages of a daemon's output, from
// the instance name on, in order.
func bfdLines(out string) []string {
	var lines []string
	for l := range strings.Lines(out) {
		l = strings.TrimRight(l, "\n")
		if i := strings.Index(l, "(B1) "); i >= 0 {
			lines = append(lines, l[i:])
		} else if i := strings.Index(l, "      "); i >= 0 && (strings.Contains(l, "Detection time is") || strings.Contains(l, "min_tx") || strings.Contains(l, " local ") || strings.Contains(l, " remote ")) {
			lines = append(lines, l[i:])
		}
	}
	return lines
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
// word for word, numbers aside.
func TestDaemonBFDBesideKeepalived(t *testing.T) {
	const mult = 3
	const budget = mult*10*time.Millisecond + 30*time.Millisecond
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

	// Every message gokeepalived logged, numbers aside, keepalived logged
	// too, and the messages of the sequence both went through are there
	// in both logs.
	digits := regexp.MustCompile(`[0-9]+`)
	forms := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if n := digits.ReplaceAllString(l, "N"); !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	ol, tl := bfdLines(ours.Output()), bfdLines(theirs.Output())
	t.Logf("gokeepalived:\n%s", strings.Join(ol, "\n"))
	t.Logf("keepalived:\n%s", strings.Join(tl, "\n"))
	of, tf := forms(ol), forms(tl)
	for _, f := range of {
		if !slices.Contains(tf, f) {
			t.Errorf("gokeepalived logs %q, which keepalived never does", f)
		}
	}
	for _, want := range []string{
		"(BN) Entering Up state",
		"(BN) Starting poll sequence",
		"(BN) ---------------< Session parameters >--------------",
		"               min_tx  min_rx  tx_intv  mult  detect_time",
		"(BN) Expired after N ms (N usec overdue)",
		"(BN) Entering Down state (Local diagnostic - Control Detection Time Expired, Remote diagnostic - No Diagnostic)",
		"      Detection time is N us (was N us)",
	} {
		if !slices.Contains(of, want) || !slices.Contains(tf, want) {
			t.Errorf("%q: in gokeepalived's log %v, in keepalived's %v", want, slices.Contains(of, want), slices.Contains(tf, want))
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
	want := []string{"      Detection time is 3000000 us (was 0 us)", "      Detection time is 30000 us (was 3000000 us)"}
	if o, k := det(ol), det(tl); !slices.Equal(o, want) || !slices.Equal(k, want) {
		t.Errorf("first detection times:\ngokeepalived: %q\nkeepalived: %q\nwant: %q", o, k, want)
	}
}
