package chaos

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The lab has three directors; every instance runs on all three.
const nDirectors = 3

// trackMode is how an instance follows its director's health script.
type trackMode int

const (
	trackNone   trackMode = iota
	trackWeight           // track_script with a negative weight: priority drops
	trackFault            // track_script without weight: FAULT while failing
)

// healthWeight is the weight of the weighted track_script. With the
// priorities below, every healthy and unhealthy effective priority of one
// instance is distinct, so no election is decided by addresses.
const healthWeight = -120

// An instanceSpec is one vrrp_instance as all three directors run it.
type instanceSpec struct {
	name      string
	vrid      int
	vip       string
	prio      [nDirectors]int // per director
	nopreempt bool
	track     trackMode
}

// instances are the lab's virtual routers. Priorities are 100 apart so
// that Skew_Time separates the candidates of an election by about 200 ms
// at advert_int 0.5: a nopreempt election after the owner is lost is
// decided by that margin, and a narrower one would let scheduling noise on
// a loaded machine pick the winner.
var instances = []instanceSpec{
	{name: "VI_1", vrid: 61, vip: "10.66.0.201", prio: [nDirectors]int{250, 150, 50}, track: trackWeight},
	{name: "VI_2", vrid: 62, vip: "10.66.0.202", prio: [nDirectors]int{50, 250, 150}, nopreempt: true, track: trackFault},
	{name: "VI_3", vrid: 63, vip: "10.66.0.203", prio: [nDirectors]int{150, 50, 250}},
}

// nodeState is what the model knows of one director.
type nodeState struct {
	alive   bool // the daemon runs (not killed)
	stopped bool // SIGSTOP: hung, holds what it held, sends nothing
	linkUp  bool
	healthy bool // the health script succeeds
	side    int  // 0, or 1 while partitioned away from side 0
}

// world is the model: the state of the directors and the client, and who
// believes itself master of each instance.
type world struct {
	node       [nDirectors]nodeState
	clientSide int
	// claim[i][d]: director d was master of instance i at the last
	// check. A stopped director keeps its claim: it resumes as master.
	claim [][nDirectors]bool
}

func newWorld() *world {
	w := &world{claim: make([][nDirectors]bool, len(instances))}
	for d := range w.node {
		w.node[d] = nodeState{alive: true, linkUp: true, healthy: true}
	}
	return w
}

// eligible reports whether director d can be master of instance i: its
// daemon runs and is not hung, its link is up, and a failing track_script
// does not hold the instance in FAULT.
func (w *world) eligible(d, i int) bool {
	n := w.node[d]
	return n.alive && !n.stopped && n.linkUp && !(instances[i].track == trackFault && !n.healthy)
}

// eprio is d's effective priority in instance i, clamped to 1..254 as
// keepalived clamps it.
func (w *world) eprio(d, i int) int {
	p := instances[i].prio[d]
	if instances[i].track == trackWeight && !w.node[d].healthy {
		p += healthWeight
	}
	return min(max(p, 1), 254)
}

// observed reports whether the test can see d's addresses as its own
// state: a killed or hung daemon cannot remove the VIPs it holds, so they
// are not counted.
func (w *world) observed(d int) bool { return w.node[d].alive && !w.node[d].stopped }

// A rule names what makes the expected owner more or less certain.
type rule struct {
	// spurious: packets were lost or a hung daemon resumed, so any
	// eligible director may have claimed mastership on its own (a
	// down timer ran out). Claims are settled by priority, which for
	// a nopreempt instance can move ownership up to a higher priority.
	spurious bool
	// startup: the daemons start one after another; for a nopreempt
	// instance whoever started first may keep it.
	startup bool
}

// expect returns, for each side of a partition, the directors allowed to
// hold instance i's VIP; an empty set means none may hold it. The rules
// are the protocol's:
//   - masters that hear each other keep the one of highest priority (a
//     master steps down for a higher priority advert, preempt or not);
//   - with preempt, a backup of higher priority than the master takes
//     over, so the highest eligible priority wins;
//   - with nopreempt, a master keeps the instance while it stays
//     eligible; when it is lost the backups elect the highest priority,
//     whose down timer runs out first.
func (w *world) expect(i int, r rule) [2][]int {
	var out [2][]int
	for side := range 2 {
		var elig, claims []int
		for d := range nDirectors {
			if w.node[d].side != side || !w.eligible(d, i) {
				continue
			}
			elig = append(elig, d)
			if w.claim[i][d] {
				claims = append(claims, d)
			}
		}
		if len(elig) == 0 {
			continue
		}
		best := w.highest(i, elig)
		switch {
		case !instances[i].nopreempt:
			out[side] = []int{best}
		case len(claims) == 0 && r.startup:
			out[side] = elig
		case len(claims) == 0:
			out[side] = []int{best}
		default:
			owner := w.highest(i, claims)
			out[side] = []int{owner}
			if r.spurious {
				for _, d := range elig {
					if w.eprio(d, i) > w.eprio(owner, i) {
						out[side] = append(out[side], d)
					}
				}
			}
		}
	}
	return out
}

