package prometheus

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// TestKernelPrometheus runs TestGuestCheckerMetrics, which needs IPVS, in the
// kernel guest, with the daemon and the rules file beside this package's
// test binary.
func TestKernelPrometheus(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	vm.Require(t)
	ctx, cancel := vm.Context(t)
	defer cancel()
	dir := t.TempDir()
	vm.Build(t, ctx, "build", "-o", filepath.Join(dir, "gokeepalived"), "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	if err := vm.StaticTestBinary(ctx, filepath.Join(dir, "prometheus.test")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(rulesFile)), b, 0o644); err != nil {
		t.Fatal(err)
	}
	vm.RunCommand(t, ctx, dir, "./prometheus.test -test.v -test.count=1 -test.run '^TestGuest' -test.timeout=120s")
}

// guestConf is a VRRP instance on a veth link of the guest's, and a
// virtual server of two TCP-checked real servers on its loopback, with a
// quorum of both.
const guestConf = `global_defs {
    router_id lb-prom
}
vrrp_instance VI_1 {
    state MASTER
    interface gkprom0
    virtual_router_id 84
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.84.0.100/24
    }
}
virtual_server 192.0.2.10 80 {
    delay_loop 1
    quorum 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 18080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 127.0.0.1 18081 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

// serveTCP accepts and closes connections on addr until the test ends.
func serveTCP(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
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

// TestGuestCheckerMetrics runs gokeepalived, VRRP and checkers, with a
// virtual server whose one real server is down and whose quorum is then
// lost: the scrape must pass Prometheus's linter (the one promtool check
// metrics runs), hold every metric the alerting rules read, and show the
// real server down and the quorum lost, then both back when the real
// server answers.
func TestGuestCheckerMetrics(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernelPrometheus")
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "gkprom0", "type", "veth", "peer", "name", "gkprom1"},
		{"addr", "add", "10.84.0.1/24", "dev", "gkprom0"},
		{"link", "set", "gkprom0", "up"},
		{"link", "set", "gkprom1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", "gkprom0").Run() })
	bin, err := filepath.Abs("gokeepalived")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	write(t, conf, guestConf)
	serveTCP(t, "127.0.0.1:18080")
	const addr = "127.0.0.1:9650"
	cmd := exec.Command(bin, "-n", "-l", "-G", "-f", conf,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "--control-socket", filepath.Join(dir, "ctl.sock"),
		"--metrics-listen", addr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		exec.Command("ipvsadm", "-C").Run()
		if t.Failed() {
			t.Logf("gokeepalived's output:\n%s", out.String())
		}
	})

	const (
		vs     = `virtual_server="[192.0.2.10]:tcp:80"`
		quorum = `gokeepalived_ipvs_virtual_server_quorum_up{` + vs + `} `
		rsUp   = `gokeepalived_checker_real_server_up{real_server="[127.0.0.1]:tcp:%d",` + vs + `} `
	)
	var scrape []byte
	awaitScrape := func(what string, want ...string) {
		t.Helper()
		took, ok := nettest.Eventually(15*time.Second, func() bool {
			scrape, err = getLocal(addr)
			if err != nil {
				return false
			}
			for _, w := range want {
				if !bytes.Contains(scrape, []byte(w)) {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Fatalf("%s: not within 15s (%v); want %q in:\n%s", what, err, want, scrape)
		}
		t.Logf("%s: %v", what, took.Round(10*time.Millisecond))
	}
	const master = `gokeepalived_vrrp_state{family="inet",interface="gkprom0",state="MASTER",vrid="84",vrrp_instance="VI_1"} 1`
	awaitScrape("18081 down, quorum lost, VI_1 MASTER", fmt.Sprintf(rsUp, 18080)+"1", fmt.Sprintf(rsUp, 18081)+"0", quorum+"0", master)

	problems, err := promlint.New(bytes.NewReader(scrape)).Lint()
	if err != nil {
		t.Fatalf("linting the scrape: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	names := metricNames(scrape)
	for _, n := range ruleMetrics(t) {
		if !names[n] {
			t.Errorf("the rules use %s, which the daemon does not serve", n)
		}
	}

	serveTCP(t, "127.0.0.1:18081")
	awaitScrape("18081 up, quorum back", fmt.Sprintf(rsUp, 18081)+"1", quorum+"1")
}

// getLocal returns the body of http://addr/metrics.
func getLocal(addr string) ([]byte, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
	var b bytes.Buffer
	if _, err := b.ReadFrom(c); err != nil {
		return nil, err
	}
	head, body, ok := bytes.Cut(b.Bytes(), []byte("\r\n\r\n"))
	if !ok || !strings.HasPrefix(string(head), "HTTP/1.0 200") {
		return nil, fmt.Errorf("GET http://%s/metrics: %.200s", addr, b.Bytes())
	}
	return body, nil
}
