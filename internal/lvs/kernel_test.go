package lvs

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// TestKernel runs the TestGuest tests below in Debian's kernel booted
// under qemu, against real IPVS, real sockets and keepalived itself.
func TestKernel(t *testing.T) {
	if vm.InGuest() {
		t.Skip("already inside the kernel guest")
	}
	vm.RunTests(t, "^TestGuest", "-test.timeout=4m")
}

// guestConf checks two real servers on loopback; the second has
// inhibit_on_failure, and a sorry server takes over when both fail.
const guestConf = `
virtual_server 192.0.2.1 80 {
	delay_loop 1
	lb_algo rr
	lb_kind NAT
	protocol TCP
	quorum_up "%[1]s UP"
	quorum_down "%[1]s DOWN"
	sorry_server 127.0.0.9 8080
	real_server 127.0.0.2 8080 {
		TCP_CHECK {
			connect_timeout 1
			retry 0
			warmup 0
		}
	}
	real_server 127.0.0.3 8080 {
		inhibit_on_failure
		TCP_CHECK {
			connect_timeout 1
			retry 0
			warmup 0
		}
	}
}
`

// listener is a real server: a TCP listener that can be stopped and
// started again on the same address.
type listener struct {
	addr string
	mu   sync.Mutex
	ln   net.Listener
}

func (l *listener) start(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	l.ln = ln
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

func (l *listener) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
}

func guestRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// guestSaved is `ipvsadm -Sn`, lines sorted.
func guestSaved(t *testing.T) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(guestRun(t, "ipvsadm", "-Sn")), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	slices.Sort(lines)
	return lines
}

// waitSaved waits for `ipvsadm -Sn` to show want.
func waitSaved(t *testing.T, what string, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = guestSaved(t); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("%s: ipvsadm -Sn:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
}

// waitFile waits for a file to hold want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, _ = os.ReadFile(path); string(b) == want {
			return
		}
	}
	t.Fatalf("%s holds %q, want %q", path, b, want)
}

