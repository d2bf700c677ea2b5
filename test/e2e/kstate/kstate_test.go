// Package kstate is the kernel-state differential lab: every
// configuration of testdata runs under keepalived and under gokeepalived,
// each in a fresh namespace set up alike, and the links, addresses,
// routes, rules and nftables ruleset each daemon leaves as MASTER and
// after SIGTERM must be equal, but for the differences expectedDiffs
// lists with their reasons.
//
// A configuration may start with directives in comments:
//
//	# kstate: setup CMD ARGS...  run CMD in the host's namespace first
//	# kstate: wait SUBSTRING     the MASTER state is complete once a line has it
//
// The host has eth0 with 10.80.0.1/24 and fd00:80::1/64 and a fixed MAC
// address; a peer host on the same segment has 10.80.0.2/24 and
// fd00:80::2/64 and runs nothing.
package kstate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/kstate"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// A phase is when a state is captured.
type phase string

const (
	beforeStart phase = "before"
	asMaster    phase = "master"
	afterStop   phase = "stopped"
	keepalived        = "keepalived"
	gokeepalive       = "gokeepalived"
)

// An expectedDiff is a line of kernel state only one daemon leaves, in
// some configurations and one phase, and why.
type expectedDiff struct {
	confs   []string // testdata file names without .conf
	phase   phase
	only    string // the daemon that alone leaves the line
	section kstate.Section
	match   string // a substring of the line; its parts split by anything, in order
	why     string
}

// anything in an expectedDiff's match stands for any text.
const anything = " … "

// matches reports whether line holds the parts of match, in order.
func matches(line, match string) bool {
	for _, part := range strings.Split(match, anything) {
		i := strings.Index(line, part)
		if i < 0 {
			return false
		}
		line = line[i+len(part):]
	}
	return true
}

// Why keepalived alone leaves a point-to-point address after SIGTERM.
const peerLeft = "keepalived 2.2.7 deletes an address with a peer giving its own address as IFA_ADDRESS, which " +
	"the kernel matches against the peer and refuses, so the address stays after SIGTERM; gokeepalived gives the " +
	"peer and removes it"

// expectedDiffs are the reviewed differences. A difference not listed
// fails the test, and so does an entry no difference matches.
var expectedDiffs = []expectedDiff{
	{[]string{"03-vip-options"}, afterStop, keepalived, kstate.Addrs, `"local":"10.80.0.106"`, peerLeft},
	{[]string{"03-vip-options"}, afterStop, keepalived, kstate.Routes4, `"prefsrc":"10.80.0.106"`, peerLeft},
	{[]string{"17-static-addresses"}, afterStop, keepalived, kstate.Addrs, `"local":"10.80.4.1"`, peerLeft},
	{[]string{"17-static-addresses"}, afterStop, keepalived, kstate.Routes4, `"prefsrc":"10.80.4.1"`, peerLeft},
}

// A labConf is one configuration of the corpus with its directives.
type labConf struct {
	name    string
	text    string
	setup   [][]string
	wait    []string
	masters int // vrrp_instance blocks, each of which must reach MASTER
}

func loadConfs(t *testing.T) []labConf {
	t.Helper()
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil {
		t.Fatal(err)
	}
	var confs []labConf
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := labConf{name: strings.TrimSuffix(filepath.Base(f), ".conf"), text: string(b)}
		for _, l := range strings.Split(c.text, "\n") {
			d, ok := strings.CutPrefix(strings.TrimSpace(l), "# kstate: ")
			if !ok {
				continue
			}
			verb, arg, _ := strings.Cut(d, " ")
			switch verb {
			case "setup":
				c.setup = append(c.setup, strings.Fields(arg))
			case "wait":
				c.wait = append(c.wait, arg)
			default:
				t.Fatalf("%s: unknown directive %q", f, d)
			}
		}
		c.masters = strings.Count(c.text, "vrrp_instance ")
		confs = append(confs, c)
	}
	return confs
}

// A result is what the lab found for one configuration.
type result struct {
	verdict  string
	expected int               // differences the table explains
	lines    map[string][2]int // per daemon, lines as MASTER and after SIGTERM
	// leftovers are, per daemon, the lines after SIGTERM that were not
	// there before the start, and those gone.
	leftovers map[string]int
}

