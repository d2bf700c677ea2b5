package checkerd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// memProfileEnv names a directory: TestCheckerMemory then runs the
// checker benchmark's full size (10,000 TCP_CHECK and 2,000 HTTP_GET real
// servers) in this process, through the daemon's own start-up (parse,
// then the checker loop as New builds it and Run runs it) on an
// in-memory IPVS table, against loopback listeners in another process,
// and writes a heap and a goroutine profile there (peak.prof: the live
// heap at the sample of the largest heap in use), with the process's
// VmHWM and VmRSS as it goes and the runtime's own account of its memory
// (runtime/metrics) at the sample of the largest VmRSS. It is a tool for
// finding where the checker's memory goes, not a test of the package. GOKEEPALIVED_CHECKER_MEM_SECONDS sets how long the checks run
// (20 s); GOKEEPALIVED_CHECKER_MEM_TRACE=1 logs the heap every 10 ms for
// the first 6 s and writes spike.prof, the live heap of the GC that set
// the largest heap goal; GOKEEPALIVED_CHECKER_MEM_GCPERCENT and
// GOKEEPALIVED_CHECKER_MEM_LIMIT_MB try the runtime's GC percent and
// memory limit, set after the configuration is parsed as a daemon would.
const memProfileEnv = "GOKEEPALIVED_CHECKER_MEMPROFILE"

// memListenersEnv makes the test binary serve the listeners.
const memListenersEnv = "GOKEEPALIVED_CHECKER_MEM_LISTENERS"

func TestMain(m *testing.M) {
	if os.Getenv(memListenersEnv) == "1" {
		serveMemListeners()
		return
	}
	os.Exit(m.Run())
}

// The listeners: 100 TCP ports that accept and close, 100 HTTP ports
// that serve /index.html, all on 127.0.0.1.
const (
	memTCPPort  = 21000
	memHTTPPort = 22000
	memPorts    = 100
)

func serveMemListeners() {
	mux := http.NewServeMux()
	mux.HandleFunc("/index.html", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	for p := range memPorts {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", memTCPPort+p))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		hl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", memHTTPPort+p))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go http.Serve(hl, mux)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// memConfig is the benchmark's configuration, on loopback: each virtual
// server has 100 real servers, one per listener port.
func memConfig(tcp, httpN int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n\trouter_id gkmem\n}\n")
	vs := func(g, delay, n, port int, chk string) {
		fmt.Fprintf(&b, "\nvirtual_server 203.0.113.%d %d {\n\tdelay_loop %d\n\tlb_algo rr\n\tlb_kind NAT\n\tprotocol TCP\n", 1+port/memTCPPort, 1000+g, delay)
		for i := range min(memPorts, n-g*memPorts) {
			fmt.Fprintf(&b, "\treal_server 127.0.0.1 %d {\n\t\tweight 1\n%s\t}\n", port+i, chk)
		}
		b.WriteString("}\n")
	}
	for g := range (tcp + memPorts - 1) / memPorts {
		vs(g, 1, tcp, memTCPPort, "\t\tTCP_CHECK {\n\t\t}\n")
	}
	for g := range (httpN + memPorts - 1) / memPorts {
		vs(g, 2, httpN, memHTTPPort, "\t\tHTTP_GET {\n\t\t\turl {\n\t\t\t\tpath /index.html\n\t\t\t\tstatus_code 200\n\t\t\t}\n\t\t}\n")
	}
	return b.String()
}

// memKernel is an in-memory IPVS table.
type memKernel struct {
	mu    sync.Mutex
	svcs  map[ipvs.ServiceKey]ipvs.Service
	dests map[ipvs.ServiceKey][]ipvs.Destination
}

func (k *memKernel) Services() ([]ipvs.Service, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []ipvs.Service
	for _, s := range k.svcs {
		out = append(out, s)
	}
	return out, nil
}

func (k *memKernel) Destinations(s ipvs.Service) ([]ipvs.Destination, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]ipvs.Destination(nil), k.dests[s.Key()]...), nil
}

func (k *memKernel) NewService(s ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.svcs[s.Key()] = s
	return nil
}
func (k *memKernel) UpdateService(s ipvs.Service) error { return k.NewService(s) }
func (k *memKernel) DelService(s ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.svcs, s.Key())
	delete(k.dests, s.Key())
	return nil
}

