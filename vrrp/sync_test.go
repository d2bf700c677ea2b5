package vrrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// director is one router with a sync group of an external and an
// internal instance, each on its own segment.
type director struct {
	ext, int *Instance
	nets     [2]*fakeNet
	group    *SyncGroup
	seen     []Transition
}

func newDirector(t *testing.T, c *fakeClock, wires [2]*fakeWire, addr netip.Addr, prio uint8) *director {
	t.Helper()
	d := &director{}
	var insts [2]*Instance
	for k, name := range []string{"VI_EXT", "VI_INT"} {
		cfg := baseConfig()
		cfg.Name, cfg.VRID, cfg.Primary, cfg.Priority = name, uint8(51+k), addr, prio
		d.nets[k] = &fakeNet{src: addr, clock: c, wire: wires[k]}
		log, _ := testLogger()
		inst, err := NewInstance(cfg, d.nets[k], c, log)
		if err != nil {
			t.Fatal(err)
		}
		wires[k].members[d.nets[k]] = inst
		insts[k] = inst
	}
	d.ext, d.int = insts[0], insts[1]
	log, _ := testLogger()
	g, err := NewSyncGroup("VG_1", func(tr Transition) { d.seen = append(d.seen, tr) }, log, d.ext, d.int)
	if err != nil {
		t.Fatal(err)
	}
	d.group = g
	return d
}

func (d *director) states() string {
	return fmt.Sprintf("%v/%v", d.ext.Status().State, d.int.Status().State)
}

func TestSyncGroup(t *testing.T) {
	c := newFakeClock()
	var wires [2]*fakeWire
	for k := range wires {
		wires[k] = &fakeWire{clock: c, members: map[*fakeNet]*Instance{}, down: map[*fakeNet]bool{}}
	}
	r1 := newDirector(t, c, wires, higher, 200)
	r2 := newDirector(t, c, wires, lower, 100)
	for _, d := range []*director{r1, r2} {
		d.ext.Start()
		d.int.Start()
	}
	check := func(step string, want1, want2 string) {
		t.Helper()
		if got1, got2 := r1.states(), r2.states(); got1 != want1 || got2 != want2 {
			t.Fatalf("%s: r1 %s, r2 %s; want %s, %s", step, got1, got2, want1, want2)
		}
	}
	c.Advance(10 * time.Second)
	check("start", "MASTER/MASTER", "BACKUP/BACKUP")

	// r1's internal link is cut off the segment but keeps carrier:
	// r2 stops hearing r1 there only. Its internal instance wants to be
	// master, its external one still hears r1: the group stays BACKUP.
	wires[1].down[r1.nets[1]] = true
	c.Advance(10 * time.Second)
	check("internal partition", "MASTER/MASTER", "BACKUP/BACKUP")
	if !r2.int.wantMaster {
		t.Fatal("r2's internal instance did not time out")
	}
	wires[1].down[r1.nets[1]] = false
	c.Advance(3 * time.Second)

	// r1's internal link loses carrier: its group goes FAULT, the
	// external master sends priority 0, and r2 takes both over.
	wires[1].down[r1.nets[1]] = true
	r1.int.SetFault(true)
	check("r1 internal fault", "FAULT/FAULT", "BACKUP/BACKUP")
	if r1.nets[0].last().Priority != 0 || r1.nets[0].vipsUp {
		t.Fatal("r1's external instance did not resign")
	}
	// After the external skew time, r2's external instance wants to be
	// master but waits for the internal one's down timer.
	c.Advance(time.Second)
	check("r2 external skew", "FAULT/FAULT", "BACKUP/BACKUP")
	c.Advance(4 * time.Second)
	check("r2 internal down timer", "FAULT/FAULT", "MASTER/MASTER")

	// r1 recovers and preempts r2 on both segments.
	wires[1].down[r1.nets[1]] = false
	r1.int.SetFault(false)
	check("r1 recovered", "BACKUP/BACKUP", "MASTER/MASTER")
	c.Advance(10 * time.Second)
	check("r1 preempted", "MASTER/MASTER", "BACKUP/BACKUP")

	// One better master on the external segment alone moves r1's whole
	// group to BACKUP.
	r1.ext.Receive(advert(t, lower, 250, func(a *Advertisement) { a.VRID = 51 }), lower, group4, TTL)
	check("higher priority on one segment", "BACKUP/BACKUP", "BACKUP/BACKUP")

	want := "[INIT->BACKUP BACKUP->MASTER MASTER->FAULT FAULT->BACKUP BACKUP->MASTER MASTER->BACKUP]"
	if got := transitions(r1.seen); got != want {
		t.Fatalf("r1's group transitions %s, want %s", got, want)
	}
	for _, tr := range r1.seen {
		if !tr.Group || tr.Instance != "VG_1" {
			t.Fatalf("group transition %+v", tr)
		}
	}
}

func TestSyncGroupStartsInFault(t *testing.T) {
	c := newFakeClock()
	var wires [2]*fakeWire
	for k := range wires {
		wires[k] = &fakeWire{clock: c, members: map[*fakeNet]*Instance{}, down: map[*fakeNet]bool{}}
	}
	d := newDirector(t, c, wires, ours, 100)
	d.int.SetFault(true)
	d.int.Start()
	d.ext.Start()
	c.Advance(10 * time.Second)
	if got := d.states(); got != "FAULT/FAULT" {
		t.Fatalf("states %s, want FAULT/FAULT", got)
	}
	d.int.SetFault(false)
	c.Advance(10 * time.Second)
	if got := d.states(); got != "MASTER/MASTER" {
		t.Fatalf("states %s after the link came up, want MASTER/MASTER", got)
	}
}

func TestNewSyncGroupErrors(t *testing.T) {
	log, _ := testLogger()
	mk := func() *Instance {
		i, err := NewInstance(baseConfig(), &fakeNet{}, newFakeClock(), log)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	a, b, c := mk(), mk(), mk()
	if _, err := NewSyncGroup("G", nil, log, a); err == nil {
		t.Fatal("group of one accepted")
	}
	if _, err := NewSyncGroup("G1", nil, log, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSyncGroup("G2", nil, log, b, c); err == nil {
		t.Fatal("instance in two groups accepted")
	}
	c.clock = newFakeClock()
	c.Start()
	if _, err := NewSyncGroup("G3", nil, log, c, mk()); err == nil {
		t.Fatal("started instance accepted")
	}
}
