package notify

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
)

// StopTimeout is how long keepalived lets notify_stop scripts (and the
// scripts it runs for real servers and quorums while shutting down) run
// before it kills them.
const StopTimeout = time.Second

// Instance holds a VRRP instance's notify scripts; nil scripts are not
// configured.
type Instance struct {
	Name             string
	Master           *Script // notify_master
	Backup           *Script // notify_backup
	Fault            *Script // notify_fault
	Stop             *Script // notify_stop
	Deleted          *Script // notify_deleted
	Notify           *Script // notify: every state, with four more arguments
	MasterRxLowerPri *Script // notify_master_rx_lower_pri
}

// SyncGroup holds a vrrp_sync_group's notify scripts.
type SyncGroup struct {
	Name   string
	Master *Script
	Backup *Script
	Fault  *Script
	Stop   *Script
	Notify *Script
}

// RealServer holds a real server's address and notify_up/notify_down.
type RealServer struct {
	Addr netip.AddrPort
	Up   *Script
	Down *Script
}

// Quorum holds a virtual server's quorum_up/quorum_down scripts.
type Quorum struct {
	Up   *Script
	Down *Script
}

// A Notifier reports VRRP and checker events the way keepalived does: it
// runs the matching notify scripts through a Runner and writes lines to
// the notify FIFOs. Its methods never block.
type Notifier struct {
	// Runner runs the scripts.
	Runner *Runner
	// Global is notify_fifo, which gets every line; VRRP
	// (vrrp_notify_fifo) gets instance and group lines, LVS
	// (lvs_notify_fifo) real and virtual server lines. Any may be nil.
	Global, VRRP, LVS *FIFO
	// Log receives FIFO write failures.
	Log logrus.FieldLogger
}

// InstanceState reports that a VRRP instance entered state s with
// priority prio: it runs the state's own script, then the generic notify
// script with "INSTANCE name STATE prio" appended, then writes the FIFO
// line.
func (n *Notifier) InstanceState(in *Instance, s State, prio int) {
	src := "instance " + in.Name
	var script *Script
	switch s {
	case Master:
		script = in.Master
	case Backup:
		script = in.Backup
	case Fault:
		script = in.Fault
	case Stop:
		script = in.Stop
	case Deleted:
		script = in.Deleted
	}
	timeout := time.Duration(0)
	if s == Stop {
		timeout = StopTimeout
	}
	n.run(Job{Source: src, Script: script, Timeout: timeout})
	n.run(Job{Source: src, Script: in.Notify, Timeout: timeout,
		Args: []string{"INSTANCE", in.Name, s.String(), strconv.Itoa(prio)}})
	n.write(InstanceLine(in.Name, s, prio), n.VRRP)
}

// InstanceEvent reports an event that is not a state change: for
// MasterRxLowerPri it runs notify_master_rx_lower_pri (with no added
// arguments) and writes the FIFO line; the priority change events only
// have a FIFO line.
func (n *Notifier) InstanceEvent(in *Instance, ev State, prio int) {
	if ev == MasterRxLowerPri {
		n.run(Job{Source: "instance " + in.Name, Script: in.MasterRxLowerPri})
	}
	n.write(InstanceLine(in.Name, ev, prio), n.VRRP)
}

// GroupState reports that a sync group entered state s. The generic
// script gets "GROUP name STATE 0": a group has no priority.
func (n *Notifier) GroupState(g *SyncGroup, s State) {
	src := "group " + g.Name
	var script *Script
	switch s {
	case Master:
		script = g.Master
	case Backup:
		script = g.Backup
	case Fault:
		script = g.Fault
	case Stop:
		script = g.Stop
	}
	n.run(Job{Source: src, Script: script})
	n.run(Job{Source: src, Script: g.Notify, Args: []string{"GROUP", g.Name, s.String(), "0"}})
	n.write(GroupLine(g.Name, s), n.VRRP)
}

// VRRPLine writes a VRRP state line (InstanceLine, GroupLine) to the
// FIFOs without running any script: keepalived's
// fifo_write_vrrp_states_on_reload reports states that did not change.
func (n *Notifier) VRRPLine(line string) { n.write(line, n.VRRP) }

// RealServerState reports that a real server of vs went up or down;
// stopping marks the reports keepalived makes while shutting down, whose
// scripts get StopTimeout.
func (n *Notifier) RealServerState(rs *RealServer, vs VirtualServer, up, stopping bool) {
	script := rs.Down
	if up {
		script = rs.Up
	}
	n.run(Job{Source: "rs " + trio(rs.Addr, vs.Protocol) + " " + vs.String(), Script: script, Timeout: stopTimeout(stopping)})
	n.write(RealServerLine(rs.Addr, vs, up), n.LVS)
}

// QuorumState reports that vs gained (up) or lost its quorum.
func (n *Notifier) QuorumState(q *Quorum, vs VirtualServer, up, stopping bool) {
	script := q.Down
	if up {
		script = q.Up
	}
	n.run(Job{Source: "vs " + vs.String(), Script: script, Timeout: stopTimeout(stopping)})
	n.write(VirtualServerLine(vs, up), n.LVS)
}

func stopTimeout(stopping bool) time.Duration {
	if stopping {
		return StopTimeout
	}
	return 0
}

func (n *Notifier) run(j Job) {
	if j.Script != nil && n.Runner != nil {
		n.Runner.Run(j)
	}
}

func (n *Notifier) write(line string, specific *FIFO) {
	for _, f := range []*FIFO{n.Global, specific} {
		if f == nil {
			continue
		}
		if err := f.WriteLine(line); err != nil && n.Log != nil {
			n.Log.WithError(err).Warn("Dropping notify fifo line")
		}
	}
}
