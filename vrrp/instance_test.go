package vrrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"
)

var (
	ours   = netip.MustParseAddr("10.0.0.2")
	higher = netip.MustParseAddr("10.0.0.3") // a peer with a higher address
	lower  = netip.MustParseAddr("10.0.0.1") // a peer with a lower address
	vip    = netip.MustParseAddr("10.0.0.100")
)

func baseConfig() Config {
	return Config{
		Name: "VI_1", VRID: 51, Priority: 100, Primary: ours,
		Addresses:        []netip.Addr{vip},
		GarpMasterRepeat: DefaultGarpMasterRepeat, GarpMasterDelay: DefaultGarpMasterDelay,
	}
}

// advert returns the wire bytes of an advert from src matching baseConfig
// except for what mod changes.
func advert(t *testing.T, src netip.Addr, prio uint8, mod func(*Advertisement)) []byte {
	t.Helper()
	a := Advertisement{Version: 2, VRID: 51, Priority: prio, Interval: time.Second, Addresses: []netip.Addr{vip}}
	if mod != nil {
		mod(&a)
	}
	b, err := a.Marshal(src, group4)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// feed delivers an advert every interval for d.
func feed(i *Instance, c *fakeClock, b []byte, src netip.Addr, every, d time.Duration) {
	for end := c.Now().Add(d); c.Now().Before(end); {
		i.Receive(b, src, group4, TTL)
		c.Advance(every)
	}
}

func TestMasterDownInterval(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*Config)
		want     time.Duration
		masterAt time.Duration // when an advertising master stops being heard
	}{
		{"v2 prio 100", nil, 3*time.Second + 156*time.Second/256, 0},
		{"v2 prio 254", func(c *Config) { c.Priority = 254 }, 3*time.Second + 2*time.Second/256, 0},
		{"v2 prio 1", func(c *Config) { c.Priority = 1 }, 3*time.Second + 255*time.Second/256, 0},
		{"v2 down_timer_adverts 5", func(c *Config) { c.DownTimerAdverts = 5 }, 5*time.Second + 156*time.Second/256, 0},
		{"v2 advert_int 3", func(c *Config) { c.Interval = 3 * time.Second }, 9*time.Second + 156*time.Second/256, 0},
		{"v3 prio 100 1s", func(c *Config) { c.Version = 3 }, 3*time.Second + 156*time.Second/256, 0},
		{"v3 prio 200 200ms", func(c *Config) { c.Version = 3; c.Interval = 200 * time.Millisecond; c.Priority = 200 },
			600*time.Millisecond + 56*200*time.Millisecond/256, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			i, c, n, _ := newTestInstance(t, cfg)
			if s := i.Status().State; s != StateBackup {
				t.Fatalf("state after Start = %v, want BACKUP", s)
			}
			if n.removed != 1 {
				t.Fatalf("Start removed leftover VIPs %d times, want 1", n.removed)
			}
			if d := i.Status().DownInterval; d != tt.want {
				t.Fatalf("Status().DownInterval = %v, want %v", d, tt.want)
			}
			c.Advance(tt.want - time.Nanosecond)
			if s := i.Status().State; s != StateBackup {
				t.Fatalf("state just before %v = %v, want BACKUP", tt.want, s)
			}
			c.Advance(time.Nanosecond)
			if s := i.Status().State; s != StateMaster {
				t.Fatalf("state at %v = %v, want MASTER", tt.want, s)
			}
			if !n.vipsUp || len(n.adverts) != 1 || n.last().Priority != cfg.Priority {
				t.Fatalf("on becoming master: VIPs up %v, adverts %+v", n.vipsUp, n.adverts)
			}
		})
	}
}

func TestMasterAdvertisesAndAnnounces(t *testing.T) {
	cfg := baseConfig()
	cfg.GarpMasterRefresh = 10 * time.Second
	cfg.GarpMasterRefreshRepeat = 2
	i, c, n, hook := newTestInstance(t, cfg)
	c.Advance(4 * time.Second) // master at 3.609 s
	start := n.sends[0]
	c.Advance(20 * time.Second)
	if len(n.adverts) != 21 {
		t.Fatalf("%d adverts in 20 s as master, want 21", len(n.adverts))
	}
	for k, at := range n.sends {
		if want := start.Add(time.Duration(k) * time.Second); !at.Equal(want) {
			t.Fatalf("advert %d at %v, want %v", k, at.Sub(start), want.Sub(start))
		}
	}
	// garp_master_repeat at once, again after garp_master_delay, then
	// garp_master_refresh_repeat every garp_master_refresh.
	if want := []int{5, 5, 2, 2}; fmt.Sprint(n.garps) != fmt.Sprint(want) {
		t.Fatalf("gratuitous ARP rounds %v, want %v", n.garps, want)
	}
	st := i.Status()
	if st.Stats.AdvertsSent != 21 || st.Stats.BecameMaster != 1 || st.Master != ours {
		t.Fatalf("status %+v", st)
	}
	for _, msg := range []string{"(VI_1) Entering BACKUP STATE (init)", "(VI_1) Receive advertisement timeout",
		"(VI_1) Entering MASTER STATE", "(VI_1) setting VIPs."} {
		if logged(hook, msg) != 1 {
			t.Errorf("log %q not written once", msg)
		}
	}
}

