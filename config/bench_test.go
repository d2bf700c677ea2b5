package config_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
)

// The size of the configuration BenchmarkParseLarge reads: a large director
// pair's worth of VRRP instances and services.
const (
	largeInstances      = 1000
	largeVirtualServers = 2000
	largeRealServers    = 20 // per virtual server
)

// BenchmarkParseLarge measures config.Load on a configuration of 1,000
// vrrp_instances and 2,000 virtual_servers of 20 checked real servers each
// (342,000 lines, 6.8 MB) and, where keepalived and root are available, times
// keepalived -t on the same file in the same run. It reports
// gokeepalived-ms/op, keepalived-ms/op and ratio (gokeepalived's time over
// keepalived's).
func BenchmarkParseLarge(b *testing.B) {
	path := writeLargeConfig(b)
	opt := config.Options{ConfigID: diffConfigID}

	start := time.Now()
	for b.Loop() {
		_, diags, err := config.Load(path, opt)
		if err != nil {
			b.Fatalf("loading %s: %v", path, err)
		}
		if diags.HasErrors() {
			b.Fatalf("loading %s: %d errors, the first: %v", path, len(diags.Errors()), diags.Errors()[0])
		}
	}
	goPerOp := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(msPerOp(goPerOp), "gokeepalived-ms/op")

	keepalived, why := keepalivedAvailable()
	if why != "" {
		b.Logf("not timing keepalived -t: %s", why)
		return
	}
	ns := newDiffNetns(b, "b")
	pidDir := b.TempDir()
	// keepalived -t takes about half a second on this file; three runs are
	// enough to average out process start-up.
	runs := min(b.N, 3)
	var kaTotal time.Duration
	for range runs {
		t0 := time.Now()
		v := runKeepalived(b.Context(), keepalived, ns, path, pidDir)
		kaTotal += time.Since(t0)
		if v.err != nil || !v.ok {
			b.Fatalf("keepalived -t refuses the generated %s (%v):\n%s", path, v.err, msgList(v.msgs))
		}
	}
	kaPerOp := kaTotal / time.Duration(runs)
	b.ReportMetric(msPerOp(kaPerOp), "keepalived-ms/op")
	b.ReportMetric(float64(goPerOp)/float64(kaPerOp), "ratio")
}

// TestLargeConfigAccepted keeps BenchmarkParseLarge honest without running
// it: both checkers must accept the generated file, or the benchmark would
// time error paths.
func TestLargeConfigAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and checks a 6.8 MB configuration")
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
		{"TCP_CHECK {", 4},
		{"HTTP_GET {", 4},
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
// DR real servers listen on the service's port, as DR requires. Real
// servers alternate between TCP_CHECK and HTTP_GET.
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
			if r%2 == 0 {
				bw.WriteString(`        TCP_CHECK {
            connect_timeout 3
        }
`)
			} else {
				bw.WriteString(`        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
        }
`)
			}
			bw.WriteString("    }\n")
		}
		bw.WriteString("}\n")
	}
	return bw.Flush()
}

func msPerOp(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
