package main

import (
	"errors"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// TestObserveAttempt requires the check histogram and failure counter
// to count every attempt by checker kind when the metrics are served, and
// to hold no series at all when nothing serves them.
func TestObserveAttempt(t *testing.T) {
	fail := errors.New("connection refused")
	attempts := []check.Attempt{
		{Checker: "TCP_CHECK", Duration: time.Millisecond},
		{Checker: "TCP_CHECK", Duration: 2 * time.Millisecond, Err: fail},
		{Checker: "HTTP_GET", Duration: 3 * time.Millisecond},
		{Checker: "TCP_CHECK", Duration: time.Millisecond},
	}
	// gather returns each series' count of attempts, by metric and kind.
	gather := func(m *metrics) map[string]uint64 {
		t.Helper()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(m.checkDuration, m.checkFailures)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, mf := range mfs {
			for _, x := range mf.GetMetric() {
				k := mf.GetName() + " " + x.GetLabel()[0].GetValue()
				if h := x.GetHistogram(); h != nil {
					got[k] = h.GetSampleCount()
				} else {
					got[k] = uint64(x.GetCounter().GetValue())
				}
			}
		}
		return got
	}

	m := newMetrics(&daemon{s: &settings{metricsListen: "127.0.0.1:0"}})
	for _, a := range attempts {
		m.observeAttempt(a)
	}
	got := gather(m)
	want := map[string]uint64{
		"gokeepalived_check_duration_seconds TCP_CHECK": 3,
		"gokeepalived_check_duration_seconds HTTP_GET":  1,
		// A kind's failure series appears with its first failure.
		"gokeepalived_check_failures_total TCP_CHECK": 1,
	}
	if len(got) != len(want) {
		t.Errorf("served: series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("served: %s = %d, want %d", k, got[k], v)
		}
	}

	quiet := newMetrics(&daemon{s: &settings{}})
	for _, a := range attempts {
		quiet.observeAttempt(a)
	}
	if got := gather(quiet); len(got) != 0 {
		t.Errorf("not served: series %v, want none", got)
	}
}

// TestMetricsGCPauses requires the garbage collector's pause histogram
// beside the Go runtime's default metrics, with the pause of a collection
// forced before the scrape counted in it.
func TestMetricsGCPauses(t *testing.T) {
	runtime.GC()
	body, err := get(&http.Client{Timeout: 10 * time.Second}, startMetrics(t, newMetrics(testDaemon())))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE go_sched_pauses_total_gc_seconds histogram",
		`go_sched_pauses_total_gc_seconds_bucket{le="+Inf"} `,
		"# TYPE go_gc_duration_seconds summary",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, grepLines(body, "go_"))
		}
	}
	if strings.Contains(body, "go_sched_pauses_total_gc_seconds_count 0\n") {
		t.Errorf("a forced collection is not counted:\n%s", grepLines(body, "pauses"))
	}
}

// gatherSeries returns every series m exports, keyed by its name and its
// labels in order, "name l1=v1 l2=v2".
func gatherSeries(t *testing.T, m *metrics) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	series := map[string]float64{}
	for _, mf := range mfs {
		for _, x := range mf.GetMetric() {
			k := mf.GetName()
			for _, l := range x.GetLabel() {
				k += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case x.GetGauge() != nil:
				series[k] = x.GetGauge().GetValue()
			case x.GetCounter() != nil:
				series[k] = x.GetCounter().GetValue()
			}
		}
	}
	return series
}

