// Package chaos runs three gokeepalived directors and a client in network
// namespaces and applies random faults from a seeded source, checking
// after each that the VIPs, the client's ARP entries and its connections
// are where the protocol says. See README.md.
package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// Environment of a run.
const (
	envDuration = "CHAOS_DURATION" // how long faults are applied (default 150s)
	envSeed     = "CHAOS_SEED"     // the fault sequence's seed (default defaultSeed)
	envFaults   = "CHAOS_FAULTS"   // comma-separated fault kinds (default all)
	envAdvert   = "CHAOS_ADVERT"   // advert_int (default 500ms)
	envBin      = "CHAOS_BIN"      // a prebuilt gokeepalived (default go build)
	envReport   = "CHAOS_REPORT"   // also write the report and daemon logs under this directory
	// envBFDDuration is how long TestChaosBFD applies faults (default
	// defaultBFDDuration): short in make test, long in make chaos.
	envBFDDuration = "CHAOS_BFD_DURATION"
)

const (
	defaultSeed     = 7
	defaultDuration = 150 * time.Second
	// defaultBFDDuration is TestChaosBFD's: its first fault is always
	// the BFD block, and the rest of a short run draws a few others.
	defaultBFDDuration = 30 * time.Second
	defaultAdvert      = 500 * time.Millisecond
	// scriptInterval is chk_health's interval: the time a health
	// change takes to be seen (fall and rise are 1).
	scriptInterval = time.Second
	// allowance is added to every bound: the client's check (a TCP
	// connection and a netlink dump per instance, every 20 ms), the
	// gratuitous ARP's trip and the scheduling noise of 2 shared cores.
	allowance = time.Second
	// startAllowance is the time a restarted daemon takes to read its
	// configuration and open its sockets.
	startAllowance = time.Second
)

// Fault kinds.
const (
	faultKill      = "kill"      // SIGKILL, then a restart
	faultStop      = "stop"      // SIGSTOP, then SIGCONT
	faultLink      = "link"      // the director's bridge port down, then up
	faultPartition = "partition" // two groups on two bridges, then one again
	faultLoss      = "loss"      // random loss both ways on a director (BPF filter)
	faultNetem     = "netem"     // netem delay, jitter and loss on a director's egress
	faultTrack     = "track"     // the director's health script fails, then recovers
	faultStorm     = "storm"     // SIGSTOP while a burst of link changes overflows its netlink subscription, then SIGCONT
	faultFDs       = "fds"       // its descriptor limit lowered to 64 and its status socket flooded with connections, then lifted
	faultBFD       = "bfd"       // BFD alone dropped on a director (nftables), VRRP passing; then let through (TestChaosBFD only)
)

var allFaults = []string{faultKill, faultStop, faultLink, faultPartition, faultLoss, faultNetem, faultTrack, faultStorm, faultFDs, faultBFD}

// A phase is one step of a fault (applying or healing it) and the check
// that follows.
type phase struct {
	kind  string
	step  string // "apply" or "heal"
	what  string
	bound time.Duration
	rule  rule
	lossy bool // packets are being lost: answers may need retries
}

// A tally is what the report counts per fault kind and step.
type tally struct {
	applied int
	checks  int
	worst   time.Duration
	bound   time.Duration
	bad     int
}

// A run is one chaos run: the lab, the model of it, the seeded source
// of faults and what the report counts.
type run struct {
	lb         *lab
	w          *world
	rng        *rand.Rand
	tallies    map[string]*tally // kind + " " + step
	checks     int
	violations []string
}

func TestChaos(t *testing.T) {
	nettest.RequireRoot(t)
	seed, duration, advert, kinds, err := settings()
	if err != nil {
		t.Fatal(err)
	}
	// Without BFD in the lab, blocking it would test nothing.
	kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == faultBFD })
	if len(kinds) == 0 {
		t.Fatalf("%s: the %s fault needs BFD in the lab: TestChaosBFD applies it", envFaults, faultBFD)
	}
	runChaos(t, seed, duration, advert, kinds, false)
}

