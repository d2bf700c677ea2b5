package check

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
)

// pathServer answers GET requests with the status script gives for the
// nth request (from 1) of each path, and records the paths asked for
// with the time clk gives.
type pathServer struct {
	clk    Clock
	start  time.Time
	script func(path string, n int) int
	mu     sync.Mutex
	count  map[string]int
	seen   []string
}

func startPathServer(t *testing.T, clk Clock, script func(path string, n int) int) (*pathServer, netip.AddrPort) {
	t.Helper()
	s := &pathServer{clk: clk, start: clk.Now(), script: script, count: map[string]int{}}
	return s, serveLoopback(t, s.serve)
}

func (s *pathServer) serve(c net.Conn) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return
	}
	s.mu.Lock()
	s.count[f[1]]++
	status := s.script(f[1], s.count[f[1]])
	s.seen = append(s.seen, fmt.Sprintf("%s@%v", f[1], s.clk.Now().Sub(s.start)))
	s.mu.Unlock()
	fmt.Fprintf(c, "HTTP/1.0 %d X\r\n\r\n", status)
}

func (s *pathServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// TestHTTPGetURLOrderAndFastRecovery checks HTTP_GET's walk through its
// urls as keepalived's check_http.c epilog makes it, against a server the
// test starts: one url per attempt, delay_loop apart; a failing url
// retried delay_before_retry later, then tried every delay_loop once the
// checker is down; once it passes, every url again from the first before
// the checker is up. With fast_recovery the urls after a pass are checked
// at once before the first verdict and during a recovery, so the server
// is back up as soon as its failed url passes, instead of two
// delay_loops later.
func TestHTTPGetURLOrderAndFastRecovery(t *testing.T) {
	const s = time.Second
	// /b fails its 2nd to 4th requests.
	script := func(path string, n int) int {
		if path == "/b" && n >= 2 && n <= 4 {
			return 500
		}
		return 200
	}
	for _, tc := range []struct {
		name     string
		fast     bool
		requests []string
		events   []sawEvent
	}{
		{
			name: "default",
			requests: []string{
				"/a@0s", "/b@10s", "/a@20s", "/b@30s", // first verdict at 10s, then /b fails
				"/b@32s",              // its retry fails: down
				"/b@42s",              // down: the failed url, delay_loop later
				"/b@52s",              // it passes: every url again
				"/a@1m2s", "/b@1m12s", // up
				"/a@1m22s",
			},
			events: []sawEvent{{0, true, 1}, {32 * s, false, 1}, {72 * s, true, 1}},
		},
		{
			name: "fast_recovery",
			fast: true,
			requests: []string{
				"/a@0s", "/b@0s", // before the first verdict: at once
				"/a@10s", "/b@20s", "/b@22s", // down at 22s
				"/b@32s", "/b@42s", // the failed url passes at 42s
				"/a@42s", "/b@42s", // at once: up
				"/a@52s", "/b@1m2s",
			},
			events: []sawEvent{{0, true, 1}, {22 * s, false, 1}, {42 * s, true, 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			srv, addr := startPathServer(t, clk, script)
			logger, hook := test.NewNullLogger()
			sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Logger: logger})
			h := &HTTPGet{Dialer: Dialer{Addr: addr}, URLs: []URL{{Path: "/a"}, {Path: "/b"}}, FastRecovery: tc.fast}
			timing := Timing{DelayLoop: 10 * s, Retry: 1, DelayBeforeRetry: 2 * s, Timeout: s}
			if err := sch.Add(Server{Name: "rs", Weight: 1, Checks: []Check{{Name: "HTTP_GET", Checker: h, Timing: timing}}}); err != nil {
				t.Fatal(err)
			}
			evs := drive(t, sch, clk, time.Duration(len(tc.requests)-1)*10*s)
			got := srv.requests()
			if len(got) > len(tc.requests) {
				got = got[:len(tc.requests)]
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.requests) {
				t.Errorf("requests\n got %v\nwant %v", got, tc.requests)
			}
			if fmt.Sprint(evs) != fmt.Sprint(tc.events) {
				t.Errorf("events %v, want %v", evs, tc.events)
			}
			var lines []string
			for _, e := range hook.AllEntries() {
				lines = append(lines, e.Message)
			}
			// The recovery: the failed url, then every url, each
			// logged as it passes while the checker is down.
			want := []string{
				"HTTP_CHECK on service rs failed after 1 retries.",
				"HTTP status code success to rs url(/b)",
				"HTTP status code success to rs url(/a)",
				"HTTP status code success to rs url(/b)",
				"Remote Web server rs succeed on service.",
			}
			if len(lines) < len(want) || fmt.Sprintf("%q", lines[len(lines)-len(want):]) != fmt.Sprintf("%q", want) {
				t.Errorf("logged %q, want it to end with %q", lines, want)
			}
		})
	}
}
