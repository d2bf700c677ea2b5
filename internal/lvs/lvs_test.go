package lvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// run starts h's LVS in the background and stops it when the test ends;
// stop stops it earlier and returns Run's error.
func (h *harness) run() (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.l.Run(ctx) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-errc
		}
		return err
	}
	h.t.Cleanup(func() { stop() })
	// The first event is taken once Run has started every virtual server.
	h.settle()
	return stop
}

// settle returns once Run has handled everything sent to it so far:
// Run handles one thing at a time, so a sent event is taken only after
// the previous one is done.
func (h *harness) settle() {
	h.t.Helper()
	sync := func() {
		select {
		case h.checks.events <- check.Event{Server: "settle"}:
		case <-time.After(5 * time.Second):
			h.t.Fatal("LVS does not take events")
		}
	}
	for pending := true; pending; {
		sync()
		pending = len(h.l.vipsChan) > 0
		h.clock.mu.Lock()
		for _, tm := range h.clock.timers {
			pending = pending || len(tm.c) > 0
		}
		h.clock.mu.Unlock()
	}
	sync()
}

func (h *harness) send(server string, up bool, weight int, reason string) {
	h.checks.events <- check.Event{Server: server, Up: up, Weight: weight, Reason: reason, Time: h.clock.Now()}
	h.settle()
}

func (h *harness) wantTable(what string, want ...string) {
	h.t.Helper()
	want = slices.Sorted(slices.Values(want))
	if got := h.kernel.lines(); !slices.Equal(got, want) {
		h.t.Errorf("%s: table:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestNewNeedsTable(t *testing.T) {
	if _, err := New(parse(t, twoServers("", "")), Options{}); err == nil {
		t.Fatal("New without a table succeeded")
	}
}

func TestRun(t *testing.T) {
	h := newHarness(t, twoServers("omega", ""), Options{})
	stop := h.run()
	h.wantTable("start", svc, dst2+"1", dst3+"1")
	added, _ := h.checks.churn()
	if want := []string{rs2, rs3}; !slices.Equal(added, want) {
		t.Errorf("checked servers %q, want %q", added, want)
	}
	if srv := h.checks.servers[rs2]; len(srv.Checks) != 1 || srv.Checks[0].Name != "TCP_CHECK" || srv.Checks[0].Timing.DelayLoop != 5*time.Second {
		t.Errorf("checks of %s: %+v", rs2, srv)
	}

	h.send(rs2, false, 1, "TCP_CHECK failed: connection refused")
	h.wantTable("after a failure", svc, dst3+"1")
	h.send(rs3, false, 1, "TCP_CHECK failed: connection refused")
	h.wantTable("after both failed", svc)
	h.send(rs3, true, 1, "TCP_CHECK succeeded")
	h.wantTable("after a recovery", svc, dst3+"1")
	h.rec.take()

	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if err := h.l.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
	h.wantTable("after Run")
	if got, want := h.rec.take(), []string{
		"RS " + rs3 + " " + vs1 + " DOWN stopping",
		"VS " + vs1 + " DOWN script=qdown stopping",
	}; !slices.Equal(got, want) {
		t.Errorf("notifications at shutdown %q, want %q", got, want)
	}
}

func TestResyncUndoesTampering(t *testing.T) {
	h := newHarness(t, twoServers("", ""), Options{})
	h.run()
	h.wantTable("start", svc, dst2+"1", dst3+"1")
	s := ipvs.Service{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Protocol: ipvs.TCP}
	if err := h.kernel.DelDestination(s, ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.3:80")}); err != nil {
		t.Fatal(err)
	}
	if err := h.kernel.UpdateDestination(s, ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.2:80"), Weight: 40}); err != nil {
		t.Fatal(err)
	}
	period, err := h.clock.fire()
	if err != nil {
		t.Fatal(err)
	}
	if period != 5*time.Second {
		t.Errorf("resync every %v, want the delay_loop, 5s", period)
	}
	h.settle()
	h.wantTable("after resync", svc, dst2+"1", dst3+"1")
}

// TestResyncFloor checks that a short delay_loop does not bring the full
// reconcile under MinResyncInterval, and that a long one is kept.
func TestResyncFloor(t *testing.T) {
	for _, tc := range []struct {
		delayLoop string
		want      time.Duration
	}{
		{"1", MinResyncInterval},
		{"9", 9 * time.Second},
	} {
		conf := strings.Replace(twoServers("", ""), "delay_loop 5", "delay_loop "+tc.delayLoop, 1)
		h := newHarness(t, conf, Options{})
		h.run()
		for i := range 2 {
			period, err := h.clock.fire()
			if err != nil {
				t.Fatal(err)
			}
			if period != tc.want {
				t.Errorf("delay_loop %s, period %d: resync every %v, want %v", tc.delayLoop, i+1, period, tc.want)
			}
			h.settle()
		}
	}
}

// TestResyncCost checks that the full reconcile keeps to delay_loop for
// an ordinary table and backs off for one slow to read back.
func TestResyncCost(t *testing.T) {
	for _, tc := range []struct {
		name string
		dump time.Duration // one dump of the services
		want time.Duration // from the second period on
	}{
		{"instant", 0, 5 * time.Second},
		{"fast", 10 * time.Millisecond, 5 * time.Second},
		{"at the bound", 5 * time.Second / ResyncCost, 5 * time.Second},
		{"slow", 15 * time.Second / ResyncCost, 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, twoServers("", ""), Options{})
			h.kernel.clock, h.kernel.dumpCost = h.clock, tc.dump
			h.run()
			// The pass of the start filled the table, which says
			// nothing of what reading it back costs, and one pass
			// alone may have been slowed by load: the resync backs
			// off only after two passes that changed nothing.
			for i, want := range []time.Duration{5 * time.Second, 5 * time.Second, tc.want, tc.want} {
				period, err := h.clock.fire()
				if err != nil {
					t.Fatal(err)
				}
				if period != want {
					t.Errorf("period %d: resync every %v, want %v", i+1, period, want)
				}
				h.settle()
			}
			h.wantTable("after resync", svc, dst2+"1", dst3+"1")
		})
	}
}

