package vrrp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

func TestBound(t *testing.T) {
	for _, tt := range []struct {
		sc   scenario
		want time.Duration
	}{
		// 3 x 1s + (256-100)/256 s
		{scenario{version: 2, advert: time.Second, kill: true}, 3*time.Second + 609375*time.Microsecond},
		{scenario{version: 2, advert: time.Second}, 609375 * time.Microsecond},
		// 3 x 100ms + (256-100) x 100ms / 256
		{scenario{version: 3, advert: 100 * time.Millisecond, kill: true}, 300*time.Millisecond + 60937500*time.Nanosecond},
		{scenario{version: 3, advert: 100 * time.Millisecond}, 60937500 * time.Nanosecond},
	} {
		if got := tt.sc.bound(); got != tt.want {
			t.Errorf("%s: bound %v, want %v", tt.sc.name(), got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	for _, tt := range []struct {
		in   []time.Duration
		want summary
	}{
		{nil, summary{}},
		{[]time.Duration{5 * ms}, summary{1, 5 * ms, 5 * ms}},
		{[]time.Duration{9 * ms, 1 * ms, 5 * ms}, summary{3, 5 * ms, 9 * ms}},
		{[]time.Duration{4 * ms, 1 * ms, 2 * ms, 8 * ms}, summary{4, 3 * ms, 8 * ms}},
	} {
		if got := summarize(tt.in); got != tt.want {
			t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want stat
		err  bool
	}{
		{
			in:   "4242 (keepalived) S 1 4242 4242 0 -1 4194624 120 0 0 0 250 70 0 0 20 0 1 0 100 10000 200 18446744073709551615",
			want: stat{pgrp: 4242, cpu: 3200 * time.Millisecond},
		},
		{
			// A name with spaces and a parenthesis.
			in:   "77 (a b) c)) R 1 70 70 0 -1 0 0 0 0 0 1 2 0 0",
			want: stat{pgrp: 70, cpu: 30 * time.Millisecond},
		},
		{in: "77 keepalived S 1 70", err: true},
		{in: "77 (k) S 1 70 70", err: true},
		{in: "77 (k) S 1 x 70 0 -1 0 0 0 0 0 1 2", err: true},
		{in: "77 (k) S 1 70 70 0 -1 0 0 0 0 0 y 2", err: true},
	} {
		got, err := parseStat([]byte(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tkeepalived\nVmPeak:\t  9000 kB\nVmHWM:\t    6000 kB\nVmRSS:\t    5000 kB\nThreads:\t1\n"
	rss, hwm, err := parseStatus([]byte(status))
	if err != nil || rss != 5000<<10 || hwm != 6000<<10 {
		t.Errorf("parseStatus = %d, %d, %v; want %d, %d", rss, hwm, err, 5000<<10, 6000<<10)
	}
	// A kernel thread has neither.
	if _, _, err := parseStatus([]byte("Name:\tkthreadd\nThreads:\t1\n")); err == nil {
		t.Error("parseStatus without VmRSS: no error")
	}
	if _, _, err := parseStatus([]byte("VmRSS:\t5000 pages\nVmHWM:\t1 kB\n")); err == nil {
		t.Error("parseStatus with a unit other than kB: no error")
	}
}

// TestGroupUsage reads the benchmark's own process group, which holds at
// least this process and has used some CPU.
func TestGroupUsage(t *testing.T) {
	// A zombie in the group, as another test binary that has just
	// ended: it has no memory to read and must not fail the sum.
	z := exec.Command("true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	defer z.Wait()
	time.Sleep(100 * time.Millisecond)
	u, err := groupUsage("/proc", syscall.Getpgrp())
	if err != nil {
		t.Fatal(err)
	}
	if u.rss <= 0 || u.hwm < u.rss {
		t.Errorf("usage %+v: want 0 < rss <= hwm", u)
	}
	if _, err := groupUsage("/proc", 0x7ffffff0); err == nil {
		t.Error("groupUsage of a group without processes: no error")
	}
}

// TestConfigs checks that gokeepalived's parser reads the generated
// configurations as meant.
func TestConfigs(t *testing.T) {
	for _, sc := range scenarios {
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		conf := makeConf("m", instance{version: sc.version, advert: sc.advert, master: true,
			priority: masterPriority, vrid: 77, vip: vipCIDR})
		os.WriteFile(path, []byte(conf), 0o644)
		cfg, ds, err := config.Load(path, config.Options{})
		if ds = ds.Keepalived(); err != nil || len(ds) > 0 {
			t.Fatalf("%s: %v %v\n%s", sc.name(), err, ds, conf)
		}
		if len(cfg.Instances) != 1 {
			t.Fatalf("%s: %d instances", sc.name(), len(cfg.Instances))
		}
		in := cfg.Instances[0]
		if in.Version != sc.version || in.AdvertInt != sc.advert || in.Priority != masterPriority ||
			in.VirtualRouterID != 77 || len(in.VirtualIPs) != 1 || in.VirtualIPs[0].Prefix.String() != vipCIDR {
			t.Errorf("%s: instance %+v", sc.name(), in)
		}
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(path, []byte(scaleConfig("m", false)), 0o644)
	cfg, ds, err := config.Load(path, config.Options{})
	if ds = ds.Keepalived(); err != nil || len(ds) > 0 {
		t.Fatalf("scale: %v %v", err, ds)
	}
	seen := make(map[int]bool)
	for _, in := range cfg.Instances {
		if in.Priority != backupPriority || in.AdvertInt != time.Second || len(in.VirtualIPs) != 1 {
			t.Errorf("scale: instance %+v", in)
		}
		seen[in.VirtualRouterID] = true
	}
	if len(seen) != routers || !seen[1] || !seen[routers] {
		t.Errorf("scale: %d distinct VRIDs, want 1-%d", len(seen), routers)
	}
}

// TestConfigsKeepalived has keepalived -t check the generated
// configurations in a namespace that has the eth0 they name: it exits
// non-zero on any warning, such as a VRRPv2 interval it had to round.
func TestConfigsKeepalived(t *testing.T) {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed (CI=true)")
		}
		t.Skip("keepalived is not installed")
	}
	h := nettest.NewLab(t).AddHost("k", "10.77.0.1/24")
	confs := []string{scaleConfig("m", true)}
	for _, sc := range scenarios {
		confs = append(confs, makeConf("b", instance{version: sc.version, advert: sc.advert,
			priority: backupPriority, vrid: 77, vip: vipCIDR}))
	}
	for _, conf := range confs {
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		os.WriteFile(path, []byte(conf), 0o644)
		if out, err := h.Exec(bin, "-t", "-f", path).CombinedOutput(); err != nil {
			t.Errorf("keepalived -t: %v\n%s\n%s", err, out, firstLines(conf, 14))
		}
	}
	// The check itself must be able to fail.
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(path, []byte(makeConf("b", instance{version: 2, advert: 100 * time.Millisecond,
		priority: backupPriority, vrid: 77, vip: vipCIDR})), 0o644)
	if err := h.Exec(bin, "-t", "-f", path).Run(); err == nil {
		t.Error("keepalived -t accepted advert_int 0.1 with VRRPv2")
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestReportTable(t *testing.T) {
	var r report
	sc := scenario{version: 2, advert: time.Second, kill: true}
	ms := func(v ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range v {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	r.addLatency(sc, "gokeepalived", "VIP on backup", "3609ms", ms(3100, 3200, 3620))
	r.addLatency(sc, "keepalived", "VIP on backup", "3609ms", ms(3100, 3150, 3500))
	r.addUsage("gokeepalived", "backup", time.Minute, usage{cpu: 70 * time.Millisecond})
	r.addUsage("keepalived", "backup", time.Minute, usage{cpu: 140 * time.Millisecond})
	rows := r.table("gokeepalived", "keepalived")
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	// 3620 ms is within 3609 + 20; the median 3200 is above keepalived's 3150.
	if g := rows[0].Goal; g != "max under bound 3609ms + 20 ms: met; median not above keepalived's: not met" {
		t.Errorf("latency goal %q", g)
	}
	if rows[0].Ratio != "1.02" {
		t.Errorf("latency ratio %q", rows[0].Ratio)
	}
	if g := rows[1].Goal; g != "not more than keepalived: met" || rows[1].Ratio != "0.50" {
		t.Errorf("CPU row %+v", rows[1])
	}
	if rows[2].Goal != "" {
		t.Errorf("RSS row has a goal: %+v", rows[2])
	}
}
