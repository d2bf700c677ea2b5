package vrrp

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// updatingNet is a fakeNet that takes over a predecessor's addresses.
type updatingNet struct {
	fakeNet
	from   Network
	rounds int
	calls  int
}

func (n *updatingNet) UpdateAddresses(old Network, rounds int) error {
	n.from, n.rounds = old, rounds
	n.calls++
	n.vipsUp = true
	return nil
}

var vip2 = netip.MustParseAddr("10.0.0.101")

func TestReconfigure(t *testing.T) {
	tests := []struct {
		name     string
		master   bool // reconfigured as master; otherwise as backup of a 150 master
		change   func(*Config)
		updating bool // the new network is an AddressUpdater
		check    func(t *testing.T, i *Instance, c *fakeClock, old *fakeNet, n Network, sent func() []Advertisement)
	}{
		{
			name: "master takes a new priority in its next advert", master: true,
			change: func(c *Config) { c.Priority = 120 },
			check: func(t *testing.T, i *Instance, c *fakeClock, _ *fakeNet, _ Network, sent func() []Advertisement) {
				c.Advance(time.Second)
				if a := sent(); len(a) != 1 || a[0].Priority != 120 {
					t.Fatalf("adverts after reconfiguration %+v, want one of priority 120", a)
				}
				if st := i.Status(); st.Priority != 120 || st.EffectivePriority != 120 || st.MasterPriority != 120 {
					t.Fatalf("status %+v", st)
				}
			},
		},
		{
			name: "master keeps the trackers' offset", master: true,
			change: func(c *Config) { c.Priority = 120 },
			check: func(t *testing.T, i *Instance, c *fakeClock, _ *fakeNet, _ Network, sent func() []Advertisement) {
				i.SetPriorityOffset(-30)
				c.Advance(time.Second)
				if a := sent(); len(a) != 1 || a[0].Priority != 90 {
					t.Fatalf("adverts %+v, want one of priority 90", a)
				}
			},
		},
		{
			name: "master takes a new advert_int after the advert due", master: true,
			change: func(c *Config) { c.Interval = 3 * time.Second },
			check: func(t *testing.T, i *Instance, c *fakeClock, _ *fakeNet, n Network, sent func() []Advertisement) {
				start := c.Now()
				c.Advance(8 * time.Second)
				// The advert armed before goes out within the old
				// interval; the next ones every 3 s.
				f := n.(*fakeNet)
				if len(f.sends) != 3 || f.sends[0].After(start.Add(time.Second)) ||
					f.sends[1].Sub(f.sends[0]) != 3*time.Second || f.sends[2].Sub(f.sends[1]) != 3*time.Second {
					t.Fatalf("adverts at %v after a reconfiguration at %v, want every 3 s", f.sends, start)
				}
				if a := sent(); a[0].Interval != 3*time.Second {
					t.Fatalf("adverts %+v, want of interval 3s", a)
				}
			},
		},
		{
			name: "master hands its addresses to an updating network", master: true, updating: true,
			change: func(c *Config) { c.Addresses = []netip.Addr{vip2} },
			check: func(t *testing.T, i *Instance, c *fakeClock, old *fakeNet, n Network, sent func() []Advertisement) {
				u := n.(*updatingNet)
				if u.calls != 1 || u.from != Network(old) || u.rounds != DefaultGarpMasterRepeat {
					t.Fatalf("UpdateAddresses called %d times from %v with %d rounds", u.calls, u.from, u.rounds)
				}
				if old.removed != 1 || len(old.garps) != 1 || len(u.garps) != 0 {
					t.Fatalf("old network: removals %d (1 at start), announcements %v; new: %v", old.removed, old.garps, u.garps)
				}
				c.Advance(time.Second)
				if a := sent(); len(a) != 1 || !slices.Equal(a[0].Addresses, []netip.Addr{vip2}) {
					t.Fatalf("adverts %+v, want one for %v", a, vip2)
				}
			},
		},
		{
			name: "master moves its addresses through a plain network", master: true,
			change: func(c *Config) { c.Addresses = []netip.Addr{vip, vip2} },
			check: func(t *testing.T, i *Instance, c *fakeClock, old *fakeNet, n Network, _ func() []Advertisement) {
				f := n.(*fakeNet)
				if old.removed != 2 || old.vipsUp || !f.vipsUp || f.added != 1 || fmt.Sprint(f.garps) != "[5]" {
					t.Fatalf("old removals %d, up %v; new up %v, additions %d, announcements %v", old.removed, old.vipsUp, f.vipsUp, f.added, f.garps)
				}
			},
		},
		{
			name: "master unchanged touches nothing", master: true, updating: true,
			check: func(t *testing.T, i *Instance, c *fakeClock, old *fakeNet, n Network, sent func() []Advertisement) {
				c.Advance(time.Second)
				if a := sent(); len(a) != 1 || a[0].Priority != 100 {
					t.Fatalf("adverts %+v", a)
				}
			},
		},
		{
			name:   "backup raised above the master preempts at its down timer",
			change: func(c *Config) { c.Priority = 200 },
			check: func(t *testing.T, i *Instance, c *fakeClock, _ *fakeNet, _ Network, _ func() []Advertisement) {
				// The master's adverts are now lower: discarded, so
				// the down timer runs out.
				feed(i, c, advert(t, lower, 150, nil), lower, time.Second, time.Second)
				if s := i.Status().State; s != StateBackup {
					t.Fatalf("state %v before the down interval", s)
				}
				c.Advance(2 * time.Second)
				if s := i.Status().State; s != StateMaster {
					t.Fatalf("state %v after the down interval, want MASTER", s)
				}
			},
		},
		{
			name:   "backup with nopreempt stays backup",
			change: func(c *Config) { c.Priority = 200; c.Nopreempt = true },
			check: func(t *testing.T, i *Instance, c *fakeClock, _ *fakeNet, _ Network, _ func() []Advertisement) {
				feed(i, c, advert(t, lower, 150, nil), lower, time.Second, 10*time.Second)
				if s := i.Status().State; s != StateBackup {
					t.Fatalf("state %v, want BACKUP", s)
				}
			},
		},
		{
			name:   "backup takes a new password",
			change: func(c *Config) { c.AuthType, c.AuthPass = AuthPass, "secret" },
			check: func(t *testing.T, i *Instance, c *fakeClock, _ *fakeNet, _ Network, _ func() []Advertisement) {
				i.Receive(advert(t, lower, 150, nil), lower, group4, TTL)
				if i.Status().Stats.Drops[DropAuth] != 1 {
					t.Fatal("advert without authentication accepted")
				}
				withPass := advert(t, lower, 150, func(a *Advertisement) {
					a.AuthType = AuthPass
					copy(a.AuthData[:], "secret")
				})
				feed(i, c, withPass, lower, time.Second, 10*time.Second)
				if s := i.Status().State; s != StateBackup {
					t.Fatalf("state %v, want BACKUP behind the master", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			var seen []Transition
			cfg.Notify = func(tr Transition) {
				// State changes only: the rejected adverts' events
				// are not transitions.
				if tr.Event == EventNone {
					seen = append(seen, tr)
				}
			}
			i, c, old, _ := newTestInstance(t, cfg)
			if tt.master {
				c.Advance(4 * time.Second)
			} else {
				feed(i, c, advert(t, lower, 150, nil), lower, time.Second, 2*time.Second)
			}
			before := i.Status()
			if tt.change != nil {
				tt.change(&cfg)
			}
			var n Network
			var sent func() []Advertisement
			if tt.updating {
				u := &updatingNet{fakeNet: fakeNet{src: ours, clock: c}}
				n, sent = u, func() []Advertisement { return u.adverts }
			} else {
				f := &fakeNet{src: ours, clock: c}
				n, sent = f, func() []Advertisement { return f.adverts }
			}
			if err := i.Reconfigure(cfg, n); err != nil {
				t.Fatalf("Reconfigure: %v", err)
			}
			if st := i.Status(); st.State != before.State || st.Stats.Transitions != before.Stats.Transitions {
				t.Fatalf("reconfiguration moved %v to %v, transitions %d to %d", before.State, st.State,
					before.Stats.Transitions, st.Stats.Transitions)
			}
			nOld := len(old.adverts)
			tt.check(t, i, c, old, n, sent)
			if len(old.adverts) != nOld {
				t.Fatalf("%d adverts sent on the replaced network", len(old.adverts)-nOld)
			}
			// Only the transitions the check provoked.
			for _, tr := range seen[before.Stats.Transitions:] {
				if tr.To != StateMaster {
					t.Fatalf("unexpected transitions %s", transitions(seen))
				}
			}
		})
	}
}

func TestReconfigureErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Config)
	}{
		{"VRID", func(c *Config) { c.VRID = 52 }},
		{"priority 0", func(c *Config) { c.Priority = 0 }},
		{"long password", func(c *Config) { c.AuthType, c.AuthPass = AuthPass, "123456789" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			i, c, n, _ := newTestInstance(t, cfg)
			c.Advance(4 * time.Second)
			tt.change(&cfg)
			if err := i.Reconfigure(cfg, &fakeNet{clock: c}); err == nil {
				t.Fatal("Reconfigure succeeded")
			}
			c.Advance(time.Second)
			if len(n.adverts) != 2 || n.last().Priority != 100 {
				t.Fatalf("after a failed reconfiguration the instance sent %+v", n.adverts)
			}
		})
	}
}

