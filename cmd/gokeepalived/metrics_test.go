package main

import (
	"errors"
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
