package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// startMetrics serves m on a free port of the loopback and returns the
// URL of /metrics; the server stops with the test.
func startMetrics(t *testing.T, m *metrics) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.serveOn(ctx, ln, m.handler()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("metrics server: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/metrics"
}

func testDaemon() *daemon {
	log := logrus.New()
	log.Out = io.Discard
	return &daemon{s: &settings{metricsListen: "127.0.0.1:0"}, log: log}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestMetricsContainPanic checks that a scrape whose handler panics is
// dropped and counted, and that the next scrape is served and reports it.
func TestMetricsContainPanic(t *testing.T) {
	m := newMetrics(testDaemon())
	var n atomic.Int64
	m.testPanic = func() {
		if n.Add(1) == 1 {
			panic("injected")
		}
	}
	url := startMetrics(t, m)
	c := &http.Client{Timeout: 10 * time.Second}
	if _, err := get(c, url); err == nil {
		t.Fatal("the panicking scrape was answered")
	}
	body, err := get(c, url)
	if err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	if !strings.Contains(body, `gokeepalived_panics_total{loop="metrics"} 1`) {
		t.Errorf("the panic is not counted:\n%s", grepLines(body, "panics"))
	}
	for _, loop := range []string{"vrrp", "checker", "control"} {
		if !strings.Contains(body, `gokeepalived_panics_total{loop="`+loop+`"} 0`) {
			t.Errorf("no series for loop %s:\n%s", loop, grepLines(body, "panics"))
		}
	}
}

// TestSuperviseCountsPanics checks that a loop whose Run panics is
// counted and run again.
func TestSuperviseCountsPanics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var panics atomic.Uint64
	var runs atomic.Int64
	second := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		log := logrus.New()
		log.Out = io.Discard
		supervise(ctx, log, "test", &panics, func(ctx context.Context) error {
			if runs.Add(1) == 1 {
				panic("injected")
			}
			close(second)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not run again after its panic")
	}
	if got := panics.Load(); got != 1 {
		t.Errorf("panics = %d, want 1", got)
	}
	cancel()
	<-done
}