func TestHASuspend(t *testing.T) {
	var master atomic.Bool
	owned := func(a netip.Addr) bool { return master.Load() && a == netip.MustParseAddr("192.0.2.1") }
	h := newHarness(t, twoServers("ha_suspend", ""), Options{VIPOwned: owned})
	h.run()
	h.wantTable("as backup")
	if got, want := h.logs(), "Deactivating healthchecker for service "+rs2+" for VS "+vs1; !slices.Contains(got, want) {
		t.Errorf("log %q lacks %q", got, want)
	}
	master.Store(true)
	h.l.VIPsChanged()
	h.settle()
	h.wantTable("as master", svc, dst2+"1", dst3+"1")
	h.send(rs2, false, 1, "down")
	h.wantTable("as master, a server down", svc, dst3+"1")
	master.Store(false)
	h.l.VIPsChanged()
	h.settle()
	h.wantTable("as backup again")
}

func TestStatus(t *testing.T) {
	h := newHarness(t, twoServers("sorry_server 10.0.0.9 80", ""), Options{})
	h.run()
	h.clock.advance(time.Minute)
	h.send(rs2, false, 1, "TCP_CHECK failed: connection refused")
	h.send(rs3, true, 4, "MISC_CHECK set the weight")
	st := h.l.Status()
	want := []VirtualServerStatus{{
		Name:       vs1,
		QuorumUp:   true,
		LiveWeight: 4,
		RealServers: []RealServerStatus{
			{Name: rs2, Addr: netip.MustParseAddrPort("10.0.0.2:80"), Weight: 1, Configured: 1,
				LastResult: "TCP_CHECK failed: connection refused", LastChange: h.clock.Now()},
			{Name: rs3, Addr: netip.MustParseAddrPort("10.0.0.3:80"), Alive: true, Weight: 4, Configured: 1, InPool: true,
				LastResult: "MISC_CHECK set the weight", LastChange: h.clock.Now()},
		},
	}}
	if len(st) != 1 || !statusEqual(st[0], want[0]) {
		t.Errorf("Status:\n%+v\nwant:\n%+v", st, want)
	}
	h.send(rs3, false, 4, "TCP_CHECK failed")
	if st := h.l.Status(); st[0].QuorumUp || !st[0].SorryServer || st[0].RealServers[1].InPool {
		t.Errorf("Status with every server down: %+v", st[0])
	}
}

func statusEqual(a, b VirtualServerStatus) bool {
	return a.Name == b.Name && a.QuorumUp == b.QuorumUp && a.LiveWeight == b.LiveWeight &&
		a.SorryServer == b.SorryServer && slices.EqualFunc(a.RealServers, b.RealServers, func(x, y RealServerStatus) bool {
		return x.LastChange.Equal(y.LastChange) && x.Name == y.Name && x.Addr == y.Addr && x.Alive == y.Alive &&
			x.Weight == y.Weight && x.Configured == y.Configured && x.InPool == y.InPool && x.LastResult == y.LastResult
	})
}

