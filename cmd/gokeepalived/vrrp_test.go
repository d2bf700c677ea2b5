package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

const daemonVIP = "10.77.0.100"

func vrrpConf(dir string, prio int) string {
	return fmt.Sprintf(`global_defs {
    router_id %[1]s
    enable_script_security
    script_user root
    vrrp_notify_fifo %[2]s/fifo
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 77
    priority %[3]d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret77
    }
    virtual_ipaddress {
        %[4]s/24
    }
    notify "%[2]s/notify.sh VI_1-words"
}
`, filepath.Base(dir), dir, prio, daemonVIP)
}

// notifyScript records each call's arguments, one line per call.
func notifyScript(t *testing.T, dir string) {
	t.Helper()
	s := "#!/bin/sh\necho \"$*\" >> " + dir + "/calls\n"
	if err := os.WriteFile(filepath.Join(dir, "notify.sh"), []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	// Script security refuses a script in a directory others can write.
	os.Chmod(dir, 0o755)
}

func (h *hostDaemon) calls() string {
	b, _ := os.ReadFile(filepath.Join(h.dir, "calls"))
	return string(b)
}

type hostDaemon struct {
	host *nettest.Host
	dir  string
	d    *nettest.Daemon
}

func startOurs(t *testing.T, h *nettest.Host, prio int) *hostDaemon {
	t.Helper()
	dir := t.TempDir()
	notifyScript(t, dir)
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(vrrpConf(dir, prio)), 0o644)
	d := h.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"), "--metrics-listen", "127.0.0.1:9650")
	return &hostDaemon{host: h, dir: dir, d: d}
}

func startTheirs(t *testing.T, h *nettest.Host, prio int) *hostDaemon {
	t.Helper()
	dir := t.TempDir()
	notifyScript(t, dir)
	d := h.StartKeepalived(t, vrrpConf(dir, prio), "-P")
	return &hostDaemon{host: h, dir: dir, d: d}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	took, ok := nettest.Eventually(timeout, cond)
	if !ok {
		t.Fatalf("%s: not within %v", what, timeout)
	}
	return took
}

