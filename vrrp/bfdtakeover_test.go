package vrrp

import (
	"net/netip"
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
		answer      time.Duration
		want        time.Duration // from the Down to MASTER
	}{
		{"adverts silent", 1500 * time.Millisecond, 350 * time.Millisecond, skew},
		{"advert due later", 100 * time.Millisecond, 350 * time.Millisecond, skew},
		{"answer longer than skew", 100 * time.Millisecond, 800 * time.Millisecond, 800*time.Millisecond + skew/8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			i, c, n, hook := newTestInstance(t, baseConfig())
			feed(i, c, advert(t, lower, 150, nil), lower, time.Second, 3*time.Second)
			c.Advance(tt.sinceAdvert - time.Second) // feed advanced a second past the last
			at := c.Now()
			i.MasterGone(lower, tt.answer)
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

// A master with bfd_takeover answers a BFD Down with an advert at once;
// a backup, or an instance in another state, sends nothing.
func TestAnswerBFDDown(t *testing.T) {
	down := 3*time.Second + 156*time.Second/256
	i, c, n, _ := newTestInstance(t, baseConfig())
	c.Advance(down)
	if i.Status().State != StateMaster {
		t.Fatal("not master")
	}
	sent := len(n.sends)
	c.Advance(100 * time.Millisecond)
	i.AnswerBFDDown("PEER")
	if len(n.sends) != sent+1 || !n.sends[sent].Equal(c.Now()) {
		t.Fatalf("sends %v, want one at %v", n.sends[sent:], c.Now())
	}
	b, _, _, _ := newTestInstance(t, baseConfig())
	feed(b, c, advert(t, lower, 150, nil), lower, time.Second, 3*time.Second)
	b.AnswerBFDDown("PEER")
	if b.Status().State != StateBackup {
		t.Fatal("a backup's answer changed its state")
	}
}

func TestMasterGoneGuards(t *testing.T) {
	down := 3*time.Second + 156*time.Second/256
	t.Run("another address", func(t *testing.T) {
		i, c, _, _ := newTestInstance(t, baseConfig())
		feed(i, c, advert(t, lower, 150, nil), lower, time.Second, 3*time.Second)
		i.MasterGone(higher, 0)
		c.Advance(down - time.Second - time.Nanosecond)
		if i.Status().State != StateBackup {
			t.Fatal("a Down of a session to another address took over")
		}
	})
	t.Run("advert after the Down", func(t *testing.T) {
		i, c, n, _ := newTestInstance(t, baseConfig())
		b := advert(t, lower, 150, nil)
		feed(i, c, b, lower, time.Second, 3*time.Second)
		i.Receive(b, lower, group4, TTL)
		c.Advance(300 * time.Millisecond)
		i.MasterGone(lower, 350*time.Millisecond)
		// The master lives: its answer comes within the answer time,
		// and its adverts go on; the backup stays BACKUP through all
		// of them and sends nothing.
		c.Advance(200 * time.Millisecond)
		i.Receive(b, lower, group4, TTL)
		c.Advance(500 * time.Millisecond)
		feed(i, c, b, lower, time.Second, 10*time.Second)
		if i.Status().State != StateBackup || len(n.sends) != 0 {
			t.Fatalf("took over while adverts arrived: %v, %d sends", i.Status().State, len(n.sends))
		}
	})
	t.Run("no master heard", func(t *testing.T) {
		i, c, _, _ := newTestInstance(t, baseConfig())
		i.MasterGone(lower, 350*time.Millisecond)
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
		i.MasterGone(lower, 350*time.Millisecond)
		c.Advance(time.Second)
		if i.Status().State != StateMaster || len(n.sends) != sent+1 {
			t.Fatalf("master disturbed: %v, %d sends", i.Status().State, len(n.sends)-sent)
		}
	})
}

// Two backups of a dead master whose answer time is longer than their
// skews keep VRRP's order: the lower one's advert, if it takes over
// first, does not stop the higher one, even under nopreempt; an advert
// of higher priority, or the master's own, does.
func TestMasterGoneKeepsOrder(t *testing.T) {
	const answer = 650 * time.Millisecond
	skew := 156 * time.Second / 256
	for _, tt := range []struct {
		name     string
		src      netip.Addr
		prio     uint8
		takeover bool
	}{
		{"lower priority backup", higher, 50, true},
		{"higher priority backup", higher, 200, false},
		{"the master answers", lower, 150, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Nopreempt = true
			i, c, n, _ := newTestInstance(t, cfg)
			feed(i, c, advert(t, lower, 150, nil), lower, time.Second, 3*time.Second)
			at := c.Now()
			i.MasterGone(lower, answer)
			c.Advance(answer / 2)
			i.Receive(advert(t, tt.src, tt.prio, nil), tt.src, group4, TTL)
			c.Advance(at.Add(answer + skew/8).Sub(c.Now()))
			if got := i.Status().State == StateMaster; got != tt.takeover {
				t.Fatalf("MASTER %v after the answer time, want %v (sends %v)", got, tt.takeover, n.sends)
			}
		})
	}
}
