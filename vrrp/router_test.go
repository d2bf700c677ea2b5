package vrrp

import (
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

const labVIP = "10.99.0.100"

func ourSpec(prio uint8) routerSpec {
	return routerSpec{Name: "VI_1", VRID: 51, Priority: prio, VIPs: []string{labVIP + "/24"}}
}

// TestRouterFailover elects a master between two of our routers, kills it
// with SIGKILL and checks that the backup takes the VIP and that a client
// follows it to the backup's MAC through gratuitous ARP (IPv4) or
// unsolicited neighbour advertisements (IPv6).
func TestRouterFailover(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, vip, prefix, announce string
		version                     int
	}{
		{"IPv4", labVIP, "/24", "Sending gratuitous ARP on eth0 for ", 2},
		{"IPv6", "fd00:99::100", "/64", "Sending unsolicited Neighbour Advert on eth0 for ", 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := nettest.NewLab(t)
			a := l.AddHost("a", "10.99.0.1/24", "fd00:99::1/64")
			b := l.AddHost("b", "10.99.0.2/24", "fd00:99::2/64")
			c := l.AddHost("c", "10.99.0.3/24", "fd00:99::3/64")
			sa, sb := ourSpec(150), ourSpec(100)
			sa.VIPs, sb.VIPs = []string{tt.vip + tt.prefix}, []string{tt.vip + tt.prefix}
			sa.Version, sb.Version = tt.version, tt.version
			da := startOurs(t, a, sa)
			db := startOurs(t, b, sb)
			waitVIP(t, a, tt.vip, 10*time.Second, da, db)
			if got := oneMaster(t, tt.vip, 2*time.Second, a, b); got != a {
				t.Fatalf("master is %s, want a", got.Name)
			}
			c.Run("ping", "-c1", "-W2", tt.vip)
			if got := c.Neighbor(tt.vip); got.String() != a.MAC.String() {
				t.Fatalf("client's neighbour entry for the VIP = %v, want a's %v", got, a.MAC)
			}
			da.Kill()
			took := waitVIP(t, b, tt.vip, 10*time.Second, db)
			t.Logf("ours: backup took the VIP %v after the master was killed", took)
			if _, ok := nettest.Eventually(3*time.Second, func() bool { return c.Neighbor(tt.vip).String() == b.MAC.String() }); !ok {
				t.Fatalf("client's neighbour entry for the VIP = %v, want b's %v after the announcements:\n%s",
					c.Neighbor(tt.vip), b.MAC, db.Output())
			}
			if _, ok := nettest.Eventually(5*time.Second, func() bool {
				return c.Exec("ping", "-c1", "-W1", tt.vip).Run() == nil
			}); !ok {
				t.Fatalf("the VIP does not answer the client from the new master")
			}
			if !strings.Contains(db.Output(), tt.announce+tt.vip) {
				t.Fatalf("no announcement logged:\n%s", db.Output())
			}
		})
	}
}

// TestRouterGracefulStop checks that a master stopping with SIGTERM sends
// priority 0, so that the backup takes over after its skew time instead of
// the whole down interval.
func TestRouterGracefulStop(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24")
	da := startOurs(t, a, ourSpec(150))
	db := startOurs(t, b, ourSpec(100))
	waitVIP(t, a, labVIP, 10*time.Second, da, db)
	oneMaster(t, labVIP, time.Second, a, b)
	start := time.Now()
	st := stopOurs(t, da)
	waitVIP(t, b, labVIP, 5*time.Second, db)
	took := time.Since(start)
	t.Logf("backup took the VIP %v after SIGTERM to the master", took)
	// Skew time for priority 100 is 609 ms; the down interval 3.6 s.
	if took > 2*time.Second {
		t.Fatalf("takeover took %v, want about the skew time", took)
	}
	if a.HasAddr(labVIP) {
		t.Fatal("stopped master kept the VIP")
	}
	if st.Stats.PriorityZeroSent != 1 || st.State != StateStop {
		t.Fatalf("stopped master's status: %+v", st)
	}
	if !strings.Contains(db.Output(), "(VI_1) Backup received priority 0 advertisement") {
		t.Fatal("backup did not log the priority 0 advert")
	}
}

// TestRouterPreempt starts a low priority router first, then a higher one.
func TestRouterPreempt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		nopreempt bool
		master    string // name of the master at the end
	}{
		{"preempt", false, "high"},
		{"nopreempt", true, "low"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := nettest.NewLab(t)
			low := l.AddHost("low", "10.99.0.1/24")
			high := l.AddHost("high", "10.99.0.2/24")
			dl := startOurs(t, low, ourSpec(100))
			waitVIP(t, low, labVIP, 10*time.Second, dl)
			spec := ourSpec(200)
			spec.Nopreempt = tt.nopreempt
			dh := startOurs(t, high, spec)
			if !dh.WaitOutput("Entering BACKUP STATE (init)", 5*time.Second) {
				t.Fatalf("high did not start:\n%s", dh.Output())
			}
			if tt.nopreempt {
				// Long enough for a preemption: the down interval is
				// 3.2 s.
				time.Sleep(4 * time.Second)
			} else {
				waitVIP(t, high, labVIP, 5*time.Second, dl, dh)
				// Both hold the VIP until low hears high's first advert.
				if _, ok := nettest.Eventually(2*time.Second, func() bool { return !low.HasAddr(labVIP) }); !ok {
					t.Fatal("low did not yield to high")
				}
			}
			if got := oneMaster(t, labVIP, 2*time.Second, low, high); got.Name != tt.master {
				t.Fatalf("master is %s, want %s", got.Name, tt.master)
			}
		})
	}
}

