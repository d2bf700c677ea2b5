package check

// timerHeap holds the entries waiting for their next attempt, soonest
// first. Each slot carries its entry's due time as nanoseconds since the
// Scheduler's epoch, so that sifting compares integers in one array: with
// tens of thousands of entries, following each entry's pointer to a
// time.Time through container/heap's interface calls cost more than the
// rest of an attempt's bookkeeping. It is 4-ary: half as deep as a binary
// heap, with a slot's children side by side.
type timerHeap []timerSlot

type timerSlot struct {
	at int64 // due, in nanoseconds since the Scheduler's epoch
	e  *entry
}

// push adds e, due at at.
func (h *timerHeap) push(e *entry, at int64) {
	*h = append(*h, timerSlot{at, e})
	h.up(len(*h) - 1)
}

// pop removes and returns the soonest entry; h is not empty.
func (h *timerHeap) pop() *entry {
	return h.remove(0)
}

// remove removes and returns the entry at index i.
func (h *timerHeap) remove(i int) *entry {
	old := *h
	n := len(old) - 1
	e := old[i].e
	if i != n {
		old.set(i, old[n])
	}
	old[n] = timerSlot{}
	*h = old[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	e.index = -1
	return e
}

func (h timerHeap) up(i int) {
	s := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if h[p].at <= s.at {
			break
		}
		h.set(i, h[p])
		i = p
	}
	h.set(i, s)
}

// down sifts the slot at i towards the leaves; it reports whether it
// moved.
func (h timerHeap) down(i int) bool {
	s, start, n := h[i], i, len(h)
	for {
		first := 4*i + 1
		if first >= n {
			break
		}
		c := first
		for j := first + 1; j < min(first+4, n); j++ {
			if h[j].at < h[c].at {
				c = j
			}
		}
		if s.at <= h[c].at {
			break
		}
		h.set(i, h[c])
		i = c
	}
	h.set(i, s)
	return i > start
}

// set puts s at i, and tells its entry.
func (h timerHeap) set(i int, s timerSlot) {
	h[i] = s
	s.e.index = i
}
