package check

import "testing"

func TestCheckerStateRetrySemantics(t *testing.T) {
	type step struct {
		ok      bool
		changed bool
		loop    bool
		up      bool
	}
	tests := []struct {
		name  string
		retry int
		alpha bool
		steps []step
	}{
		{
			name:  "first failure is enough before the first verdict",
			retry: 3,
			steps: []step{
				{ok: false, changed: true, loop: true, up: false},
				{ok: true, changed: true, loop: true, up: true},
			},
		},
		{
			name:  "down after retry+1 consecutive failures once running",
			retry: 2,
			steps: []step{
				{ok: true, loop: true, up: true},
				{ok: false, loop: false, up: true},
				{ok: false, loop: false, up: true},
				{ok: false, changed: true, loop: true, up: false},
			},
		},
		{
			name:  "a success resets the retry count",
			retry: 1,
			steps: []step{
				{ok: true, loop: true, up: true},
				{ok: false, loop: false, up: true},
				{ok: true, loop: true, up: true},
				{ok: false, loop: false, up: true},
				{ok: false, changed: true, loop: true, up: false},
			},
		},
		{
			name:  "retry 0 is down on the first failure",
			retry: 0,
			steps: []step{
				{ok: true, loop: true, up: true},
				{ok: false, changed: true, loop: true, up: false},
			},
		},
		{
			name:  "alpha starts down and comes up on the first success",
			retry: 2,
			alpha: true,
			steps: []step{
				{ok: true, changed: true, loop: true, up: true},
			},
		},
		{
			name:  "alpha first failure is a verdict without change",
			retry: 2,
			alpha: true,
			steps: []step{
				{ok: false, loop: true, up: false},
				{ok: false, loop: false, up: false},
				{ok: true, changed: true, loop: true, up: true},
			},
		},
		{
			name:  "a down checker keeps cycling through its retries",
			retry: 1,
			steps: []step{
				{ok: false, changed: true, loop: true, up: false},
				{ok: false, loop: false, up: false},
				{ok: false, loop: true, up: false},
				{ok: false, loop: false, up: false},
				{ok: true, changed: true, loop: true, up: true},
			},
		},
		{
			name:  "up after one success, whatever the retry count",
			retry: 5,
			steps: []step{
				{ok: false, changed: true, loop: true, up: false},
				{ok: true, changed: true, loop: true, up: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCheckerState(tt.retry, tt.alpha)
			if s.up == tt.alpha {
				t.Fatalf("initial up = %v with alpha %v", s.up, tt.alpha)
			}
			for i, st := range tt.steps {
				changed, loop := s.observe(st.ok)
				if changed != st.changed || loop != st.loop || s.up != st.up {
					t.Fatalf("step %d (ok=%v): changed=%v loop=%v up=%v, want changed=%v loop=%v up=%v",
						i, st.ok, changed, loop, s.up, st.changed, st.loop, st.up)
				}
			}
		})
	}
}