func TestOwnerStartsMaster(t *testing.T) {
	cfg := baseConfig()
	cfg.Priority = PriorityOwner
	i, _, n, _ := newTestInstance(t, cfg)
	if s := i.Status().State; s != StateMaster || !n.vipsUp || n.last().Priority != 255 {
		t.Fatalf("owner after Start: %v, VIPs %v, adverts %+v", s, n.vipsUp, n.adverts)
	}
}

// TestBackupReceive feeds a backup of priority 100 adverts for 10 s and
// checks whether it takes over, and when.
func TestBackupReceive(t *testing.T) {
	down := 3*time.Second + 156*time.Second/256
	tests := []struct {
		name   string
		cfg    func(*Config)
		src    netip.Addr
		prio   uint8
		master bool          // whether it ends up master within the 10 s
		at     time.Duration // when, counted from the first advert; 0: not checked
	}{
		{"higher priority", nil, lower, 150, false, 0},
		{"equal priority lower address", nil, lower, 100, false, 0},
		{"equal priority higher address", nil, higher, 100, false, 0},
		{"lower priority preempts after down interval", nil, lower, 50, true, down},
		{"lower priority with nopreempt", func(c *Config) { c.Nopreempt = true }, lower, 50, false, 0},
		// The delay starts with the first lower advert (t=0); the last one
		// accepted is at t=4, and the down timer runs from there.
		{"lower priority with preempt_delay 5", func(c *Config) { c.PreemptDelay = 5 * time.Second }, lower, 50, true, 4*time.Second + down},
		{"higher priority with preempt_delay", func(c *Config) { c.PreemptDelay = 5 * time.Second }, lower, 200, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			i, c, n, _ := newTestInstance(t, cfg)
			b := advert(t, tt.src, tt.prio, nil)
			start := c.Now()
			feed(i, c, b, tt.src, time.Second, 10*time.Second)
			st := i.Status()
			if got := st.State == StateMaster; got != tt.master {
				t.Fatalf("master = %v (%v), want %v", got, st.State, tt.master)
			}
			if tt.at != 0 {
				// Adverts arrive on whole seconds; the take-over is on
				// the down timer, then it sends at once.
				if got := n.sends[0].Sub(start); got != tt.at {
					t.Fatalf("took over after %v, want %v", got, tt.at)
				}
			}
			if !tt.master && st.Master != tt.src {
				t.Fatalf("master address %v, want %v", st.Master, tt.src)
			}
		})
	}
}

func TestBackupPriorityZeroTakesOverAfterSkew(t *testing.T) {
	for _, tt := range []struct {
		version int
		prio    uint8
		skew    time.Duration
	}{
		{2, 100, 156 * time.Second / 256},
		{2, 200, 56 * time.Second / 256},
		{3, 100, 156 * time.Second / 256},
	} {
		t.Run(fmt.Sprintf("v%d prio %d", tt.version, tt.prio), func(t *testing.T) {
			cfg := baseConfig()
			cfg.Version, cfg.Priority = tt.version, tt.prio
			i, c, n, hook := newTestInstance(t, cfg)
			mod := func(a *Advertisement) { a.Version = tt.version }
			feed(i, c, advert(t, lower, 250, mod), lower, time.Second, 3*time.Second)
			i.Receive(advert(t, lower, 0, mod), lower, group4, TTL)
			stopAt := c.Now()
			c.Advance(tt.skew - time.Nanosecond)
			if i.Status().State != StateBackup {
				t.Fatal("took over before skew time")
			}
			c.Advance(time.Nanosecond)
			if i.Status().State != StateMaster || !n.sends[0].Equal(stopAt.Add(tt.skew)) {
				t.Fatalf("state %v, first advert %v after priority 0, want MASTER after %v", i.Status().State, n.sends, tt.skew)
			}
			if logged(hook, "(VI_1) Backup received priority 0 advertisement") != 1 {
				t.Fatal("priority 0 not logged")
			}
			if i.Status().Stats.PriorityZeroReceived != 1 {
				t.Fatal("priority 0 not counted")
			}
		})
	}
}

