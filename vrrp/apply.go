package vrrp

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// Apply makes the router's instances and sync groups those of specs and
// groups, as a reload of keepalived.conf does, before or while the router
// runs. An instance is known by its name. One that stays takes its new
// configuration without a change of state (Instance.Reconfigure): a
// master keeps the VIPs it still has, removes those it no longer has and
// adds and announces the new ones only. An instance that moves to
// another interface, address family, multicast group, VRID, between
// multicast and unicast, or in or out of use_vmac is another virtual
// router: it stops and a new one starts. New instances start in BACKUP;
// instances left out stop as at shutdown, a master sending priority 0
// and releasing its VIPs. Groups are re-formed without transitions
// (Regroup).
//
// Apply checks every spec before changing anything: an error there
// leaves the router as it was. Errors opening sockets for new instances
// are returned once the rest is applied.
func (r *Router) Apply(specs []Spec, groups []GroupSpec) error {
	return r.ApplyLookup(NewLookup(), specs, groups)
}

// ApplyLookup is Apply with the listings and the plans of look, those
// the Check of the same pass took for the same specs.
func (r *Router) ApplyLookup(look *Lookup, specs []Spec, groups []GroupSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.closeIdle()

	plans := make([]*plan, 0, len(specs))
	byName := make(map[string]*plan, len(specs))
	for _, spec := range specs {
		name := spec.Config.Name
		if byName[name] != nil {
			return fmt.Errorf("applying vrrp configuration: instance %s defined twice", name)
		}
		p, err := look.plan(r, spec)
		if err != nil {
			return fmt.Errorf("applying vrrp configuration: %w", err)
		}
		plans = append(plans, p)
		byName[name] = p
	}
	inGroup := make(map[string]string)
	for _, g := range groups {
		for _, name := range g.Members {
			if byName[name] == nil {
				return fmt.Errorf("applying vrrp configuration: sync group %s: virtual router %s does not exist", g.Name, name)
			}
			if other, dup := inGroup[name]; dup {
				return fmt.Errorf("applying vrrp configuration: virtual router %s cannot exist in both sync groups %s and %s", name, other, g.Name)
			}
			inGroup[name] = g.Name
		}
		if len(g.Members) < 2 {
			return fmt.Errorf("applying vrrp configuration: sync group %s has only %d virtual router(s)", g.Name, len(g.Members))
		}
	}

	// Instances leaving, or becoming another virtual router.
	kept := make(map[string]*member)
	var stay []*member
	for _, m := range r.members {
		p := byName[m.inst.Name()]
		if p != nil && p.key == m.key && p.cfg.VRID == m.inst.VRID() && p.vmac == m.vmac &&
			(m.vmac == "" || p.xmitBase == (m.out == nil)) &&
			bytes.Equal(p.spec.Net.VMACAddr, m.spec.Net.VMACAddr) {
			kept[m.inst.Name()] = m
			stay = append(stay, m)
			continue
		}
		r.log.Infof("(%s) removing vrrp instance", m.inst.Name())
		m.inst.Ungroup()
		r.remove(m)
		if m.vmac != "" {
			m.closeOut()
			// A VMAC whose MAC changes is created again.
			if p == nil || p.vmac != m.vmac || !bytes.Equal(p.spec.Net.VMACAddr, m.spec.Net.VMACAddr) {
				r.host.removeVMAC(m.inst.Name(), m.vmac)
			}
		}
	}
	r.members = stay

	var errs []error
	var started []*member
	for _, p := range plans {
		if m := kept[p.cfg.Name]; m != nil {
			if err := r.update(m, p); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		m, err := r.create(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		started = append(started, m)
	}

	r.regroup(groups)
	r.startTrackers()
	if r.running {
		// Trackers that started just now have read their first value:
		// the instances that stay take it, as new ones do at Start.
		for _, m := range r.members {
			if !slices.Contains(started, m) {
				m.apply(r.carrier)
			}
		}
		for _, m := range started {
			r.watch(m)
			m.apply(r.carrier)
			if err := m.inst.Start(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// remove stops m, as at shutdown, and takes it off its socket.
func (r *Router) remove(m *member) {
	m.inst.Stop()
	m.net.ann.Close()
	m.net.closeExtra()
	m.conn.Unregister(m.inst.VRID())
}

// update gives m's instance p's configuration on a new Network sharing
// the socket, and re-reads its trackers.
func (r *Router) update(m *member, p *plan) error {
	if m.vmac != "" {
		p.out = m.out // the VMAC's sending socket stays
	}
	ln, err := r.network(p, m.conn, m.net.ann)
	if err != nil {
		return err
	}
	if err := m.inst.Reconfigure(p.cfg, ln); err != nil {
		if ln.ann != m.net.ann {
			ln.ann.Close()
		}
		ln.closeExtra()
		return err
	}
	if ln.ann != m.net.ann {
		m.net.ann.Close()
	}
	m.net.closeExtra()
	m.net, m.spec = ln, p.spec
	m.trackPrimary, m.track = p.primary, p.track
	r.attachTrackers(m, p.spec.Net)
	if r.running {
		r.watch(m)
		m.apply(r.carrier)
	}
	return nil
}

// regroup re-forms the sync groups; a group whose members are unchanged
// is kept as it is.
func (r *Router) regroup(groups []GroupSpec) {
	byName := make(map[string]*Instance, len(r.members))
	for _, m := range r.members {
		byName[m.inst.Name()] = m.inst
	}
	grouped := make(map[*Instance]bool)
	for _, gs := range groups {
		var insts []*Instance
		for _, name := range gs.Members {
			if inst := byName[name]; inst != nil {
				insts = append(insts, inst)
				grouped[inst] = true
			}
		}
		if len(insts) < 2 {
			continue
		}
		if g := insts[0].syncGroup(); g != nil && g.name == gs.Name && g.hasExactly(insts) {
			g.setNotify(gs.Notify)
			continue
		}
		if _, err := Regroup(gs.Name, gs.Notify, r.log, insts...); err != nil {
			r.log.Errorf("%v", err)
		}
	}
	for _, m := range r.members {
		if !grouped[m.inst] {
			m.inst.Ungroup()
		}
	}
}

// SyncGroup returns the sync group the instance is in, nil if none.
func (i *Instance) SyncGroup() *SyncGroup { return i.syncGroup() }

// syncGroup returns the instance's group, if any.
func (i *Instance) syncGroup() *SyncGroup {
	i.lock()
	defer i.unlock()
	return i.group
}

// hasExactly reports whether insts are the group's members.
func (g *SyncGroup) hasExactly(insts []*Instance) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) != len(insts) {
		return false
	}
	for _, m := range insts {
		if !slices.Contains(g.members, m) {
			return false
		}
	}
	return true
}

func (g *SyncGroup) setNotify(f func(Transition)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.notify = f
}
