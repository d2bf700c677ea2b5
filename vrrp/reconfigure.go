package vrrp

import (
	"fmt"
	"sync"

	"github.com/sirupsen/logrus"
)

// An AddressUpdater is a Network that can take over the virtual addresses
// of the Network it replaces in a reconfigured master without releasing
// those they share, so that the hosts using an address kept see no
// change.
type AddressUpdater interface {
	Network
	// UpdateAddresses removes the addresses of old it does not have,
	// then adds and announces, rounds times, its own that old lacks.
	UpdateAddresses(old Network, rounds int) error
}

// Reconfigure gives a running instance cfg and network in place of its
// own, as a reload of keepalived.conf does, without a change of state:
// its timers run on and a master keeps the addresses it still has.
// Priority, advert_int, authentication, preemption, gratuitous ARP
// settings and the addresses all take effect at once, the effective
// priority keeping the trackers' offset. A master moves from the old
// addresses to the new through network's UpdateAddresses when it is an
// AddressUpdater, and otherwise removes the old ones and adds and
// announces the new.
//
// The VRID cannot change: it is another virtual router.
func (i *Instance) Reconfigure(cfg Config, network Network) error {
	if err := cfg.normalize(i.log); err != nil {
		return err
	}
	i.lock()
	defer i.unlock()
	if cfg.VRID != i.cfg.VRID {
		return fmt.Errorf("reconfiguring vrrp instance %s: virtual router id %d cannot become %d", i.cfg.Name, i.cfg.VRID, cfg.VRID)
	}
	old, oldNet := i.cfg, i.net
	i.cfg, i.net = cfg, network
	i.authData = [authDataLen]byte{}
	if cfg.AuthType == AuthPass {
		copy(i.authData[:], cfg.AuthPass)
	}
	if cfg.Priority != old.Priority {
		i.basePrio = cfg.Priority
		i.updatePriority()
	}
	// A backup keeps the interval learnt from a version 3 master.
	if i.state != StateBackup || cfg.Version == Version2 {
		i.masterInt = cfg.Interval
	}
	if i.state != StateMaster {
		return nil
	}
	i.masterAddr = cfg.Primary
	if cfg.GarpMasterRefresh > 0 && old.GarpMasterRefresh != cfg.GarpMasterRefresh {
		i.refreshAt = i.clock.Now().Add(cfg.GarpMasterRefresh)
	}
	if u, ok := network.(AddressUpdater); ok {
		if err := u.UpdateAddresses(oldNet, cfg.GarpMasterRepeat); err != nil {
			logEach(i.log.Errorf, cfg.Name, err)
		}
		return nil
	}
	i.log.Infof("(%s) removing VIPs.", cfg.Name)
	if err := oldNet.RemoveAddresses(); err != nil {
		logEach(i.log.Errorf, cfg.Name, err)
	}
	i.log.Infof("(%s) setting VIPs.", cfg.Name)
	if err := network.AddAddresses(); err != nil {
		logEach(i.log.Errorf, cfg.Name, err)
	}
	i.announce(cfg.GarpMasterRepeat)
	return nil
}

// Regroup makes a sync group of members, started or not, taking them
// from the groups they were in, without a change of state: a reload
// re-forms groups of running instances. The group starts in its members'
// common state: FAULT if one is in FAULT, MASTER if all are masters,
// BACKUP otherwise; members that disagree follow the group at their next
// event. The members left in a former group stay one while there are two
// of them. Calls to Regroup and Ungroup must not overlap.
func Regroup(name string, notify func(Transition), log logrus.FieldLogger, members ...*Instance) (*SyncGroup, error) {
	if len(members) < 2 {
		return nil, fmt.Errorf("sync group %s has only %d virtual router(s)", name, len(members))
	}
	seen := make(map[*Instance]bool)
	for _, m := range members {
		if seen[m] {
			return nil, fmt.Errorf("sync group %s: virtual router %s listed twice", name, m.Name())
		}
		seen[m] = true
	}
	unlock := lockAll(members)
	defer unlock()
	mu := new(sync.Mutex)
	// Taken before it is shared: an instance's timer must not run until
	// every member has moved.
	mu.Lock()
	defer mu.Unlock()
	g := &SyncGroup{name: name, log: log, notify: notify, members: members, mu: mu, state: commonState(members)}
	for _, m := range members {
		if m.group != nil {
			m.group.leave(m)
		}
		m.group = g
		m.mu.Store(mu)
	}
	return g, nil
}

// Ungroup takes i out of its sync group, if any, without a change of
// state.
func (i *Instance) Ungroup() {
	i.lock()
	old := i.mu.Load()
	defer old.Unlock()
	if i.group == nil {
		return
	}
	i.group.leave(i)
	i.group = nil
	mu := new(sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	i.mu.Store(mu)
}

// leave removes m from g; the remaining members keep g's lock. A group
// of one is no group: its last member goes on alone.
func (g *SyncGroup) leave(m *Instance) {
	kept := g.members[:0:0]
	for _, o := range g.members {
		if o != m {
			kept = append(kept, o)
		}
	}
	g.members = kept
	if len(kept) == 1 {
		kept[0].group = nil
		g.members = nil
	}
}

// lockAll takes the distinct locks of insts, in the order given; it
// returns the function releasing them.
func lockAll(insts []*Instance) func() {
	var held []*sync.Mutex
	for _, m := range insts {
		for {
			mu := m.mu.Load()
			if containsMutex(held, mu) {
				break
			}
			mu.Lock()
			if m.mu.Load() == mu {
				held = append(held, mu)
				break
			}
			mu.Unlock()
		}
	}
	return func() {
		for _, mu := range held {
			mu.Unlock()
		}
	}
}

func containsMutex(mus []*sync.Mutex, mu *sync.Mutex) bool {
	for _, m := range mus {
		if m == mu {
			return true
		}
	}
	return false
}

func commonState(members []*Instance) State {
	masters, started := 0, 0
	for _, m := range members {
		switch m.state {
		case StateFault:
			return StateFault
		case StateMaster:
			masters++
		}
		if m.state != StateInit {
			started++
		}
	}
	switch {
	case started == 0:
		return StateInit
	case masters == len(members):
		return StateMaster
	}
	return StateBackup
}