// TestChaosBFD is TestChaos with BFD: every two directors run a BFD
// session (3 x 100 ms) and every instance names, in bfd_takeover, the
// session to its usual master. The faults and the invariants are
// TestChaos's, and one more fault, which runs first: BFD alone dropped
// on a director while VRRP passes, through which no director may enter
// MASTER (a takeover while the master's adverts still arrive would make
// two masters). CHAOS_BFD_DURATION sets its length (default 30s).
func TestChaosBFD(t *testing.T) {
	nettest.RequireRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		nettest.SkipUnlessCI(t, "nft is not installed")
	}
	seed, _, advert, kinds, err := settings()
	if err != nil {
		t.Fatal(err)
	}
	duration := defaultBFDDuration
	if s := os.Getenv(envBFDDuration); s != "" {
		if duration, err = time.ParseDuration(s); err != nil || duration <= 0 {
			t.Fatalf("%s=%q: want a positive duration such as 30s", envBFDDuration, s)
		}
	}
	if !slices.Contains(kinds, faultBFD) {
		kinds = append(kinds, faultBFD)
	}
	runChaos(t, seed, duration, advert, kinds, true)
}

// runChaos starts the lab's daemons and applies faults of kinds for
// duration, checking after each step; with bfd, the lab runs BFD and the
// first fault is the BFD block.
func runChaos(t *testing.T, seed uint64, duration, advert time.Duration, kinds []string, bfd bool) {
	t.Logf("chaos: seed %d (%s=%d repeats this fault sequence), duration %v, advert_int %v, faults %s, BFD %v",
		seed, envSeed, seed, duration, advert, strings.Join(kinds, ","), bfd)
	bin := binary(t)
	lb := newLab(t, bin, advert, bfd)
	if slices.Contains(kinds, faultNetem) && !lb.netem {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sch_netem is not available in this kernel, so the netem fault (delay and loss) cannot run "+
				"(CI=true); set %s to the other kinds to run without it", envFaults)
		}
		t.Logf("WARNING: sch_netem is not available in this kernel: the netem fault is NOT applied in this run")
		kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == faultNetem })
	}
	for _, d := range lb.dirs {
		checkConf(t, d.host, bin, filepath.Join(d.dir, "keepalived.conf"))
	}

	r := &run{lb: lb, w: newWorld(), rng: rand.New(rand.NewPCG(seed, seed)), tallies: map[string]*tally{}}
	lb.started = time.Now()
	for _, d := range lb.dirs {
		lb.start(d)
	}
	r.check(phase{kind: "start", step: "apply", what: "all daemons started",
		bound: startAllowance + r.takeover(), rule: rule{startup: true}})
	if bfd {
		r.fault(faultBFD)
	}
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) && !t.Failed() {
		// A random phase against the advert timers.
		time.Sleep(time.Duration(r.rng.Int64N(int64(advert))))
		r.fault(kinds[r.rng.IntN(len(kinds))])
	}
	report := r.report(seed, duration, kinds)
	t.Logf("\n%s", report)
	if dir := os.Getenv(envReport); dir != "" {
		r.save(dir, report)
	}
	if len(r.violations) > 0 {
		t.Errorf("%d invariant violations (seed %d)", len(r.violations), seed)
	}
}

// settings reads the run's environment.
func settings() (seed uint64, duration, advert time.Duration, kinds []string, err error) {
	seed, duration, advert, kinds = defaultSeed, defaultDuration, defaultAdvert, allFaults
	if s := os.Getenv(envSeed); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			return 0, 0, 0, nil, fmt.Errorf("%s=%q: %w", envSeed, s, err)
		}
	}
	for _, e := range []struct {
		key string
		v   *time.Duration
	}{{envDuration, &duration}, {envAdvert, &advert}} {
		if s := os.Getenv(e.key); s != "" {
			if *e.v, err = time.ParseDuration(s); err != nil || *e.v <= 0 {
				return 0, 0, 0, nil, fmt.Errorf("%s=%q: want a positive duration such as 150s", e.key, s)
			}
		}
	}
	if advert%(10*time.Millisecond) != 0 {
		return 0, 0, 0, nil, fmt.Errorf("%s=%v: VRRPv3 counts the interval in centiseconds", envAdvert, advert)
	}
	if s := os.Getenv(envFaults); s != "" {
		kinds = nil
		for _, k := range strings.Split(s, ",") {
			if !slices.Contains(allFaults, k) {
				return 0, 0, 0, nil, fmt.Errorf("%s: unknown fault kind %q (kinds: %s)", envFaults, k, strings.Join(allFaults, ","))
			}
			kinds = append(kinds, k)
		}
	}
	return seed, duration, advert, kinds, nil
}

