package vrrp

import (
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/proctrack"
)

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

// TestParamMatchValues requires vrrp's param_match values to be
// proctrack's, which the router passes on as they are.
func TestParamMatchValues(t *testing.T) {
	for v, p := range map[ParamMatch]proctrack.ParamMatch{
		ParamMatchNone:    proctrack.ParamMatchNone,
		ParamMatchExact:   proctrack.ParamMatchExact,
		ParamMatchPartial: proctrack.ParamMatchPartial,
		ParamMatchInitial: proctrack.ParamMatchInitial,
	} {
		if int(v) != int(p) {
			t.Errorf("vrrp's %d is proctrack's %d", v, p)
		}
	}
}
