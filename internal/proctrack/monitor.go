package proctrack

import (
	"time"

	"github.com/sirupsen/logrus"
)

// A Table reads the system's processes.
type Table interface {
	// Lookup reads one process, its command line as far as cmdlineLen
	// (none when 0); ok is false when it has gone or is a zombie.
	Lookup(pid, cmdlineLen int) (p Proc, ok bool)
	// List reads every process, as Lookup does.
	List(cmdlineLen int) ([]Proc, error)
}

// A tracked is one definition's count and quorum, and its pending
// timers: the cancel functions of a delayed gain (fork) or loss (exit).
type tracked struct {
	spec      Spec
	count     uint32
	quorum    bool
	forkTimer func()
	termTimer func()
}

func (t *tracked) cancelFork() bool { return stopTimer(&t.forkTimer) }
func (t *tracked) cancelTerm() bool { return stopTimer(&t.termTimer) }

// stopTimer cancels the timer *cancel holds, if any, and reports whether
// there was one.
func stopTimer(cancel *func()) bool {
	if *cancel == nil {
		return false
	}
	(*cancel)()
	*cancel = nil
	return true
}

// A monitor is keepalived's process tree: which definitions count each
// process, and the counts. It is driven by one goroutine: the events,
// the timers' functions and the scans all come through it.
type monitor struct {
	tracked    []*tracked
	pids       map[int][]*tracked
	table      Table
	cmdlineLen int // how much of a command line the definitions need
	log        logrus.FieldLogger
	// after runs f after d, in the monitor's goroutine, unless the
	// function it returns is called first.
	after func(d time.Duration, f func()) (cancel func())
	// changed hears of each change of a definition's quorum.
	changed func(name string, up bool)
}

func newMonitor(specs []Spec, table Table, log logrus.FieldLogger) *monitor {
	m := &monitor{table: table, log: log, pids: make(map[int][]*tracked)}
	for _, s := range specs {
		m.tracked = append(m.tracked, &tracked{spec: s})
		if s.FullCommand {
			m.cmdlineLen = max(m.cmdlineLen, s.cmdlineLen())
		}
	}
	return m
}

// quorums is every definition's quorum, by name.
func (m *monitor) quorums() map[string]bool {
	q := make(map[string]bool, len(m.tracked))
	for _, t := range m.tracked {
		q[t.spec.Name] = t.quorum
	}
	return q
}

// counts reports whether pid counts for t.
func (m *monitor) counts(pid int, t *tracked) bool {
	for _, x := range m.pids[pid] {
		if x == t {
			return true
		}
	}
	return false
}

// scan counts the processes from scratch, as keepalived's read_procs,
// and returns the previous counts.
func (m *monitor) scan() ([]uint32, error) {
	procs, err := m.table.List(m.cmdlineLen)
	if err != nil {
		return nil, err
	}
	old := make([]uint32, len(m.tracked))
	for k, t := range m.tracked {
		old[k] = t.count
		t.count = 0
		t.cancelFork()
		t.cancelTerm()
	}
	clear(m.pids)
	for k := range procs {
		p := &procs[k]
		for _, t := range m.tracked {
			if t.spec.Match(p, true) {
				m.pids[p.PID] = append(m.pids[p.PID], t)
				t.count++
			}
		}
	}
	return old, nil
}

// start makes the first scan and takes its quorums without reporting
// them: keepalived sets the instances' first priorities from them.
func (m *monitor) start() error {
	if _, err := m.scan(); err != nil {
		return err
	}
	for _, t := range m.tracked {
		t.quorum = t.spec.inQuorum(t.count)
	}
	return nil
}

// rescan counts again after lost events, as keepalived's
// reinitialise_track_processes: a quorum gained counts at once, one lost
// after terminate_delay. keepalived compares the new counts with the old
// ones, so that a loss whose delay the rescan cancelled is never
// reported; here the quorum follows the new count whatever it was.
func (m *monitor) rescan() error {
	old, err := m.scan()
	if err != nil {
		return err
	}
	for k, t := range m.tracked {
		if old[k] != t.count {
			m.log.Debugf("Process %s, number of current processes changed from %d to %d", t.spec.Name, old[k], t.count)
		}
		switch up := t.spec.inQuorum(t.count); {
		case up == t.quorum:
		case up:
			m.update(t, true)
		case t.spec.TerminateDelay > 0:
			m.delayLoss(t)
		default:
			m.update(t, false)
		}
	}
	return nil
}

