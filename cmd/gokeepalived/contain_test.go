package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// startMetrics serves m on a free port of the loopback and returns the
// URL of /metrics; the server stops with the test.
func startMetrics(t *testing.T, m *metrics) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startMetricsOn(t, m, ln, metricsLimits())
}

func startMetricsOn(t *testing.T, m *metrics, ln net.Listener, lim serverLimits) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.serveOn(ctx, ln, m.handler(), lim) }()
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

type fakeVRRP struct{ st []vrrp.Status }

func (f fakeVRRP) Statuses() []vrrp.Status         { return f.st }
func (fakeVRRP) Drops() map[vrrp.DropReason]uint64 { return nil }
func (fakeVRRP) Panics() uint64                    { return 2 }
func (fakeVRRP) SocketErrors() uint64              { return 0 }
func (fakeVRRP) LinkResubscriptions() uint64       { return 0 }

type fakeChecker struct{ vs []lvs.VirtualServerStatus }

func (f fakeChecker) Servers() []lvs.VirtualServerStatus { return f.vs }
func (fakeChecker) TableStats() ipvs.Stats               { return ipvs.Stats{} }
func (f fakeChecker) OrderFingerprint(vs lvs.VirtualServerStatus) (uint32, bool) {
	if len(vs.Services) == 0 || vs.Services[0].Scheduler != "mh" {
		return 0, false
	}
	return ipvs.OrderFingerprint(vs.Services[0].Destinations), true
}
func (fakeChecker) Panics() uint64 { return 3 }

// TestMetricsNonUTF8Names checks that names keepalived accepts but that
// are not UTF-8 are exported, with U+FFFD for their bad bytes, rather than
// failing the scrape.
func TestMetricsNonUTF8Names(t *testing.T) {
	m := newMetrics(testDaemon())
	m.vrrp = func() vrrpSource {
		return fakeVRRP{[]vrrp.Status{{Name: "VI_\xff1", State: vrrp.StateMaster, Priority: 100}}}
	}
	m.checker = func() checkerSource {
		return fakeChecker{[]lvs.VirtualServerStatus{{Name: "[grp\xfe]:0", QuorumUp: true,
			RealServers: []lvs.RealServerStatus{{Name: "[10.0.0.2]:tcp:80", Alive: true, Weight: 1}}}}}
	}
	series := gatherSeries(t, m)
	for k, v := range map[string]float64{
		"gokeepalived_vrrp_priority vrrp_instance=VI_\uFFFD1":                                            100,
		"gokeepalived_vrrp_state family= interface= state=MASTER vrid=0 vrrp_instance=VI_\uFFFD1":        1,
		"gokeepalived_checker_real_server_up real_server=[10.0.0.2]:tcp:80 virtual_server=[grp\uFFFD]:0": 1,
		"gokeepalived_ipvs_virtual_server_quorum_up virtual_server=[grp\uFFFD]:0":                        1,
		"gokeepalived_panics_total loop=vrrp":                                                            2,
		"gokeepalived_panics_total loop=checker":                                                         3,
	} {
		if got, ok := series[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
}

// countingListener counts the connections accepted and not yet closed,
// and the most there were at once.
type countingListener struct {
	net.Listener
	mu        sync.Mutex
	open, max int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.open++
	l.max = max(l.max, l.open)
	l.mu.Unlock()
	return &countedConn{Conn: c, l: l}, nil
}

func (l *countingListener) counts() (open, max int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.max
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// openFDs counts the process's open descriptors.

// TestMetricsServerBounded checks that clients that connect and say
// nothing hold at most the cap of connections, and so of descriptors, and
// that a scrape is answered once the idle ones have timed out.
func TestMetricsServerBounded(t *testing.T) {
	m := newMetrics(testDaemon())
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner}
	lim := serverLimits{readHeader: 300 * time.Millisecond, read: time.Second, write: time.Second, idle: 300 * time.Millisecond, conns: 4}
	base := openFDs(t, os.Getpid())
	url := startMetricsOn(t, m, ln, lim)

	const idle = 20
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idle {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The server takes connections up to its cap, and no more.
	deadline := time.Now().Add(5 * time.Second)
	for open, _ := ln.counts(); open < lim.conns; open, _ = ln.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %d connections, want %d", open, lim.conns)
		}
		time.Sleep(time.Millisecond)
	}
	// The clients' descriptors and the server's own few (the listener,
	// the netpoller) aside, the server holds one per accepted connection.
	if fds, most := openFDs(t, os.Getpid())-base-idle, lim.conns+4; fds > most {
		t.Errorf("%d descriptors beyond the clients', want at most %d", fds, most)
	}

	c := &http.Client{Timeout: 10 * time.Second}
	body, err := get(c, url)
	if err != nil {
		t.Fatalf("scrape behind idle connections: %v", err)
	}
	if !strings.Contains(body, "gokeepalived_config_reloads_total") {
		t.Errorf("scrape answered without the daemon's metrics")
	}
	if _, most := ln.counts(); most > lim.conns {
		t.Errorf("%d connections held at once, cap %d", most, lim.conns)
	}
}
