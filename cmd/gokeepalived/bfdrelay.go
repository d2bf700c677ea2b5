package main

import (
	"context"
	"sync"

	"github.com/gokeepalived/gokeepalived/bfd"
	"github.com/gokeepalived/gokeepalived/internal/bfdd"
	"github.com/gokeepalived/gokeepalived/internal/vrrpd"
)

// bfdRelay carries the BFD loop's session states to the VRRP loop, as
// keepalived's BFD process writes its events down a pipe to its VRRP
// process. It remembers the last state of each session so that a VRRP
// loop that starts, or starts again, while the BFD loop runs hears of
// sessions that are already Up; either loop may stop and start again
// without the other.
type bfdRelay struct {
	mu sync.Mutex
	up map[string]bool // by bfd_instance, for those sending to VRRP
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
			// keepalived's bfd_instance without "vrrp", among blocks
			// naming "checker", sends nothing to VRRP.
			if !e.VRRP {
				continue
			}
			r.mu.Lock()
			if r.up == nil {
				r.up = make(map[string]bool)
			}
			up := e.State == bfd.Up
			r.up[e.Instance] = up
			if v := vrrp(); v != nil {
				v.SetBFD(e.Instance, up)
			}
			r.mu.Unlock()
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