// binary returns the gokeepalived to run: CHAOS_BIN, or a fresh build.
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(envBin); p != "" {
		return p
	}
	p := filepath.Join(t.TempDir(), "gokeepalived")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", p, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building gokeepalived: %v\n%s", err, out)
	}
	return p
}

// checkConf makes sure the generated configuration is one gokeepalived
// takes without a word but the notice of an extension it uses
// (bfd_takeover), so that a fault is never blamed on a typo. It runs in
// the director's namespace, where the configuration's eth0 is.
func checkConf(t *testing.T, h *nettest.Host, bin, conf string) {
	t.Helper()
	out, err := h.Exec(bin, "-t", "-f", conf).CombinedOutput()
	var words []string
	for l := range strings.Lines(string(out)) {
		if !strings.Contains(l, ": gokeepalived extension ") {
			words = append(words, l)
		}
	}
	if err != nil || strings.Contains(strings.Join(words, ""), ":") {
		t.Fatalf("%s -t -f %s in %s: %v\n%s", bin, conf, h.NS, err, out)
	}
}

// takeover is the longest a backup can take to replace a master it stops
// hearing: Master_Down_Interval at the lowest effective priority (1),
// plus one advert (the last one heard may predate the fault by that
// much), plus the allowance.
func (r *run) takeover() time.Duration {
	a := r.lb.advert
	return 3*a + 255*a/256 + a + allowance
}

// resolve is the bound for two masters that start hearing each other:
// one advert, plus the allowance.
func (r *run) resolve() time.Duration { return r.lb.advert + allowance }

