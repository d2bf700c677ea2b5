package vrrpd

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/gokeepalived/gokeepalived/vrrp"
)

// holdBack takes out of p the instances the router cannot run yet, most
// often because their interface does not exist: they wait in FAULT, and
// the others run. keepalived does so with dynamic_interfaces; without
// it keepalived's VRRP process exits on a missing interface, taking
// every instance with it, where gokeepalived still runs the others. A
// sync group waits whole while one of its members waits, as keepalived's
// group follows a member in FAULT.
func (l *Loop) holdBack(look *vrrp.Lookup, p *plan) {
	// What each instance was: waiting already, or running, and in what
	// state.
	type was struct {
		waiting error
		state   vrrp.State
		running bool
	}
	l.mu.Lock()
	before := make(map[string]was, len(l.instances))
	for _, in := range l.instances {
		w := was{waiting: in.waiting}
		if in.vrrp != nil {
			w.running, w.state = true, in.vrrp.Status().State
		}
		before[in.cfg.Name] = w
	}
	l.mu.Unlock()

	dynamic := l.cfg.Global.DynamicInterfaces
	errs := l.router.Check(look, p.specs...)
	for k, spec := range p.specs {
		in := p.instances[k]
		in.needs = make(map[string]int)
		for _, name := range needed(spec.Net) {
			in.needs[name] = look.Index(name)
		}
		in.waiting = errs[k]
	}
	for _, g := range p.groupSpecs {
		waiting := slices.ContainsFunc(g.Members, func(name string) bool { return p.byName[name].waiting != nil })
		for _, name := range g.Members {
			if in := p.byName[name]; waiting && in.waiting == nil {
				in.waiting = fmt.Errorf("sync group %s waits for another member", g.Name)
			}
		}
	}

	specs := make([]vrrp.Spec, 0, len(p.specs))
	for k, spec := range p.specs {
		in := p.instances[k]
		if in.waiting == nil {
			specs = append(specs, spec)
			continue
		}
		prev := before[in.cfg.Name]
		switch {
		case prev.waiting != nil:
			// Still waiting: FAULT was reported; say what it waits
			// for now if that changed.
			if prev.waiting.Error() != in.waiting.Error() {
				l.log.Infof("(%s) still waits: %v", in.cfg.Name, in.waiting)
			}
		case prev.running:
			// The router stops it to hold it back: that STOP is not
			// reported, and FAULT only if it was not in FAULT.
			in.rebinding = true
			l.log.Infof("(%s) waits: %v", in.cfg.Name, in.waiting)
			if prev.state != vrrp.StateFault {
				l.enterFault(in)
			}
		default:
			l.reportWaiting(in, dynamic)
		}
	}
	p.specs = specs
	p.groupSpecs = slices.DeleteFunc(p.groupSpecs, func(g vrrp.GroupSpec) bool {
		return slices.ContainsFunc(g.Members, func(name string) bool { return p.byName[name].waiting != nil })
	})
}

// reportWaiting says why in waits, in keepalived's words where keepalived
// has some, and reports its FAULT state to the notify scripts and FIFOs
// as keepalived does for an instance that starts in FAULT.
func (l *Loop) reportWaiting(in *instance, dynamic bool) {
	name := in.cfg.Name
	missing := false
	for _, ifname := range slices.Sorted(maps.Keys(in.needs)) {
		if in.needs[ifname] != 0 {
			continue
		}
		missing = true
		if dynamic {
			l.log.Infof("Configuration specifies interface %s which doesn't currently exist - will use if created", ifname)
		} else {
			l.log.Errorf("%s: WARNING - interface %s for vrrp_instance %s doesn't exist", in.cfg.Pos, ifname, name)
		}
	}
	switch {
	case missing && !dynamic:
		l.log.Errorf("Non-existent interface specified in configuration")
		l.log.Warnf("(%s) waits in FAULT state until its interfaces exist; the other instances run (keepalived stops every instance)", name)
	case !missing:
		l.log.Errorf("(%s) cannot run yet: %v; it waits in FAULT state", name, in.waiting)
	}
	l.enterFault(in)
}

// enterFault reports that a held back instance is in FAULT.
func (l *Loop) enterFault(in *instance) {
	name := in.cfg.Name
	l.log.Infof("(%s) Entering FAULT STATE", name)
	l.enqueue(vrrp.Transition{
		Instance: name,
		VRID:     uint8(in.cfg.VirtualRouterID),
		From:     vrrp.StateInit,
		To:       vrrp.StateFault,
		Priority: uint8(in.cfg.Priority),
		Time:     time.Now(),
	})
}

// needed is the interfaces an instance runs on and tracks.
func needed(nc vrrp.NetConfig) []string {
	names := []string{nc.Interface}
	for _, ti := range nc.TrackInterfaces {
		names = append(names, ti.Name)
	}
	return names
}

// movedLinks reports whether an interface both maps know exists under a
// new index: deleted and created again.
func movedLinks(old, cur map[string]int) bool {
	for name, idx := range cur {
		if was := old[name]; was != 0 && idx != 0 && was != idx {
			return true
		}
	}
	return false
}

// linkAppeared is the router's link hook: an interface a waiting instance
// needs, or one a running instance used under another index, asks for
// the configuration to be applied again.
func (l *Loop) linkAppeared(name string) {
	l.mu.Lock()
	want := false
	for _, in := range l.instances {
		idx, ok := in.needs[name]
		if !ok {
			continue
		}
		if in.waiting != nil {
			want = true
			break
		}
		if ifi, err := net.InterfaceByName(name); err == nil && ifi.Index != idx {
			want = true
			break
		}
	}
	l.mu.Unlock()
	if want {
		select {
		case l.retry <- struct{}{}:
		default:
		}
	}
}

// retryWaiting applies the configuration again each time linkAppeared
// asks, until ctx ends.
func (l *Loop) retryWaiting(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.retry:
		}
		l.applyMu.Lock()
		cfg := l.cfg
		l.applyMu.Unlock()
		if err := l.apply(cfg); err != nil {
			l.log.Errorf("applying the configuration again for a new interface: %v", err)
		}
	}
}
