package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/bgp"
	"github.com/gokeepalived/gokeepalived/internal/bgp/gobgp"
	"github.com/gokeepalived/gokeepalived/internal/nettest"

	"github.com/gokeepalived/gokeepalived/test/vm"
)

// envRunDaemon makes the test binary run as gokeepalived itself, so that
// the kernel guest, which has no Go toolchain, needs no second binary.
const envRunDaemon = "GOKEEPALIVED_TEST_RUN_DAEMON"

func TestMain(m *testing.M) {
	// Called by the name gokeepalived-bgp, through a link, it is the
	// daemon's BGP speaker, for the same reason; the daemon's
	// environment, envRunDaemon with it, is its.
	if filepath.Base(os.Args[0]) == bgp.ProgramName {
		if err := gobgp.Serve(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(envRunDaemon) == "1" {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// envGuestRun, if set, is the pattern of the TestGuest tests TestKernel
// runs, rather than all of them: one of them run alone while it is
// worked on.
const envGuestRun = "GOKEEPALIVED_GUEST_RUN"

// TestKernel runs the TestGuest tests, which need IPVS, in one boot of
// the kernel guest; GOKEEPALIVED_GUEST_RUN, when set, narrows them to
// the tests it matches, such as ^TestGuestECMP.
func TestKernel(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	guestNetSNMP(t)
	// TestGuestSessionsSurviveECMP's SCTP associations need the
	// kernel's SCTP.
	t.Setenv("VMRUN_EXTRA_MODULES", strings.TrimSpace(os.Getenv("VMRUN_EXTRA_MODULES")+" sctp"))
	pattern := "^TestGuest"
	if p := os.Getenv(envGuestRun); p != "" {
		pattern = p
	}
	vm.RunTests(t, pattern)
}

// guestNetSNMP adds net-snmp's master agent, trap receiver and walker to
// the guest, for TestGuestSNMPChecker, when the host has them.
func guestNetSNMP(t *testing.T) {
	bins := strings.Fields(os.Getenv("VMRUN_EXTRA_BINS"))
	for _, tool := range []string{"snmpd", "snmptrapd", "snmpwalk", "snmpbulkwalk", "snmpget"} {
		if path, err := exec.LookPath(tool); err == nil {
			bins = append(bins, path)
		}
	}
	t.Setenv("VMRUN_EXTRA_BINS", strings.Join(bins, " "))
}

func requireGuest(t *testing.T) {
	t.Helper()
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
}

// guestProc is a daemon started in the guest: gokeepalived (this binary)
// or keepalived, in the foreground, logging to its output.
type guestProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

func startGuest(t *testing.T, ours bool, conf string, extra ...string) *guestProc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-n", "-l", "-G", "-f", path, "-p", filepath.Join(dir, "k.pid"),
		"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid")}, extra...)
	var cmd *exec.Cmd
	if ours {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(self, append(args, "--control-socket", filepath.Join(dir, "ctl.sock"))...)
		cmd.Env = append(os.Environ(), envRunDaemon+"=1")
	} else {
		cmd = exec.Command("keepalived", append(args, "-D")...)
	}
	p := &guestProc{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output of %s:\n%s", cmd.Path, p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for the daemon to exit, killing it after
// 10 s; it may be called more than once.
func (p *guestProc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Errorf("%s did not stop within 10 s of SIGTERM", p.cmd.Path)
	}
}

// loopbackUp brings up the guest's lo, where the tests' servers listen.
func loopbackUp(t *testing.T) {
	t.Helper()
	lo := exec.Command("ip", "link", "set", "lo", "up")
	if out, err := lo.CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v\n%s", err, out)
	}
}

// toggleServer is a TCP server that can be taken down and brought back.
// It hands each connection to handle, or closes it if handle is nil.
type toggleServer struct {
	addr   string
	handle func(net.Conn)
	mu     sync.Mutex
	ln     net.Listener
}

// up listens, unless it already does.
func (s *toggleServer) up(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if s.handle == nil {
				c.Close()
				continue
			}
			go s.handle(c)
		}
	}()
}

func (s *toggleServer) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
}

const checkMailConf = `global_defs {
    router_id lb-check
    notification_email {
        ops@example.com
        oncall@example.com
    }
    notification_email_from lb@example.com
    smtp_server 127.0.0.1 %[1]d
    smtp_connect_timeout 5
}
virtual_server 192.0.2.10 80 {
    delay_loop 1
    smtp_alert
    quorum 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %[2]d {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 127.0.0.1 %[3]d {
        weight 1
        smtp_alert off
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

// checkMailPair is a real server for checkMailConf's virtual server with
// two checkers: HTTP_GET of the dead port %[1]d keeps it down, so the
// changes of its TCP_CHECK of the live port %[2]d are mailed on their own.
const checkMailPair = `    real_server 127.0.0.1 %[3]d {
        weight 1
        HTTP_GET {
            url {
                path /
            }
            connect_port %[1]d
            connect_timeout 1
            retry 0
        }
        TCP_CHECK {
            connect_port %[2]d
            connect_timeout 1
            retry 0
        }
    }