// update sets t's quorum, reporting a change.
func (m *monitor) update(t *tracked, up bool) {
	if up == t.quorum {
		return
	}
	t.quorum = up
	word := "lost"
	if up {
		word = "gained"
	}
	m.log.Infof("Quorum %s for tracked process %s", word, t.spec.Name)
	if m.changed != nil {
		m.changed(t.spec.Name, up)
	}
}

// settle is a delay's end: the quorum is what the count is then.
func (m *monitor) settle(t *tracked) {
	m.update(t, t.spec.inQuorum(t.count))
}

func (m *monitor) delayLoss(t *tracked) {
	t.termTimer = m.after(t.spec.TerminateDelay, func() {
		t.termTimer = nil
		m.settle(t)
	})
}

func (m *monitor) delayGain(t *tracked) {
	t.cancelFork()
	t.forkTimer = m.after(t.spec.ForkDelay, func() {
		t.forkTimer = nil
		m.settle(t)
	})
}

// add counts pid for t. A count reaching the quorum, or going over the
// maximum, is a change: through a fork it waits fork_delay, unless it
// undoes a loss still waiting its terminate_delay.
func (m *monitor) add(pid int, t *tracked, fork bool) {
	m.pids[pid] = append(m.pids[pid], t)
	t.count++
	if t.count != t.spec.Quorum && t.count != t.spec.QuorumMax+1 {
		return
	}
	if !t.cancelTerm() && fork && t.spec.ForkDelay > 0 {
		m.delayGain(t)
		return
	}
	m.update(t, t.count == t.spec.Quorum)
}

// remove stops counting pid for t. A count going under the quorum, or
// back to the maximum, is a change: through an exit it waits
// terminate_delay, unless it undoes a gain still waiting its fork_delay.
func (m *monitor) remove(pid int, t *tracked, exit bool) {
	refs := m.pids[pid]
	for k, x := range refs {
		if x == t {
			refs = append(refs[:k], refs[k+1:]...)
			break
		}
	}
	if len(refs) == 0 {
		delete(m.pids, pid)
	} else {
		m.pids[pid] = refs
	}
	was := t.count
	t.count--
	if was != t.spec.Quorum && t.count != t.spec.QuorumMax {
		return
	}
	if !t.cancelFork() && exit && t.spec.TerminateDelay > 0 {
		t.cancelTerm()
		m.delayLoss(t)
		return
	}
	m.update(t, t.count == t.spec.QuorumMax)
}

// exec is a process that executed a new program (PROC_EVENT_EXEC), or
// is new or changed to the poller: it counts for the definitions it
// matches now, and no longer for the others. keepalived 2.2.7 counts a
// process again each time it executes the same program, over-counting
// it until it exits; here a process counts once.
func (m *monitor) exec(pid int) {
	p, ok := m.table.Lookup(pid, m.cmdlineLen)
	if !ok {
		// Gone already: its exit event follows.
		return
	}
	m.recheck(&p, true)
}

// comm is a process that changed its name (PROC_EVENT_COMM): the
// definitions by name follow it; those by command line do not.
func (m *monitor) comm(pid int, comm string) {
	m.recheck(&Proc{PID: pid, Comm: comm}, false)
}

func (m *monitor) recheck(p *Proc, cmdline bool) {
	for _, t := range m.tracked {
		if t.spec.FullCommand && !cmdline {
			continue
		}
		match, had := t.spec.Match(p, cmdline), m.counts(p.PID, t)
		switch {
		case match && !had:
			m.add(p.PID, t, false)
		case !match && had:
			m.remove(p.PID, t, false)
		}
	}
}

// fork is a new process (PROC_EVENT_FORK): a child counts where its
// parent does, until it executes something else.
func (m *monitor) fork(parent, child int) {
	for _, t := range m.pids[parent] {
		if !m.counts(child, t) {
			m.add(child, t, true)
		}
	}
}

// exit is a process that ended (PROC_EVENT_EXIT).
func (m *monitor) exit(pid int) {
	for _, t := range append([]*tracked(nil), m.pids[pid]...) {
		m.remove(pid, t, true)
	}
}

// stop cancels the pending timers.
func (m *monitor) stop() {
	for _, t := range m.tracked {
		t.cancelFork()
		t.cancelTerm()
	}
}