func (k *memKernel) NewDestination(s ipvs.Service, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dests[s.Key()] = append(k.dests[s.Key()], d)
	return nil
}

func (k *memKernel) UpdateDestination(s ipvs.Service, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	ds := k.dests[s.Key()]
	for i := range ds {
		if ds[i].Addr == d.Addr {
			ds[i] = d
		}
	}
	return nil
}

func (k *memKernel) DelDestination(s ipvs.Service, d ipvs.Destination) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	ds := k.dests[s.Key()]
	for i := range ds {
		if ds[i].Addr == d.Addr {
			k.dests[s.Key()] = append(ds[:i:i], ds[i+1:]...)
			break
		}
	}
	return nil
}

func (k *memKernel) Flush() error                     { return nil }
func (k *memKernel) Timeouts() (ipvs.Timeouts, error) { return ipvs.Timeouts{}, nil }
func (k *memKernel) SetTimeouts(ipvs.Timeouts) error  { return nil }

func TestCheckerMemory(t *testing.T) {
	dir := os.Getenv(memProfileEnv)
	if dir == "" {
		t.Skipf("a profiling tool: set %s=DIR", memProfileEnv)
	}
	tcp, httpN, secs := 10000, 2000, 20
	if v := os.Getenv("GOKEEPALIVED_CHECKER_MEM_SECONDS"); v != "" {
		secs, _ = strconv.Atoi(v)
	}
	helper := exec.Command(os.Args[0], "-test.run", "^$")
	helper.Env = append(os.Environ(), memListenersEnv+"=1")
	stdin, _ := helper.StdinPipe()
	stdout, _ := helper.StdoutPipe()
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); helper.Wait() })
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}

	t.Logf("start: %s", memStatus())
	cfg, diags := config.Parse("mem.conf", []byte(memConfig(tcp, httpN)), config.Options{})
	if cfg == nil {
		t.Fatalf("parse: %v", diags)
	}
	t.Logf("parsed: %s", memStatus())
	if v := os.Getenv("GOKEEPALIVED_CHECKER_MEM_GCPERCENT"); v != "" {
		n, _ := strconv.Atoi(v)
		debug.SetGCPercent(n)
	}
	if v := os.Getenv("GOKEEPALIVED_CHECKER_MEM_LIMIT_MB"); v != "" {
		n, _ := strconv.Atoi(v)
		debug.SetMemoryLimit(int64(n) << 20)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	var attempts, fails int64
	var mu sync.Mutex
	kernel := &memKernel{svcs: map[ipvs.ServiceKey]ipvs.Service{}, dests: map[ipvs.ServiceKey][]ipvs.Destination{}}
	l, err := newLoop(cfg, Options{Log: log, Notify: memOutputs{}, Observe: func(a check.Attempt) {
		mu.Lock()
		attempts++
		if a.Err != nil {
			fails++
		}
		mu.Unlock()
	}}, kernel, io.NopCloser(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg = nil
	t.Logf("built: %s", memStatus())
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var peak runtime.MemStats
	// The runtime's account at the largest VmRSS seen, sampled every
	// 10 ms: the heap's objects, its fragmentation, the pages it holds
	// free and has not returned, stacks and the runtime's own.
	var rssPeak uint64
	var rssView string
	go func() {
		for ctx.Err() == nil {
			if rss := vmRSS(); rss > rssPeak {
				rssPeak, rssView = rss, memClasses()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	go func() {
		for ctx.Err() == nil {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse+ms.StackInuse > peak.HeapInuse+peak.StackInuse {
				peak = ms
				if f, err := os.Create(dir + "/peak.prof"); err == nil {
					runtime.GC()
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
			time.Sleep(500 * time.Millisecond)
			if n := time.Now().Unix(); n%4 == 0 {
				t.Logf("running: %s; heap in use %.1f MB, live after last GC %.1f MB", memStatus(), mb(ms.HeapInuse), mb(ms.HeapAlloc))
			}
		}
	}()
	if os.Getenv("GOKEEPALIVED_CHECKER_MEM_TRACE") != "" {
		go func() {
			var spike uint64
			t0 := time.Now()
			for time.Since(t0) < 6*time.Second {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.NextGC > spike {
					// The heap profile is the live heap of the
					// last GC, the one that set this goal.
					spike = ms.NextGC
					if f, err := os.Create(dir + "/spike.prof"); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}
				t.Logf("%5dms heap in use %.1f MB, alloc %.1f MB, next GC %.1f MB, sys %.1f MB, GCs %d, %s", time.Since(t0).Milliseconds(), mb(ms.HeapInuse), mb(ms.HeapAlloc), mb(ms.NextGC), mb(ms.HeapSys), ms.NumGC, memStatus())
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	u0, s0 := cpuTimes()
	l.Run(ctx)
	u1, s1 := cpuTimes()
	l.Close()
	t.Logf("largest VmRSS seen: %.1f MB; the runtime's account then: %s", mb(rssPeak), rssView)
	t.Logf("CPU: user %v sys %v", u1-u0, s1-s0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st, _ := os.ReadFile("/proc/self/status")
	var hwm string
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "VmHWM") || strings.HasPrefix(line, "VmRSS") {
			hwm += line + " "
		}
	}
	t.Logf("%d attempts (%d failed) in %ds; %s; peak sample: HeapInuse %.1f MB StackInuse %.1f MB HeapAlloc %.1f MB Sys %.1f MB NumGC %d; after GC HeapAlloc %.1f MB, goroutines %d",
		attempts, fails, secs, hwm, mb(peak.HeapInuse), mb(peak.StackInuse), mb(peak.HeapAlloc), mb(peak.Sys), peak.NumGC, mb(ms.HeapAlloc), runtime.NumGoroutine())
	for _, p := range []string{"heap", "goroutine"} {
		f, err := os.Create(dir + "/" + p + ".prof")
		if err != nil {
			t.Fatal(err)
		}
		pprof.Lookup(p).WriteTo(f, 0)
		f.Close()
	}
	runtime.KeepAlive(l)
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// memOutputs reports to a Notifier with no scripts or FIFOs, and mails
// nothing.
type memOutputs struct{}

func (memOutputs) Notifier() *notify.Notifier { return &notify.Notifier{} }
func (memOutputs) Mailer() *notify.Mailer     { return nil }

// vmRSS is this process's VmRSS in bytes, 0 if it cannot be read.
func vmRSS() uint64 {
	st, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// memClasses words the runtime's memory classes (runtime/metrics): what
// it has mapped, by use, and the collector's live heap and goal.
func memClasses() string {
	names := []struct{ name, what string }{
		{"/memory/classes/heap/objects:bytes", "heap objects (live and dead not yet swept)"},
		{"/memory/classes/heap/unused:bytes", "heap unused in spans (fragmentation)"},
		{"/memory/classes/heap/free:bytes", "heap free, not returned"},
		{"/memory/classes/heap/released:bytes", "heap returned to the OS"},
		{"/memory/classes/heap/stacks:bytes", "goroutine stacks"},
		{"/memory/classes/os-stacks:bytes", "OS stacks"},
		{"/memory/classes/metadata/mspan/inuse:bytes", "mspan"},
		{"/memory/classes/metadata/mcache/inuse:bytes", "mcache"},
		{"/memory/classes/metadata/other:bytes", "other metadata"},
		{"/memory/classes/profiling/buckets:bytes", "profiling buckets"},
		{"/memory/classes/other:bytes", "other runtime"},
		{"/memory/classes/total:bytes", "total mapped"},
		{"/gc/heap/live:bytes", "live heap at the last GC"},
		{"/gc/heap/goal:bytes", "heap goal"},
		{"/gc/cycles/total:gc-cycles", "GCs"},
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n.name
	}
	metrics.Read(samples)
	var out []string
	for i, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			continue
		}
		v := s.Value.Uint64()
		if strings.HasSuffix(s.Name, ":bytes") {
			out = append(out, fmt.Sprintf("%s %.1f MB", names[i].what, mb(v)))
		} else {
			out = append(out, fmt.Sprintf("%s %d", names[i].what, v))
		}
	}
	return strings.Join(out, ", ")
}

// memStatus is VmRSS and VmHWM of this process.
func memStatus() string {
	st, _ := os.ReadFile("/proc/self/status")
	var out []string
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "VmHWM") || strings.HasPrefix(line, "VmRSS") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(out, ", ")
}

func cpuTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
