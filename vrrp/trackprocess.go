package vrrp

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/proctrack"
)

// ParamMatch is how a TrackProcess compares a process's arguments with
// its Params (param_match).
type ParamMatch int

// The param_match modes.
const (
	ParamMatchNone    ParamMatch = iota // the name alone
	ParamMatchExact                     // the same arguments, no more
	ParamMatchPartial                   // the arguments given first, maybe more
	ParamMatchInitial                   // as partial, the last one only a prefix
)

// A TrackProcess is a vrrp_track_process block: the processes of a name
// (their comm, or with FullCommand the first word of their command
// line, then Params by ParamMatch), counted against Quorum and
// QuorumMax, move the priority of the instances tracking them or put
// them in FAULT. The router reads /proc once, then follows the kernel's
// process events; where the kernel refuses them (in a network namespace
// other than the initial one) it polls /proc and hears counted processes
// exit through pidfds.
type TrackProcess struct {
	Name        string
	Process     string
	Params      []string
	ParamMatch  ParamMatch
	FullCommand bool
	// Quorum and QuorumMax bound the number of processes for the
	// tracker to be up; both 0: up while no such process runs.
	Quorum, QuorumMax uint32
	// TerminateDelay holds a loss through processes exiting, ForkDelay
	// a gain through processes forking, before they count.
	TerminateDelay, ForkDelay time.Duration
}

// A TrackedProcess is a track_process entry of an instance. With weight
// 0 the instance is in FAULT while the process has no quorum (with
// Reverse, while it has); otherwise a positive weight is added to the
// priority while it has quorum, a negative one while it has not, and
// Reverse subtracts instead.
type TrackedProcess struct {
	Process *TrackProcess
	Weight  int
	Reverse bool
}

// A processTracker is one vrrp_track_process as the router follows it.
// Its quorum belongs to the Router's lock.
type processTracker struct {
	proc   *TrackProcess
	quorum bool
}

type memberProcess struct {
	t       *processTracker
	weight  int
	reverse bool
}

// effect is what the tracker does to an instance tracking it with weight
// and reverse, as keepalived's process_update_track_process_status.
func (t *processTracker) effect(weight int, reverse bool) (fault bool, offset int) {
	if weight == 0 {
		return t.quorum == reverse, 0
	}
	if t.quorum != (weight > 0) {
		return false, 0
	}
	if reverse {
		return false, -weight
	}
	return false, weight
}

// processTrackers are the router's process trackers, by name, and the
// one Watcher that counts for all of them, as keepalived has one process
// monitor.
type processTrackers struct {
	byName  map[string]*processTracker
	watcher *proctrack.Watcher
	watched []*processTracker // what watcher counts for
	gen     uint64            // counts the watchers, telling a stale one's reports
}

func sameProcess(a, b *TrackProcess) bool {
	return a.Name == b.Name && a.Process == b.Process && slices.Equal(a.Params, b.Params) &&
		a.ParamMatch == b.ParamMatch && a.FullCommand == b.FullCommand && a.Quorum == b.Quorum &&
		a.QuorumMax == b.QuorumMax && a.TerminateDelay == b.TerminateDelay && a.ForkDelay == b.ForkDelay
}

// attachProcesses points m at the trackers of its processes, sharing
// those with the same definition.
func (r *Router) attachProcesses(m *member, nc NetConfig) {
	m.processes = nil
	pt := &r.processes
	if pt.byName == nil {
		pt.byName = make(map[string]*processTracker)
	}
	for _, tp := range nc.TrackProcesses {
		t := pt.byName[tp.Process.Name]
		if t == nil || !sameProcess(t.proc, tp.Process) {
			t = &processTracker{proc: tp.Process}
			pt.byName[tp.Process.Name] = t
		}
		m.processes = append(m.processes, memberProcess{t: t, weight: tp.Weight, reverse: tp.Reverse})
	}
}

// startProcesses drops the process trackers no instance uses any more
// and, on a running router, counts the processes again for a new set of
// trackers, as keepalived reads /proc again on reload; the instances
// take the new counts when they apply.
func (r *Router) startProcesses() {
	pt := &r.processes
	used := make(map[*processTracker]bool)
	for _, m := range r.members {
		for _, mp := range m.processes {
			used[mp.t] = true
		}
	}
	var all []*processTracker
	for name, t := range pt.byName {
		if !used[t] {
			delete(pt.byName, name)
			continue
		}
		all = append(all, t)
	}
	slices.SortFunc(all, func(a, b *processTracker) int { return strings.Compare(a.proc.Name, b.proc.Name) })
	if !r.running || slices.Equal(all, pt.watched) && pt.watcher != nil {
		return
	}
	pt.close()
	pt.watched = all
	if len(all) == 0 {
		return
	}
	specs := make([]proctrack.Spec, len(all))
	for k, t := range all {
		p := t.proc
		specs[k] = proctrack.Spec{
			// vrrp's ParamMatch values are proctrack's.
			Name: p.Name, Process: p.Process, Params: p.Params, ParamMatch: proctrack.ParamMatch(p.ParamMatch),
			FullCommand: p.FullCommand, Quorum: p.Quorum, QuorumMax: p.QuorumMax,
			TerminateDelay: p.TerminateDelay, ForkDelay: p.ForkDelay,
		}
	}
	pt.gen++
	gen := pt.gen
	w, quorums, err := proctrack.Start(r.trackCtx, proctrack.Config{
		Specs:   specs,
		Log:     r.log,
		Changed: func(name string, up bool) { r.processChanged(gen, name, up) },
	})
	if err != nil {
		r.log.Errorf("%v", err)
		return
	}
	pt.watcher = w
	for _, t := range all {
		t.quorum = quorums[t.proc.Name]
	}
	r.trackWG.Add(1)
	go func() {
		defer r.trackWG.Done()
		<-w.Done()
	}()
	for _, m := range r.members {
		for _, mp := range m.processes {
			if mp.weight == 0 && mp.t.quorum == mp.reverse {
				r.log.Infof("(%s) entering FAULT state (tracked process %s quorum not achieved)", m.inst.Name(), mp.t.proc.Name)
			}
		}
	}
}

// processChanged applies a change of a process tracker's quorum to the
// instances tracking it.
func (r *Router) processChanged(gen uint64, name string, up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pt := &r.processes
	t := pt.byName[name]
	if pt.gen != gen || pt.watcher == nil || t == nil || !slices.Contains(pt.watched, t) {
		return
	}
	t.quorum = up
	r.applyTracking(func(m *member) bool {
		return slices.ContainsFunc(m.processes, func(mp memberProcess) bool { return mp.t == t })
	})
}

// close stops the watcher, without waiting.
func (pt *processTrackers) close() {
	if pt.watcher != nil {
		pt.watcher.Close()
		pt.watcher = nil
	}
	pt.watched = nil
}

// checkProcesses checks an instance's track_process entries.
func checkProcesses(name string, nc NetConfig) error {
	for _, tp := range nc.TrackProcesses {
		if tp.Process == nil || tp.Process.Name == "" || tp.Process.Process == "" {
			return fmt.Errorf("vrrp instance %s: track_process without a process", name)
		}
	}
	return nil
}
