package check

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// listenerHelperEnv makes the test binary serve TCP listeners for the
// benchmark in a separate process, so that accepting the connections does
// not count against the checker's CPU.
const listenerHelperEnv = "GOKEEPALIVED_CHECK_LISTENER_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(listenerHelperEnv) == "1" {
		serveListeners()
		return
	}
	os.Exit(m.Run())
}

// serveListeners listens on four loopback addresses and four ports each,
// prints the addresses, and closes every connection it accepts until stdin
// closes.
func serveListeners() {
	var addrs []string
	for a := 1; a <= 4; a++ {
		for range 4 {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", a))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			addrs = append(addrs, ln.Addr().String())
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
	}
	fmt.Println(strings.Join(addrs, " "))
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// BenchmarkScheduler10k runs 10,000 TCP_CHECKs at delay_loop 1 against
// listeners in another process for GOKEEPALIVED_BENCH_SECONDS (default 10)
// and reports this process's CPU time per minute of checking, its peak RSS
// and the attempts per second.
func BenchmarkScheduler10k(b *testing.B) {
	seconds := 10
	if s := os.Getenv("GOKEEPALIVED_BENCH_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		seconds = n
	}
	helper := exec.Command(os.Args[0])
	helper.Env = append(os.Environ(), listenerHelperEnv+"=1")
	stdin, err := helper.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := helper.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); helper.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	var targets []netip.AddrPort
	for _, f := range strings.Fields(line) {
		targets = append(targets, netip.MustParseAddrPort(f))
	}

	for b.Loop() {
		var attempts atomic.Int64
		sch := NewScheduler(Options{Observe: func(Attempt) { attempts.Add(1) }})
		for i := range 10000 {
			c := &TCPCheck{Dialer: Dialer{Addr: targets[i%len(targets)]}}
			timing := Timing{DelayLoop: time.Second, Timeout: 5 * time.Second, Retry: 1, DelayBeforeRetry: time.Second}
			if err := sch.Add(Server{Name: strconv.Itoa(i), Checks: []Check{{Name: "TCP_CHECK", Checker: c, Timing: timing}}}); err != nil {
				b.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
		downs := 0
		evDone := make(chan struct{})
		go func() {
			defer close(evDone)
			for {
				select {
				case ev := <-sch.Events():
					if !ev.Up {
						downs++
					}
				case <-ctx.Done():
					return
				}
			}
		}()
		user0, sys0 := cpuTime(b)
		start := time.Now()
		sch.Run(ctx)
		elapsed := time.Since(start)
		user1, sys1 := cpuTime(b)
		cancel()
		<-evDone

		perMin := func(d time.Duration) float64 { return d.Seconds() * float64(time.Minute) / float64(elapsed) }
		b.ReportMetric(perMin(user1-user0+sys1-sys0), "cpu-s/min")
		b.ReportMetric(perMin(user1-user0), "user-s/min")
		b.ReportMetric(perMin(sys1-sys0), "sys-s/min")
		b.ReportMetric(float64(attempts.Load())/elapsed.Seconds(), "checks/s")
		b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
		if downs > 0 {
			b.Errorf("%d servers went down against healthy listeners", downs)
		}
	}
}

// cpuTime is this process's user and system CPU time (getrusage).
func cpuTime(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS(b *testing.B) int64 {
	f, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(f), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkHTTPGetCheck runs HTTP_GET attempts with a digest against a
// minimal server in this process, as the Scheduler runs them (a context
// with the checker's timeout each); allocs/op is the figure of interest.
func BenchmarkHTTPGetCheck(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				c.Read(buf)
				c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
			}()
		}
	}()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	h := &HTTPGet{Dialer: Dialer{Addr: addr}, URLs: []URL{{Path: "/index.html", Digest: "5d41402abc4b2a76b9719d911017c592"}}}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := h.Check(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
}
