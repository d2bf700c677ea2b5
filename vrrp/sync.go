package vrrp

import (
	"fmt"
	"sync"

	"github.com/sirupsen/logrus"
)

// A SyncGroup is a vrrp_sync_group: instances that change state together,
// so that, on a director, the public VIP and the real servers' gateway
// address are always on the same router. Its members share one lock, and
// a member's transition moves the others within it.
//
// As keepalived does, the group goes MASTER only once every member wants
// to (its down timer has expired), preferring BACKUP to a split; goes
// BACKUP when a master member hears a better master; goes FAULT with any
// member; and leaves FAULT once no member has a fault of its own.
type SyncGroup struct {
	name    string
	log     logrus.FieldLogger
	notify  func(Transition)
	members []*Instance
	mu      *sync.Mutex // the members'
	state   State
}

// NewSyncGroup joins members, none of them started, into a group. Notify,
// if not nil, is called like Config.Notify for the group's own
// transitions, with Transition.Group set.
func NewSyncGroup(name string, notify func(Transition), log logrus.FieldLogger, members ...*Instance) (*SyncGroup, error) {
	if len(members) < 2 {
		return nil, fmt.Errorf("sync group %s has only %d virtual router(s)", name, len(members))
	}
	mu := new(sync.Mutex)
	g := &SyncGroup{name: name, log: log, notify: notify, members: members, mu: mu, state: StateInit}
	for _, m := range members {
		m.lock()
		started, grouped := m.state != StateInit, m.group != nil
		m.unlock()
		switch {
		case started:
			return nil, fmt.Errorf("sync group %s: instance %s already started", name, m.cfg.Name)
		case grouped:
			return nil, fmt.Errorf("sync group %s: virtual router %s cannot exist in more than one sync group", name, m.cfg.Name)
		}
	}
	for _, m := range members {
		m.mu.Store(mu)
		m.group = g
	}
	return g, nil
}

// Name returns the group's name.
func (g *SyncGroup) Name() string { return g.name }

// State returns the group's state: INIT until a member has a state,
// then BACKUP, MASTER or FAULT.
func (g *SyncGroup) State() State {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// The methods below run with the group's lock held, from a member's
// transition.

// started records a member's first state, or brings a member started
// late into the group's.
func (g *SyncGroup) started(m *Instance) {
	switch {
	case g.state == StateInit && m.state == StateMaster:
		g.syncMaster(true)
	case g.state == StateInit && m.quiet:
		// Held by a script with no result yet: the group waits, in
		// INIT, as keepalived's does.
	case g.state == StateInit && m.state == StateFault:
		g.syncFault(m)
	case g.state == StateInit:
		g.setState(StateBackup)
	case g.state == StateMaster && m.state == StateBackup:
		m.becomeMaster()
	}
}

// syncMaster makes every member master, once they all want to or when
// forced (an address owner does not wait).
func (g *SyncGroup) syncMaster(force bool) {
	if !force {
		for _, m := range g.members {
			if m.state != StateMaster && !m.wantMaster {
				return
			}
		}
	}
	g.log.Infof("VRRP_Group(%s) Syncing instances to MASTER state", g.name)
	g.setState(StateMaster)
	for _, m := range g.members {
		if m.state == StateBackup {
			m.becomeMaster()
		}
	}
}

func (g *SyncGroup) syncBackup(from *Instance) {
	if g.state == StateBackup {
		return
	}
	g.log.Infof("VRRP_Group(%s) Syncing instances to BACKUP state", g.name)
	g.setState(StateBackup)
	for _, m := range g.members {
		if m != from && m.state == StateMaster {
			m.leaveMaster()
		}
	}
}

func (g *SyncGroup) syncFault(from *Instance) {
	if g.state == StateFault {
		return
	}
	g.log.Infof("VRRP_Group(%s) Syncing instances to FAULT state", g.name)
	g.setState(StateFault)
	for _, m := range g.members {
		if m != from {
			m.enterFault()
		}
	}
}

func (g *SyncGroup) leaveFault() {
	for _, m := range g.members {
		if m.faulted || m.held {
			return
		}
	}
	g.log.Infof("VRRP_Group(%s) Leaving FAULT state", g.name)
	g.setState(StateBackup)
	for _, m := range g.members {
		m.leaveFault()
	}
	// An address owner is master again, and takes its group along.
	for _, m := range g.members {
		if m.state == StateMaster {
			g.syncMaster(true)
			return
		}
	}
}

// held reports whether a member waits for a script's first result.
func (g *SyncGroup) held() bool {
	for _, m := range g.members {
		if m.held {
			return true
		}
	}
	return false
}

// leaveHeld brings the group up once from, the last member waiting for a
// script's first result, has it and no member has a fault: from first,
// then the others, then the group, in keepalived's order.
func (g *SyncGroup) leaveHeld(from *Instance) {
	for _, m := range g.members {
		if m.faulted || m.held {
			return
		}
	}
	from.leaveFault()
	if from.state == StateMaster {
		// An address owner takes its group along.
		g.syncMaster(true)
		return
	}
	for _, m := range g.members {
		if m != from {
			m.leaveFault()
		}
	}
	if g.state != StateBackup {
		g.log.Infof("VRRP_Group(%s) Syncing instances to BACKUP state", g.name)
		g.setState(StateBackup)
	}
}

func (g *SyncGroup) setState(s State) {
	from := g.state
	g.state = s
	if g.notify != nil && from != s {
		g.notify(Transition{Instance: g.name, Group: true, From: from, To: s, Time: g.members[0].clock.Now()})
	}
}