// TestRegroup joins two running masters into a group, checks that they
// then fail together, and that they no longer do once ungrouped.
func TestRegroup(t *testing.T) {
	c := newFakeClock()
	log, hook := testLogger()
	var insts []*Instance
	for k, name := range []string{"VI_1", "VI_2"} {
		cfg := baseConfig()
		cfg.Name, cfg.VRID = name, uint8(51+k)
		i, err := NewInstance(cfg, &fakeNet{src: ours, clock: c}, c, log)
		if err != nil {
			t.Fatal(err)
		}
		if err := i.Start(); err != nil {
			t.Fatal(err)
		}
		insts = append(insts, i)
	}
	c.Advance(4 * time.Second)
	var seen []Transition
	g, err := Regroup("VG_1", func(tr Transition) { seen = append(seen, tr) }, log, insts...)
	if err != nil {
		t.Fatal(err)
	}
	if g.State() != StateMaster || len(seen) != 0 {
		t.Fatalf("re-formed group %v with transitions %s, want MASTER without", g.State(), transitions(seen))
	}
	insts[0].SetFault(true)
	if s := insts[1].Status().State; s != StateFault {
		t.Fatalf("group member %v after the other's fault, want FAULT", s)
	}
	if logged(hook, "VRRP_Group(VG_1) Syncing instances to FAULT state") != 1 {
		t.Fatalf("group transition not logged: %v", messages(hook))
	}
	insts[0].SetFault(false)
	c.Advance(4 * time.Second)
	if s := insts[1].Status().State; s != StateMaster {
		t.Fatalf("member %v after the fault cleared, want MASTER", s)
	}

	insts[0].Ungroup()
	if insts[0].syncGroup() != nil || insts[1].syncGroup() != nil {
		t.Fatal("a group of one survived")
	}
	insts[0].SetFault(true)
	if s := insts[1].Status().State; s != StateMaster {
		t.Fatalf("former member %v after the other's fault, want MASTER", s)
	}
	if _, err := Regroup("VG_2", nil, log, insts[0]); err == nil {
		t.Fatal("group of one formed")
	}
	if _, err := Regroup("VG_2", nil, log, insts[0], insts[0]); err == nil {
		t.Fatal("group of one instance twice formed")
	}
}

// TestRegroupWhileRunning moves instances between groups while their
// timers fire, for the race detector.
func TestRegroupWhileRunning(t *testing.T) {
	log, _ := testLogger()
	clock := SystemClock()
	var insts []*Instance
	for k := range 3 {
		cfg := baseConfig()
		cfg.Name, cfg.VRID, cfg.Version, cfg.Interval = fmt.Sprintf("VI_%d", k), uint8(51+k), 3, 10*time.Millisecond
		i, err := NewInstance(cfg, &lockedNet{}, clock, log)
		if err != nil {
			t.Fatal(err)
		}
		if err := i.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(i.Stop)
		insts = append(insts, i)
	}
	for k := range 50 {
		a, b := insts[k%3], insts[(k+1)%3]
		if _, err := Regroup("VG", nil, log, a, b); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		if k%5 == 0 {
			a.Ungroup()
		}
	}
}

// lockedNet is a Network that does nothing, for instances on the system
// clock.
type lockedNet struct{}

func (lockedNet) Advertise(*Advertisement) error { return nil }
func (lockedNet) AddAddresses() error            { return nil }
func (lockedNet) RemoveAddresses() error         { return nil }
func (lockedNet) Announce(int) error             { return nil }
