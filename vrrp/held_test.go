package vrrp

import (
	"strings"
	"testing"
	"time"
)

// heldDirector is newDirector's group with every transition, the
// members' and the group's, recorded in one list in order.
func heldDirector(t *testing.T) (*director, *[]string) {
	t.Helper()
	c := newFakeClock()
	var wires [2]*fakeWire
	for k := range wires {
		wires[k] = &fakeWire{clock: c, members: map[*fakeNet]*Instance{}, down: map[*fakeNet]bool{}}
	}
	d := newDirector(t, c, wires, higher, 100)
	var seen []string
	record := func(tr Transition) { seen = append(seen, tr.Instance+" "+tr.To.String()) }
	d.group.notify = record
	d.ext.cfg.Notify, d.int.cfg.Notify = record, record
	return d, &seen
}

// TestHeldStart: members held by a script with no result yet enter FAULT
// without a word, the group staying INIT; let go, the last member comes
// up first, then the other, then the group, as keepalived's
// try_up_instance and vrrp_sync_backup bring them; or, failing, the first
// member tells FAULT, then the group, then the other.
func TestHeldStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail bool
		want string
	}{
		{"success", false, "VI_INT BACKUP,VI_EXT BACKUP,VG_1 BACKUP"},
		{"failure", true, "VI_EXT FAULT,VG_1 FAULT,VI_INT FAULT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, seen := heldDirector(t)
			d.ext.SetHeld(true)
			d.int.SetHeld(true)
			d.ext.Start()
			d.int.Start()
			if got := d.states(); got != "FAULT/FAULT" || len(*seen) != 0 || d.group.State() != StateInit {
				t.Fatalf("held at start: %s, group %v, transitions %q; want FAULT/FAULT, INIT, none", got, d.group.State(), *seen)
			}
			for _, m := range []*Instance{d.ext, d.int} {
				m.SetFault(tc.fail)
				m.SetHeld(false)
			}
			if got := strings.Join(*seen, ","); got != tc.want {
				t.Errorf("transitions %s, want %s", got, tc.want)
			}
		})
	}
}

// TestHeldOther: a member held by a script holds the whole group in
// FAULT, quietly, though the other member has nothing to wait for.
func TestHeldOther(t *testing.T) {
	d, seen := heldDirector(t)
	d.int.SetHeld(true)
	d.ext.Start()
	d.int.Start()
	if got := d.states(); got != "FAULT/FAULT" || len(*seen) != 0 {
		t.Fatalf("one member held: %s, transitions %q; want FAULT/FAULT, none", got, *seen)
	}
	d.int.SetHeld(false)
	if got, want := strings.Join(*seen, ","), "VI_INT BACKUP,VI_EXT BACKUP,VG_1 BACKUP"; got != want {
		t.Errorf("transitions %s, want %s", got, want)
	}
	d.ext.clock.(*fakeClock).Advance(5 * time.Second)
	if got := d.states(); got != "MASTER/MASTER" {
		t.Errorf("after the down timer: %s, want MASTER/MASTER", got)
	}
}
