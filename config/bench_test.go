package config_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/benchproc"
	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The size of the configuration TestConfigTestBench checks: a large
// director pair's worth of VRRP instances and HTTP-checked services.
const (
	largeInstances      = 250
	largeVirtualServers = 2000
	largeRealServers    = 20 // per virtual server
)

// Environment of TestConfigTestBench.
const (
	benchEnv      = "GOKEEPALIVED_BENCH"              // 1 runs it
	benchPairsEnv = "GOKEEPALIVED_BENCH_CONFIG_PAIRS" // interleaved pairs, default 9
)

// TestConfigTestBench measures `-t -f FILE` of gokeepalived and of
// keepalived as cold processes on one generated configuration of 250
// vrrp_instances and 2,000 virtual_servers of 20 HTTP_GET real servers
// each: both run the same way (ip netns exec in one namespace holding the
// configuration's interfaces, the same arguments and environment), in
// interleaved pairs, and both must accept the file. For each process it
// takes the wall time from start to wait, the CPU time (user + system)
// and the peak resident memory from the rusage wait4 returns: neither
// forks under -t, and ip netns exec execs rather than forks, so the
// rusage is the checker's own. The rows go to the benchmark table. It
// runs only with GOKEEPALIVED_BENCH=1, as root.
func TestConfigTestBench(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skip(benchEnv + "=1 runs the config -t benchmark")
	}
	pairs := 9
	if s := os.Getenv(benchPairsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number of pairs", benchPairsEnv, s)
		}
		pairs = n
	}
	keepalived := requireKeepalived(t)
	bin := nettest.BuildGokeepalived(t)
	path := writeLargeConfig(t)
	lines, err := countLines(path)
	if err != nil {
		t.Fatal(err)
	}
	ns := newDiffNetns(t, "b")
	pidDir := t.TempDir()

	ps, err := benchtab.Interleave(pairs, func(ours bool, pair int) ([]float64, error) {
		prog := keepalived
		if ours {
			prog = bin
		}
		r, err := coldConfigTest(t.Context(), prog, ns, path, pidDir)
		if err != nil {
			return nil, err
		}
		t.Logf("pair %d %-12s wall %6.0f ms  CPU %6.0f ms  peak %6.1f MB", pair, benchtab.Name(ours), r[0], r[1], r[2])
		return r, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := configTestRows(lines, ps)
	for _, r := range rows {
		t.Log(benchtab.Line(r))
	}
	if err := benchtab.Append(rows...); err != nil {
		t.Fatal(err)
	}
}

// configTestRows makes the benchmark's three rows from its pairs of wall
// time (ms), CPU time (ms) and peak memory (MB), with their goals.
func configTestRows(lines int, ps []benchtab.Pairs) []benchtab.Row {
	name := fmt.Sprintf("config -t, %d instances + %s x %d HTTP_GET real servers (%s lines), cold process: ",
		largeInstances, thousands(largeVirtualServers), largeRealServers, thousands(lines))
	figures := []struct {
		what, format string
		goal         benchtab.Goal
	}{
		{"wall", "%.0f ms", benchtab.AtMost(0.5)},
		{"CPU", "%.0f ms", benchtab.AtMost(0.7)},
		{"peak memory", "%.1f MB", benchtab.AtMost(1.5)},
	}
	rows := make([]benchtab.Row, 0, len(figures))
	for i, f := range figures {
		var p benchtab.Pairs
		if i < len(ps) {
			p = ps[i]
		}
		rows = append(rows, p.Row(name+f.what, f.format, f.goal))
	}
	return rows
}

// coldConfigTest runs prog -t on path inside the namespace ns and returns
// its wall time and CPU time in milliseconds and its peak resident memory
// in megabytes; a checker that refuses the file is an error. The
// environment loses the Go runtime's tuning variables so that the binary
// runs with the settings it chooses itself.
func coldConfigTest(ctx context.Context, prog, ns, path, pidDir string) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns,
		prog, "-t", "-i", diffConfigID, "-f", path,
		"-p", filepath.Join(pidDir, "keepalived.pid"),
		"-r", filepath.Join(pidDir, "vrrp.pid"),
		"-c", filepath.Join(pidDir, "checkers.pid"))
	cmd.Dir = filepath.Dir(path)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") &&
			!strings.HasPrefix(kv, "GOMAXPROCS=") && !strings.HasPrefix(kv, "GODEBUG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s -t -f %s: %w\n%s", prog, path, err, out.String())
	}
	ru, err := benchproc.FromProcessState(cmd.ProcessState)
	if err != nil {
		return nil, err
	}
	return []float64{msPerOp(wall), msPerOp(ru.CPU), float64(ru.MaxRSS) / 1e6}, nil
}

// countLines returns the number of lines of the file at path.
func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("counting lines of %s: %w", path, err)
	}
	return bytes.Count(b, []byte("\n")), nil
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestLargeConfigAccepted keeps TestConfigTestBench's file right without
// running the benchmark: both checkers must accept it, in-process for
// gokeepalived.
func TestLargeConfigAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and checks an 11 MB configuration")
	}
	keepalived := requireKeepalived(t)
	path := writeLargeConfig(t)
	ns := newDiffNetns(t, "l")

	v := runKeepalived(t.Context(), keepalived, ns, path, t.TempDir())
	if v.err != nil || !v.ok {
		t.Fatalf("keepalived -t refuses the generated %s (%v):\n%s", path, v.err, msgList(v.msgs))
	}

	var (
		diags config.Diagnostics
		err   error
	)
	inNetns(t, ns, func() {
		_, diags, err = config.Load(path, config.Options{ConfigID: diffConfigID, CheckSystem: true})
	})
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	if diags.HasErrors() {
		t.Fatalf("loading %s: %d errors, the first: %v", path, len(diags.Errors()), diags.Errors()[0])
	}
}

