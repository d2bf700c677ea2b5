package kamib

import (
	"sync"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// Notification is one trap and its variables, after sysUpTime.0 and
// snmpTrapOID.0.
type Notification struct {
	Trap     agentx.OID
	VarBinds []agentx.VarBind
}

// A Sequencer puts the VRRP notifications in keepalived's order, whatever
// the order the daemon reports the states in: a sync group's first state
// goes before its members' (keepalived's start-up sends the groups'
// notifications first), and each later one after every member has sent
// the same state (keepalived syncs the members, then tells the group).
// Its methods are safe for concurrent use; the notifications they return
// are to be sent in order.
type Sequencer struct {
	mu      sync.Mutex
	started map[string]bool           // groups that sent their first state
	held    map[string][]Notification // members' notifications before their group's first
	last    map[string]State          // each instance's last state sent
	pending map[string]pendingGroup   // group notifications waiting for members
}

type pendingGroup struct {
	n       Notification
	state   State
	members []string
}

func (q *Sequencer) init() {
	if q.started == nil {
		q.started = map[string]bool{}
		q.held = map[string][]Notification{}
		q.last = map[string]State{}
		q.pending = map[string]pendingGroup{}
	}
}

// Instance takes the notification n of instance name, a member of group
// (empty for none), now in state s, and returns what is to be sent now.
func (q *Sequencer) Instance(name, group string, s State, n Notification) []Notification {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	if group == "" {
		return []Notification{n}
	}
	if !q.started[group] {
		q.held[group] = append(q.held[group], n)
		q.last[name] = s
		return nil
	}
	q.last[name] = s
	out := []Notification{n}
	if p, ok := q.pending[group]; ok && q.reached(p) {
		delete(q.pending, group)
		out = append(out, p.n)
	}
	return out
}

// Group takes the notification n of sync group name, of the instances
// members, now in state s, and returns what is to be sent now.
func (q *Sequencer) Group(name string, members []string, s State, n Notification) []Notification {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	var out []Notification
	if !q.started[name] {
		q.started[name] = true
		out = append(out, n)
		out = append(out, q.held[name]...)
		delete(q.held, name)
		return out
	}
	if p, ok := q.pending[name]; ok {
		// A state the members never all reached: it goes first.
		out = append(out, p.n)
		delete(q.pending, name)
	}
	p := pendingGroup{n: n, state: s, members: members}
	if q.reached(p) {
		return append(out, n)
	}
	q.pending[name] = p
	return out
}

// Flush returns the notifications still held or pending, groups first:
// what a stopping daemon sends last.
func (q *Sequencer) Flush() []Notification {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Notification
	for g, p := range q.pending {
		out = append(out, p.n)
		delete(q.pending, g)
	}
	for g, h := range q.held {
		out = append(out, h...)
		delete(q.held, g)
	}
	return out
}

// reached reports whether every member of p's group has sent p's state.
func (q *Sequencer) reached(p pendingGroup) bool {
	for _, m := range p.members {
		if s, ok := q.last[m]; !ok || s != p.state {
			return false
		}
	}
	return true
}