func TestV3BackupLearnsMasterInterval(t *testing.T) {
	cfg := baseConfig()
	cfg.Version = 3
	i, c, n, _ := newTestInstance(t, cfg)
	b := advert(t, lower, 200, func(a *Advertisement) { a.Version = 3; a.Interval = 3 * time.Second })
	i.Receive(b, lower, group4, TTL)
	if got := i.Status().MasterInterval; got != 3*time.Second {
		t.Fatalf("master interval %v, want 3s", got)
	}
	// Down interval 3 x 3 s + (256-100) x 3 s / 256, from the advert.
	want := 9*time.Second + 156*3*time.Second/256
	if d := i.Status().DownInterval; d != want {
		t.Fatalf("Status().DownInterval = %v, want %v", d, want)
	}
	start := c.Now()
	c.Advance(want - time.Nanosecond)
	if i.Status().State != StateBackup {
		t.Fatal("took over before the learnt down interval")
	}
	c.Advance(time.Nanosecond)
	if i.Status().State != StateMaster || n.sends[0].Sub(start) != want {
		t.Fatalf("did not take over at %v", want)
	}
	// As master it advertises its own interval.
	if n.last().Interval != time.Second {
		t.Fatalf("master advertises %v, want its own 1s", n.last().Interval)
	}
}

// TestStatusDownInterval checks that Status reports the interval the
// down timer runs for, whatever it depends on: a backup hearing its
// master last at some instant takes over DownInterval later exactly.
func TestStatusDownInterval(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    func(*Config)
		offset int
		advert func(*Advertisement)
	}{
		{"v2", nil, 0, nil},
		{"v2 tracked down 50", nil, -50, nil},
		{"v2 down_timer_adverts 4 advert_int 2", func(c *Config) { c.DownTimerAdverts = 4; c.Interval = 2 * time.Second }, 0,
			func(a *Advertisement) { a.Interval = 2 * time.Second }},
		{"v3 learnt 700ms", func(c *Config) { c.Version = 3 }, 20, func(a *Advertisement) { a.Version = 3; a.Interval = 700 * time.Millisecond }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			i, c, _, _ := newTestInstance(t, cfg)
			i.SetPriorityOffset(tt.offset)
			c.Advance(100 * time.Millisecond)
			i.Receive(advert(t, higher, 200, tt.advert), higher, group4, TTL)
			d := i.Status().DownInterval
			if d <= 0 {
				t.Fatalf("DownInterval = %v", d)
			}
			c.Advance(d - time.Nanosecond)
			if s := i.Status().State; s != StateBackup {
				t.Fatalf("state %v before DownInterval %v had passed, want BACKUP", s, d)
			}
			c.Advance(time.Nanosecond)
			if s := i.Status().State; s != StateMaster {
				t.Fatalf("state %v once DownInterval %v had passed, want MASTER", s, d)
			}
		})
	}
}