// TestRouterAuthMismatch runs two routers with different passwords: they
// cannot hear each other, so both are master, and each counts the other's
// adverts as authentication drops.
func TestRouterAuthMismatch(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24")
	sa, sb := ourSpec(150), ourSpec(100)
	sa.AuthPass, sb.AuthPass = "secret1", "secret2"
	da := startOurs(t, a, sa)
	db := startOurs(t, b, sb)
	waitVIP(t, a, labVIP, 10*time.Second, da, db)
	waitVIP(t, b, labVIP, 10*time.Second, da, db)
	time.Sleep(3 * time.Second)
	for _, d := range []*nettest.Daemon{da, db} {
		st := stopOurs(t, d)
		if st.Stats.Drops[DropAuth] < 2 || st.Stats.AdvertsReceived != 0 {
			t.Errorf("status %+v: want at least 2 auth drops and no advert received", st.Stats)
		}
		// Later drops are logged at debug level only.
		if n := strings.Count(d.Output(), `level=info msg="(VI_1) received an invalid passwd!"`); n != 1 {
			t.Errorf("invalid password logged %d times at info level, want once", n)
		}
	}
}

// TestRouterLinkDown pulls the master's cable: it goes to FAULT and drops
// the VIP, the backup takes over, and when the cable is back the master
// preempts again.
func TestRouterLinkDown(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24")
	da := startOurs(t, a, ourSpec(150))
	db := startOurs(t, b, ourSpec(100))
	waitVIP(t, a, labVIP, 10*time.Second, da, db)
	l.SetPort(a, false)
	if !da.WaitOutput("(VI_1) Entering FAULT STATE", 3*time.Second) {
		t.Fatalf("no FAULT on carrier loss:\n%s", da.Output())
	}
	if _, ok := nettest.Eventually(time.Second, func() bool { return !a.HasAddr(labVIP) }); !ok {
		t.Fatal("VIP kept in FAULT")
	}
	waitVIP(t, b, labVIP, 10*time.Second, da, db)
	l.SetPort(a, true)
	if !da.WaitOutput("Netlink reports eth0 up", 3*time.Second) {
		t.Fatalf("no recovery logged:\n%s", da.Output())
	}
	waitVIP(t, a, labVIP, 10*time.Second, da, db)
	oneMaster(t, labVIP, 2*time.Second, a, b)
	if st := stopOurs(t, da); st.Stats.Transitions < 5 {
		t.Fatalf("transitions %d, want INIT>BACKUP>MASTER>FAULT>BACKUP>MASTER", st.Stats.Transitions)
	}
}

// TestRouterStartup starts our router where a crash left the VIP behind
// and the link has no carrier: it must remove the VIP at once and wait in
// FAULT, then run normally once the link is up.
func TestRouterStartup(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24", labVIP+"/24")
	l.SetPort(a, false)
	d := startOurs(t, a, ourSpec(100))
	if !d.WaitOutput("(VI_1) Entering FAULT STATE (init)", 5*time.Second) {
		t.Fatalf("not in FAULT on a link without carrier:\n%s", d.Output())
	}
	if a.HasAddr(labVIP) {
		t.Fatal("leftover VIP not removed at start-up")
	}
	l.SetPort(a, true)
	if !d.WaitOutput("(VI_1) Entering BACKUP STATE", 3*time.Second) {
		t.Fatalf("not in BACKUP once the link is up:\n%s", d.Output())
	}
	waitVIP(t, a, labVIP, 5*time.Second, d)
}

// TestRouterTrackInterface lowers the master's priority by a
// track_interface weight when a second interface loses carrier: the
// backup preempts, and gives the VIP back when the carrier returns.
func TestRouterTrackInterface(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24")
	// t0's carrier follows its peer t1, both inside a's namespace.
	a.Run("ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1")
	a.Run("ip", "link", "set", "t0", "up")
	a.Run("ip", "link", "set", "t1", "up")
	sa := ourSpec(150)
	sa.Track = []TrackedInterface{{Name: "t0", Weight: -60}}
	da := startOurs(t, a, sa)
	db := startOurs(t, b, ourSpec(100))
	waitVIP(t, a, labVIP, 10*time.Second, da, db)
	a.Run("ip", "link", "set", "t1", "down")
	waitVIP(t, b, labVIP, 10*time.Second, da, db)
	if _, ok := nettest.Eventually(2*time.Second, func() bool { return !a.HasAddr(labVIP) }); !ok {
		t.Fatal("a kept the VIP at priority 90")
	}
	if !da.WaitOutput("(VI_1) Changing effective priority from 150 to 90", time.Second) {
		t.Fatalf("no priority change logged:\n%s", da.Output())
	}
	a.Run("ip", "link", "set", "t1", "up")
	waitVIP(t, a, labVIP, 10*time.Second, da, db)
	if _, ok := nettest.Eventually(2*time.Second, func() bool { return !b.HasAddr(labVIP) }); !ok {
		t.Fatal("b kept the VIP after a's priority came back")
	}
}
