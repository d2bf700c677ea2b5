package vrrpd

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// enqueue takes a transition from an instance, which holds its lock while
// it calls: the scripts and FIFO lines go out from another goroutine, in
// order.
func (l *Loop) enqueue(t vrrp.Transition) {
	// A peer can send rejected adverts as fast as it likes: their
	// reports never take the last half of the queue from transitions,
	// and are not queued when nothing hears of them.
	switch t.Event {
	case vrrp.EventAuthFailure, vrrp.EventProtoError:
		if (t.Event == vrrp.EventAuthFailure && l.onAuth == nil) || (t.Event == vrrp.EventProtoError && l.onProto == nil) ||
			len(l.events) >= cap(l.events)/2 {
			return
		}
	}
	select {
	case l.events <- t:
		l.queued.Add(1)
	default:
		l.log.Errorf("(%s) notify queue full: transition to %s not reported", t.Instance, t.To)
	}
}

// report sends transitions to the notify scripts and FIFOs, in order,
// until stopped is closed and the queue is empty.
func (l *Loop) report(stopped <-chan struct{}) {
	for {
		select {
		case t := <-l.events:
			l.reportOne(t)
			l.reported.Add(1)
		case <-stopped:
			for {
				select {
				case t := <-l.events:
					l.reportOne(t)
					l.reported.Add(1)
				default:
					return
				}
			}
		}
	}
}

// Flush waits, up to timeout, until the transitions queued so far have
// been reported: those of the instances a reload stopped and started, for
// what must follow them.
func (l *Loop) Flush(timeout time.Duration) {
	want := l.queued.Load()
	deadline := time.Now().Add(timeout)
	for l.reported.Load() < want && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
}

// reportOne reports t, containing a panic: it is logged with its stack
// and counted, and the next transition is reported as usual.
func (l *Loop) reportOne(t vrrp.Transition) {
	defer func() {
		if v := recover(); v != nil {
			l.panics.Add(1)
			l.log.Errorf("(%s) reporting the transition to %s: recovered from panic: %v\n%s", t.Instance, t.To, v, debug.Stack())
		}
	}()
	l.notify(t)
}

// notify reports one transition: smtp_alert first, then the scripts and
// FIFO lines, then lvs_sync_daemon and ha_suspend.
func (l *Loop) notify(t vrrp.Transition) {
	if t.Event != vrrp.EventNone {
		l.notifyEvent(t)
		return
	}
	s, ok := notifyState(t.To)
	if !ok {
		return
	}
	mailer := l.hub.Mailer()
	var inst *notify.Instance
	var grp *notify.SyncGroup
	var ci *config.Instance // inst's configuration
	mail := false
	l.mu.Lock()
	if t.Group {
		if g := l.groups[t.Instance]; g != nil {
			grp = g.scripts
			// keepalived mails a state once, not again when it is
			// re-entered.
			// keepalived's vrrp_sync_smtp_notifier: no_email_faults
			// leaves FAULT unmailed, and unrecorded.
			if mail = mailer != nil && g.mail && !(g.noFaultMail && s == notify.Fault) && g.mailed != s; mail {
				g.mailed = s
			}
		}
	} else if in := l.deleted[t.Instance]; in != nil && t.To == vrrp.StateStop {
		// keepalived reports an instance a reload removed as DELETED
		// with notify_deleted, as FAULT without, and mails neither.
		delete(l.deleted, t.Instance)
		inst, ci, s = in.scripts, in.cfg, notify.Fault
		if in.cfg.Notify.Deleted != nil {
			s = notify.Deleted
		}
	} else if in := l.byName[t.Instance]; in != nil && in.rebinding && t.To == vrrp.StateStop && !l.stopping.Load() {
		// Stopped to start again on its interface's new index: it was
		// in FAULT, and stays there until the new one is up.
		in.rebinding = false
		l.mu.Unlock()
		return
	} else if in := l.byName[t.Instance]; in != nil {
		inst, ci = in.scripts, in.cfg
		if mail = mailer != nil && in.mail && !(in.noFaultMail && s == notify.Fault) && in.mailed != s; mail {
			in.mailed = s
		}
	}
	l.mu.Unlock()
	if mail {
		if t.Group {
			mailer.GroupState(t.Instance, s)
		} else {
			mailer.VRRPState(t.Instance, s)
		}
	}
	n := l.hub.Notifier()
	switch {
	case grp != nil:
		n.GroupState(grp, s)
		if l.onGroup != nil {
			l.onGroup(t.Instance, s)
		}
	case inst != nil:
		n.InstanceState(inst, s, int(t.Priority))
		if l.onState != nil {
			l.onState(ci, s)
		}
	}
	if sd := l.syncd.Load(); sd != nil && !t.Group && sd.follows(t.Instance) && t.To != vrrp.StateStop {
		sd.set(t.To == vrrp.StateMaster)
	}
	if l.changed != nil && (t.To == vrrp.StateMaster || t.From == vrrp.StateMaster) {
		l.changed()
	}
}

// notifyEvent reports an event without a change of state, to the FIFOs
// and the event's own script, as keepalived's send_event_notify does.
func (l *Loop) notifyEvent(t vrrp.Transition) {
	var ev notify.State
	switch t.Event {
	case vrrp.EventMasterRxLowerPri:
		ev = notify.MasterRxLowerPri
	case vrrp.EventPriorityChanged:
		// keepalived names a master's change MASTER_PRIORITY and any
		// other state's BACKUP_PRIORITY.
		ev = notify.BackupPriority
		if t.To == vrrp.StateMaster {
			ev = notify.MasterPriority
		}
	case vrrp.EventAuthFailure, vrrp.EventProtoError:
		l.mu.Lock()
		in := l.byName[t.Instance]
		l.mu.Unlock()
		switch {
		case in == nil:
		case t.Event == vrrp.EventAuthFailure && l.onAuth != nil:
			l.onAuth(in.cfg, t.Source, t.Auth)
		case t.Event == vrrp.EventProtoError && l.onProto != nil:
			l.onProto(in.cfg, t.ProtoErr)
		}
		return
	case vrrp.EventNone:
		return
	default:
		panic(fmt.Sprintf("vrrpd: unknown vrrp.Event %d", t.Event))
	}
	l.mu.Lock()
	in := l.byName[t.Instance]
	l.mu.Unlock()
	if in != nil {
		l.hub.Notifier().InstanceEvent(in.scripts, ev, int(t.Priority))
	}
}

// notifyState is the notify package's name for a state the scripts hear
// of; INIT is not reported.
func notifyState(s vrrp.State) (notify.State, bool) {
	switch s {
	case vrrp.StateMaster:
		return notify.Master, true
	case vrrp.StateBackup:
		return notify.Backup, true
	case vrrp.StateFault:
		return notify.Fault, true
	case vrrp.StateStop:
		return notify.Stop, true
	case vrrp.StateInit:
		return 0, false
	}
	return 0, false
}