// TestMasterReceive puts an instance of priority 100 in MASTER and gives
// it one advert.
func TestMasterReceive(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(*Config)
		src     netip.Addr
		prio    uint8
		backup  bool // steps down
		answers bool // sends an advert at once
		garps   int  // announcement rounds sent on the advert
		log     string
	}{
		{name: "lower priority", src: higher, prio: 50, answers: true,
			log: "(VI_1) Received advert from 10.0.0.3 with lower priority 50, ours 100, forcing new election"},
		{name: "equal priority lower address", src: lower, prio: 100, answers: true},
		{name: "equal priority higher address", src: higher, prio: 100, backup: true,
			log: "(VI_1) Master received advert from 10.0.0.3 with same priority 100 but higher IP address than ours"},
		{name: "higher priority", src: lower, prio: 150, backup: true,
			log: "(VI_1) Master received advert from 10.0.0.1 with higher priority 150, ours 100"},
		{name: "priority 0", src: lower, prio: 0, answers: true, log: "(VI_1) Master received priority 0 message"},
		{name: "lower_prio_no_advert", cfg: func(c *Config) { c.LowerPrioNoAdvert = true }, src: higher, prio: 50,
			log: "(VI_1) Received advert from 10.0.0.3 with lower priority 50, ours 100"},
		{name: "higher_prio_send_advert", cfg: func(c *Config) { c.HigherPrioSendAdvert = true }, src: lower, prio: 150,
			backup: true, answers: true},
		{name: "garp_lower_prio_repeat", cfg: func(c *Config) { c.GarpLowerPrioRepeat = 2; c.GarpLowerPrioDelay = time.Second },
			src: higher, prio: 50, answers: true, garps: 4},
		{name: "two address owners", cfg: func(c *Config) { c.Priority = PriorityOwner }, src: lower, prio: 255, backup: true,
			log: "(VI_1) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			i, c, n, hook := newTestInstance(t, cfg)
			c.Advance(3700 * time.Millisecond)
			if i.Status().State != StateMaster {
				t.Fatal("not master")
			}
			sent, garps := len(n.adverts), len(n.garps)
			i.Receive(advert(t, tt.src, tt.prio, nil), tt.src, group4, TTL)
			st := i.Status()
			if got := st.State == StateBackup; got != tt.backup {
				t.Fatalf("state %v after advert, want backup=%v", st.State, tt.backup)
			}
			if got := len(n.adverts) > sent; got != tt.answers {
				t.Fatalf("answered = %v, want %v", got, tt.answers)
			}
			if tt.log != "" && logged(hook, tt.log) != 1 {
				t.Fatalf("%q not logged; log: %v", tt.log, messages(hook))
			}
			c.Advance(time.Second)
			got := 0
			for _, r := range n.garps[garps:] {
				got += r
			}
			if !tt.backup && got != tt.garps {
				t.Fatalf("%d announcement rounds after the advert, want %d", got, tt.garps)
			}
			if tt.backup {
				if n.vipsUp || st.Stats.ReleasedMaster != 1 || st.Master != tt.src {
					t.Fatalf("after stepping down: VIPs %v, status %+v", n.vipsUp, st)
				}
				// It stays backup while the new master advertises.
				feed(i, c, advert(t, tt.src, tt.prio, nil), tt.src, time.Second, 10*time.Second)
				if i.Status().State != StateBackup {
					t.Fatal("took over from a live master")
				}
			}
		})
	}
}

func TestReceiveDrops(t *testing.T) {
	authCfg := func(c *Config) { c.AuthType = AuthPass; c.AuthPass = "secret1" }
	withPass := func(p string) func(*Advertisement) {
		return func(a *Advertisement) { a.AuthType = AuthPass; a.AuthData = pass(p) }
	}
	tests := []struct {
		name string
		cfg  func(*Config)
		mod  func(*Advertisement)
		ttl  int
		raw  func([]byte) []byte
		want DropReason
		log  string
		// counted: keepalived counts an advert as received once its
		// header checks pass, before the address list check.
		counted bool
	}{
		{name: "ttl 64", ttl: 64, want: DropTTL, log: "(VI_1) invalid ttl. 64 and expect 255"},
		{name: "bad checksum", raw: func(b []byte) []byte { b[6] ^= 0xff; return b }, want: DropChecksum, log: "(VI_1) Invalid VRRPv2 checksum"},
		{name: "truncated", raw: func(b []byte) []byte { return b[:len(b)-1] }, want: DropLength},
		{name: "v3 to a v2 instance", mod: func(a *Advertisement) { a.Version = 3 }, want: DropVersion, log: "(VI_1) invalid version. 3 and expect 2"},
		{name: "no auth to PASS", cfg: authCfg, want: DropAuth, log: "(VI_1) received a 0 auth, expecting 1!"},
		{name: "wrong password", cfg: authCfg, mod: withPass("secret2"), want: DropAuth, log: "(VI_1) received an invalid passwd!"},
		{name: "PASS to no auth", mod: withPass("secret1"), want: DropAuth},
		{name: "interval", mod: func(a *Advertisement) { a.Interval = 2 * time.Second }, want: DropInterval,
			log: "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"},
		{name: "address count", mod: func(a *Advertisement) { a.Addresses = nil }, want: DropAddresses,
			log: "(VI_1) received an unexpected ip number count 0, expected 1!"},
		{name: "address list", mod: func(a *Advertisement) { a.Addresses = []netip.Addr{netip.MustParseAddr("10.0.0.99")} },
			want: DropAddresses, log: "(VI_1) ip address associated with VRID 51 not present in MASTER advert : 10.0.0.100", counted: true},
		{name: "vrid", mod: func(a *Advertisement) { a.VRID = 52 }, want: DropVRID},
		{name: "not a unicast peer", cfg: func(c *Config) {
			c.Unicast, c.CheckUnicastSrc, c.Peers = true, true, []netip.Addr{higher}
		}, want: DropSource, log: "(VI_1) unicast source address 10.0.0.1 not a unicast peer", counted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			i, c, _, hook := newTestInstance(t, cfg)
			ttl := tt.ttl
			if ttl == 0 {
				ttl = TTL
			}
			// A master of higher priority whose adverts are all
			// dropped: the backup must take over as if it heard none.
			for range 5 {
				b := advert(t, lower, 200, tt.mod)
				if tt.raw != nil {
					b = tt.raw(b)
				}
				i.Receive(b, lower, group4, ttl)
				c.Advance(time.Second)
			}
			st := i.Status()
			if st.State != StateMaster {
				t.Fatalf("state %v: dropped adverts held the backup", st.State)
			}
			received := uint64(0)
			if tt.counted {
				received = 5
			}
			if st.Stats.Drops[tt.want] != 5 || st.Stats.AdvertsReceived != received {
				t.Fatalf("drops %v, received %d; want 5 of %v", st.Stats.Drops, st.Stats.AdvertsReceived, tt.want)
			}
			if tt.log != "" && logged(hook, tt.log) != 1 {
				t.Fatalf("%q logged %d times, want once; log: %v", tt.log, logged(hook, tt.log), messages(hook))
			}
		})
	}
}