// TestDaemonVRRPWithKeepalived runs the gokeepalived daemon as master
// against real keepalived as backup: election, notify scripts, kill -9
// failover seen by a client, preemption on return, and the priority-0
// handover on SIGTERM.
func TestDaemonVRRPWithKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	b := lab.AddHost("b", "10.77.0.2/24")
	c := lab.AddHost("c", "10.77.0.3/24")

	ours := startOurs(t, m, 150)
	theirs := startTheirs(t, b, 100)
	waitFor(t, "gokeepalived owns the VIP", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
	waitFor(t, "keepalived is BACKUP", 10*time.Second, func() bool { return strings.Contains(theirs.calls(), "BACKUP") })
	waitFor(t, "client reaches the VIP at the master", 5*time.Second, func() bool {
		c.Exec("ping", "-c1", "-W1", daemonVIP).Run()
		return c.Neighbor(daemonVIP).String() == m.MAC.String()
	})
	if b.HasAddr(daemonVIP) {
		t.Fatal("both routers hold the VIP")
	}
	waitFor(t, "notify script ran", 5*time.Second, func() bool {
		return strings.Contains(ours.calls(), "VI_1-words INSTANCE VI_1 MASTER 150")
	})

	// The status command sees what the network sees.
	var out, errb bytes.Buffer
	if rc := run([]string{"gokeepalived", "status", "--json", "--control-socket", filepath.Join(ours.dir, "ctl.sock")}, &out, &errb); rc != 0 {
		t.Fatalf("status: rc %d: %s", rc, errb.String())
	}
	var st control.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out.String())
	}
	if len(st.Instances) != 1 || st.Instances[0].State != "MASTER" || st.Instances[0].Priority != 150 ||
		st.Instances[0].Interface != "eth0" || len(st.Instances[0].VIPs) != 1 || st.Instances[0].VIPs[0] != daemonVIP ||
		st.Instances[0].AdvertsSent == 0 {
		t.Errorf("status = %+v", st.Instances)
	}
	// The metrics endpoint shows the same, and the drops of the peer's
	// adverts (none here).
	metrics := scrape(t, m, "127.0.0.1:9650")
	for _, want := range []string{
		`gokeepalived_vrrp_state{family="inet",interface="eth0",state="MASTER",vrid="77",vrrp_instance="VI_1"} 1`,
		`gokeepalived_vrrp_state{family="inet",interface="eth0",state="BACKUP",vrid="77",vrrp_instance="VI_1"} 0`,
		`gokeepalived_vrrp_priority{vrrp_instance="VI_1"} 150`,
		`gokeepalived_vrrp_dropped_total{reason="auth",vrrp_instance="VI_1"} 0`,
		"gokeepalived_vrrp_panics_total 0",
		`gokeepalived_config_reloads_total{result="success"} 0`,
		"gokeepalived_config_last_reload_successful 1",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	out.Reset()
	run([]string{"gokeepalived", "status", "--control-socket", filepath.Join(ours.dir, "ctl.sock")}, &out, &errb)
	if !strings.Contains(out.String(), "VI_1") || !strings.Contains(out.String(), "MASTER") {
		t.Errorf("status table:\n%s", out.String())
	}

	compareStatsFiles(t, ours, theirs)
	reloadWhilePinged(t, ours, c)

	// kill -9: the backup takes over after Master_Down_Interval, and the
	// client follows its gratuitous ARP.
	ours.d.Kill()
	took := waitFor(t, "keepalived takes over", 10*time.Second, func() bool { return b.HasAddr(daemonVIP) })
	waitFor(t, "client follows to the backup", 5*time.Second, func() bool { return c.Neighbor(daemonVIP).String() == b.MAC.String() })
	t.Logf("kill -9 of gokeepalived: keepalived owned the VIP after %v (bound 3 x 1s + skew 0.61s)", took)
	if m.HasAddr(daemonVIP) {
		// A killed daemon cannot release; the restart must clean it.
		t.Log("VIP left on the killed master, as expected after kill -9")
	}

	// Restart: the leftover VIP is removed at start-up, then preemption
	// makes gokeepalived master again.
	ours = startOurs(t, m, 150)
	waitFor(t, "gokeepalived preempts", 10*time.Second, func() bool { return !b.HasAddr(daemonVIP) && m.HasAddr(daemonVIP) })
	waitFor(t, "client follows back", 5*time.Second, func() bool {
		c.Exec("ping", "-c1", "-W1", daemonVIP).Run()
		return c.Neighbor(daemonVIP).String() == m.MAC.String()
	})

	// SIGTERM: priority 0 makes the backup take over after its skew time.
	time.Sleep(1500 * time.Millisecond) // let the master settle into its advert rhythm
	start := time.Now()
	ours.d.Signal(syscall.SIGTERM)
	waitFor(t, "keepalived takes over after priority 0", 5*time.Second, func() bool { return b.HasAddr(daemonVIP) })
	handover := time.Since(start)
	t.Logf("SIGTERM of gokeepalived: keepalived owned the VIP after %v (skew time 0.61s)", handover)
	if handover > 2*time.Second {
		t.Errorf("graceful handover took %v, want about the skew time", handover)
	}
	select {
	case <-ours.d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("gokeepalived did not exit after SIGTERM")
	}
	if m.HasAddr(daemonVIP) {
		t.Error("gokeepalived left the VIP behind after SIGTERM")
	}
	if !strings.Contains(ours.calls(), "VI_1-words INSTANCE VI_1 STOP") {
		t.Errorf("no STOP notify; calls:\n%s", ours.calls())
	}
}

// scrape fetches /metrics from addr inside the host's namespace. The
// connection is opened on a thread in that namespace and then used as is.
func scrape(t *testing.T, h *nettest.Host, addr string) string {
	t.Helper()
	var body []byte
	err := h.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
		body, err = io.ReadAll(c)
		return err
	})
	if err != nil {
		t.Fatalf("scraping %s in %s: %v", addr, h.NS, err)
	}
	if !bytes.HasPrefix(body, []byte("HTTP/1.0 200")) {
		t.Fatalf("scraping %s: %.200s", addr, body)
	}
	return string(body)
}

