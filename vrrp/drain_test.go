package vrrp

import (
	"testing"
	"time"
)

// TestSetDrained holds a master's priority at 1, the address owner's and
// a tracked one's too, so that a backup of any priority takes over, and
// gives it back, trackers' offset included, when undrained.
func TestSetDrained(t *testing.T) {
	for _, tt := range []struct {
		name         string
		prio         uint8
		offset, want int
	}{
		{"priority 100", 100, 0, 100},
		{"tracked down 30", 100, -30, 70},
		{"address owner", PriorityOwner, 0, PriorityOwner},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Priority = tt.prio
			i, c, n, _ := newTestInstance(t, cfg)
			i.SetPriorityOffset(tt.offset)
			c.Advance(5 * time.Second)
			if s := i.Status().State; s != StateMaster {
				t.Fatalf("state %v, want MASTER", s)
			}
			i.SetDrained(true)
			if p := i.Status().EffectivePriority; p != 1 {
				t.Fatalf("drained: effective priority %d, want 1", p)
			}
			c.Advance(time.Second)
			if p := n.last().Priority; p != 1 {
				t.Fatalf("drained master advertises priority %d, want 1", p)
			}
			// A peer at priority 2 is better.
			i.Receive(advert(t, lower, 2, nil), lower, group4, TTL)
			if s := i.Status().State; s != StateBackup {
				t.Fatalf("drained master after a priority 2 advert: %v, want BACKUP", s)
			}
			// Trackers change nothing while drained.
			i.SetPriorityOffset(tt.offset - 10)
			i.SetPriorityOffset(tt.offset)
			if p := i.Status().EffectivePriority; p != 1 {
				t.Fatalf("drained, after a tracker change: effective priority %d, want 1", p)
			}
			i.SetDrained(false)
			if p := int(i.Status().EffectivePriority); p != tt.want {
				t.Fatalf("undrained: effective priority %d, want %d", p, tt.want)
			}
		})
	}
}