// fault applies one fault of kind to a random target, checks, heals it
// and checks again.
func (r *run) fault(kind string) {
	lb, w := r.lb, r.w
	k := r.rng.IntN(nDirectors)
	d := lb.dirs[k]
	switch kind {
	case faultKill:
		lb.kill(d)
		w.node[k].alive = false
		r.check(phase{kind: kind, step: "apply", what: "kill -9 " + d.name, bound: r.takeover()})
		lb.start(d)
		w.node[k].alive = true
		r.check(phase{kind: kind, step: "heal", what: "restart " + d.name, bound: startAllowance + r.takeover()})
	case faultStop:
		lb.signal(d, syscall.SIGSTOP)
		w.node[k].stopped = true
		r.check(phase{kind: kind, step: "apply", what: "SIGSTOP " + d.name, bound: r.takeover()})
		lb.signal(d, syscall.SIGCONT)
		w.node[k].stopped = false
		// The resumed daemon's timers all ran out while it was
		// stopped: a backup may claim before it reads the adverts
		// queued for it.
		r.check(phase{kind: kind, step: "heal", what: "SIGCONT " + d.name, bound: r.resolve(), rule: rule{spurious: true}})
	case faultLink:
		lb.net.SetPort(d.host, false)
		w.node[k].linkUp = false
		r.check(phase{kind: kind, step: "apply", what: "link down " + d.name, bound: r.takeover()})
		lb.net.SetPort(d.host, true)
		w.node[k].linkUp = true
		r.check(phase{kind: kind, step: "heal", what: "link up " + d.name, bound: r.takeover()})
	case faultPartition:
		side := r.split()
		var groups [2][]string
		for h, s := range side {
			name := "client"
			if h < nDirectors {
				name = dirName(h)
				w.node[h].side = s
			} else {
				w.clientSide = s
			}
			groups[s] = append(groups[s], name)
		}
		what := fmt.Sprintf("partition {%s} | {%s}", strings.Join(groups[0], ","), strings.Join(groups[1], ","))
		lb.partition(side)
		r.check(phase{kind: kind, step: "apply", what: what, bound: r.takeover()})
		lb.heal(side)
		for h := range nDirectors {
			w.node[h].side = 0
		}
		w.clientSide = 0
		r.check(phase{kind: kind, step: "heal", what: "heal " + what, bound: r.resolve()})
	case faultLoss:
		p := 0.1 + 0.2*r.rng.Float64()
		what := fmt.Sprintf("loss %.0f%% both ways on %s", 100*p, d.name)
		lb.setLoss(d.host, p)
		r.check(phase{kind: kind, step: "apply", what: what, bound: r.takeover(), rule: rule{spurious: true}, lossy: true})
		lb.clearLoss(d.host)
		r.check(phase{kind: kind, step: "heal", what: "end " + what, bound: r.takeover(), rule: rule{spurious: true}})
	case faultNetem:
		delay := 20 + r.rng.IntN(130)
		jitter := r.rng.IntN(delay / 2)
		loss := 20 * r.rng.Float64()
		what := fmt.Sprintf("netem delay %dms %dms loss %.1f%% on %s", delay, jitter, loss, d.name)
		d.host.Run("tc", "qdisc", "add", "dev", "eth0", "root", "netem",
			"delay", fmt.Sprintf("%dms", delay), fmt.Sprintf("%dms", jitter), "loss", fmt.Sprintf("%.1f%%", loss))
		r.check(phase{kind: kind, step: "apply", what: what, bound: r.takeover(), rule: rule{spurious: true}, lossy: true})
		d.host.Run("tc", "qdisc", "del", "dev", "eth0", "root")
		r.check(phase{kind: kind, step: "heal", what: "end " + what, bound: r.takeover(), rule: rule{spurious: true}})
	case faultStorm:
		lb.signal(d, syscall.SIGSTOP)
		w.node[k].stopped = true
		d.host.LinkStorm(stormPairs)
		r.check(phase{kind: kind, step: "apply", what: fmt.Sprintf("SIGSTOP %s and %d link changes", d.name, 4*stormPairs), bound: r.takeover()})
		lb.signal(d, syscall.SIGCONT)
		w.node[k].stopped = false
		r.check(phase{kind: kind, step: "heal", what: "SIGCONT " + d.name, bound: r.resolve(), rule: rule{spurious: true}})
	case faultFDs:
		release := lb.pressFDs(d)
		r.check(phase{kind: kind, step: "apply", what: "descriptor pressure on " + d.name, bound: r.takeover()})
		release()
		r.check(phase{kind: kind, step: "heal", what: "end descriptor pressure on " + d.name, bound: r.takeover()})
	case faultBFD:
		// Both steps must leave every instance where it is: the
		// check's model expects no change, and no director may enter
		// MASTER, even for a moment the VIP check would not see.
		what := "BFD dropped on " + d.name
		armed := "BFD session to master " + dirAddr(k) + " is down"
		masters, downs, arms := r.masterEntries(), strings.Count(d.log(), "Entering Down state"), r.logged(armed)
		lb.blockBFD(d.host)
		r.check(phase{kind: kind, step: "apply", what: what, bound: r.takeover()})
		r.noMaster(kind, "apply", what, masters)
		// What makes the fault mean something: its sessions went Down,
		// and a backup of an instance it is master of, naming its
		// session in bfd_takeover, armed the takeover that the
		// master's answering advert then spent.
		if strings.Count(d.log(), "Entering Down state") == downs {
			r.violation(kind, "apply", what+": no BFD session of "+d.name+" went Down")
		}
		if r.backedUpByBFD(k) && r.logged(armed) == arms {
			r.violation(kind, "apply", what+": no backup of "+d.name+" acted on the Down")
		}
		masters = r.masterEntries()
		lb.unblockBFD(d.host)
		r.check(phase{kind: kind, step: "heal", what: "end " + what, bound: r.takeover()})
		r.noMaster(kind, "heal", "end "+what, masters)
	case faultTrack:
		if err := os.WriteFile(d.healthFlag(), nil, 0o644); err != nil {
			lb.t.Fatal(err)
		}
		w.node[k].healthy = false
		r.check(phase{kind: kind, step: "apply", what: "health of " + d.name + " fails", bound: scriptInterval + r.takeover()})
		if err := os.Remove(d.healthFlag()); err != nil {
			lb.t.Fatal(err)
		}
		w.node[k].healthy = true
		r.check(phase{kind: kind, step: "heal", what: "health of " + d.name + " recovers", bound: scriptInterval + r.takeover()})
	}
}

