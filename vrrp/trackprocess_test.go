package vrrp

import "testing"

// TestProcessEffect requires keepalived's process_update_track_process_status
// and initialise_process_tracking_priorities: weight 0 is FAULT without
// quorum (with reverse, with it); a positive weight is added with
// quorum, a negative one without; reverse subtracts instead.
func TestProcessEffect(t *testing.T) {
	for _, tc := range []struct {
		quorum  bool
		weight  int
		reverse bool
		fault   bool
		offset  int
	}{
		{true, 0, false, false, 0},
		{false, 0, false, true, 0},
		{true, 0, true, true, 0},
		{false, 0, true, false, 0},
		{true, 10, false, false, 10},
		{false, 10, false, false, 0},
		{true, -10, false, false, 0},
		{false, -10, false, false, -10},
		{true, 10, true, false, -10},
		{false, -10, true, false, 10},
	} {
		pt := &processTracker{quorum: tc.quorum}
		fault, offset := pt.effect(tc.weight, tc.reverse)
		if fault != tc.fault || offset != tc.offset {
			t.Errorf("quorum %v weight %d reverse %v: fault %v offset %d, want %v %d",
				tc.quorum, tc.weight, tc.reverse, fault, offset, tc.fault, tc.offset)
		}
	}
}