func (w *world) highest(i int, ds []int) int {
	best := ds[0]
	for _, d := range ds[1:] {
		if w.eprio(d, i) > w.eprio(best, i) {
			best = d
		}
	}
	return best
}

// settle records who holds each instance after a check: observed
// directors claim what they hold, hung ones keep their claims, killed
// ones lose them.
func (w *world) settle(holders [][]int) {
	for i := range instances {
		for d := range nDirectors {
			switch {
			case !w.node[d].alive:
				w.claim[i][d] = false
			case w.observed(d):
				w.claim[i][d] = slices.Contains(holders[i], d)
			}
		}
	}
}

// verify compares the VIP holders seen on observed directors with the
// expected sets and returns what differs, or "" when nothing does.
func (w *world) verify(exp [][2][]int, holders [][]int) string {
	var bad []string
	for i := range instances {
		for side := range 2 {
			var hs []int
			for _, d := range holders[i] {
				if w.node[d].side == side {
					hs = append(hs, d)
				}
			}
			want := exp[i][side]
			ok := len(hs) == 0 && len(want) == 0 ||
				len(hs) == 1 && slices.Contains(want, hs[0])
			if !ok {
				bad = append(bad, fmt.Sprintf("%s side %d: held by %s, want one of %s",
					instances[i].name, side, names(hs), names(want)))
			}
		}
	}
	return strings.Join(bad, "; ")
}

func names(ds []int) string {
	if len(ds) == 0 {
		return "none"
	}
	s := make([]string, len(ds))
	for k, d := range ds {
		s[k] = dirName(d)
	}
	return strings.Join(s, ",")
}

func dirName(d int) string { return fmt.Sprintf("d%d", d+1) }

// TestModel checks the expected-owner model on the cases the chaos run
// relies on, so that a violation it reports is the daemon's and not the
// model's.
func TestModel(t *testing.T) {
	const vi1, vi2, vi3 = 0, 1, 2
	w := newWorld()
	want := func(i, side int, r rule, ds ...int) {
		t.Helper()
		got := w.expect(i, r)[side]
		if !slices.Equal(got, ds) {
			t.Fatalf("%s side %d: expected owners %s, want %s", instances[i].name, side, names(got), names(ds))
		}
	}
	// Start-up: preempt instances go to the highest priority; the
	// nopreempt one to whoever got there first.
	want(vi1, 0, rule{startup: true}, 0)
	want(vi3, 0, rule{startup: true}, 2)
	want(vi2, 0, rule{startup: true}, 0, 1, 2)
	// d3 won VI_2 at start-up and keeps it against d2's higher priority.
	w.settle([][]int{{0}, {2}, {2}})
	want(vi2, 0, rule{}, 2)
	// Under packet loss d2 may claim it and win on priority; d1 may not.
	want(vi2, 0, rule{spurious: true}, 2, 1)
	// d1 unhealthy: VI_1's priority drops below d2's, which preempts.
	w.node[0].healthy = false
	want(vi1, 0, rule{}, 1)
	w.node[0].healthy = true
	// d3 hung: it keeps its claims. VI_2 goes to d2 (highest left).
	w.node[2].stopped = true
	want(vi2, 0, rule{}, 1)
	want(vi3, 0, rule{}, 0)
	w.settle([][]int{{0}, {1}, {0}})
	if !w.claim[vi2][2] || !w.claim[vi2][1] {
		t.Fatal("a hung master must keep its claim beside the new master's")
	}
	// d3 resumes: it and d2 both claim VI_2; d2's priority is higher.
	w.node[2].stopped = false
	want(vi2, 0, rule{spurious: true}, 1)
	want(vi3, 0, rule{}, 2)
	w.settle([][]int{{0}, {1}, {2}})
	// A nopreempt owner that fails its track_script goes to FAULT.
	w.node[1].healthy = false
	want(vi2, 0, rule{}, 2)
	w.settle([][]int{{0}, {2}, {2}})
	w.node[1].healthy = true
	want(vi2, 0, rule{}, 2)
	// Partition {d1} | {d2, d3}: each side elects; VI_2 stays with d3.
	w.node[0].side = 1
	want(vi1, 1, rule{}, 0)
	want(vi1, 0, rule{}, 1)
	want(vi2, 0, rule{}, 2)
	want(vi2, 1, rule{}, 0)
	w.settle([][]int{{0, 1}, {0, 2}, {0, 2}})
	// Healed: two masters of VI_2; d3's priority beats d1's.
	w.node[0].side = 0
	want(vi2, 0, rule{}, 2)
	want(vi1, 0, rule{}, 0)
	// Killed: claims go; a side with nobody eligible expects no holder.
	w.node[2].alive = false
	w.settle([][]int{{0}, {}, {0}})
	if w.claim[vi2][2] {
		t.Fatal("a killed director must lose its claims")
	}
	want(vi2, 0, rule{}, 1)
	w.node[2].alive = true
	w.node[0].linkUp, w.node[1].linkUp, w.node[2].linkUp = false, false, false
	want(vi3, 0, rule{})
}