`

// TestGuestCheckerMail takes a TCP real server down and up under
// keepalived and then under gokeepalived, with the same configuration,
// and requires the same smtp_alert mails: one DOWN and one UP for the real
// server with smtp_alert, none for the one with smtp_alert off, which is
// down from the start, and the quorum mails of the virtual server, which
// has smtp_alert and loses its quorum with the live server. Under
// gokeepalived it also scrapes the checker metrics.
func TestGuestCheckerMail(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	const live, dead, pair = 18080, 18081, 18082
	want := []string{
		"[lb-check] Realserver [127.0.0.1]:tcp:18080 of virtual server [192.0.2.10]:tcp:80 - DOWN | => TCP CHECK failed on service <=",
		"[lb-check] Realserver [127.0.0.1]:tcp:18080 of virtual server [192.0.2.10]:tcp:80 - UP | => TCP CHECK succeed on service <=",
		"[lb-check] Realserver [127.0.0.1]:tcp:18082 of virtual server [192.0.2.10]:tcp:80 - DOWN | => CHECK failed on service : HTTP request failed <=",
		"[lb-check] Realserver [127.0.0.1]:tcp:18082 of virtual server [192.0.2.10]:tcp:80 - DOWN | => TCP CHECK failed on service <=",
		"[lb-check] Realserver [127.0.0.1]:tcp:18082 of virtual server [192.0.2.10]:tcp:80 - DOWN | => TCP CHECK succeed on service <=",
	}
	slices.Sort(want)
	mails := map[bool][]string{}
	for i, ours := range []bool{false, true} {
		name := map[bool]string{false: "keepalived", true: "gokeepalived"}[ours]
		sink, ln := nettest.ListenSMTPSink(t)
		rs := &toggleServer{addr: fmt.Sprintf("127.0.0.1:%d", live)}
		rs.up(t)
		conf := strings.TrimSuffix(fmt.Sprintf(checkMailConf, ln.Addr().(*net.TCPAddr).Port, live, dead), "}\n") +
			fmt.Sprintf(checkMailPair, dead, live, pair) + "}\n"
		extra := []string{"-C"}
		metricsAddr := fmt.Sprintf("127.0.0.1:%d", 9660+i)
		if ours {
			extra = append(extra, "--metrics-listen", metricsAddr)
		}
		d := startGuest(t, ours, conf, extra...)
		// The dead server's first failure and the live one's first
		// success come within the first delay_loop and its warmup.
		time.Sleep(3 * time.Second)
		mailed := func(want ...string) func() bool {
			return func() bool {
				return slices.ContainsFunc(sink.Messages(), func(m string) bool {
					s := nettest.MailSummary(m)
					for _, w := range want {
						if !strings.Contains(s, w) {
							return false
						}
					}
					return true
				})
			}
		}
		rs.down()
		waitFor(t, name+": DOWN mail", 10*time.Second, mailed("tcp:18080", "- DOWN"))
		waitFor(t, name+": the second checker's DOWN mail", 10*time.Second, mailed("tcp:18082", "TCP CHECK failed"))
		rs.up(t)
		waitFor(t, name+": UP mail", 10*time.Second, mailed("tcp:18080", "- UP"))
		waitFor(t, name+": the second checker's UP mail", 10*time.Second, mailed("tcp:18082", "TCP CHECK succeed"))
		if ours {
			m := scrapeLocal(t, metricsAddr)
			checkMetric(t, m, `gokeepalived_check_duration_seconds_count{checker="TCP_CHECK"}`, 4)
			checkMetric(t, m, `gokeepalived_check_failures_total{checker="TCP_CHECK"}`, 2)
			checkMetric(t, m, `gokeepalived_check_duration_seconds_bucket{checker="TCP_CHECK",le="+Inf"}`, 4)
		}
		time.Sleep(time.Second) // the quorum mail that goes with the UP one
		d.stop(t)
		rs.down()
		time.Sleep(500 * time.Millisecond) // a mail sent at the stop
		ln.Close()
		var got, rsMails []string
		for _, msg := range sink.Messages() {
			got = append(got, nettest.MailSummary(msg))
			if strings.Contains(msg, "Realserver") {
				rsMails = append(rsMails, nettest.MailSummary(msg))
			}
			if !strings.Contains(msg, "To: ops@example.com, oncall@example.com\r\n") || !strings.Contains(msg, "From: lb@example.com\r\n") {
				t.Errorf("%s: mail headers:\n%s", name, msg)
			}
		}
		// Each alert has a connection of its own, so the order in
		// which they arrive is not the order they were sent.
		slices.Sort(got)
		slices.Sort(rsMails)
		mails[ours] = got
		if strings.Join(rsMails, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s mailed for real servers:\n%s\nwant:\n%s", name, strings.Join(rsMails, "\n"), strings.Join(want, "\n"))
		}
	}
	if strings.Join(mails[true], "\n") != strings.Join(mails[false], "\n") {
		t.Errorf("gokeepalived mailed:\n%s\nkeepalived mailed:\n%s", strings.Join(mails[true], "\n"), strings.Join(mails[false], "\n"))
	}
}

// scrapeLocal fetches /metrics from addr.
func scrapeLocal(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
	body, err := io.ReadAll(c)
	if err != nil || !bytes.HasPrefix(body, []byte("HTTP/1.0 200")) {
		t.Fatalf("scraping %s: %v %.200s", addr, err, body)
	}
	return string(body)
}

// checkMetric requires a sample named exactly series with a value of at
// least min.
func checkMetric(t *testing.T, metrics, series string, min float64) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(metrics)
	if m == nil {
		t.Errorf("metrics lack %s", series)
		return
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v < min {
		t.Errorf("%s = %s, want at least %v", series, m[1], min)
	}
}