// TestKernelStateMatchesKeepalived runs the corpus, configurations in
// parallel, and prints a table of verdicts.
func TestKernelStateMatchesKeepalived(t *testing.T) {
	nettest.RequireRoot(t)
	for _, tool := range []string{"keepalived", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			nettest.SkipUnlessCI(t, "needs "+tool)
		}
	}
	confs := loadConfs(t)
	if len(confs) < 25 {
		t.Fatalf("the corpus has %d configurations, want at least 25", len(confs))
	}
	bin := nettest.BuildGokeepalived(t)
	var mu sync.Mutex
	results := map[string]*result{}
	used := map[string]bool{} // entry index and configuration
	t.Run("conf", func(t *testing.T) {
		for _, c := range confs {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := &result{verdict: "error", lines: map[string][2]int{}, leftovers: map[string]int{}}
				mu.Lock()
				results[c.name] = r
				mu.Unlock()
				states := map[string]map[phase]kstate.State{}
				for _, who := range []string{keepalived, gokeepalive} {
					states[who] = runDaemon(t, bin, who, c)
					r.lines[who] = [2]int{states[who][asMaster].Len(), states[who][afterStop].Len()}
				}
				// The two hosts are set up alike: a difference
				// before the start would make the comparison moot.
				if a, b := kstate.Diff(states[keepalived][beforeStart], states[gokeepalive][beforeStart]); len(a) > 0 || len(b) > 0 {
					t.Fatalf("the hosts differ before the start: %v / %v", a, b)
				}
				for _, who := range []string{keepalived, gokeepalive} {
					left, gone := kstate.Diff(states[who][afterStop], states[who][beforeStart])
					r.leftovers[who] = len(left) + len(gone)
				}
				unexplained := 0
				for _, ph := range []phase{asMaster, afterStop} {
					onlyKA, onlyGo := kstate.Diff(states[keepalived][ph], states[gokeepalive][ph])
					for who, lines := range map[string][]kstate.Line{keepalived: onlyKA, gokeepalive: onlyGo} {
						for _, l := range lines {
							i := explain(c.name, ph, who, l)
							if i < 0 {
								unexplained++
								t.Errorf("%s: only %s has %s %s", ph, who, l.Section, l.Text)
								continue
							}
							r.expected++
							mu.Lock()
							used[fmt.Sprint(i, c.name)] = true
							mu.Unlock()
						}
					}
				}
				switch {
				case unexplained > 0:
					r.verdict = fmt.Sprintf("DIFFERENT (%d)", unexplained)
				case t.Failed():
					r.verdict = "FAILED"
				case r.expected > 0:
					r.verdict = "expected differences"
				default:
					r.verdict = "equal"
				}
			})
		}
	})
	for i, e := range expectedDiffs {
		for _, conf := range e.confs {
			if r, ran := results[conf]; ran && r.verdict != "error" && !used[fmt.Sprint(i, conf)] {
				t.Errorf("expected difference %s/%s/only %s %q does not occur: drop it (%s)", conf, e.phase, e.only, e.match, e.why)
			}
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "config\tverdict\tMASTER lines ka/go\tstopped lines ka/go\tleftovers ka/go\texpected diffs")
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	equal := 0
	for _, n := range names {
		r := results[n]
		if r.verdict == "equal" {
			equal++
		}
		ka, ours := r.lines[keepalived], r.lines[gokeepalive]
		fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d/%d\t%d/%d\t%d\n", n, r.verdict, ka[0], ours[0], ka[1], ours[1],
			r.leftovers[keepalived], r.leftovers[gokeepalive], r.expected)
	}
	w.Flush()
	t.Logf("kernel state, keepalived beside gokeepalived (%d configurations, %d equal):\n%s", len(names), equal, b.String())
}

// explain returns the index of the expected difference that covers line,
// or -1.
func explain(conf string, ph phase, who string, l kstate.Line) int {
	for i, e := range expectedDiffs {
		if slices.Contains(e.confs, conf) && e.phase == ph && e.only == who && e.section == l.Section && matches(l.Text, e.match) {
			return i
		}
	}
	return -1
}

