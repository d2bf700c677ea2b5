package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A daemonKind is one of the two daemons under comparison.
type daemonKind string

const (
	keepalived   daemonKind = "keepalived"
	gokeepalived daemonKind = "gokeepalived"
)

// daemons are the two daemons, the reference first.
func daemons() []daemonKind { return []daemonKind{keepalived, gokeepalived} }

// path is the daemon's program: keepalived from the guest image, ours
// from the directory TestKernel copied into the guest.
func (k daemonKind) path(t *testing.T) string {
	t.Helper()
	if k != gokeepalived {
		return "keepalived"
	}
	p, err := filepath.Abs("gokeepalived")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// scriptMarks is the prefix of the files the configurations' scripts
// touch. Each daemon gets it moved to a directory of its own, since both
// run at once.
const scriptMarks = "/tmp/e2e-"

// A daemon is a running checker process, in its lab: -C, in the
// foreground, logging in detail to its console, which the test keeps.
type daemon struct {
	kind  daemonKind
	lab   *lab
	conf  string // the daemon's copy of its configuration
	marks string // where its scripts leave their marks
	log   *syncBuffer
	proc  *os.Process
	done  chan struct{}
	err   error
}

// startDaemon runs kind in l on a copy of the configuration src, with its
// pid files in a directory of its own, running the checkers only (-C). The
// daemon is killed when t ends if the test has not stopped it.
func startDaemon(t *testing.T, l *lab, kind daemonKind, src string) *daemon {
	t.Helper()
	return startWith(t, l, kind, src, "-C")
}

// load writes the configuration src where the daemon reads it.
func (d *daemon) load(t *testing.T, src string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(scriptMarks), []byte(d.marks+"/e2e-"))
	if err := os.WriteFile(d.conf, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// scriptMarks returns the names of the files the daemon's scripts touched.
func (d *daemon) scriptMarks(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(d.marks)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// running fails t if the daemon has exited.
func (d *daemon) running(t *testing.T) {
	t.Helper()
	select {
	case <-d.done:
		t.Fatalf("%s exited: %v\n%s", d.kind, d.err, d.log)
	default:
	}
}

// signal sends sig to the running daemon.
func (d *daemon) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	d.running(t)
	if err := d.proc.Signal(sig); err != nil {
		t.Fatalf("signalling %s: %v", d.kind, err)
	}
}

// stop sends SIGTERM to every daemon and waits for them to exit cleanly;
// their tables must then be empty.
func stop(t *testing.T, ds ...*daemon) {
	t.Helper()
	for _, d := range ds {
		d.signal(t, syscall.SIGTERM)
	}
	for _, d := range ds {
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still running 10s after SIGTERM\n%s", d.kind, d.log)
		}
		if d.err != nil {
			t.Errorf("%s after SIGTERM: %v\n%s", d.kind, d.err, d.log)
		}
		if left := d.lab.saved(t); len(left) != 0 {
			t.Errorf("%s left entries after SIGTERM:\n  %s\n%s", d.kind, strings.Join(left, "\n  "), d.log)
		}
	}
}

// syncBuffer is a log that the daemon writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// saved is the lab's `ipvsadm -Sn`, lines sorted: the order of the
// destinations of a service is the order they were added in, which is
// not part of what the daemons must agree on.
func (l *lab) saved(t *testing.T) []string {
	t.Helper()
	return sortedLines(l.run(t, "ipvsadm", "-Sn"))
}

// thresholds is the lab's `ipvsadm -Ln --thresholds`, lines sorted.
func (l *lab) thresholds(t *testing.T) []string {
	t.Helper()
	return sortedLines(l.run(t, "ipvsadm", "-Ln", "--thresholds"))
}

func sortedLines(s string) []string {
	lines := slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return strings.TrimSpace(l) == "" })
	slices.Sort(lines)
	return lines
}

// converge waits until each daemon's table is not empty and has not
// changed for stableFor, and returns the tables. It fails t after
// convergeMax.
func converge(t *testing.T, ds ...*daemon) [][]string {
	t.Helper()
	last := make([][]string, len(ds))
	since := make([]time.Time, len(ds))
	stable := make([]bool, len(ds))
	for start := time.Now(); time.Since(start) < convergeMax; time.Sleep(100 * time.Millisecond) {
		all := true
		for i, d := range ds {
			if stable[i] {
				continue
			}
			d.running(t)
			cur := d.lab.saved(t)
			switch {
			case since[i].IsZero() || !slices.Equal(cur, last[i]):
				last[i], since[i] = cur, time.Now()
				all = false
			case len(cur) > 0 && time.Since(since[i]) >= stableFor:
				stable[i] = true
			default:
				all = false
			}
		}
		if all {
			return last
		}
	}
	for i, d := range ds {
		if !stable[i] {
			t.Errorf("%s: table not stable after %v:\n  %s\n%s", d.kind, convergeMax, strings.Join(last[i], "\n  "), d.log)
		}
	}
	t.FailNow()
	return nil
}

// waitTables waits until each daemon's table satisfies ok and returns how
// long that took for each; it fails t after limit.
func waitTables(t *testing.T, what string, limit time.Duration, ok func(d *daemon, table []string) bool, ds ...*daemon) []time.Duration {
	t.Helper()
	return waitLines(t, what, limit, func(d *daemon) []string { return d.lab.saved(t) }, ok, ds...)
}

// waitLines waits until what read returns for each daemon satisfies ok
// and returns how long that took for each; it fails t after limit.
func waitLines(t *testing.T, what string, limit time.Duration, read func(d *daemon) []string, ok func(d *daemon, lines []string) bool, ds ...*daemon) []time.Duration {
	t.Helper()
	took := make([]time.Duration, len(ds))
	last := make([][]string, len(ds))
	start := time.Now()
	for time.Since(start) < limit {
		all := true
		for i, d := range ds {
			if took[i] != 0 {
				continue
			}
			if last[i] = read(d); ok(d, last[i]) {
				took[i] = time.Since(start)
				continue
			}
			all = false
		}
		if all {
			return took
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, d := range ds {
		if took[i] == 0 {
			t.Errorf("%s: %s: not within %v; have:\n  %s\n%s", d.kind, what, limit, strings.Join(last[i], "\n  "), d.log)
		}
	}
	t.FailNow()
	return nil
}

// diffLines returns the lines only in a and the lines only in b.
func diffLines(a, b []string) (onlyA, onlyB []string) {
	for _, l := range a {
		if !slices.Contains(b, l) {
			onlyA = append(onlyA, l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			onlyB = append(onlyB, l)
		}
	}
	return onlyA, onlyB
}

// sideBySide formats one duration per daemon.
func sideBySide(ds []*daemon, took []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s %v", d.kind, took[i].Round(time.Millisecond))
	}
	return strings.Join(parts, ", ")
}