// masterEntries counts the transitions to MASTER that every director has
// logged so far, in all its runs.
func (r *run) masterEntries() int {
	n := 0
	for _, d := range r.lb.dirs {
		n += strings.Count(d.log(), "Entering MASTER STATE")
	}
	return n
}

// logged counts the lines holding s that every director has logged so
// far.
func (r *run) logged(s string) int {
	n := 0
	for _, d := range r.lb.dirs {
		n += strings.Count(d.log(), s)
	}
	return n
}

// backedUpByBFD reports whether director k is, by the model, master of an
// instance whose bfd_takeover names k's session on some other director.
func (r *run) backedUpByBFD(k int) bool {
	for i, in := range instances {
		if !r.w.claim[i][k] {
			continue
		}
		for j := range nDirectors {
			if j != k && takeoverPeer(in, j) == k {
				return true
			}
		}
	}
	return false
}

// noMaster records a violation if any director entered MASTER since
// masterEntries returned before.
func (r *run) noMaster(kind, step, what string, before int) {
	if n := r.masterEntries() - before; n > 0 {
		r.violation(kind, step, fmt.Sprintf("%s: %d transitions to MASTER with every master's adverts arriving", what, n))
	}
}

// violation records a broken invariant of a step already checked.
func (r *run) violation(kind, step, msg string) {
	if ta := r.tallies[kind+" "+step]; ta != nil {
		ta.bad++
	}
	v := fmt.Sprintf("+%v %s %s: %s", r.lb.since(), kind, step, msg)
	r.violations = append(r.violations, v)
	r.lb.t.Logf("VIOLATION %s\n%s", v, r.excerpts(time.Now()))
}

// split draws the two sides of a partition over the directors and the
// client (indexed as lab.hosts), each side with at least one director.
func (r *run) split() []int {
	for {
		side := make([]int, nDirectors+1)
		var n [2]int
		for h := range side {
			side[h] = r.rng.IntN(2)
			if h < nDirectors {
				n[side[h]]++
			}
		}
		if n[0] > 0 && n[1] > 0 {
			return side
		}
	}
}