// TestGuestHealthToTable drives the real check scheduler and the real
// reconciler with listeners that stop and start, and then has keepalived
// run the same configuration against the same listeners: both must reach
// the same table, logging the same transitions.
func TestGuestHealthToTable(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	guestRun(t, "ip", "link", "set", "lo", "up")
	guestRun(t, "ipvsadm", "-C")
	t.Cleanup(func() { exec.Command("ipvsadm", "-C").Run() })

	dir := t.TempDir()
	quorumLog := filepath.Join(dir, "quorum.log")
	script := filepath.Join(dir, "quorum.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" >> "+quorumLog+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(guestConf, script)

	h, rs2, rs3 := startGuestServers(t)
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	runner := notify.NewRunner(log, notify.RunnerConfig{})
	fifo, err := notify.OpenFIFO(filepath.Join(dir, "ours.fifo"), notify.Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fifo.Close() })
	ourLines := fifoReader(t, fifo.Name())
	l, err := New(parse(t, conf), Options{
		Table:      ipvs.NewReconciler(h, ipvs.ReconcilerConfig{Log: log}),
		Checks:     check.NewScheduler(check.Options{Logger: log}),
		Notifier:   &notify.Notifier{Runner: runner, LVS: fifo, Log: log},
		Log:        log,
		ScriptUser: &notify.Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-errc
			runner.Close(context.Background())
		}
	}
	t.Cleanup(stop)

	const (
		svc   = "-A -t 192.0.2.1:80 -s rr"
		rsA   = "-a -t 192.0.2.1:80 -r 127.0.0.2:8080 -m -w 1"
		rsB   = "-a -t 192.0.2.1:80 -r 127.0.0.3:8080 -m -w 1"
		rsB0  = "-a -t 192.0.2.1:80 -r 127.0.0.3:8080 -m -w 0"
		sorry = "-a -t 192.0.2.1:80 -r 127.0.0.9:8080 -m -w 1"
	)
	waitSaved(t, "start", svc, rsA, rsB)
	waitFile(t, quorumLog, "UP\n")

	rs2.stop()
	waitSaved(t, "first real server stopped", svc, rsB)
	rs3.stop()
	waitSaved(t, "both stopped", svc, rsB0, sorry)
	waitFile(t, quorumLog, "UP\nDOWN\n")
	allDown := guestSaved(t)

	rs2.start(t)
	waitSaved(t, "first real server back", svc, rsA, rsB0)
	waitFile(t, quorumLog, "UP\nDOWN\nUP\n")
	rs2.stop()
	waitSaved(t, "both stopped again", svc, rsB0, sorry)

	stop()
	if left := guestSaved(t); len(left) != 0 {
		t.Fatalf("entries left after shutdown:\n%s", strings.Join(left, "\n"))
	}
	var ours strings.Builder
	for _, e := range hook.AllEntries() {
		ours.WriteString(e.Message + "\n")
	}

	vsName, rsName2, rsName3 := "[192.0.2.1]:tcp:80", "[127.0.0.2]:tcp:8080", "[127.0.0.3]:tcp:8080"
	wantLines := []string{
		"VS " + vsName + " UP",
		"RS " + rsName2 + " " + vsName + " DOWN",
		"RS " + rsName3 + " " + vsName + " DOWN",
		"VS " + vsName + " DOWN",
		"RS " + rsName2 + " " + vsName + " UP",
		"VS " + vsName + " UP",
		"RS " + rsName2 + " " + vsName + " DOWN",
		"VS " + vsName + " DOWN",
	}
	if got := ourLines(); !slices.Equal(got, wantLines) {
		t.Errorf("LVS notify FIFO lines:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantLines, "\n  "))
	}

	// keepalived, against the same listeners, both stopped.
	kaFIFO := filepath.Join(dir, "keepalived.fifo")
	if err := syscall.Mkfifo(kaFIFO, 0o600); err != nil {
		t.Fatal(err)
	}
	theirLines := fifoReader(t, kaFIFO)
	kaConf := "global_defs {\n\tlvs_notify_fifo " + kaFIFO + "\n}\n" + conf
	ka := exec.Command("keepalived", "-n", "-l", "-D", "-C", "-f", writeConf(t, dir, kaConf),
		"-p", dir+"/keepalived.pid", "-c", dir+"/checkers.pid", "-r", dir+"/vrrp.pid")
	var theirs strings.Builder
	ka.Stdout, ka.Stderr = &theirs, &theirs
	if err := ka.Start(); err != nil {
		t.Fatal(err)
	}
	kaDone := false
	stopKA := func() {
		if !kaDone {
			kaDone = true
			ka.Process.Signal(syscall.SIGTERM)
			ka.Wait()
		}
	}
	t.Cleanup(stopKA)
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = guestSaved(t); slices.Equal(got, allDown) {
			break
		}
	}
	stopKA()
	if !slices.Equal(got, allDown) {
		t.Errorf("keepalived's table:\n  %s\nours:\n  %s\nkeepalived's log:\n%s", strings.Join(got, "\n  "), strings.Join(allDown, "\n  "), theirs.String())
	}
	// The two failures come in either order.
	got = theirLines()
	if want := wantLines[:4]; len(got) != len(want) || got[0] != want[0] || got[3] != want[3] ||
		!slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("keepalived's LVS notify FIFO lines:\n  %s\nours:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, line := range []string{
		"Gained quorum 1+0=1 <= 2 for VS [192.0.2.1]:tcp:80",
		"Activating healthchecker for service [127.0.0.2]:tcp:8080 for VS [192.0.2.1]:tcp:80",
		"Activating healthchecker for service [127.0.0.3]:tcp:8080 for VS [192.0.2.1]:tcp:80",
		"Removing service [127.0.0.2]:tcp:8080 from VS [192.0.2.1]:tcp:80",
		"Disabling service [127.0.0.3]:tcp:8080 of VS [192.0.2.1]:tcp:80",
		"Lost quorum 1-0=1 > 0 for VS [192.0.2.1]:tcp:80",
		"Adding sorry server [127.0.0.9]:tcp:8080 to VS [192.0.2.1]:tcp:80",
		"Removing alive servers from the pool for VS [192.0.2.1]:tcp:80",
		"Shutting down service [127.0.0.2]:tcp:8080 from VS [192.0.2.1]:tcp:80",
		"Shutting down (inhibited) service [127.0.0.3]:tcp:8080 from VS [192.0.2.1]:tcp:80",
	} {
		if !strings.Contains(ours.String(), line) {
			t.Errorf("our log lacks %q:\n%s", line, ours.String())
		}
		if !strings.Contains(theirs.String(), line) {
			t.Errorf("keepalived's log lacks %q:\n%s", line, theirs.String())
		}
	}
}