// TestMetricsVRRPPlaces requires the state of each VRRP instance to name
// its VRID, interface and address family from the running configuration,
// so that rules can count the masters of one virtual router across
// directors; an IPv4 and an IPv6 instance of the same VRID on the same
// link are two virtual routers.
func TestMetricsVRRPPlaces(t *testing.T) {
	d := testDaemon()
	d.cfg = &config.Config{Instances: []config.Instance{
		{Name: "VI_4", Interface: "eth0", VirtualRouterID: 51,
			VirtualIPs: []config.Address{{Prefix: netip.MustParsePrefix("192.0.2.1/32")}}},
		{Name: "VI_6", Interface: "eth0", VirtualRouterID: 51,
			VirtualIPs: []config.Address{{Prefix: netip.MustParsePrefix("2001:db8::1/128")}}},
		{Name: "VI_U", Interface: "eth1", VirtualRouterID: 52,
			UnicastPeers: []config.UnicastPeer{{Addr: netip.MustParseAddr("2001:db8::2")}}},
	}}
	m := newMetrics(d)
	m.vrrp = func() vrrpSource {
		return fakeVRRP{[]vrrp.Status{
			{Name: "VI_4", VRID: 51, State: vrrp.StateMaster},
			{Name: "VI_6", VRID: 51, State: vrrp.StateBackup},
			{Name: "VI_U", VRID: 52, State: vrrp.StateFault},
		}}
	}
	series := gatherSeries(t, m)
	for k, v := range map[string]float64{
		"gokeepalived_vrrp_state family=inet interface=eth0 state=MASTER vrid=51 vrrp_instance=VI_4":  1,
		"gokeepalived_vrrp_state family=inet interface=eth0 state=BACKUP vrid=51 vrrp_instance=VI_4":  0,
		"gokeepalived_vrrp_state family=inet6 interface=eth0 state=BACKUP vrid=51 vrrp_instance=VI_6": 1,
		"gokeepalived_vrrp_state family=inet6 interface=eth0 state=MASTER vrid=51 vrrp_instance=VI_6": 0,
		"gokeepalived_vrrp_state family=inet6 interface=eth1 state=FAULT vrid=52 vrrp_instance=VI_U":  1,
	} {
		if got, ok := series[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	n := 0
	for k := range series {
		if strings.HasPrefix(k, "gokeepalived_vrrp_state ") {
			n++
		}
	}
	if n != 3*5 {
		t.Errorf("%d state series, want 5 for each of 3 instances", n)
	}
}

// TestMetricsReloads requires the reload counters to count by result and
// the last reload's gauge to follow the last result, and the build's
// information to be there.
func TestMetricsReloads(t *testing.T) {
	m := newMetrics(testDaemon())
	for _, step := range []struct {
		ok           bool
		success, bad float64
		last         float64
	}{
		{true, 1, 0, 1},
		{false, 1, 1, 0},
		{false, 1, 2, 0},
		{true, 2, 2, 1},
	} {
		m.reloaded(step.ok)
		s := gatherSeries(t, m)
		if s["gokeepalived_config_reloads_total result=success"] != step.success ||
			s["gokeepalived_config_reloads_total result=failure"] != step.bad ||
			s["gokeepalived_config_last_reload_successful"] != step.last {
			t.Errorf("after a reload ok=%v: success %v, failure %v, last %v; want %v, %v, %v", step.ok,
				s["gokeepalived_config_reloads_total result=success"], s["gokeepalived_config_reloads_total result=failure"],
				s["gokeepalived_config_last_reload_successful"], step.success, step.bad, step.last)
		}
	}
	k := "gokeepalived_build_info goversion=" + runtime.Version() + " version=" + version
	if v, ok := gatherSeries(t, m)[k]; !ok || v != 1 {
		t.Errorf("%s = %v (present %v), want 1", k, v, ok)
	}
}

// TestMetricsLint requires every family /metrics serves, with VRRP
// instances, virtual and real servers and check attempts to show, to pass
// Prometheus's linter, the one promtool check metrics runs: base units,
// _total on counters and on nothing else, help texts, no duplicate series.
func TestMetricsLint(t *testing.T) {
	d := testDaemon()
	d.cfg = &config.Config{Instances: []config.Instance{{Name: "VI_1", Interface: "eth0", VirtualRouterID: 51}}}
	m := newMetrics(d)
	m.vrrp = func() vrrpSource {
		return fakeVRRP{[]vrrp.Status{{Name: "VI_1", VRID: 51, State: vrrp.StateBackup, Priority: 100, EffectivePriority: 100}}}
	}
	m.checker = func() checkerSource {
		return fakeChecker{[]lvs.VirtualServerStatus{{Name: "[192.0.2.10]:tcp:80",
			RealServers: []lvs.RealServerStatus{{Name: "[10.0.0.2]:tcp:80"}, {Name: "[10.0.0.3]:tcp:80", Alive: true, Weight: 1}}},
			{Name: "[192.0.2.11]:tcp:80", Services: []ipvs.Service{{Scheduler: "mh", Destinations: []ipvs.Destination{
				{Addr: netip.MustParseAddrPort("10.0.0.2:80"), Weight: 1}}}}}}}
	}
	m.observeAttempt(check.Attempt{Checker: "TCP_CHECK", Duration: time.Millisecond, Err: errors.New("connection refused")})
	m.reloaded(false)
	body, err := get(&http.Client{Timeout: 10 * time.Second}, startMetrics(t, m))
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{
		"# TYPE gokeepalived_vrrp_state gauge",
		"# TYPE gokeepalived_checker_real_server_up gauge",
		"# TYPE gokeepalived_ipvs_virtual_server_quorum_up gauge",
		"# TYPE gokeepalived_config_last_reload_successful gauge",
		"# TYPE gokeepalived_config_reloads_total counter",
		"# TYPE gokeepalived_panics_total counter",
		"# TYPE gokeepalived_build_info gauge",
		"# TYPE gokeepalived_check_duration_seconds histogram",
		"# TYPE gokeepalived_ipvs_destination_order_fingerprint gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in the scrape", want)
		}
	}
}
