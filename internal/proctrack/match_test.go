package proctrack

import (
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func cmdline(words ...string) []byte {
	return []byte(strings.Join(words, "\x00") + "\x00")
}

func TestMatch(t *testing.T) {
	p := &Proc{PID: 10, Comm: "nginx", Cmdline: cmdline("/usr/sbin/nginx", "-g", "daemon off;")}
	for _, tc := range []struct {
		name string
		spec Spec
		p    *Proc
		want bool
	}{
		{"comm", Spec{Process: "nginx"}, p, true},
		{"comm other", Spec{Process: "ngin"}, p, false},
		{"comm is not the path", Spec{Process: "/usr/sbin/nginx"}, p, false},
		{"full command", Spec{Process: "/usr/sbin/nginx", FullCommand: true}, p, true},
		{"full command is not comm", Spec{Process: "nginx", FullCommand: true}, p, false},
		{"exact", Spec{Process: "/usr/sbin/nginx", Params: []string{"-g", "daemon off;"}, ParamMatch: ParamMatchExact, FullCommand: true}, p, true},
		{"exact, fewer", Spec{Process: "/usr/sbin/nginx", Params: []string{"-g"}, ParamMatch: ParamMatchExact, FullCommand: true}, p, false},
		{"exact, none given", Spec{Process: "/usr/sbin/nginx", ParamMatch: ParamMatchExact, FullCommand: true}, p, false},
		{"exact, none either", Spec{Process: "sleep", ParamMatch: ParamMatchExact, FullCommand: true}, &Proc{Cmdline: cmdline("sleep")}, true},
		{"partial", Spec{Process: "/usr/sbin/nginx", Params: []string{"-g"}, ParamMatch: ParamMatchPartial, FullCommand: true}, p, true},
		{"partial, word prefix", Spec{Process: "/usr/sbin/nginx", Params: []string{"-g", "daemon"}, ParamMatch: ParamMatchPartial, FullCommand: true}, p, false},
		{"initial, word prefix", Spec{Process: "/usr/sbin/nginx", Params: []string{"-g", "daemon"}, ParamMatch: ParamMatchInitial, FullCommand: true}, p, true},
		{"initial, middle word prefix", Spec{Process: "/usr/sbin/nginx", Params: []string{"-", "daemon"}, ParamMatch: ParamMatchInitial, FullCommand: true}, p, false},
		{"partial, longer", Spec{Process: "/usr/sbin/nginx", Params: []string{"-g", "daemon off;", "x"}, ParamMatch: ParamMatchPartial, FullCommand: true}, p, false},
		{"partial, none given", Spec{Process: "/usr/sbin/nginx", ParamMatch: ParamMatchPartial, FullCommand: true}, p, true},
		{"rewritten command line", Spec{Process: "nginx: master", FullCommand: true}, &Proc{Cmdline: []byte("nginx: master")}, true},
		{"rewritten, exact", Spec{Process: "nginx: master", ParamMatch: ParamMatchExact, FullCommand: true}, &Proc{Cmdline: []byte("nginx: master")}, false},
		{"rewritten, partial", Spec{Process: "nginx: master", ParamMatch: ParamMatchPartial, FullCommand: true}, &Proc{Cmdline: []byte("nginx: master")}, true},
	} {
		if got := tc.spec.Match(tc.p, true); got != tc.want {
			t.Errorf("%s: Match(%q, %q) = %v, want %v", tc.name, tc.p.Comm, tc.p.Cmdline, got, tc.want)
		}
	}
	// A comm event cannot tell a command line.
	s := Spec{Process: "/usr/sbin/nginx", FullCommand: true}
	if s.Match(p, false) {
		t.Error("a full_command definition matched a name alone")
	}
}

// fakeTable is a process table the test edits.
type fakeTable map[int]Proc

func (ft fakeTable) Lookup(pid, n int) (Proc, bool) {
	p, ok := ft[pid]
	if ok && len(p.Cmdline) > n {
		p.Cmdline = p.Cmdline[:n]
	}
	return p, ok
}

func (ft fakeTable) List(n int) ([]Proc, error) {
	var ps []Proc
	for pid := range ft {
		p, _ := ft.Lookup(pid, n)
		ps = append(ps, p)
	}
	return ps, nil
}

// fakeTimers runs the monitor's timers when the test says.
type fakeTimers struct {
	pending []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (ft *fakeTimers) after(d time.Duration, f func()) func() {
	t := &fakeTimer{d: d, f: f}
	ft.pending = append(ft.pending, t)
	return func() { t.stopped = true }
}

// fire runs the timers still pending and reports how many there were.
func (ft *fakeTimers) fire() int {
	n := 0
	ps := ft.pending
	ft.pending = nil
	for _, t := range ps {
		if !t.stopped {
			n++
			t.f()
		}
	}
	return n
}

type change struct {
	name string
	up   bool
}

func newTestMonitor(t *testing.T, table fakeTable, specs ...Spec) (*monitor, *fakeTimers, *[]change) {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	m := newMonitor(specs, table, log)
	timers := &fakeTimers{}
	m.after = timers.after
	var changes []change
	m.changed = func(name string, up bool) { changes = append(changes, change{name, up}) }
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	return m, timers, &changes
}

func spec(name string, quorum, quorumMax uint32) Spec {
	return Spec{Name: name, Process: name, Quorum: quorum, QuorumMax: quorumMax}
}

func (m *monitor) get(name string) *tracked {
	for _, t := range m.tracked {
		if t.spec.Name == name {
			return t
		}
	}
	return nil
}

func TestQuorum(t *testing.T) {
	table := fakeTable{
		1: {PID: 1, Comm: "init"},
		2: {PID: 2, Comm: "web"},
	}
	m, _, changes := newTestMonitor(t, table,
		spec("web", 2, math.MaxUint32), spec("one", 1, 1), spec("none", 0, 0))
	if q := m.quorums(); q["web"] || q["one"] || !q["none"] {
		t.Fatalf("first quorums %v, want web and one without, none with", q)
	}
	if len(*changes) != 0 {
		t.Fatalf("the first scan reported %v", *changes)
	}
	// A second web: quorum.
	table[3] = Proc{PID: 3, Comm: "web"}
	m.exec(3)
	// one starts: quorum, and none loses its.
	table[4] = Proc{PID: 4, Comm: "one"}
	m.exec(4)
	// A second one: over quorum_max.
	table[5] = Proc{PID: 5, Comm: "one"}
	m.exec(5)
	// Executing the same program again counts once.
	m.exec(5)
	if got := m.get("one").count; got != 2 {
		t.Fatalf("one counts %d processes, want 2", got)
	}
	m.exit(5)
	// A web renames itself: below quorum.
	m.comm(2, "other")
	want := []change{{"web", true}, {"one", true}, {"one", false}, {"one", true}, {"web", false}}
	if !equalChanges(*changes, want) {
		t.Fatalf("changes %v, want %v", *changes, want)
	}
	// An exit of a process counted nowhere changes nothing.
	m.exit(1)
	m.exit(99)
	if len(*changes) != len(want) {
		t.Fatalf("exits of untracked processes changed %v", (*changes)[len(want):])
	}
}

func TestQuorumNone(t *testing.T) {
	// quorum_max 0: up while no such process runs.
	table := fakeTable{}
	m, _, changes := newTestMonitor(t, table, spec("bad", 0, 0))
	table[7] = Proc{PID: 7, Comm: "bad"}
	m.exec(7)
	m.exit(7)
	want := []change{{"bad", false}, {"bad", true}}
	if !equalChanges(*changes, want) {
		t.Fatalf("changes %v, want %v", *changes, want)
	}
	if !m.quorums()["bad"] {
		t.Fatal("no quorum after the process went")
	}
}

func TestParamsFollowExec(t *testing.T) {
	s := Spec{Name: "srv", Process: "/bin/srv", Params: []string{"--main"}, ParamMatch: ParamMatchExact, FullCommand: true, Quorum: 1, QuorumMax: math.MaxUint32}
	table := fakeTable{8: {PID: 8, Comm: "srv", Cmdline: cmdline("/bin/srv", "--main")}}
	m, _, changes := newTestMonitor(t, table, s)
	if !m.quorums()["srv"] {
		t.Fatal("no quorum with the process running")
	}
	// It executes itself with other arguments: no longer counted, at
	// once, though it did not exit.
	table[8] = Proc{PID: 8, Comm: "srv", Cmdline: cmdline("/bin/srv", "--main", "--more")}
	m.exec(8)
	// A rename does not matter to a command line definition.
	m.comm(8, "x")
	table[8] = Proc{PID: 8, Comm: "srv", Cmdline: cmdline("/bin/srv", "--main")}
	m.exec(8)
	want := []change{{"srv", false}, {"srv", true}}
	if !equalChanges(*changes, want) {
		t.Fatalf("changes %v, want %v", *changes, want)
	}
}

func TestDelays(t *testing.T) {
	s := spec("d", 1, math.MaxUint32)
	s.TerminateDelay, s.ForkDelay = 2*time.Second, 3*time.Second
	table := fakeTable{1: {PID: 1, Comm: "d"}}
	m, timers, changes := newTestMonitor(t, table, s)

	// An exit waits terminate_delay.
	m.exit(1)
	delete(table, 1)
	if len(*changes) != 0 {
		t.Fatalf("an exit with terminate_delay reported at once: %v", *changes)
	}
	// A process executing the program in the meantime cancels the
	// loss: nothing to report.
	table[2] = Proc{PID: 2, Comm: "d"}
	m.exec(2)
	if n := timers.fire(); n != 0 || len(*changes) != 0 {
		t.Fatalf("the loss undone: %d timers fired, changes %v", n, *changes)
	}
	// It exits: the loss counts once the delay ends.
	m.exit(2)
	delete(table, 2)
	if n := timers.fire(); n != 1 {
		t.Fatalf("%d timers fired, want 1", n)
	}
	if want := []change{{"d", false}}; !equalChanges(*changes, want) {
		t.Fatalf("changes %v, want %v", *changes, want)
	}

	// A fork of a counted process waits fork_delay; an exec does not.
	// Here d has no process: the parent is counted for another
	// definition only through the fork of a counted one, so count one
	// first by exec.
	table[3] = Proc{PID: 3, Comm: "d"}
	m.exec(3)
	if want := []change{{"d", false}, {"d", true}}; !equalChanges(*changes, want) {
		t.Fatalf("an exec with fork_delay: changes %v, want %v", *changes, want)
	}
	*changes = nil
	s2 := spec("f", 2, math.MaxUint32)
	s2.ForkDelay = time.Second
	table = fakeTable{4: {PID: 4, Comm: "f"}}
	m, timers, changes = newTestMonitor(t, table, s2)
	table[5] = Proc{PID: 5, Comm: "f"}
	m.fork(4, 5)
	if len(*changes) != 0 {
		t.Fatalf("a fork with fork_delay reported at once: %v", *changes)
	}
	// The child exits before the delay ends: the gain is cancelled.
	m.exit(5)
	if n := timers.fire(); n != 0 || len(*changes) != 0 {
		t.Fatalf("the gain undone: %d timers fired, changes %v", n, *changes)
	}
	m.fork(4, 5)
	if n := timers.fire(); n != 1 {
		t.Fatalf("%d timers fired, want 1", n)
	}
	if want := []change{{"f", true}}; !equalChanges(*changes, want) {
		t.Fatalf("changes %v, want %v", *changes, want)
	}
	// A fork of a process nothing counts is nothing.
	m.fork(99, 100)
	if got := m.get("f").count; got != 2 {
		t.Fatalf("f counts %d, want 2", got)
	}
}

func TestRescan(t *testing.T) {
	s := spec("r", 1, math.MaxUint32)
	s.TerminateDelay = time.Second
	table := fakeTable{1: {PID: 1, Comm: "r"}}
	m, timers, changes := newTestMonitor(t, table, s)
	// Events were lost: the process went, and another started.
	delete(table, 1)
	if err := m.rescan(); err != nil {
		t.Fatal(err)
	}
	if n := timers.fire(); n != 1 {
		t.Fatalf("%d timers fired, want the terminate delay's", n)
	}
	table[2] = Proc{PID: 2, Comm: "r"}
	if err := m.rescan(); err != nil {
		t.Fatal(err)
	}
	if want := []change{{"r", false}, {"r", true}}; !equalChanges(*changes, want) {
		t.Fatalf("changes %v, want %v", *changes, want)
	}
	// A loss still waiting its delay when the rescan comes is not
	// forgotten.
	m.exit(2)
	delete(table, 2)
	if err := m.rescan(); err != nil {
		t.Fatal(err)
	}
	timers.fire()
	if got := m.quorums()["r"]; got {
		t.Fatal("quorum kept after a rescan found no process")
	}
}

func equalChanges(a, b []change) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}
