package vrrp

// A TrackedBFD is a track_bfd entry of an instance: a BFD session, by
// its bfd_instance name, whose state the router hears through SetBFD.
// With weight 0 the instance is in FAULT while the session is not Up
// (with Reverse, while it is); otherwise a positive weight is added to
// the priority while it is Up, a negative one while it is not, and
// Reverse subtracts instead. A session the router has not heard of is
// not Up, as keepalived's VRRP process takes every session to be down
// until the BFD process says otherwise.
type TrackedBFD struct {
	Name    string
	Weight  int
	Reverse bool
}

// A bfdTracker is one BFD session's state as the router last heard it.
// It belongs to the Router's lock.
type bfdTracker struct {
	name string
	up   bool
}

type memberBFD struct {
	t       *bfdTracker
	weight  int
	reverse bool
}

// effect is what the session does to an instance tracking it with
// weight and reverse, as keepalived's vrrp_handle_bfd_event.
func (t *bfdTracker) effect(weight int, reverse bool) (fault bool, offset int) {
	if weight == 0 {
		return t.up == reverse, 0
	}
	if t.up != (weight > 0) {
		return false, 0
	}
	if reverse {
		return false, -weight
	}
	return false, weight
}

// attachBFDs points m at the trackers of its BFD sessions. A session
// keeps its state by name across a reload, as keepalived's VRRP process
// carries bfd_up over to the new configuration.
func (r *Router) attachBFDs(m *member, nc NetConfig) {
	m.bfds = nil
	m.takeover = nc.BFDTakeover
	if r.bfds == nil {
		r.bfds = make(map[string]*bfdTracker)
	}
	for _, tb := range nc.TrackBFDs {
		t := r.bfds[tb.Name]
		if t == nil {
			t = &bfdTracker{name: tb.Name}
			r.bfds[tb.Name] = t
		}
		m.bfds = append(m.bfds, memberBFD{t: t, weight: tb.Weight, reverse: tb.Reverse})
	}
}

// SetBFD records that the BFD session of bfd_instance name is up or
// not, and applies it to the instances tracking it, logging each as
// keepalived does. A state the router already has changes nothing. The
// router keeps the state of a session no instance tracks, for one that
// a reload makes track it.
func (r *Router) SetBFD(name string, up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bfds == nil {
		r.bfds = make(map[string]*bfdTracker)
	}
	t := r.bfds[name]
	if t == nil {
		t = &bfdTracker{name: name}
		r.bfds[name] = t
	}
	if t.up == up {
		return
	}
	t.up = up
	if !up {
		// Only a session going Down from Up acts: a session never Up
		// says nothing of the master, and a repeated Down is no news.
		// A backup's session to its master may go early; any
		// session's Down is answered by the masters with bfd_takeover,
		// whichever peer it runs to: that peer may be a backup whose
		// own session to this master is the one that went.
		for _, m := range r.members {
			switch {
			case m.takeover.Name == name:
				m.inst.MasterGone(m.takeover.Neighbor, m.takeover.Answer)
				m.inst.AnswerBFDDown(name)
			case m.takeover.Name != "":
				m.inst.AnswerBFDDown(name)
			}
		}
	}
	word := "DOWN"
	if up {
		word = "UP"
	}
	for _, m := range r.members {
		for _, mb := range m.bfds {
			if mb.t == t {
				r.log.Infof("VRRP_Instance(%s) Tracked BFD instance %s is %s", m.inst.Name(), name, word)
				m.apply(r.carrier)
				break
			}
		}
	}
}
