package checkerd

import (
	"context"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/lvs"
)

// drainPoll is how often the connections of draining real servers are
// read: a drained server leaves the table within this of its last
// active connection's end.
const drainPoll = 100 * time.Millisecond

// Drain drains a real server (see lvs.LVS.Drain): weight 0 now, out of
// the table once the kernel counts no active connection to it or
// timeout has passed.
func (l *Loop) Drain(ctx context.Context, vs, rs string, timeout time.Duration) error {
	if err := l.lvs.Drain(ctx, vs, rs, timeout); err != nil {
		return err
	}
	select {
	case l.drainWake <- struct{}{}:
	default:
	}
	return nil
}

// Undrain puts a drained real server back.
func (l *Loop) Undrain(ctx context.Context, vs, rs string) error {
	return l.lvs.Undrain(ctx, vs, rs)
}

// Drains lists the drained real servers.
func (l *Loop) Drains() []lvs.DrainStatus { return l.lvs.Drains() }

// watchDrains takes draining real servers out of the table as their
// connections end or their deadlines pass, polling only while one drains.
func (l *Loop) watchDrains(ctx context.Context) {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.drainWake:
		}
		for l.pollDrains(ctx) {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}

// pollDrains removes the draining servers that are done, and reports
// whether some still drain.
func (l *Loop) pollDrains(ctx context.Context) bool {
	draining := false
	now := time.Now()
	for _, d := range l.lvs.Drains() {
		if d.Removed {
			continue
		}
		if (!d.Deadline.IsZero() && !now.Before(d.Deadline)) || l.activeConns(d) == 0 {
			l.lvs.DrainDone(ctx, d.VirtualServer, d.RealServer)
			continue
		}
		draining = true
	}
	return draining
}

// activeConns is the kernel's count of active connections to a drained
// server over its virtual server's services; -1 when unknown, which keeps
// it draining until its deadline.
func (l *Loop) activeConns(d lvs.DrainStatus) int64 {
	if l.counters == nil {
		return -1
	}
	var n int64
	for i, s := range d.Services {
		sc, ok, err := l.counters(s)
		if err != nil {
			l.log.Warnf("reading the connections of %s: %v", d.RealServer, err)
			return -1
		}
		if !ok {
			continue
		}
		for _, dc := range sc.Destinations {
			if dc.Addr == d.Dests[i] {
				n += int64(dc.ActiveConns)
			}
		}
	}
	return n
}
