package checkers

import (
	"maps"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"testing/fstest"
	"time"
)

// stat builds a /proc/PID/stat line of proc(5)'s 52 fields.
func stat(pid int, comm string, ppid int, utime, stime, cutime, cstime string) string {
	return strconv.Itoa(pid) + " (" + comm + ") S " + strconv.Itoa(ppid) + " 1 1 0 -1 4194560 100 0 0 0 " +
		utime + " " + stime + " " + cutime + " " + cstime +
		" 20 0 1 0 500 10000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		name string
		line string
		want procStat
		err  bool
	}{
		{name: "plain", line: stat(42, "keepalived", 1, "150", "50", "0", "0"),
			want: procStat{pid: 42, ppid: 1, cpu: 2 * time.Second}},
		{name: "waited-for children count", line: stat(7, "keepalived", 6, "1", "2", "3", "4"),
			want: procStat{pid: 7, ppid: 6, cpu: 100 * time.Millisecond}},
		{name: "comm with spaces and parentheses", line: stat(9, "a) (b c", 8, "100", "0", "0", "0"),
			want: procStat{pid: 9, ppid: 8, cpu: time.Second}},
		{name: "truncated", line: "9 (x) S 8 1 1", err: true},
		{name: "no comm", line: "9 x S 8", err: true},
		{name: "bad number", line: stat(9, "x", 8, "1e3", "0", "0", "0"), err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.err {
				t.Fatalf("parseStat(%q) error %v, want error %v", tt.line, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("parseStat(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseHWM(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status string
		want   uint64
		err    bool
	}{
		{name: "present", status: "Name:\tkeepalived\nVmPeak:\t  20000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t    4000 kB\n", want: 5 << 20},
		{name: "kernel thread", status: "Name:\tkthreadd\nState:\tS (sleeping)\n", err: true},
		{name: "odd unit", status: "VmHWM:\t5 MB\n", err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHWM([]byte(tt.status))
			if (err != nil) != tt.err {
				t.Fatalf("parseHWM error %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("parseHWM = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTreeUsage(t *testing.T) {
	proc := fstest.MapFS{
		// keepalived's parent and its checker child, a grandchild, and
		// an unrelated process that must not count.
		"10/stat":   {Data: []byte(stat(10, "keepalived", 1, "100", "0", "0", "0"))},
		"10/status": {Data: []byte("VmHWM:\t1024 kB\n")},
		"11/stat":   {Data: []byte(stat(11, "keepalived", 10, "200", "100", "0", "0"))},
		"11/status": {Data: []byte("VmHWM:\t2048 kB\n")},
		"12/stat":   {Data: []byte(stat(12, "sh", 11, "0", "50", "0", "0"))},
		"12/status": {Data: []byte("VmHWM:\t1024 kB\n")},
		"13/stat":   {Data: []byte(stat(13, "pkg.test", 1, "9999", "0", "0", "0"))},
		"13/status": {Data: []byte("VmHWM:\t99999 kB\n")},
		"self/stat": {Data: []byte("not a process directory")},
		"meminfo":   {Data: []byte("MemTotal: 1 kB\n")},
	}
	got, err := treeUsage(proc, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := usage{procs: 3, cpu: 4500 * time.Millisecond, hwm: 4 << 20}
	if got != want {
		t.Errorf("treeUsage(10) = %+v, want %+v", got, want)
	}
	if _, err := treeUsage(proc, 99); err == nil {
		t.Error("treeUsage(99) of no process: no error")
	}
}

func TestKernelThreads(t *testing.T) {
	proc := fstest.MapFS{
		"2/stat":  {Data: []byte(stat(2, "kthreadd", 0, "0", "1", "0", "0"))},
		"14/stat": {Data: []byte(stat(14, "ksoftirqd/0", 2, "0", "300", "0", "0"))},
		"15/stat": {Data: []byte(stat(15, "kworker/0:1-events", 2, "0", "20", "0", "0"))},
		// A process that forks is not a kernel thread, nor its child.
		"40/stat": {Data: []byte(stat(40, "keepalived", 1, "100", "100", "0", "0"))},
		"41/stat": {Data: []byte(stat(41, "keepalived", 40, "100", "100", "0", "0"))},
	}
	then, err := kernelThreads(proc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]time.Duration{2: 10 * time.Millisecond, 14: 3 * time.Second, 15: 200 * time.Millisecond}
	if !maps.Equal(then, want) {
		t.Errorf("kernelThreads = %v, want %v", then, want)
	}
	now := map[int]time.Duration{
		2:  10 * time.Millisecond,  // idle since
		14: 4 * time.Second,        // ran 1 s
		16: 500 * time.Millisecond, // started since
		15: 100 * time.Millisecond, // ended, and its PID went to a new thread
	}
	if got, want := cpuSince(then, now), 1600*time.Millisecond; got != want {
		t.Errorf("cpuSince = %v, want %v", got, want)
	}
}

// TestTreeUsageProc reads the real procfs: the test process and a child.
func TestTreeUsageProc(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Skipf("starting a child: %v", err)
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
	})
	// Spin until a clock tick has been charged, a few at most.
	var u usage
	for start := time.Now(); time.Since(start) < 500*time.Millisecond; {
		var err error
		if u, err = treeUsage(os.DirFS("/proc"), os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if u.cpu > 0 {
			break
		}
		for spin := time.Now(); time.Since(spin) < 10*time.Millisecond; {
		}
	}
	if u.procs < 2 || u.cpu <= 0 || u.hwm < 1<<20 {
		t.Errorf("treeUsage(self) = %+v, want at least 2 processes, some CPU time and 1 MiB resident", u)
	}
}

func TestParseCPUTimes(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		cpu  string
		want cpuTimes
		err  bool
	}{
		{name: "kernel 6.1", in: "cpu  100 5 50 800 20 1 4 0 30 0\ncpu0 100 5 50 800 20 1 4 0 30 0\nintr 1\n", cpu: "cpu",
			want: cpuTimes{busy: 1600 * time.Millisecond, idle: 8200 * time.Millisecond}},
		{name: "second CPU", in: "cpu  300 5 50 900 20 1 4 0 30 0\ncpu0 100 5 50 800 20 1 4 0 30 0\ncpu1 200 0 0 100 0 0 0 0 0 0\nintr 1\n", cpu: "cpu1",
			want: cpuTimes{busy: 2000 * time.Millisecond, idle: 1000 * time.Millisecond}},
		{name: "not cpu10", in: "cpu10 1 2 3 4 5 6 7 8\n", cpu: "cpu1", err: true},
		{name: "no cpu line", in: "intr 1 2 3 4 5 6 7 8 9\n", cpu: "cpu", err: true},
		{name: "short", in: "cpu 1 2 3\n", cpu: "cpu", err: true},
		{name: "bad number", in: "cpu 1 2 3 x 5 6 7 8\n", cpu: "cpu", err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUTimes([]byte(tt.in), tt.cpu)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("parseCPUTimes = %+v, %v; want %+v, error %v", got, err, tt.want, tt.err)
			}
		})
	}
	a, b := cpuTimes{busy: time.Second, idle: time.Second}, cpuTimes{busy: 4 * time.Second, idle: 2 * time.Second}
	if got := busyFraction(a, b); got != 0.75 {
		t.Errorf("busyFraction = %v, want 0.75", got)
	}
}

func TestParseTimeWait(t *testing.T) {
	for _, tt := range []struct {
		name     string
		sockstat string
		want     int
		err      bool
	}{
		{name: "some", sockstat: "sockets: used 8\nTCP: inuse 1 orphan 0 tw 61234 alloc 1 mem 36\nUDP: inuse 0 mem 0\n", want: 61234},
		{name: "none", sockstat: "sockets: used 8\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 36\n", want: 0},
		{name: "no TCP line", sockstat: "sockets: used 8\nUDP: inuse 0 mem 0\n", err: true},
		{name: "bad count", sockstat: "TCP: inuse 1 orphan 0 tw many alloc 1 mem 36\n", err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTimeWait([]byte(tt.sockstat))
			if (err != nil) != tt.err {
				t.Fatalf("parseTimeWait error %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("parseTimeWait = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDrainTimeWait(t *testing.T) {
	proc := fstest.MapFS{"net/sockstat": {Data: []byte("TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 36\n")}}
	if first, waited, err := drainTimeWait(proc, 1, time.Minute); err != nil || first != 0 || waited > time.Second {
		t.Errorf("drained table: %d first, waited %v, err %v; want 0, at once, nil", first, waited, err)
	}
	proc["net/sockstat"] = &fstest.MapFile{Data: []byte("TCP: inuse 1 orphan 0 tw 7 alloc 1 mem 36\n")}
	if first, waited, err := drainTimeWait(proc, 8, time.Minute); err != nil || first != 7 || waited > time.Second {
		t.Errorf("below the floor: %d first, waited %v, err %v; want 7, at once, nil", first, waited, err)
	}
	if first, waited, err := drainTimeWait(proc, 7, 1500*time.Millisecond); err != nil || first != 7 || waited < 1500*time.Millisecond {
		t.Errorf("sockets that stay: %d first, waited %v, err %v; want 7, the whole limit, nil", first, waited, err)
	}
}
