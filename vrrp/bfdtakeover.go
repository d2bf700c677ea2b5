package vrrp

import (
	"net/netip"
	"time"
)

// A BFDTakeover names the BFD session, by its bfd_instance, that runs
// between a backup and its master, and the master's address it runs
// to. It is the bfd_takeover extension; the zero value is none.
type BFDTakeover struct {
	Name     string
	Neighbor netip.Addr
	// Answer is how long a backup gives a living master, after the
	// Down, to answer it with an advert (see AnswerBFDDown): long
	// enough for the master's own side of the session to go Down too.
	Answer time.Duration
}

// MasterGone tells a backup that the BFD session to neighbor went Down:
// if neighbor is the master it last heard, the backup takes over as on
// a priority 0 advert, after its skew time, rather than after the whole
// Master_Down_Interval.
//
// A BFD session can fail while the master lives (a filter that drops
// BFD and not VRRP), and a takeover then would make two masters. A
// living master's side of the session goes Down too, within about one
// detection time, and a master with bfd_takeover answers that with an
// advert at once (AnswerBFDDown). So the backup waits at least answer
// after the Down, and an advert heard before the takeover re-arms the
// whole down timer, as any advert does, spending the Down; but not one
// of lower priority from another address: that is another backup of
// the same master, which took over first, and VRRP's order wants the
// higher priority master. Other states, and a Down of a session to
// another address, change nothing; a down timer due sooner is left as
// it is.
func (i *Instance) MasterGone(neighbor netip.Addr, answer time.Duration) {
	i.lock()
	defer i.unlock()
	if i.state != StateBackup || !i.armed || !i.masterAddr.IsValid() || i.masterAddr != neighbor {
		return
	}
	now := i.clock.Now()
	// Backups of one master keep VRRP's order, the highest priority
	// first, where the answer time is longer than their skews: an eighth
	// of the skew on top of it.
	wait := max(i.skew(), answer+i.skew()/8)
	if !now.Add(wait).Before(i.deadline) {
		return
	}
	i.log.Infof("(%s) BFD session to master %v is down, taking over in %d milli-sec", i.cfg.Name, neighbor, wait/time.Millisecond)
	i.armAt(now, wait)
	i.bfdGone = neighbor
}

// AnswerBFDDown tells a master with bfd_takeover that one of its BFD
// sessions went Down: it sends an advert at once, so that a backup whose
// session to it went Down too, for a cause that left VRRP alone, hears
// that its master lives before it would take over. Other states change
// nothing.
func (i *Instance) AnswerBFDDown(session string) {
	i.lock()
	defer i.unlock()
	if i.state != StateMaster {
		return
	}
	i.log.Infof("(%s) BFD session %s is down, sending an advertisement at once", i.cfg.Name, session)
	i.advertise(i.effPrio)
}
