package vrrp

import (
	"testing"
	"time"
)

func TestMasterGoneTakesOverAfterSkew(t *testing.T) {
	const skew = 156 * time.Second / 256 // priority 100
	for _, tt := range []struct {
		name string
		// sinceAdvert is how long after the master's last advert the
		// BFD Down comes.
		sinceAdvert time.Duration
		want        time.Duration // from the Down to MASTER
	}{
		{"adverts silent", 1500 * time.Millisecond, skew},
		{"advert due later", 400 * time.Millisecond, 600*time.Millisecond + skew},
		{"advert just due", time.Second, skew},
	} {
		t.Run(tt.name, func(t *testing.T) {
			i, c, n, hook := newTestInstance(t, baseConfig())
			feed(i, c, advert(t, lower, 150, nil), lower, time.Second, 3*time.Second)
			c.Advance(tt.sinceAdvert - time.Second) // feed advanced a second past the last
			at := c.Now()
			i.MasterGone(lower)
			c.Advance(tt.want - time.Nanosecond)
			if i.Status().State != StateBackup {
				t.Fatal("took over early")
			}
			c.Advance(time.Nanosecond)
			if i.Status().State != StateMaster || !n.sends[0].Equal(at.Add(tt.want)) {
				t.Fatalf("state %v, sends %v, want MASTER after %v", i.Status().State, n.sends, tt.want)
			}
			if len(messages(hook)) == 0 {
				t.Fatal("nothing logged")
			}
		})
	}
}

// A master that steps down on its new master's advert counts that advert
// as heard: a Down right after it waits for the next advert's due time.
func TestMasterGoneAfterSteppingDown(t *testing.T) {
	const skew = 156 * time.Second / 256
	i, c, n, _ := newTestInstance(t, baseConfig())
	c.Advance(4 * time.Second)
	if i.Status().State != StateMaster {
		t.Fatal("not master")
	}
	i.Receive(advert(t, lower, 150, nil), lower, group4, TTL)
	if i.Status().State != StateBackup {
		t.Fatal("did not step down")
	}
	stepped, sent := c.Now(), len(n.sends)
	c.Advance(100 * time.Millisecond)
	i.MasterGone(lower)
	c.Advance(time.Second + skew - 100*time.Millisecond - time.Nanosecond)
	if i.Status().State != StateBackup {
		t.Fatal("took over before the next advert was due")
	}
	c.Advance(time.Nanosecond)
	if i.Status().State != StateMaster || !n.sends[sent].Equal(stepped.Add(time.Second+skew)) {
		t.Fatalf("state %v, sends %v, want MASTER at %v", i.Status().State, n.sends[sent:], stepped.Add(time.Second+skew))
	}
}

func TestMasterGoneGuards(t *testing.T) {
	down := 3*time.Second + 156*time.Second/256
	t.Run("another address", func(t *testing.T) {
		i, c, _, _ := newTestInstance(t, baseConfig())
		feed(i, c, advert(t, lower, 150, nil), lower, time.Second, 3*time.Second)
		i.MasterGone(higher)
		c.Advance(down - time.Second - time.Nanosecond)
		if i.Status().State != StateBackup {
			t.Fatal("a Down of a session to another address took over")
		}
	})
	t.Run("advert after the Down", func(t *testing.T) {
		i, c, _, _ := newTestInstance(t, baseConfig())
		b := advert(t, lower, 150, nil)
		feed(i, c, b, lower, time.Second, 3*time.Second)
		i.Receive(b, lower, group4, TTL)
		c.Advance(300 * time.Millisecond)
		i.MasterGone(lower)
		c.Advance(700 * time.Millisecond)
		// The master still speaks VRRP: its adverts go on, and the
		// backup stays BACKUP through all of them.
		feed(i, c, b, lower, time.Second, 10*time.Second)
		if i.Status().State != StateBackup {
			t.Fatal("took over while adverts arrived")
		}
	})
	t.Run("no master heard", func(t *testing.T) {
		i, c, _, _ := newTestInstance(t, baseConfig())
		i.MasterGone(lower)
		c.Advance(time.Second)
		if i.Status().State != StateBackup {
			t.Fatal("took over with no master heard")
		}
	})
	t.Run("master", func(t *testing.T) {
		i, c, n, _ := newTestInstance(t, baseConfig())
		c.Advance(down)
		if i.Status().State != StateMaster {
			t.Fatal("not master")
		}
		sent := len(n.sends)
		i.MasterGone(lower)
		c.Advance(time.Second)
		if i.Status().State != StateMaster || len(n.sends) != sent+1 {
			t.Fatalf("master disturbed: %v, %d sends", i.Status().State, len(n.sends)-sent)
		}
	})
}
