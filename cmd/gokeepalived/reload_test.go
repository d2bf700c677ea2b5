package main

import (
	"bufio"
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

	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// reloadVRRPConf is an instance alone on its link, so it becomes master by
// itself; global is the body of global_defs and extra more instance
// keywords.
func reloadVRRPConf(global, extra string) string {
	return fmt.Sprintf(`global_defs {
    router_id reload
%s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 78
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.78.0.100/24
    }
%s
}
`, global, extra)
}

// onlyLVS has a virtual server and nothing for VRRP.
const onlyLVS = `global_defs {
    router_id reload
}
virtual_server 10.78.0.200 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.78.0.2 80 {
        TCP_CHECK {
        }
    }
}
`

// startReloadDaemon starts gokeepalived on h with conf and both loops
// asked for.
func startReloadDaemon(t *testing.T, h *nettest.Host, dir, conf string, extra ...string) *nettest.Daemon {
	t.Helper()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-l", "-G", "-f", path,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock")}
	d := h.Start(t, gokeepalivedBinary(t), append(args, extra...)...)
	d.Dir = dir
	return d
}

// reloadWith writes conf and sends SIGHUP, and waits for the reload's end.
func reloadWith(t *testing.T, d *nettest.Daemon, dir, conf string) {
	t.Helper()
	n := strings.Count(d.Output(), "Reload finished")
	if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload", 10*time.Second, func() bool { return strings.Count(d.Output(), "Reload finished") > n })
}

// TestDaemonReloadStartsVRRP reloads a daemon that runs no VRRP instance
// into a configuration that has one, and back, under keepalived and then
// under gokeepalived: the first reload starts VRRP in the same process,
// which becomes master and adds its VIP; the second removes the instance,
// which keepalived reports as DELETED (notify_deleted), and the VIP goes.
// The notify script must hear the same from both.
func TestDaemonReloadStartsVRRP(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.78.0.1/24")
	calls := map[bool]string{}
	for _, ours := range []bool{false, true} {
		dir := t.TempDir()
		notifyScript(t, dir)
		withVRRP := reloadVRRPConf("    script_user root", fmt.Sprintf("    notify \"%s/notify.sh VI_1-words\"\n    notify_deleted", dir))
		var d *nettest.Daemon
		if ours {
			d = startReloadDaemon(t, m, dir, onlyLVS, "-P")
		} else {
			d = m.StartKeepalived(t, onlyLVS, "-P")
		}
		path := filepath.Join(d.Dir, "keepalived.conf")
		waitFor(t, "start-up", 10*time.Second, func() bool {
			return strings.Contains(d.Output(), "Configuration file") || strings.Contains(d.Output(), "Starting VRRP child")
		})
		pid := d.Pid()
		reload := func(conf string) {
			t.Helper()
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := d.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}

		// keepalived may still be starting and miss the first signal:
		// the same reload is sent again until it is taken.
		reload(withVRRP)
		sent := time.Now()
		waitFor(t, "VIP added by the reloaded configuration", 15*time.Second, func() bool {
			if time.Since(sent) > 5*time.Second {
				reload(withVRRP)
				sent = time.Now()
			}
			return m.HasAddr("10.78.0.100")
		})
		reload(onlyLVS)
		waitFor(t, "VIP released when the instance left the configuration", 10*time.Second, func() bool { return !m.HasAddr("10.78.0.100") })
		waitFor(t, "DELETED reported", 10*time.Second, func() bool { return strings.Contains(readCalls(dir), "DELETED") })
		calls[ours] = readCalls(dir)
		if !ours {
			d.Stop(t, 10*time.Second)
			continue
		}
		waitFor(t, "the vrrp loop stopped", 10*time.Second, func() bool { return strings.Contains(d.Output(), "Stopping the vrrp loop") })
		if !strings.Contains(d.Output(), "Starting the vrrp loop") {
			t.Error(`the first reload did not log "Starting the vrrp loop"`)
		}
		if d.Pid() != pid {
			t.Errorf("pid changed from %d to %d", pid, d.Pid())
		}
		// And once more: VRRP comes back in the same process.
		reload(withVRRP)
		waitFor(t, "VIP added again", 10*time.Second, func() bool { return m.HasAddr("10.78.0.100") })
		select {
		case <-d.Done():
			t.Fatal("daemon exited")
		default:
		}
	}
	if calls[true] != calls[false] {
		t.Errorf("notify calls:\n%s\nkeepalived's:\n%s", calls[true], calls[false])
	}
	if want := "VI_1-words INSTANCE VI_1 DELETED 150"; !strings.Contains(calls[false], want) {
		t.Errorf("keepalived's calls lack %q:\n%s", want, calls[false])
	}
}

func readCalls(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return string(b)
}

// fifoReader reads the lines of a notify FIFO the daemon made.
type fifoReader struct {
	mu    sync.Mutex
	lines []string
}

// readFIFO opens path for reading once it exists and collects its lines
// until the test ends.
func readFIFO(t *testing.T, path string) *fifoReader {
	t.Helper()
	waitFor(t, "FIFO "+path, 10*time.Second, func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Mode()&os.ModeNamedPipe != 0
	})
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), path)
	t.Cleanup(func() { f.Close() })
	r := &fifoReader{}
	go func() {
		sc := bufio.NewScanner(f)
		for {
			for sc.Scan() {
				r.mu.Lock()
				r.lines = append(r.lines, sc.Text())
				r.mu.Unlock()
			}
			// EOF while no writer holds the FIFO: try again.
			if _, err := f.Stat(); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
			sc = bufio.NewScanner(f)
		}
	}()
	return r
}

