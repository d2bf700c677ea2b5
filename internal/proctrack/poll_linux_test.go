package proctrack

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// fakeProc is a directory laid out as /proc, with processes the test
// adds and removes. Their PIDs are above the kernel's PID_MAX_LIMIT, so
// that no pidfd ever opens on a real process.
type fakeProc string

const fakePID = 1 << 23

func (fp fakeProc) set(t *testing.T, pid, ppid int, comm string, start uint64, state string) {
	t.Helper()
	dir := filepath.Join(string(fp), strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid, then 16 fields up to starttime, the 22nd.
	stat := fmt.Sprintf("%d (%s) %s %d 0 0 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, comm, state, ppid, start)
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(comm+"\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (fp fakeProc) remove(t *testing.T, pid int) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(string(fp), strconv.Itoa(pid))); err != nil {
		t.Fatal(err)
	}
}

// TestPoll drives the poller over a fake /proc: a process that comes is
// counted, a child of a counted process counts as a fork (fork_delay), a
// zombie or a vanished process is gone, a PID used again by another
// program is an exit, and a process that executes the program comes in
// at the full pass unless it is young.
func TestPoll(t *testing.T) {
	fp := fakeProc(t.TempDir())
	fp.set(t, fakePID, 1, "other", 100, "S")
	s := Spec{Name: "p", Process: "prog", Quorum: 2, QuorumMax: math.MaxUint32, ForkDelay: time.Second}
	log := logrus.New()
	log.SetOutput(io.Discard)
	w := &Watcher{cfg: Config{Log: log, PollInterval: DefaultPollInterval}, fs: procfs{root: string(fp)}, exited: make(chan int)}
	w.m = newMonitor([]Spec{s}, w.fs, log)
	timers := &fakeTimers{}
	w.m.after = timers.after
	var changes []change
	w.m.changed = func(name string, up bool) { changes = append(changes, change{name, up}) }
	if err := w.m.start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.startPolling(ctx)
	// Past the young age of the processes there.
	w.polls = w.youngFor
	expect := func(what string, count uint32, want ...change) {
		t.Helper()
		if got := w.m.tracked[0].count; got != count {
			t.Fatalf("%s: count %d, want %d", what, got, count)
		}
		if fmt.Sprint(changes) != fmt.Sprint(want) {
			t.Fatalf("%s: changes %v, want %v", what, changes, want)
		}
	}

	fp.set(t, fakePID+1, 1, "prog", 200, "S")
	w.poll(ctx)
	expect("one prog", 1)
	// Its child: a fork, which waits fork_delay.
	fp.set(t, fakePID+2, fakePID+1, "prog", 300, "S")
	w.poll(ctx)
	expect("a forked prog", 2)
	if n := timers.fire(); n != 1 {
		t.Fatalf("%d timers fired, want fork_delay's", n)
	}
	expect("fork_delay over", 2, change{"p", true})
	// A zombie has gone.
	fp.set(t, fakePID+2, fakePID+1, "prog", 300, "Z")
	w.full(ctx)
	expect("a zombie", 1, change{"p", true}, change{"p", false})
	// The other process executes prog: seen at the full pass only.
	fp.set(t, fakePID, 1, "prog", 100, "S")
	w.poll(ctx)
	expect("exec unseen yet", 1, change{"p", true}, change{"p", false})
	w.full(ctx)
	expect("exec seen", 2, change{"p", true}, change{"p", false}, change{"p", true})
	// A PID used again, by another program, between two polls.
	fp.set(t, fakePID+1, 1, "else", 400, "S")
	w.full(ctx)
	expect("PID used again", 1, change{"p", true}, change{"p", false}, change{"p", true}, change{"p", false})
	// A process that vanishes.
	fp.remove(t, fakePID)
	w.poll(ctx)
	expect("gone", 0, change{"p", true}, change{"p", false}, change{"p", true}, change{"p", false})
	// A shell that comes, then executes prog: young, it is seen at the
	// next poll.
	changes = nil
	fp.set(t, fakePID+3, 1, "sh", 500, "S")
	w.poll(ctx)
	fp.set(t, fakePID+3, 1, "prog", 500, "S")
	w.poll(ctx)
	expect("a young process executes prog", 1)
}

// full polls until a full pass, and once more.
func (w *Watcher) full(ctx context.Context) {
	for w.poll(ctx); w.polls%w.youngFor != 0; {
		w.poll(ctx)
	}
}
