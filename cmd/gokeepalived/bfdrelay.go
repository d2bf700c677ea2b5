package main

import (
	"context"
	"sync"

	"github.com/gokeepalived/gokeepalived/bfd"
	"github.com/gokeepalived/gokeepalived/internal/bfdd"
	"github.com/gokeepalived/gokeepalived/internal/bgpd"
	"github.com/gokeepalived/gokeepalived/internal/vrrpd"
)

// bfdRelay carries the BFD loop's session states to the VRRP loop and
// the checkers, as keepalived's BFD process writes its events down a
// pipe to each of its VRRP and checker processes. It remembers the last
// state of each session so that a VRRP loop that starts, or starts
// again, while the BFD loop runs hears of sessions that are already Up;
// either loop may stop and start again without the other.
type bfdRelay struct {
	mu      sync.Mutex
	up      map[string]bool // by bfd_instance, for those sending to VRRP
	checker map[string]bool // by bfd_instance, for those sending to the checkers
}

// run hands vrrp() every event of b for VRRP until ctx ends.
func (r *bfdRelay) run(ctx context.Context, b *bfdd.Loop, vrrp func() *vrrpd.Loop) {
	events, cancel := b.Subscribe()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			r.mu.Lock()
			up := e.State == bfd.Up
			if e.Checker {
				if r.checker == nil {
					r.checker = make(map[string]bool)
				}
				r.checker[e.Instance] = up
			}
			// keepalived's bfd_instance that names "checker" and not
			// "vrrp" sends nothing to VRRP.
			if !e.VRRP {
				r.mu.Unlock()
				continue
			}
			if r.up == nil {
				r.up = make(map[string]bool)
			}
			r.up[e.Instance] = up
			if v := vrrp(); v != nil {
				v.SetBFD(e.Instance, up)
			}
			r.mu.Unlock()
		}
	}
}

// toBGP hands bgp() the state of every session of b until ctx ends: a
// bgp_speaker neighbor that names a bfd_instance follows its session. A
// BGP loop that starts, or starts again, hears the last state of each
// session before the next event, so that it knows which were Up.
func toBGP(ctx context.Context, b *bfdd.Loop, bgp func() *bgpd.Loop) {
	events, cancel := b.Subscribe()
	defer cancel()
	up := make(map[string]bool)
	var told *bgpd.Loop
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			l := bgp()
			if l != nil && l != told {
				for name, u := range up {
					l.SetBFD(name, u)
				}
				told = l
			}
			up[e.Instance] = e.State == bfd.Up
			if l != nil {
				l.SetBFD(e.Instance, e.State == bfd.Up)
			}
		}
	}
}

// replay hands v the last state of every session.
func (r *bfdRelay) replay(v *vrrpd.Loop) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, up := range r.up {
		v.SetBFD(name, up)
	}
}

// checkerUp reports whether the session of bfd_instance name, among those
// sending to the checkers, was Up when the BFD loop last told.
func (r *bfdRelay) checkerUp(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checker[name]
}