const reloadBefore = `
virtual_server 192.0.2.1 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.2 80 {
		TCP_CHECK {
			connect_timeout 3
		}
	}
	real_server 10.0.0.3 80 {
		TCP_CHECK {
		}
	}
	real_server 10.0.0.6 80 {
		TCP_CHECK {
		}
	}
}
virtual_server 192.0.2.2 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.5 80 {
	}
}
`

// reloadAfter changes the first real server's checker, keeps the second
// (which is down), drops the third, adds a fourth, changes the first
// virtual server's scheduler, drops the second virtual server and adds
// a third.
const reloadAfter = `
virtual_server 192.0.2.1 80 {
	protocol TCP
	lb_kind NAT
	lb_algo wrr

	real_server 10.0.0.2 80 {
		TCP_CHECK {
			connect_timeout 4
		}
	}
	real_server 10.0.0.3 80 {
		TCP_CHECK {
		}
	}
	real_server 10.0.0.4 80 {
		TCP_CHECK {
		}
	}
}
virtual_server 192.0.2.3 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.7 80 {
	}
}
`

func TestReload(t *testing.T) {
	h := newHarness(t, reloadBefore, Options{})
	h.run()
	h.send(rs3, false, 1, "down")
	h.wantTable("before",
		svc, dst2+"1", "-a -t 192.0.2.1:80 -r 10.0.0.6:80 -m -w 1",
		"-A -t 192.0.2.2:80 -s rr", "-a -t 192.0.2.2:80 -r 10.0.0.5:80 -m -w 1")
	h.checks.churn()
	h.logs()

	h.l.Reload(context.Background(), parse(t, reloadAfter))
	h.settle()
	added, removed := h.checks.churn()
	slices.Sort(added)
	slices.Sort(removed)
	if want := []string{"[10.0.0.2]:tcp:80", "[10.0.0.4]:tcp:80", "[10.0.0.7]:tcp:80"}; !slices.Equal(added, want) {
		t.Errorf("checks added %q, want %q", added, want)
	}
	if want := []string{"[10.0.0.2]:tcp:80", "[10.0.0.5]:tcp:80", "[10.0.0.6]:tcp:80"}; !slices.Equal(removed, want) {
		t.Errorf("checks removed %q, want %q", removed, want)
	}
	if got, want := h.logs(), []string{
		"service [10.0.0.6]:tcp:80 no longer exist",
		"Removing service [10.0.0.6]:tcp:80 from VS " + vs1,
		"Gained quorum 1+0=1 <= 1 for VS [192.0.2.3]:tcp:80",
		"Removing Virtual Server [192.0.2.2]:tcp:80",
		"Removing service [10.0.0.5]:tcp:80 from VS [192.0.2.2]:tcp:80",
		"Activating healthchecker for service [10.0.0.2]:tcp:80 for VS " + vs1,
		"Activating healthchecker for service [10.0.0.4]:tcp:80 for VS " + vs1,
	}; !slices.Equal(got, want) {
		t.Errorf("reload log:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// The failed server stays out until its checks say otherwise; the new
	// one is in.
	h.wantTable("after",
		"-A -t 192.0.2.1:80 -s wrr",
		"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 1", "-a -t 192.0.2.1:80 -r 10.0.0.4:80 -m -w 1",
		"-A -t 192.0.2.3:80 -s rr", "-a -t 192.0.2.3:80 -r 10.0.0.7:80 -m -w 1")

	// The scheduler keeps the unchanged server's state and reports
	// nothing new for it; a verdict still reaches the new state.
	h.send(rs3, true, 1, "up")
	h.wantTable("after the kept server recovered",
		"-A -t 192.0.2.1:80 -s wrr",
		"-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 1", "-a -t 192.0.2.1:80 -r 10.0.0.3:80 -m -w 1",
		"-a -t 192.0.2.1:80 -r 10.0.0.4:80 -m -w 1",
		"-A -t 192.0.2.3:80 -s rr", "-a -t 192.0.2.3:80 -r 10.0.0.7:80 -m -w 1")

	// The same configuration again changes nothing at all.
	h.logs()
	ops := h.kernel.opCount()
	h.l.Reload(context.Background(), parse(t, reloadAfter))
	h.settle()
	if added, removed := h.checks.churn(); len(added)+len(removed) != 0 {
		t.Errorf("identical reload re-added %q and removed %q", added, removed)
	}
	if n := h.kernel.opCount() - ops; n != 0 {
		t.Errorf("identical reload made %d table changes", n)
	}
	if got := h.logs(); len(got) != 0 {
		t.Errorf("identical reload logged %q", got)
	}
}

// TestEventTouchesOnlyItsService checks that a verdict converges its own
// virtual server's services only: damage done to another stays until the
// periodic full reconcile.
func TestEventTouchesOnlyItsService(t *testing.T) {
	h := newHarness(t, twoServers("", "")+`
virtual_server 192.0.2.2 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.5 80 {
	}
}`, Options{})
	h.run()
	other := "-A -t 192.0.2.2:80 -s rr"
	s := ipvs.Service{Addr: netip.MustParseAddrPort("192.0.2.2:80"), Protocol: ipvs.TCP}
	if err := h.kernel.DelDestination(s, ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.5:80")}); err != nil {
		t.Fatal(err)
	}
	h.send(rs2, false, 1, "down")
	h.wantTable("after an event", svc, dst3+"1", other)
	if _, err := h.clock.fire(); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.wantTable("after resync", svc, dst3+"1", other, "-a -t 192.0.2.2:80 -r 10.0.0.5:80 -m -w 1")
}

// TestSharedRealServer gives a real server two virtual servers: each has
// its own checks, under names that tell them apart.
func TestSharedRealServer(t *testing.T) {
	h := newHarness(t, twoServers("", "")+`
virtual_server 192.0.2.2 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.2 80 {
	}
}`, Options{})
	h.run()
	added, _ := h.checks.churn()
	want := []string{
		rs2 + " of VS " + vs1,
		rs3,
		rs2 + " of VS [192.0.2.2]:tcp:80",
	}
	if !slices.Equal(added, want) {
		t.Fatalf("checks %q, want %q", added, want)
	}
	h.send(want[2], false, 1, "down")
	h.wantTable("after the second one failed", svc, dst2+"1", dst3+"1", "-A -t 192.0.2.2:80 -s rr")
}

// TestReloadChangedChecks replaces the checks of a live and of a failed
// real server: neither flaps, and the failed one returns once its new
// checks pass.
func TestReloadChangedChecks(t *testing.T) {
	h := newHarness(t, twoServers("", "connect_timeout 3"), Options{})
	h.run()
	h.send(rs3, false, 1, "down")
	h.checks.churn()
	h.logs()
	h.rec.take()
	h.l.Reload(context.Background(), parse(t, twoServers("", "connect_timeout 4")))
	h.settle()
	added, removed := h.checks.churn()
	if want := []string{rs2, rs3}; !slices.Equal(added, want) || !slices.Equal(removed, want) {
		t.Fatalf("checks added %q and removed %q, want both %q", added, removed, want)
	}
	for name, alpha := range map[string]bool{rs2: false, rs3: true} {
		if c := h.checks.servers[name].Checks[0]; c.Timing.Alpha != alpha || c.Timing.Timeout != 4*time.Second {
			t.Errorf("new check of %s: %+v, want alpha %v and the new timeout", name, c.Timing, alpha)
		}
	}
	// The scheduler reports the new servers as the checks start them.
	h.send(rs2, true, 1, "added")
	h.send(rs3, false, 1, "added")
	h.wantTable("after reload", svc, dst2+"1")
	if logs, notes := h.logs(), h.rec.take(); len(notes) != 0 || slices.ContainsFunc(logs, func(s string) bool { return !strings.HasPrefix(s, "Activating") }) {
		t.Errorf("reload logged %q and notified %q", logs, notes)
	}
	h.send(rs3, true, 1, "TCP_CHECK succeeded")
	h.wantTable("after recovery", svc, dst2+"1", dst3+"1")
}

func TestReloadBeforeRun(t *testing.T) {
	h := newHarness(t, reloadBefore, Options{})
	h.l.Reload(context.Background(), parse(t, twoServers("", "")))
	h.run()
	h.wantTable("start", svc, dst2+"1", dst3+"1")
	if added, removed := h.checks.churn(); !slices.Equal(added, []string{rs2, rs3}) || len(removed) != 0 {
		t.Errorf("checks added %q, removed %q", added, removed)
	}
}

// TestReloadRemovesVirtualServer drops a virtual server in several
// states: only what was in the pool is logged as removed, only live real
// servers are reported down, and the quorum only if it was up.
func TestReloadRemovesVirtualServer(t *testing.T) {
	const other = `
virtual_server 192.0.2.2 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.5 80 {
	}
}`
	tests := []struct {
		name  string
		conf  string
		down  []string
		logs  []string
		notes []string
	}{
		{
			name: "live",
			conf: twoServers("", ""),
			logs: []string{
				"Removing Virtual Server " + vs1,
				"Removing service " + rs2 + " from VS " + vs1,
				"Removing service " + rs3 + " from VS " + vs1,
			},
			notes: []string{
				"RS " + rs2 + " " + vs1 + " DOWN script=down2",
				"RS " + rs3 + " " + vs1 + " DOWN",
				"VS " + vs1 + " DOWN script=qdown",
			},
		},
		{
			name: "inhibited",
			conf: twoServers("inhibit_on_failure", ""),
			down: []string{rs2},
			logs: []string{
				"Removing Virtual Server " + vs1,
				"Removing (inhibited) service " + rs2 + " from VS " + vs1,
				"Removing service " + rs3 + " from VS " + vs1,
			},
			notes: []string{
				"RS " + rs3 + " " + vs1 + " DOWN",
				"VS " + vs1 + " DOWN script=qdown",
			},
		},
		{
			name: "sorry server in",
			conf: twoServers("sorry_server 10.0.0.9 80", ""),
			down: []string{rs2, rs3},
			logs: []string{"Removing Virtual Server " + vs1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.conf+other, Options{})
			h.run()
			for _, rs := range tt.down {
				h.send(rs, false, 1, "down")
			}
			h.logs()
			h.rec.take()
			h.l.Reload(context.Background(), parse(t, other))
			h.settle()
			h.check("reload", step{logs: tt.logs, notes: tt.notes,
				table: []string{"-A -t 192.0.2.2:80 -s rr", "-a -t 192.0.2.2:80 -r 10.0.0.5:80 -m -w 1"}})
		})
	}
}

// TestReloadTouchesOnlyChangedServices checks that a reload converges the
// services it changed and reads nothing else: damage done by hand to
// another service stays until the periodic full reconcile.
func TestReloadTouchesOnlyChangedServices(t *testing.T) {
	conf := func(weight int) string {
		return fmt.Sprintf(`
virtual_server 192.0.2.1 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.2 80 {
		weight %d
	}
}
virtual_server 192.0.2.2 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.5 80 {
	}
}`, weight)
	}
	h := newHarness(t, conf(1), Options{})
	h.run()
	other := "-A -t 192.0.2.2:80 -s rr"
	s := ipvs.Service{Addr: netip.MustParseAddrPort("192.0.2.2:80"), Protocol: ipvs.TCP}
	if err := h.kernel.DelDestination(s, ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.5:80")}); err != nil {
		t.Fatal(err)
	}
	ops := h.kernel.opCount()
	h.l.Reload(context.Background(), parse(t, conf(3)))
	h.settle()
	if n := h.kernel.opCount() - ops; n != 1 {
		t.Errorf("reload changing one weight made %d table changes, want 1", n)
	}
	h.wantTable("after the reload", svc, dst2+"3", other)
}

// TestResyncCostOutlier checks that one slow pass, or one that repaired
// the table, does not stretch the resync of an ordinary table.
func TestResyncCostOutlier(t *testing.T) {
	h := newHarness(t, twoServers("", ""), Options{})
	h.kernel.clock = h.clock
	h.run()
	fire := func(what string, want time.Duration) {
		t.Helper()
		period, err := h.clock.fire()
		if err != nil {
			t.Fatal(err)
		}
		if period != want {
			t.Errorf("%s: resync every %v, want %v", what, period, want)
		}
		h.settle()
	}
	fire("after the start", 5*time.Second)
	h.kernel.dumpCost = 300 * time.Millisecond
	fire("before the slow pass", 5*time.Second)
	h.kernel.dumpCost = 0
	fire("after one slow pass", 5*time.Second)
	fire("after a fast one", 5*time.Second)
	h.wantTable("after resync", svc, dst2+"1", dst3+"1")
}

// TestProgress requires Run to record its progress while it runs, and no
// more while its lock is held by a wedged caller.
func TestProgress(t *testing.T) {
	h := newHarness(t, twoServers("", ""), Options{})
	defer h.run()()
	l := h.l
	deadline := time.Now().Add(3 * time.Second)
	for time.Since(l.Progress()) > 2*HeartbeatInterval {
		if time.Now().After(deadline) {
			t.Fatalf("no progress recorded: %v", l.Progress())
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	wedged := time.Now()
	time.Sleep(2*HeartbeatInterval + 200*time.Millisecond)
	p := l.Progress()
	l.mu.Unlock()
	if p.After(wedged) {
		t.Errorf("progress %v recorded while the lock was held from %v", p, wedged)
	}
}
