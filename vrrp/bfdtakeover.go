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
}

// MasterGone tells a backup that the BFD session to neighbor went Down:
// if neighbor is the master it last heard, the backup takes over as on
// a priority 0 advert, after its skew time, rather than after the whole
// Master_Down_Interval.
//
// A BFD session can fail while the master lives (a filter that drops
// BFD and not VRRP, a BFD process stalled), and a takeover then would
// make two masters. The Down is therefore evidence only once VRRP is
// silent too: the skew time is counted from when the master's next
// advert was due (the last one heard plus the master's interval) if that
// is later than the Down, and an advert heard before the takeover
// re-arms the whole down timer, as any advert does, so that the Down is
// spent. Other states, and a Down of a session to another address,
// change nothing; a down timer due sooner is left as it is.
func (i *Instance) MasterGone(neighbor netip.Addr) {
	i.lock()
	defer i.unlock()
	if i.state != StateBackup || !i.armed || !i.masterAddr.IsValid() || i.masterAddr != neighbor {
		return
	}
	now := i.clock.Now()
	from := now
	if due := i.heardAt.Add(i.masterInt); due.After(from) {
		from = due
	}
	at := from.Add(i.skew())
	if !at.Before(i.deadline) {
		return
	}
	i.log.Infof("(%s) BFD session to master %v is down, taking over in %d milli-sec", i.cfg.Name, neighbor, at.Sub(now)/time.Millisecond)
	i.armAt(now, at.Sub(now))
}