func (r *fifoReader) has(line string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if l == line {
			return true
		}
	}
	return false
}

// TestDaemonReloadNotifyOutputs changes notify_fifo, smtp_server and
// notification_email by a reload, with a track_file that sends the
// instance to FAULT: the FAULT transition is written to the new FIFO, not
// the old one, and mailed to the new server and recipient.
func TestDaemonReloadNotifyOutputs(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.78.0.1/24")
	mx := lab.AddHost("mx", "10.78.0.25/24")
	sink := &nettest.SMTPSink{}
	var ln net.Listener
	if err := mx.Do(func() (err error) { ln, err = net.Listen("tcp", "10.78.0.25:25"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go sink.Serve(ln)

	dir := t.TempDir()
	fifo1, fifo2 := filepath.Join(dir, "fifo1"), filepath.Join(dir, "fifo2")
	d := startReloadDaemon(t, m, dir, reloadVRRPConf("    notify_fifo "+fifo1, "    smtp_alert"))
	old := readFIFO(t, fifo1)
	waitFor(t, "MASTER on the first FIFO", 10*time.Second, func() bool { return old.has(`INSTANCE "VI_1" MASTER 150`) })
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d mails before smtp_server was configured", n)
	}

	track := filepath.Join(dir, "track")
	if err := os.WriteFile(track, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	global := fmt.Sprintf(`    notify_fifo %s
    smtp_server 10.78.0.25
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
}
vrrp_track_file down {
    file %s
    weight 0`, fifo2, track)
	reloadWith(t, d, dir, reloadVRRPConf(global, "    smtp_alert\n    track_file {\n        down\n    }"))
	fresh := readFIFO(t, fifo2)
	waitFor(t, "FAULT on the new FIFO", 10*time.Second, func() bool { return fresh.has(`INSTANCE "VI_1" FAULT 150`) })
	waitFor(t, "FAULT mailed to the new server", 10*time.Second, func() bool {
		for _, msg := range sink.Messages() {
			if strings.Contains(msg, "Subject: [reload] VRRP Instance VI_1 - Entering FAULT state") && strings.Contains(msg, "To: ops@example.com") {
				return true
			}
		}
		return false
	})
	if old.has(`INSTANCE "VI_1" FAULT 150`) {
		t.Error("FAULT written to the FIFO the reload replaced")
	}
	if _, err := os.Stat(fifo1); !os.IsNotExist(err) {
		t.Errorf("the FIFO the reload replaced is still there: %v", err)
	}
}

// guestVRRPOnly has a VRRP instance on a dummy link and no virtual
// server; guestWithLVS adds one.
const guestVRRPOnly = `global_defs {
    router_id reload
}
vrrp_instance VI_1 {
    state BACKUP
    interface rl0
    virtual_router_id 79
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.79.0.100/24
    }
}
`

const guestWithLVS = guestVRRPOnly + `virtual_server 10.79.0.200 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 8079 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// TestGuestReloadStartsCheckers reloads a daemon that runs VRRP only into
// a configuration with a virtual server, and back: the first reload starts
// the checkers in the same process, which program the service into the
// kernel's IPVS table; the second stops them, and the service goes.
func TestGuestReloadStartsCheckers(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	if out, err := exec.Command("ip", "link", "add", "rl0", "type", "dummy").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", "rl0").Run() })
	for _, args := range [][]string{{"addr", "add", "10.79.0.1/24", "dev", "rl0"}, {"link", "set", "rl0", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:8079")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	table := func() string {
		out, _ := exec.Command("ipvsadm", "-Sn").CombinedOutput()
		return string(out)
	}

	p := startGuest(t, true, guestVRRPOnly)
	conf := p.cmd.Args[slices.Index(p.cmd.Args, "-f")+1]
	waitFor(t, "master", 10*time.Second, func() bool { return strings.Contains(p.out.String(), "Entering MASTER STATE") })
	pid := p.cmd.Process.Pid
	reload := func(text string) {
		t.Helper()
		n := strings.Count(p.out.String(), "Reload finished")
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		p.cmd.Process.Signal(syscall.SIGHUP)
		waitFor(t, "reload", 10*time.Second, func() bool { return strings.Count(p.out.String(), "Reload finished") > n })
	}

	reload(guestWithLVS)
	waitFor(t, "service programmed by the reloaded configuration", 10*time.Second, func() bool {
		return strings.Contains(table(), "-A -t 10.79.0.200:80 -s rr") && strings.Contains(table(), "-a -t 10.79.0.200:80 -r 127.0.0.1:8079 -m")
	})
	reload(guestVRRPOnly)
	waitFor(t, "service removed with the checkers", 10*time.Second, func() bool { return !strings.Contains(table(), "10.79.0.200") })
	if !strings.Contains(p.out.String(), "Stopping the checker loop") {
		t.Error(`reload did not log "Stopping the checker loop"`)
	}
	select {
	case <-p.done:
		t.Fatal("daemon exited")
	default:
	}
	if p.cmd.Process.Pid != pid || !strings.Contains(p.out.String(), "(VI_1) Entering MASTER STATE") || strings.Count(p.out.String(), "Entering MASTER STATE") != 1 {
		t.Errorf("VRRP did not stay master through the reloads:\n%s", p.out.String())
	}
}