func writeConf(t *testing.T, dir, conf string) string {
	t.Helper()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fifoReader opens a FIFO for reading without waiting for a writer; the
// function it returns reads the lines written so far.
func fifoReader(t *testing.T, path string) func() []string {
	t.Helper()
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	var buf []byte
	return func() []string {
		b := make([]byte, 4096)
		for {
			n, err := syscall.Read(fd, b)
			if n <= 0 || err != nil {
				break
			}
			buf = append(buf, b[:n]...)
		}
		text := strings.TrimSuffix(string(buf), "\n")
		if text == "" {
			return nil
		}
		return strings.Split(text, "\n")
	}
}

// sameTableConf uses every form of service and destination keepalived
// can program: persistence with a granularity, scheduler flags, a sorry
// server with sorry_server_inhibit, inhibit_on_failure, thresholds, a
// fwmark service, a virtual_server_group range with tunnelled real
// servers, a UDP service whose real server has no checker, and weights
// set by MISC_CHECK misc_dynamic (%[1]s, exiting 7) and FILE_CHECK
// (%[2]s, holding 3).
const sameTableConf = `
virtual_server 192.0.2.1 80 {
	delay_loop 1
	lb_algo sh
	sh-port
	lb_kind NAT
	protocol TCP
	persistence_timeout 120
	persistence_granularity 255.255.255.0
	sorry_server 127.0.0.9 80
	sorry_server_inhibit
	real_server 127.0.0.2 8080 {
		weight 3
		uthreshold 100
		lthreshold 10
		TCP_CHECK {
			connect_timeout 1
			retry 0
			warmup 0
		}
	}
	real_server 127.0.0.4 8080 {
		inhibit_on_failure
		TCP_CHECK {
			connect_timeout 1
			retry 0
			warmup 0
		}
	}
}
virtual_server fwmark 7 {
	delay_loop 1
	lb_algo wlc
	lb_kind DR
	real_server 127.0.0.2 {
		TCP_CHECK {
			connect_port 8080
			connect_timeout 1
			retry 0
			warmup 0
		}
	}
}
virtual_server_group grp {
	192.0.2.10-11 443
}
virtual_server group grp {
	delay_loop 1
	lb_algo rr
	lb_kind TUN
	protocol TCP
	real_server 127.0.0.3 443 {
		weight 2
		TCP_CHECK {
			connect_timeout 1
			retry 0
			warmup 0
		}
	}
}
virtual_server 192.0.2.2 53 {
	protocol UDP
	lb_algo rr
	lb_kind DR
	ops
	real_server 127.0.0.2 53 {
	}
}
track_file tf {
	file %[2]s
}
virtual_server 192.0.2.3 80 {
	delay_loop 1
	lb_algo wrr
	lb_kind NAT
	protocol TCP
	real_server 127.0.0.2 8080 {
		weight 10
		MISC_CHECK {
			misc_path "%[1]s"
			misc_dynamic
			warmup 0
		}
	}
	real_server 127.0.0.3 8080 {
		weight 10
		FILE_CHECK {
			track_file tf
			weight 2
		}
	}
}
`

// TestGuestSameTableAsKeepalived has this package and keepalived program
// the same configuration against the same real servers, one after the
// other: their tables must be the same.
func TestGuestSameTableAsKeepalived(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	guestRun(t, "ip", "link", "set", "lo", "up")
	guestRun(t, "ipvsadm", "-C")
	t.Cleanup(func() { exec.Command("ipvsadm", "-C").Run() })
	for _, addr := range []string{"127.0.0.2:8080", "127.0.0.3:443"} {
		ln := &listener{addr: addr}
		ln.start(t)
		t.Cleanup(ln.stop)
	}
	dir := t.TempDir()
	misc, tracked := filepath.Join(dir, "misc.sh"), filepath.Join(dir, "tracked")
	if err := os.WriteFile(misc, []byte("#!/bin/sh\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tracked, []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(sameTableConf, misc, tracked)

	h, err := ipvs.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	l, err := New(parse(t, conf), Options{
		Table:      ipvs.NewReconciler(h, ipvs.ReconcilerConfig{}),
		ScriptUser: &notify.Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx) }()
	// Converged once the real server without a listener is inhibited, the
	// script has set its weight and nothing changed for two delay_loops.
	converged := []string{
		"-a -t 192.0.2.1:80 -r 127.0.0.4:8080 -m -w 0",
		"-a -t 192.0.2.3:80 -r 127.0.0.2:8080 -m -w 5",
	}
	var ours []string
	stable := time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		now := guestSaved(t)
		if !slices.Equal(now, ours) {
			ours, stable = now, time.Now()
		}
		if time.Since(stable) > 2*time.Second && !slices.ContainsFunc(converged, func(l string) bool { return !slices.Contains(ours, l) }) {
			break
		}
	}
	ourThresholds := thresholds(t)
	cancel()
	<-errc
	if slices.ContainsFunc(converged, func(l string) bool { return !slices.Contains(ours, l) }) {
		t.Fatalf("our table did not converge:\n  %s", strings.Join(ours, "\n  "))
	}
	if left := guestSaved(t); len(left) != 0 {
		t.Fatalf("entries left after shutdown:\n%s", strings.Join(left, "\n"))
	}

	ka := exec.Command("keepalived", "-n", "-l", "-D", "-C", "-f", writeConf(t, dir, conf),
		"-p", dir+"/keepalived.pid", "-c", dir+"/checkers.pid", "-r", dir+"/vrrp.pid")
	var theirLog strings.Builder
	ka.Stdout, ka.Stderr = &theirLog, &theirLog
	if err := ka.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ka.Process.Signal(syscall.SIGTERM)
		ka.Wait()
	})
	var theirs []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if theirs = guestSaved(t); slices.Equal(theirs, ours) {
			t.Logf("both programmed:\n  %s", strings.Join(ours, "\n  "))
			if th := thresholds(t); !slices.Equal(th, ourThresholds) {
				t.Errorf("ipvsadm -Ln --thresholds, keepalived:\n  %s\nours:\n  %s", strings.Join(th, "\n  "), strings.Join(ourThresholds, "\n  "))
			}
			return
		}
	}
	t.Errorf("ipvsadm -Sn, keepalived:\n  %s\nours:\n  %s\nkeepalived's log:\n%s",
		strings.Join(theirs, "\n  "), strings.Join(ours, "\n  "), theirLog.String())
}

// thresholds is `ipvsadm -Ln --thresholds`, lines sorted: -Sn leaves the
// connection thresholds out.
func thresholds(t *testing.T) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(guestRun(t, "ipvsadm", "-Ln", "--thresholds")), "\n")
	slices.Sort(lines)
	return lines
}

// startGuestServers starts guestConf's two real servers, 127.0.0.2 and
// 127.0.0.3 on port 8080, and opens the kernel's IPVS; both end with the
// test.
func startGuestServers(t *testing.T) (h *ipvs.Handle, rs2, rs3 *listener) {
	t.Helper()
	rs2 = &listener{addr: "127.0.0.2:8080"}
	rs3 = &listener{addr: "127.0.0.3:8080"}
	rs2.start(t)
	rs3.start(t)
	t.Cleanup(rs2.stop)
	t.Cleanup(rs3.stop)
	h, err := ipvs.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, rs2, rs3
}
