package checkers

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
)

// schedulerEnv adds a row measuring check.Scheduler alone, in the test
// process, on the lab's real servers with the timing the daemons use:
// what the checks cost without the rest of a daemon. "profile" also writes
// the window's CPU profile to the console, base64 between profileBegin and
// profileEnd lines, for go tool pprof on the host.
const schedulerEnv = "GOKEEPALIVED_BENCH_SCHEDULER"

const (
	profileBegin = "-----BEGIN CHECKER PROFILE-----"
	profileEnd   = "-----END CHECKER PROFILE-----"
)

// schedulerServers returns the lab's real servers as the Scheduler takes
// them: the checkers and defaults of size.config.
func schedulerServers(s size) []check.Server {
	var servers []check.Server
	for i := range s.tcp {
		rs := realServer(0, tcpPort, i)
		servers = append(servers, check.Server{Name: "tcp " + rs.String(), Weight: 1, Checks: []check.Check{{
			Name:    "TCP_CHECK",
			Checker: &check.TCPCheck{Dialer: check.Dialer{Addr: rs}},
			Timing:  check.DefaultTiming("TCP_CHECK", tcpDelay*time.Second),
		}}})
	}
	for i := range s.http {
		rs := realServer(1, httpPort, i)
		servers = append(servers, check.Server{Name: "http " + rs.String(), Weight: 1, Checks: []check.Check{{
			Name:    "HTTP_GET",
			Checker: &check.HTTPGet{Dialer: check.Dialer{Addr: rs}, URLs: []check.URL{{Path: "/index.html", StatusCodes: []check.StatusRange{{Min: 200, Max: 200}}}}},
			Timing:  check.DefaultTiming("HTTP_GET", httpDelay*time.Second),
		}}})
	}
	return servers
}

// measureScheduler runs the lab's checks on a check.Scheduler in this
// process and measures it as measure does a daemon; "in table" counts the
// servers up at the end.
func measureScheduler(t *testing.T, s size, lst *listeners, lay layout, warmup, window time.Duration, profile bool) result {
	t.Helper()
	sch := check.NewScheduler(check.Options{})
	for _, srv := range schedulerServers(s) {
		if err := sch.Add(srv); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	up := make(map[string]bool)
	upc := make(chan int)
	go func() {
		for {
			select {
			case ev := <-sch.Events():
				up[ev.Server] = ev.Up
			case upc <- count(up):
			case <-ctx.Done():
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- sch.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	r := result{daemon: "check.Scheduler", size: s, window: window, procs: 1}
	// The first attempts spread over warmup, which is delay_loop.
	time.Sleep(warmup + httpDelay*time.Second)
	u0, err := selfCPU()
	if err != nil {
		t.Fatal(err)
	}
	l0, err := treeUsage(os.DirFS("/proc"), lst.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c0, err := readCPUTimes(os.DirFS("/proc"), statLine(lay.listeners))
	if err != nil {
		t.Fatal(err)
	}
	tcp0, http0, err := lst.counts()
	if err != nil {
		t.Fatal(err)
	}
	var prof bytes.Buffer
	if profile {
		if err := pprof.StartCPUProfile(&prof); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	time.Sleep(window)
	if profile {
		pprof.StopCPUProfile()
	}
	r.window = time.Since(t0)
	u1, err := selfCPU()
	if err != nil {
		t.Fatal(err)
	}
	l1, err := treeUsage(os.DirFS("/proc"), lst.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := readCPUTimes(os.DirFS("/proc"), statLine(lay.listeners))
	if err != nil {
		t.Fatal(err)
	}
	tcp1, http1, err := lst.counts()
	if err != nil {
		t.Fatal(err)
	}
	r.cpu = u1 - u0
	r.tcp, r.http = tcp1-tcp0, http1-http0
	r.cpuBusy = busyFraction(c0, c1)
	r.listenersCPU = l1.cpu - l0.cpu
	r.inTable = <-upc
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if r.rss, err = parseHWM(status); err != nil {
		t.Fatal(err)
	}
	if profile {
		writeProfile("check.Scheduler", s, prof.Bytes())
	}
	return r
}

func count(m map[string]bool) int {
	n := 0
	for _, up := range m {
		if up {
			n++
		}
	}
	return n
}

// selfCPU is this process's user and system CPU time.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// writeProfile prints the profile of who (a daemon or the scheduler) at
// size s to the console in base64 lines.
func writeProfile(who string, s size, p []byte) {
	var b bytes.Buffer
	b.WriteString(profileBegin + " " + who + " " + s.String() + " " + strconv.Itoa(len(p)) + "\n")
	enc := base64.StdEncoding.EncodeToString(p)
	for len(enc) > 0 {
		n := min(len(enc), 76)
		b.WriteString(enc[:n] + "\n")
		enc = enc[n:]
	}
	b.WriteString(profileEnd + "\n")
	os.Stdout.Write(b.Bytes())
}