// TestWriteLargeConfig pins the generator's shape: counts and determinism.
func TestWriteLargeConfig(t *testing.T) {
	var a, b strings.Builder
	if err := largeConfig(&a, 3, 2, 4); err != nil {
		t.Fatal(err)
	}
	if err := largeConfig(&b, 3, 2, 4); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two runs of the generator differ")
	}
	for _, c := range []struct {
		word string
		want int
	}{
		{"vrrp_instance ", 3},
		{"virtual_server ", 2},
		{"real_server ", 8},
		{"HTTP_GET {", 8},
		{"\n", 3*10 + 2*(6+4*12)},
		{"virtual_router_id 1\n", 1},
	} {
		if got := strings.Count(a.String(), c.word); got != c.want {
			t.Errorf("%q appears %d times, want %d", c.word, got, c.want)
		}
	}
	if err := largeConfig(io.Discard, 1001, 1, 1); err == nil {
		t.Error("1001 instances fit the address plan; want an error")
	}
}

// writeLargeConfig writes the benchmark's configuration into a temporary
// directory and returns its path.
func writeLargeConfig(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "large.conf")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	err = largeConfig(w, largeInstances, largeVirtualServers, largeRealServers)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// largeConfig writes a configuration keepalived -t accepts. Every VRID is
// unique per interface (250 instances on each of eth0..eth3, links
// newDiffNetns creates), every virtual address and service is distinct, and
// DR real servers listen on the service's port, as DR requires. Every real
// server has an HTTP_GET check of twelve lines.
func largeConfig(w io.Writer, instances, services, reals int) error {
	const perLink = 250
	if instances > perLink*4 || services > perLink*256 || reals > 256 {
		return fmt.Errorf("generating %d instances, %d services of %d real servers: too many for the address plan", instances, services, reals)
	}
	bw := bufio.NewWriter(w)
	for i := range instances {
		link, vrid := i/perLink, i%perLink+1
		fmt.Fprintf(bw, `vrrp_instance VI_%d {
    state BACKUP
    interface eth%d
    virtual_router_id %d
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.%d.%d.1/32
    }
}
`, i, link, vrid, 100+link, vrid)
	}
	for v := range services {
		fmt.Fprintf(bw, `virtual_server 10.1.%d.%d 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
`, v/perLink, v%perLink+1)
		for r := range reals {
			fmt.Fprintf(bw, "    real_server 10.2.%d.%d 80 {\n        weight 1\n", r, v%perLink+1)
			bw.WriteString(`        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 3
            delay_before_retry 2
        }
    }
`)
		}
		bw.WriteString("}\n")
	}
	return bw.Flush()
}

func msPerOp(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// TestConfigTestRows pins the benchmark's rows: names, medians, ratios and
// verdicts taken on the worst pair.
func TestConfigTestRows(t *testing.T) {
	var wall, cpu, mem benchtab.Pairs
	wall.Add(100, 400) // 0.25
	wall.Add(300, 500) // 0.60: the worst pair misses 0.5
	wall.Add(120, 400) // 0.30
	cpu.Add(60, 100)
	cpu.Add(70, 100)
	cpu.Add(50, 100)
	mem.Add(40, 44)
	mem.Add(41, 44)
	mem.Add(42, 44)
	rows := configTestRows(494500, []benchtab.Pairs{wall, cpu, mem})
	const name = "config -t, 250 instances + 2,000 x 20 HTTP_GET real servers (494,500 lines), cold process: "
	want := []benchtab.Row{
		{Measurement: name + "wall", Gokeepalived: "120 ms", Keepalived: "400 ms",
			Ratio: "0.30 (0.25-0.60, 3 pairs)", Goal: "at most 0.50x keepalived's, worst pair 0.60: not met"},
		{Measurement: name + "CPU", Gokeepalived: "60 ms", Keepalived: "100 ms",
			Ratio: "0.60 (0.50-0.70, 3 pairs)", Goal: "at most 0.70x keepalived's, worst pair 0.70: met"},
		{Measurement: name + "peak memory", Gokeepalived: "41.0 MB", Keepalived: "44.0 MB",
			Ratio: "0.93 (0.91-0.95, 3 pairs)", Goal: "at most 1.50x keepalived's, worst pair 0.95: met"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d:\n%+v\nwant\n%+v", i, rows[i], want[i])
		}
	}
	for _, r := range configTestRows(1, nil) {
		if !strings.HasSuffix(r.Goal, "no pairs: not met") {
			t.Errorf("row without pairs: %+v", r)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 494250: "494,250", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// BenchmarkLoadLarge loads TestConfigTestBench's configuration in-process,
// for profiles of the parser's time and allocations (-benchmem,
// -memprofile): the same file as the cold -t processes read, without the
// system checks.
func BenchmarkLoadLarge(b *testing.B) {
	path := writeLargeConfig(b)
	b.ReportAllocs()
	for b.Loop() {
		cfg, diags, err := config.Load(path, config.Options{ConfigID: diffConfigID})
		if err != nil {
			b.Fatal(err)
		}
		if diags.HasErrors() || len(cfg.VirtualServers) != largeVirtualServers {
			b.Fatalf("%d virtual servers, %d errors", len(cfg.VirtualServers), len(diags.Errors()))
		}
	}
}
