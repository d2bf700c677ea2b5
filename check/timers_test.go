package check

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTimerHeap checks the heap against a sorted list through random
// pushes, pops and removals, and the entries' indexes after each.
func TestTimerHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h timerHeap
	var want []int64 // due times in h
	for step := range 20000 {
		switch op := r.IntN(10); {
		case op < 5 || len(h) == 0:
			at := r.Int64N(1000)
			h.push(&entry{index: -1}, at)
			want = append(want, at)
		case op < 8:
			slices.Sort(want)
			e := h[0].e
			at := h[0].at
			if got := h.pop(); got != e || at != want[0] {
				t.Fatalf("step %d: pop gave due %d, want %d", step, at, want[0])
			}
			if e.index != -1 {
				t.Fatalf("step %d: popped entry keeps index %d", step, e.index)
			}
			want = want[1:]
		default:
			i := r.IntN(len(h))
			at, e := h[i].at, h[i].e
			if got := h.remove(i); got != e || e.index != -1 {
				t.Fatalf("step %d: remove(%d) gave another entry or left its index", step, i)
			}
			j := slices.Index(want, at)
			want = slices.Delete(want, j, j+1)
		}
		if len(h) != len(want) {
			t.Fatalf("step %d: %d entries, want %d", step, len(h), len(want))
		}
		for i, s := range h {
			if s.e.index != i {
				t.Fatalf("step %d: entry at %d has index %d", step, i, s.e.index)
			}
			if i > 0 && h[(i-1)/4].at > s.at {
				t.Fatalf("step %d: slot %d (%d) is due before its parent (%d)", step, i, s.at, h[(i-1)/4].at)
			}
		}
	}
}
