package vrrp

import (
	"runtime/debug"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// A guard contains the panics of the goroutines the package starts:
// packet readers, timers, the link watcher and the trackers. A panic in
// one of them is a bug, but it must not take the virtual addresses down
// with the process, which the peers would see as a failed master: it is
// logged with its stack, counted, and the goroutine's loop goes on with
// the next packet, timer or event.
type guard struct {
	log    logrus.FieldLogger
	count  atomic.Uint64
	parent *guard // counts too, when set
}

// recovered must be deferred, directly: it stops a panic, logs it as
// happening in what, counts it and reports whether there was one.
func (g *guard) recovered(what string, v any) bool {
	if v == nil {
		return false
	}
	for p := g; p != nil; p = p.parent {
		p.count.Add(1)
	}
	g.log.Errorf("%s: recovered from panic: %v\n%s", what, v, debug.Stack())
	return true
}

// run calls f, containing a panic in it.
func (g *guard) run(what string, f func()) (panicked bool) {
	defer func() { panicked = g.recovered(what, recover()) }()
	f()
	return false
}

// Panics returns the number of panics contained in the router's
// goroutines, its instances' included, since it was created. Each was
// logged at error level with its stack; the instance or loop where it
// happened kept running in the state it was in.
func (r *Router) Panics() uint64 { return r.guard.count.Load() }