// check waits until the lab matches the model's expectations, at most
// ph.bound after the fault, then waits out the bound and checks again, so
// that a late wrong move (a restarted backup preempting a nopreempt
// owner) is caught too. A mismatch at the bound is a violation; the model
// then follows what was observed so that the run can go on.
func (r *run) check(ph phase) {
	lb, w := r.lb, r.w
	t0 := time.Now()
	lb.t.Logf("+%v (%s) %s %s: %s", lb.since(), t0.Format("15:04:05.000"), ph.kind, ph.step, ph.what)
	key := ph.kind + " " + ph.step
	ta := r.tallies[key]
	if ta == nil {
		ta = &tally{bound: ph.bound}
		r.tallies[key] = ta
	}
	ta.applied++
	exp := make([][2][]int, len(instances))
	for i := range instances {
		exp[i] = w.expect(i, ph.rule)
	}
	// A connection normally answers in microseconds. Under loss one
	// may need TCP's retransmissions (the SYN's after 1 s, the
	// answer's after 200 ms, doubling) and still fail at 30 % loss
	// each way about one time in three: several at once, with time
	// for two SYNs, make a check that fails for the loss alone rare.
	dial, tries := 300*time.Millisecond, 1
	if ph.lossy {
		dial, tries = 2500*time.Millisecond, 4
	}
	poll := func(until time.Time) (*observation, string, bool) {
		for {
			o, err := lb.observe(w, exp, dial, tries)
			if err != nil {
				lb.t.Fatal(err)
			}
			bad := lb.verify(w, exp, o)
			if bad == "" {
				return o, "", true
			}
			if time.Now().After(until) {
				return o, bad, false
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	deadline := t0.Add(ph.bound)
	o, bad, ok := poll(deadline)
	took := time.Since(t0)
	if ok {
		// Hold until the bound (and at least one advert) has passed.
		time.Sleep(max(time.Until(deadline), lb.advert))
		until := time.Now()
		if ph.lossy {
			until = until.Add(r.takeover())
		}
		o, bad, ok = poll(until)
		if !ok {
			bad = "after converging in " + took.Round(time.Millisecond).String() + ": " + bad
		}
	}
	r.checks++
	ta.checks++
	if ok {
		ta.worst = max(ta.worst, took)
		lb.t.Logf("+%v   ok, converged in %v (bound %v)", lb.since(), took.Round(time.Millisecond), ph.bound.Round(time.Millisecond))
	} else {
		ta.bad++
		v := fmt.Sprintf("+%v %s %s (%s), bound %v: %s", lb.since(), ph.kind, ph.step, ph.what, ph.bound.Round(time.Millisecond), bad)
		r.violations = append(r.violations, v)
		lb.t.Logf("VIOLATION %s\n%s", v, r.excerpts(t0))
	}
	w.settle(o.holders)
}

// excerpts returns each director's log lines printed since t0 (the
// console log carries no timestamps, so by position: the last lines).
func (r *run) excerpts(t0 time.Time) string {
	var b strings.Builder
	for _, d := range r.lb.dirs {
		lines := strings.Split(strings.TrimRight(d.log(), "\n"), "\n")
		lines = lines[max(0, len(lines)-40):]
		fmt.Fprintf(&b, "--- %s (last %d lines) ---\n%s\n", d.name, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// report renders the run's summary.
func (r *run) report(seed uint64, duration time.Duration, kinds []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos report: seed %d, %v of faults (%v in all), advert_int %v VRRPv3, allowance %v\n",
		seed, duration, r.lb.since(), r.lb.advert, allowance)
	if r.lb.bfd {
		fmt.Fprintf(&b, "BFD: %d x %v between every two directors, bfd_takeover to each instance's usual master\n",
			bfdMultiplier, bfdInterval)
	}
	if !r.lb.netem {
		fmt.Fprintf(&b, "netem: NOT AVAILABLE in this kernel; fault kind %q not applied\n", faultNetem)
	}
	fmt.Fprintf(&b, "invariant checks: %d, violations: %d\n\n", r.checks, len(r.violations))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\tstep\tapplied\tchecks\tviolations\tworst convergence\tbound")
	for _, k := range append([]string{"start"}, kinds...) {
		for _, step := range []string{"apply", "heal"} {
			ta := r.tallies[k+" "+step]
			if ta == nil {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%v\t%v\n", k, step, ta.applied, ta.checks, ta.bad,
				ta.worst.Round(time.Millisecond), ta.bound.Round(time.Millisecond))
		}
	}
	tw.Flush()
	for _, v := range r.violations {
		fmt.Fprintf(&b, "\nviolation: %s", v)
	}
	return b.String()
}

// save writes the report and each director's log under dir.
func (r *run) save(dir, report string) {
	t := r.lb.t
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("saving the report: %v", err)
		return
	}
	os.WriteFile(filepath.Join(dir, "report.txt"), []byte(report+"\n"), 0o644)
	for _, d := range r.lb.dirs {
		os.WriteFile(filepath.Join(dir, d.name+".log"), []byte(d.log()), 0o644)
	}
}