// compareStatsFiles asks both daemons for keepalived's statistics file
// (SIGUSR2) and JSON file (SIGRTMIN+2) and requires the same layout.
func compareStatsFiles(t *testing.T, ours, theirs *hostDaemon) {
	t.Helper()
	vpid, err := nettest.PidFromFile(filepath.Join(theirs.d.Dir, "vrrp.pid"))
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(name string, pid int, sig syscall.Signal) []byte {
		t.Helper()
		os.Remove(name)
		syscall.Kill(pid, sig)
		var b []byte
		waitFor(t, name+" written", 5*time.Second, func() bool {
			b, _ = os.ReadFile(name)
			return len(b) > 0 && b[len(b)-1] == '\n'
		})
		return b
	}
	digits := regexp.MustCompile(`[0-9]+`)
	ourStats := fetch(statsFile, ours.d.Pid(), syscall.SIGUSR2)
	theirStats := fetch(statsFile, vpid, syscall.SIGUSR2)
	if a, b := digits.ReplaceAll(ourStats, []byte("N")), digits.ReplaceAll(theirStats, []byte("N")); !bytes.Equal(a, b) {
		t.Errorf("stats file layout differs:\nours:\n%s\nkeepalived:\n%s", ourStats, theirStats)
	}
	var ourJSON, theirJSON []map[string]map[string]any
	if err := json.Unmarshal(fetch(jsonFile, ours.d.Pid(), sigJSON), &ourJSON); err != nil {
		t.Fatalf("our JSON file: %v", err)
	}
	if err := json.Unmarshal(fetch(jsonFile, vpid, sigJSON), &theirJSON); err != nil {
		t.Fatalf("keepalived's JSON file: %v", err)
	}
	if len(ourJSON) != 1 || len(theirJSON) != 1 {
		t.Fatalf("JSON files hold %d and %d instances", len(ourJSON), len(theirJSON))
	}
	for _, part := range []string{"data", "stats"} {
		for k := range ourJSON[0][part] {
			if _, ok := theirJSON[0][part][k]; !ok {
				t.Errorf("our JSON %s has %q, keepalived's does not", part, k)
			}
		}
	}
	for k := range theirJSON[0]["stats"] {
		if _, ok := ourJSON[0]["stats"][k]; !ok {
			t.Errorf("our JSON stats lack %q", k)
		}
	}
	if ourJSON[0]["data"]["state"] != float64(2) || theirJSON[0]["data"]["state"] != float64(1) {
		t.Errorf("JSON states: ours %v (want 2, MASTER), keepalived's %v (want 1, BACKUP)", ourJSON[0]["data"]["state"], theirJSON[0]["data"]["state"])
	}
}

// reloadWhilePinged reloads the master with a valid change and then with a
// broken file while a client pings the VIP: no ping is lost, no transition
// happens, and the valid change (a new VIP, a new priority) takes effect.
func reloadWhilePinged(t *testing.T, h *hostDaemon, client *nettest.Host) {
	t.Helper()
	const extra = "10.77.0.101"
	conf := filepath.Join(h.dir, "keepalived.conf")
	ping := client.Exec("ping", "-q", "-i", "0.1", "-w", "4", daemonVIP)
	var out bytes.Buffer
	ping.Stdout = &out
	if err := ping.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)

	good := strings.Replace(vrrpConf(h.dir, 160), daemonVIP+"/24", daemonVIP+"/24\n        "+extra+"/24", 1)
	os.WriteFile(conf, []byte(good), 0o644)
	h.d.Signal(syscall.SIGHUP)
	if !h.d.WaitOutput("Reload finished", 5*time.Second) {
		t.Fatal("valid reload did not finish")
	}
	waitFor(t, "new VIP after reload", 5*time.Second, func() bool { return h.host.HasAddr(extra) })

	os.WriteFile(conf, []byte(strings.Replace(good, "priority 160", "priority 300", 1)), 0o644)
	h.d.Signal(syscall.SIGHUP)
	if !h.d.WaitOutput("refused", 5*time.Second) {
		t.Fatal("broken reload was not refused")
	}
	if err := ping.Wait(); err != nil {
		t.Errorf("ping during reloads: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), " 0% packet loss") {
		t.Errorf("pings lost during reloads:\n%s", out.String())
	}
	if n := strings.Count(h.calls(), "INSTANCE VI_1 MASTER"); n != 1 {
		t.Errorf("%d MASTER notifications, want 1 (a reload must not cause a transition):\n%s", n, h.calls())
	}
	if !h.host.HasAddr(daemonVIP) || !h.host.HasAddr(extra) {
		t.Error("VIPs lost after the refused reload")
	}
	var st bytes.Buffer
	run([]string{"gokeepalived", "status", "--json", "--control-socket", filepath.Join(h.dir, "ctl.sock")}, &st, io.Discard)
	if !strings.Contains(st.String(), `"priority": 160`) {
		t.Errorf("status after reload does not show priority 160:\n%s", st.String())
	}
}