// TestCheckUnicastSrc accepts a peer's adverts, and another address's
// only without check_unicast_src.
func TestCheckUnicastSrc(t *testing.T) {
	for _, tt := range []struct {
		name   string
		check  bool
		src    netip.Addr
		master bool // the backup took over: the adverts were dropped
	}{
		{"peer, checked", true, lower, false},
		{"stranger, checked", true, higher, true},
		{"stranger, unchecked", false, higher, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Unicast, cfg.CheckUnicastSrc, cfg.Peers = true, tt.check, []netip.Addr{lower}
			i, c, _, _ := newTestInstance(t, cfg)
			feed(i, c, advert(t, tt.src, 200, nil), tt.src, time.Second, 10*time.Second)
			if got := i.Status().State == StateMaster; got != tt.master {
				t.Fatalf("master = %v, want %v", got, tt.master)
			}
		})
	}
}

func TestSkipCheckAdvAddr(t *testing.T) {
	cfg := baseConfig()
	cfg.SkipCheckAdvAddr = true
	i, c, _, _ := newTestInstance(t, cfg)
	i.Receive(advert(t, lower, 200, nil), lower, group4, TTL)
	// Once the master is known its adverts are not checked again...
	other := advert(t, lower, 200, func(a *Advertisement) { a.Addresses = []netip.Addr{netip.MustParseAddr("10.0.0.99")} })
	feed(i, c, other, lower, time.Second, 6*time.Second)
	if st := i.Status(); st.State != StateBackup || st.Stats.Drops[DropAddresses] != 0 {
		t.Fatalf("known master's adverts checked: %+v", st)
	}
	// ...but those of another router are.
	i.Receive(other, higher, group4, TTL)
	if n := i.Status().Stats.Drops[DropAddresses]; n != 1 {
		t.Fatalf("address drops %d, want 1", n)
	}
}

func TestUnicastSkipsTTLCheck(t *testing.T) {
	cfg := baseConfig()
	cfg.Unicast = true
	i, c, _, _ := newTestInstance(t, cfg)
	feed(i, c, advert(t, lower, 200, nil), lower, time.Second, 6*time.Second)
	for range 6 {
		i.Receive(advert(t, lower, 200, nil), lower, group4, 63)
		c.Advance(time.Second)
	}
	if st := i.Status(); st.State != StateBackup || st.Stats.Drops[DropTTL] != 0 {
		t.Fatalf("unicast advert with TTL 63 dropped: %+v", st)
	}
}

func TestStopAsMasterSendsPriorityZero(t *testing.T) {
	var seen []Transition
	cfg := baseConfig()
	cfg.Notify = func(tr Transition) { seen = append(seen, tr) }
	i, c, n, _ := newTestInstance(t, cfg)
	c.Advance(4 * time.Second)
	i.Stop()
	if n.last().Priority != 0 || n.vipsUp {
		t.Fatalf("on stop: last advert %+v, VIPs %v", n.last(), n.vipsUp)
	}
	sent := len(n.adverts)
	c.Advance(10 * time.Second)
	if len(n.adverts) != sent {
		t.Fatal("advertising after Stop")
	}
	want := "[INIT->BACKUP BACKUP->MASTER MASTER->STOP]"
	if got := transitions(seen); got != want {
		t.Fatalf("transitions %s, want %s", got, want)
	}
	if st := i.Status(); st.Stats.PriorityZeroSent != 1 || st.Stats.Transitions != 3 {
		t.Fatalf("stats %+v", st.Stats)
	}
}

