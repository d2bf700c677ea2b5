package main

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gokeepalived/gokeepalived/check"
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
