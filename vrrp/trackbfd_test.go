package vrrp

import "testing"

// TestBFDEffectFollowsKeepalivedArithmetic checks effect against
// keepalived 2.2.7's own bookkeeping: total_priority starts from a
// session that is not Up (initialise_track_bfd_state), then each change
// adds or takes abs(weight) times the reverse multiplier
// (vrrp_handle_bfd_event), and weight 0 faults while the session's state
// equals reverse. After every step the priority offset and the fault
// must be the same.
func TestBFDEffectFollowsKeepalivedArithmetic(t *testing.T) {
	abs := func(n int) int { return max(n, -n) }
	for _, weight := range []int{-253, -20, -1, 0, 1, 30, 253} {
		for _, reverse := range []bool{false, true} {
			mult := 1
			if reverse {
				mult = -1
			}
			total, fault := 0, false
			if weight == 0 {
				fault = !reverse // not up == reverse
			} else if weight < 0 {
				total += weight * mult
			}
			tr := &bfdTracker{name: "B1"}
			for step, up := range []bool{false, true, false, true, true, false} {
				if up != tr.up {
					if weight != 0 {
						if up {
							total += abs(weight) * mult
						} else {
							total -= abs(weight) * mult
						}
					} else {
						fault = up == reverse
					}
				}
				tr.up = up
				f, o := tr.effect(weight, reverse)
				if f != fault || o != total {
					t.Errorf("weight %d reverse %v, step %d (up %v): effect fault %v offset %d, keepalived fault %v offset %d",
						weight, reverse, step, up, f, o, fault, total)
				}
			}
		}
	}
}