func transitions(ts []Transition) string {
	s := make([]string, len(ts))
	for k, t := range ts {
		s[k] = t.From.String() + "->" + t.To.String()
	}
	return fmt.Sprint(s)
}

func TestFault(t *testing.T) {
	var seen []Transition
	cfg := baseConfig()
	cfg.Notify = func(tr Transition) { seen = append(seen, tr) }
	i, c, n, _ := newTestInstance(t, cfg)
	c.Advance(4 * time.Second)
	i.SetFault(true)
	if st := i.Status(); st.State != StateFault || n.vipsUp || n.last().Priority != 0 || st.Stats.PriorityZeroSent != 1 {
		t.Fatalf("after fault: %v, VIPs %v, last advert %+v, stats %+v", st.State, n.vipsUp, n.last(), st.Stats)
	}
	sent := len(n.adverts)
	c.Advance(10 * time.Second)
	i.Receive(advert(t, lower, 50, nil), lower, group4, TTL)
	if i.Status().State != StateFault || len(n.adverts) != sent {
		t.Fatal("a faulty instance acted")
	}
	i.SetFault(false)
	if i.Status().State != StateBackup {
		t.Fatal("not BACKUP after recovery")
	}
	c.Advance(4 * time.Second)
	want := "[INIT->BACKUP BACKUP->MASTER MASTER->FAULT FAULT->BACKUP BACKUP->MASTER]"
	if got := transitions(seen); got != want {
		t.Fatalf("transitions %s, want %s", got, want)
	}
}

func TestFaultAtStart(t *testing.T) {
	c := newFakeClock()
	n := &fakeNet{src: ours, clock: c}
	log, hook := testLogger()
	i, err := NewInstance(baseConfig(), n, c, log)
	if err != nil {
		t.Fatal(err)
	}
	i.SetFault(true)
	if err := i.Start(); err != nil {
		t.Fatal(err)
	}
	c.Advance(10 * time.Second)
	if st := i.Status(); st.State != StateFault || len(n.adverts) != 0 || n.vipsUp {
		t.Fatalf("started on a dead link: %v, adverts %d, VIPs %v", st.State, len(n.adverts), n.vipsUp)
	}
	if logged(hook, "(VI_1) Entering FAULT STATE (init)") != 1 {
		t.Fatalf("log: %v", messages(hook))
	}
	i.SetFault(false)
	c.Advance(4 * time.Second)
	if st := i.Status(); st.State != StateMaster {
		t.Fatalf("after the link came up: %v", st.State)
	}
}

// TestPriorityOffset lowers a master's effective priority below its
// backup's, as a failing track_script with a weight would: the backup
// preempts it, and it takes the VIP back when the offset goes.
func TestPriorityOffset(t *testing.T) {
	c := newFakeClock()
	w := &fakeWire{clock: c, members: map[*fakeNet]*Instance{}, down: map[*fakeNet]bool{}}
	start := func(name string, addr netip.Addr, prio uint8) (*Instance, *logtest.Hook) {
		cfg := baseConfig()
		cfg.Name, cfg.Primary, cfg.Priority = name, addr, prio
		n := &fakeNet{src: addr, clock: c, wire: w}
		log, hook := testLogger()
		i, err := NewInstance(cfg, n, c, log)
		if err != nil {
			t.Fatal(err)
		}
		w.members[n] = i
		i.Start()
		return i, hook
	}
	m, hook := start("M", lower, 100)
	b, _ := start("B", higher, 90)
	c.Advance(10 * time.Second)
	if m.Status().State != StateMaster || b.Status().State != StateBackup {
		t.Fatal("no initial election")
	}
	for _, tt := range []struct {
		offset int
		eff    uint8
		master *Instance
	}{
		{-20, 80, b},
		{-200, 1, b},
		{0, 100, m},
		{+200, 254, m},
	} {
		m.SetPriorityOffset(tt.offset)
		c.Advance(10 * time.Second)
		if st := m.Status(); st.EffectivePriority != tt.eff {
			t.Fatalf("offset %d: effective priority %d, want %d", tt.offset, st.EffectivePriority, tt.eff)
		}
		if tt.master.Status().State != StateMaster {
			t.Fatalf("offset %d: %s is not master", tt.offset, tt.master.Name())
		}
	}
	if logged(hook, "(M) Changing effective priority from 100 to 80") != 1 {
		t.Fatalf("log: %v", messages(hook))
	}
}

