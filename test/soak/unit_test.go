package soak

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
)

// The soak's own arithmetic and parsing, without root.

func TestSlope(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4}
	for _, tc := range []struct {
		y    []float64
		want float64
	}{
		{[]float64{5, 5, 5, 5, 5}, 0},
		{[]float64{0, 2, 4, 6, 8}, 2},
		{[]float64{10, 9, 8, 7, 6}, -1},
		{[]float64{0, 1, 0, 1, 0}, 0},
	} {
		if got := slope(x, tc.y); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("slope(%v) = %v, want %v", tc.y, got, tc.want)
		}
	}
	if got := slope([]float64{1}, []float64{3}); got != 0 {
		t.Errorf("slope of one point = %v, want 0", got)
	}
}

func TestTheilSen(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	flat := []float64{146, 146, 147, 146, 146, 146, 147, 146, 146, 178}
	if got := theilSen(x, flat); math.Abs(got) > 0.01 {
		t.Errorf("theilSen of a flat series with a burst at the end = %v, want 0", got)
	}
	if ls := slope(x, flat); ls < 1 {
		t.Errorf("least squares of the same = %v; the test no longer shows why Theil-Sen is used", ls)
	}
	rising := make([]float64, len(x))
	for i := range x {
		rising[i] = 146 + 2*x[i]
	}
	rising[3] = 200
	if got := theilSen(x, rising); math.Abs(got-2) > 1e-9 {
		t.Errorf("theilSen of a rise of 2 with an outlier = %v, want 2", got)
	}
}