// hostMAC is eth0's address in every lab: the link-local IPv6 address
// derived from it is then the same under both daemons.
const hostMAC = "02:00:00:80:00:01"

// newHost makes a fresh lab host with the configuration's setup.
func newHost(t *testing.T, c labConf) *nettest.Host {
	t.Helper()
	lab := nettest.NewLab(t)
	h := lab.AddHost("m")
	lab.AddHost("p", "10.80.0.2/24", "fd00:80::2/64")
	for _, cmd := range [][]string{
		{"ip", "link", "set", "eth0", "down"},
		{"ip", "link", "set", "eth0", "address", hostMAC},
		{"ip", "link", "set", "eth0", "up"},
		{"ip", "addr", "add", "10.80.0.1/24", "dev", "eth0"},
		{"ip", "addr", "add", "fd00:80::1/64", "dev", "eth0"},
	} {
		h.Run(cmd[0], cmd[1:]...)
	}
	for _, cmd := range c.setup {
		h.Run(cmd[0], cmd[1:]...)
	}
	return h
}

// runDaemon runs one daemon with c on a fresh host and returns the
// kernel state before it starts, as MASTER and after SIGTERM.
func runDaemon(t *testing.T, bin, who string, c labConf) map[phase]kstate.State {
	t.Helper()
	h := newHost(t, c)
	ctx := context.Background()
	// The links are up and their addresses past their tentative start.
	before := settle(t, ctx, h, "setup", func(s kstate.State) bool {
		return !s.Has(`"tentative":true`) && !s.Has(`"NO-CARRIER"`)
	})
	var d *nettest.Daemon
	if who == keepalived {
		d = h.StartKeepalived(t, c.text, "-P")
	} else {
		d = startGokeepalived(t, h, bin, c.text)
	}
	if _, ok := nettest.Eventually(15*time.Second, func() bool {
		return strings.Count(d.Output(), "Entering MASTER STATE") >= c.masters
	}); !ok {
		t.Fatalf("%s: not %d instances MASTER:\n%s", who, c.masters, d.Output())
	}
	master := settle(t, ctx, h, who, func(s kstate.State) bool {
		for _, w := range c.wait {
			if !s.Has(w) {
				return false
			}
		}
		return true
	})
	if err := d.Stop(t, 10*time.Second); err != nil {
		t.Errorf("%s exited with %v", who, err)
	}
	stopped, err := kstate.Capture(ctx, h.NS)
	if err != nil {
		t.Fatal(err)
	}
	if who == gokeepalive && strings.Contains(d.Output(), "does not implement") {
		t.Errorf("the configuration uses what gokeepalived does not implement:\n%s", d.Output())
	}
	return map[phase]kstate.State{beforeStart: before, asMaster: master, afterStop: stopped}
}

// settle returns the state once two reads in a row agree and ready
// holds.
func settle(t *testing.T, ctx context.Context, h *nettest.Host, who string, ready func(kstate.State) bool) kstate.State {
	t.Helper()
	var last kstate.State
	deadline := time.Now().Add(10 * time.Second)
	for {
		now, err := kstate.Capture(ctx, h.NS)
		if err != nil {
			t.Fatal(err)
		}
		if last != nil && now.Equal(last) && ready(now) {
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the kernel state did not settle:\n%s", who, now)
		}
		last = now
		time.Sleep(250 * time.Millisecond)
	}
}

func startGokeepalived(t *testing.T, h *nettest.Host, bin, conf string) *nettest.Daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return h.Start(t, bin, "-n", "-l", "-P", "-f", path,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"))
}

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		line, match string
		want        bool
	}{
		{`{"a":1,"b":2}`, `"a":1`, true},
		{`{"a":1,"b":2}`, `"a":1` + anything + `"b":2`, true},
		{`{"a":1,"b":2}`, `"b":2` + anything + `"a":1`, false},
		{`{"a":1,"b":2}`, `"c":3`, false},
	} {
		if got := matches(tt.line, tt.match); got != tt.want {
			t.Errorf("matches(%s, %q) = %v, want %v", tt.line, tt.match, got, tt.want)
		}
	}
}