// TestElection runs routers over a fake multicast segment.
func TestElection(t *testing.T) {
	type router struct {
		addr netip.Addr
		prio uint8
		cfg  func(*Config)
	}
	tests := []struct {
		name    string
		routers []router
		master  int // index of the elected master
		after   int // and of the master once it has failed and come back
	}{
		{"priority", []router{{lower, 100, nil}, {ours, 200, nil}, {higher, 150, nil}}, 1, 1},
		// A backup accepts a master of equal priority whatever its
		// address: the address only decides between two masters.
		{"tie broken by address", []router{{lower, 100, nil}, {higher, 100, nil}, {ours, 100, nil}}, 1, 2},
		{"v3 tie broken by address", []router{{higher, 100, func(c *Config) { c.Version = 3 }},
			{lower, 100, func(c *Config) { c.Version = 3 }}}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeClock()
			w := &fakeWire{clock: c, members: map[*fakeNet]*Instance{}, down: map[*fakeNet]bool{}}
			insts := make([]*Instance, len(tt.routers))
			nets := make([]*fakeNet, len(tt.routers))
			for k, r := range tt.routers {
				cfg := baseConfig()
				cfg.Name = fmt.Sprint("R", k)
				cfg.Primary, cfg.Priority = r.addr, r.prio
				if r.cfg != nil {
					r.cfg(&cfg)
				}
				nets[k] = &fakeNet{src: r.addr, clock: c, wire: w}
				log, _ := testLogger()
				inst, err := NewInstance(cfg, nets[k], c, log)
				if err != nil {
					t.Fatal(err)
				}
				insts[k] = inst
				w.members[nets[k]] = inst
			}
			for _, inst := range insts {
				inst.Start()
			}
			c.Advance(10 * time.Second)
			masters := func() (n int, who int) {
				for k, inst := range insts {
					if inst.Status().State == StateMaster {
						n++
						who = k
					}
				}
				return n, who
			}
			if n, who := masters(); n != 1 || who != tt.master {
				t.Fatalf("%d masters, %d the last; want only %d", n, who, tt.master)
			}
			for k, n := range nets {
				if n.vipsUp != (k == tt.master) {
					t.Fatalf("router %d VIPs up = %v", k, n.vipsUp)
				}
			}
			// Master gone silent: another takes over and only one.
			w.down[nets[tt.master]] = true
			insts[tt.master].SetFault(true)
			c.Advance(10 * time.Second)
			if n, who := masters(); n != 1 || who == tt.master {
				t.Fatalf("after failure: %d masters, %d the last", n, who)
			}
			// It comes back: a higher priority preempts.
			w.down[nets[tt.master]] = false
			insts[tt.master].SetFault(false)
			c.Advance(10 * time.Second)
			if n, who := masters(); n != 1 || who != tt.after {
				t.Fatalf("after recovery: %d masters, %d the last; want %d", n, who, tt.after)
			}
		})
	}
}

func TestNewInstanceErrors(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no vrid", func(c *Config) { c.VRID = 0 }},
		{"priority 0", func(c *Config) { c.Priority = 0 }},
		{"no source", func(c *Config) { c.Primary = netip.Addr{} }},
		{"mixed families", func(c *Config) { c.Addresses = append(c.Addresses, v6) }},
		{"v2 over IPv6", func(c *Config) { c.Primary = v6; c.Addresses = []netip.Addr{v6}; c.Version = 2 }},
		{"version 4", func(c *Config) { c.Version = 4 }},
		{"v2 fractional advert_int", func(c *Config) { c.Interval = 1500 * time.Millisecond }},
		{"auth type 3", func(c *Config) { c.AuthType = 3 }},
		{"long password", func(c *Config) { c.AuthType = AuthPass; c.AuthPass = "123456789" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mod(&cfg)
			log, _ := testLogger()
			if _, err := NewInstance(cfg, &fakeNet{}, newFakeClock(), log); err == nil {
				t.Fatal("NewInstance accepted the configuration")
			}
		})
	}
}