// v3Conf is a VRRPv3 instance at advert_int 0.1 s.
func v3Conf(prio int) string {
	return fmt.Sprintf(`vrrp_instance VI_3 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 78
    priority %d
    advert_int 0.1
    virtual_ipaddress {
        %s/24
    }
}
`, prio, daemonVIP)
}

// serveName answers every TCP connection to port 7000 with the host's name,
// so that a client can tell which director holds the VIP.
func serveName(t *testing.T, h *nettest.Host) {
	t.Helper()
	h.Start(t, "busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/echo", h.Name)
}

func askVIP(c *nettest.Host) string {
	out, _ := c.Exec("busybox", "nc", "-w", "1", daemonVIP, "7000").Output()
	return strings.TrimSpace(string(out))
}

// TestDaemonVRRPv3FastFailover runs real keepalived as master and the
// gokeepalived daemon as backup with VRRPv3 at advert_int 0.1: a TCP
// service on the VIP answers from whichever director holds it, through a
// kill -9 of keepalived and its return.
func TestDaemonVRRPv3FastFailover(t *testing.T) {
	lab := nettest.NewLab(t)
	k := lab.AddHost("k", "10.77.0.1/24")
	g := lab.AddHost("g", "10.77.0.2/24")
	c := lab.AddHost("c", "10.77.0.3/24")
	serveName(t, k)
	serveName(t, g)

	theirs := k.StartKeepalived(t, v3Conf(150), "-P")
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(v3Conf(100)), 0o644)
	ours := g.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"))

	waitFor(t, "keepalived is master and answers on the VIP", 10*time.Second, func() bool {
		return k.HasAddr(daemonVIP) && !g.HasAddr(daemonVIP) && askVIP(c) == "k"
	})
	if !ours.WaitOutput("(VI_3) Entering BACKUP STATE", 5*time.Second) {
		t.Fatal("gokeepalived did not log entering BACKUP")
	}
	// Steady state: no dual master over a second of 0.1 s adverts.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if g.HasAddr(daemonVIP) {
			t.Fatal("gokeepalived took the VIP from a live keepalived master")
		}
	}

	theirs.Kill()
	took := waitFor(t, "gokeepalived takes over", 3*time.Second, func() bool { return g.HasAddr(daemonVIP) })
	// Master_Down_Interval = 3 x 0.1 s + (256-100) x 0.1 s / 256.
	const bound = 300*time.Millisecond + 61*time.Millisecond
	t.Logf("kill -9 of keepalived: gokeepalived owned the VIP after %v (bound %v)", took, bound)
	if took > bound+200*time.Millisecond {
		t.Errorf("takeover took %v, bound %v", took, bound)
	}
	waitFor(t, "the TCP service on the VIP answers from gokeepalived's director", 5*time.Second, func() bool { return askVIP(c) == "g" })

	k.StartKeepalived(t, v3Conf(150), "-P")
	waitFor(t, "keepalived preempts and answers again", 10*time.Second, func() bool {
		return k.HasAddr(daemonVIP) && !g.HasAddr(daemonVIP) && askVIP(c) == "k"
	})
}

// TestDaemonDontReleaseVRRP checks -V: a stopping master keeps its VIP,
// while without -V it releases it.
func TestDaemonDontReleaseVRRP(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	for _, keep := range []bool{false, true} {
		dir := t.TempDir()
		notifyScript(t, dir)
		conf := filepath.Join(dir, "keepalived.conf")
		os.WriteFile(conf, []byte(vrrpConf(dir, 150)), 0o644)
		args := []string{"-n", "-l", "-G", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"),
			"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "--control-socket", filepath.Join(dir, "ctl.sock")}
		if keep {
			args = append(args, "--dont-release-vrrp")
		}
		d := m.Start(t, gokeepalivedBinary(t), args...)
		waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if got := m.HasAddr(daemonVIP); got != keep {
			t.Errorf("with --dont-release-vrrp=%v, VIP present after stop = %v", keep, got)
		}
	}
}