func TestParseProc(t *testing.T) {
	status := "Name:\tgokeepalived\nVmPeak:\t  123 kB\nVmRSS:\t   24580 kB\nThreads:\t9\n"
	if got, err := parseVmRSS(status); err != nil || got != 24580 {
		t.Errorf("parseVmRSS = %d, %v; want 24580", got, err)
	}
	if _, err := parseVmRSS("Name:\tx\n"); err == nil {
		t.Error("parseVmRSS without VmRSS: no error")
	}
	// A command name with spaces and parentheses must not shift the fields.
	stat := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 731 269 0 0 20 0 9 0 100 0 0"
	if got, err := parseStatCPU(stat); err != nil || got != 1000 {
		t.Errorf("parseStatCPU = %d, %v; want 1000", got, err)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 147
gokeepalived_vrrp_transitions_total{vrrp_instance="VI_1"} 2
gokeepalived_vrrp_transitions_total{vrrp_instance="VI 2 }"} 1
go_memstats_heap_alloc_bytes 1.2e+07
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if m["go_goroutines"] != 147 {
		t.Errorf("go_goroutines = %v, want 147", m["go_goroutines"])
	}
	if sum, ok := sumMetric(m, "gokeepalived_vrrp_transitions_total"); !ok || sum != 3 {
		t.Errorf("transitions = %v, %v; want 3", sum, ok)
	}
	if _, ok := sumMetric(m, "go_gc_duration_seconds"); ok {
		t.Error("sumMetric found a metric that is not there")
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines\n")); err == nil {
		t.Error("a sample without a value: no error")
	}
}

// TestSchedule checks the flap plan: the same seed gives the same plan,
// every down is followed by its up within the hold bounds, a real server
// stays up at least holdMin between flaps and all are up before the end.
func TestSchedule(t *testing.T) {
	dur := 5 * time.Minute
	for _, tm := range []timing{nativeTiming, guestTiming} {
		plan := schedule(42, dur, tm)
		if again := schedule(42, dur, tm); !slices.Equal(plan, again) {
			t.Fatalf("%s: the same seed gave two plans", tm)
		}
		if other := schedule(43, dur, tm); slices.Equal(plan, other) {
			t.Fatalf("%s: seeds 42 and 43 gave the same plan", tm)
		}
		if len(plan) < 100 {
			t.Fatalf("%s: %d changes in %s, want at least 100", tm, len(plan), dur)
		}
		downSince := map[int]time.Duration{}
		upSince := map[int]time.Duration{}
		for _, c := range plan {
			if c.up {
				d, ok := downSince[c.rs]
				if !ok {
					t.Fatalf("%s: real server %d up at %s without being down", tm, c.rs, c.at)
				}
				if hold := c.at - d; hold < tm.holdMin() || hold > tm.holdMax() {
					t.Errorf("%s: real server %d down for %s, want %s to %s", tm, c.rs, hold, tm.holdMin(), tm.holdMax())
				}
				delete(downSince, c.rs)
				upSince[c.rs] = c.at
				if c.at > dur-tm.holdMin() {
					t.Errorf("%s: real server %d up only at %s, less than %s before the end", tm, c.rs, c.at, tm.holdMin())
				}
				continue
			}
			if _, ok := downSince[c.rs]; ok {
				t.Fatalf("%s: real server %d down twice", tm, c.rs)
			}
			if u, ok := upSince[c.rs]; ok && c.at-u < tm.holdMin() {
				t.Errorf("%s: real server %d down again %s after coming up, want at least %s", tm, c.rs, c.at-u, tm.holdMin())
			}
			downSince[c.rs] = c.at
		}
		if len(downSince) > 0 {
			t.Errorf("%s: %d real servers still down at the end", tm, len(downSince))
		}
	}
}

// TestEvaluateFlaps feeds evaluate a hand-made history: one flap seen,
// one missed, and one stale reading.
func TestEvaluateFlaps(t *testing.T) {
	rs := realServers(nativeTiming)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	lag := 10 * time.Second
	obs := &observer{polls: map[string][]poll{}, samples: map[string][]sample{}}
	// Real server 0 goes down at 20 s and up at 60 s; 1 goes down at 30 s.
	obs.changes = []applied{
		{change{rs: 0, up: false}, at(20)},
		{change{rs: 1, up: false}, at(30)},
		{change{rs: 0, up: true}, at(60)},
	}
	mk := func(s int, down ...int) poll {
		p := poll{start: at(s), end: at(s).Add(100 * time.Millisecond), alive: make([]bool, realCount), rssKiB: 1000}
		for i := range p.alive {
			p.alive[i] = true
		}
		for _, i := range down {
			p.alive[i] = false
		}
		return p
	}
	// "a" sees real server 0 go down and up, never sees 1 go down.
	obs.polls["a"] = []poll{mk(10), mk(25), mk(35, 0), mk(45, 0), mk(75), mk(90)}
	// "b" sees everything, but still calls 0 down at 75 s, 15 s after
	// its listener came back.
	obs.polls["b"] = []poll{mk(10), mk(35, 0), mk(45, 0, 1), mk(75, 0, 1), mk(90, 1)}
	for _, name := range []string{"a", "b"} {
		for s := 0; s <= 90; s += 10 {
			obs.samples[name] = append(obs.samples[name], sample{at: time.Duration(s) * time.Second, rssKiB: 1000, fds: 50, goroutines: 100})
		}
	}
	r := evaluate(obs, rs, start, 90*time.Second, 90*time.Second, map[string]float64{}, lag)
	a, b := r.daemons["a"], r.daemons["b"]
	if a.seen != 2 || len(a.unseen) != 1 || !strings.Contains(a.unseen[0], rs[1].name+" down") {
		t.Errorf("a: seen %d, unseen %v; want 2 seen, %s down unseen", a.seen, a.unseen, rs[1].name)
	}
	// At 35 s real server 1 (down since 30 s) is within the lag and not
	// compared; at 45, 75 and 90 s "a" calls it up while it is down.
	if a.staleCount != 3 {
		t.Errorf("a: %d stale readings (%v), want 3", a.staleCount, a.stale)
	}
	if b.seen != 3 {
		t.Errorf("b: seen %d of 3 (%v)", b.seen, b.unseen)
	}
	if b.staleCount != 1 || !strings.Contains(b.stale[0], rs[0].name) {
		t.Errorf("b: stale %v, want one reading of %s", b.stale, rs[0].name)
	}
	fails := strings.Join(r.failures(), "\n")
	for _, want := range []string{"a: saw 2 of 3 flaps", "a: 3 readings disagree", "b: 1 readings disagree"} {
		if !strings.Contains(fails, want) {
			t.Errorf("failures lack %q:\n%s", want, fails)
		}
	}
}

// TestConfigParses checks that both daemons' configurations load without
// a warning, at both paces.
func TestConfigParses(t *testing.T) {
	for _, tm := range []timing{nativeTiming, guestTiming} {
		rs := realServers(tm)
		cfg, diags := config.Parse("keepalived.conf", []byte(keepalivedConf("a", 150, rs, tm)), config.Options{})
		if diags = diags.Keepalived(); len(diags) > 0 {
			t.Fatalf("%s: %v", tm, diags)
		}
		if len(cfg.Instances) != instances || len(cfg.VirtualServers) != instances {
			t.Fatalf("%s: %d instances and %d virtual servers, want %d of each", tm, len(cfg.Instances), len(cfg.VirtualServers), instances)
		}
		n := 0
		for _, vs := range cfg.VirtualServers {
			n += len(vs.RealServers)
		}
		if n != realCount {
			t.Errorf("%s: %d real servers, want %d", tm, n, realCount)
		}
	}
}