// TestTrackApply checks how a router member turns the carrier of its
// interface and tracked interfaces into FAULT and priority.
func TestTrackApply(t *testing.T) {
	const own, t1, t2 = 1, 2, 3
	tests := []struct {
		name         string
		trackPrimary bool
		track        []trackedLink
		down         []int
		state        State
		prio         uint8
	}{
		{"all up", true, []trackedLink{{t1, -20, false}, {t2, 10, false}}, nil, StateBackup, 110},
		{"negative weight down", true, []trackedLink{{t1, -20, false}, {t2, 10, false}}, []int{t1}, StateBackup, 90},
		{"positive weight down", true, []trackedLink{{t1, -20, false}, {t2, 10, false}}, []int{t2}, StateBackup, 100},
		{"both down", true, []trackedLink{{t1, -20, false}, {t2, 10, false}}, []int{t1, t2}, StateBackup, 80},
		{"weight 0 down", true, []trackedLink{{t1, 0, false}}, []int{t1}, StateFault, 100},
		{"own interface down", true, nil, []int{own}, StateFault, 100},
		{"dont_track_primary", false, nil, []int{own}, StateBackup, 100},
		{"clamped", true, []trackedLink{{t1, -200, false}}, []int{t1}, StateBackup, 1},
		{"reverse positive up", true, []trackedLink{{t1, 10, true}}, nil, StateBackup, 90},
		{"reverse positive down", true, []trackedLink{{t1, 10, true}}, []int{t1}, StateBackup, 100},
		{"reverse negative up", true, []trackedLink{{t1, -20, true}}, nil, StateBackup, 100},
		{"reverse negative down", true, []trackedLink{{t1, -20, true}}, []int{t1}, StateBackup, 120},
		{"reverse weight 0 up", true, []trackedLink{{t1, 0, true}}, nil, StateFault, 100},
		{"reverse weight 0 down", true, []trackedLink{{t1, 0, true}}, []int{t1}, StateBackup, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, _, _, _ := newTestInstance(t, baseConfig())
			m := &member{inst: i, ifindex: own, trackPrimary: tt.trackPrimary, track: tt.track}
			carrier := map[int]bool{own: true, t1: true, t2: true}
			for _, idx := range tt.down {
				carrier[idx] = false
			}
			m.apply(carrier)
			if st := i.Status(); st.State != tt.state || st.EffectivePriority != tt.prio {
				t.Fatalf("state %v priority %d, want %v %d", st.State, st.EffectivePriority, tt.state, tt.prio)
			}
			if !m.uses(t1) && len(tt.track) > 0 {
				t.Fatal("uses does not see a tracked interface")
			}
		})
	}
}

// TestPeerTTL drops a checked unicast peer's adverts whose TTL is outside
// its min_ttl-max_ttl, as a TTL error, and takes those inside.
func TestPeerTTL(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ttl    int
		master bool // the adverts were dropped, so the backup took over
	}{
		{"inside", 254, false},
		{"below", 60, true},
		{"above", 255, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Unicast, cfg.CheckUnicastSrc, cfg.Peers = true, true, []netip.Addr{lower}
			cfg.PeerTTL = map[netip.Addr]TTLRange{lower: {Min: 250, Max: 254}}
			i, c, _, _ := newTestInstance(t, cfg)
			b := advert(t, lower, 200, nil)
			for end := c.Now().Add(10 * time.Second); c.Now().Before(end); c.Advance(time.Second) {
				i.Receive(b, lower, group4, tt.ttl)
			}
			st := i.Status()
			if got := st.State == StateMaster; got != tt.master {
				t.Fatalf("master = %v, want %v", got, tt.master)
			}
			if dropped := st.Stats.Drops[DropTTL] > 0; dropped != tt.master {
				t.Fatalf("TTL drops %d", st.Stats.Drops[DropTTL])
			}
		})
	}
}

// TestStartAfter holds a backup's first down timer until StartAfter
// (vrrp_startup_delay), and no longer than that.
func TestStartAfter(t *testing.T) {
	cfg := baseConfig()
	cfg.StartAfter = newFakeClock().Now().Add(10 * time.Second)
	i, c, _, _ := newTestInstance(t, cfg)
	down := i.Status().DownInterval
	c.Advance(10*time.Second + down - time.Nanosecond)
	if s := i.Status().State; s != StateBackup {
		t.Fatalf("state before the delay and the down interval = %v, want BACKUP", s)
	}
	c.Advance(time.Nanosecond)
	if s := i.Status().State; s != StateMaster {
		t.Fatalf("state after the delay and the down interval = %v, want MASTER", s)
	}
}
