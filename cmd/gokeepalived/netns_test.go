package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/netns"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The lab of the namespace tests: a runs the daemon, b sees its adverts.
const (
	nsVIP  = "10.61.0.100"
	nsAddr = "10.61.0.1"
)

// nsIf is the name a's link gets: no interface of the host has it, so a
// daemon that failed to enter the namespace could not put the VIP on one
// of the host's interfaces.
var nsIf = fmt.Sprintf("gkn%d", os.Getpid()%100000)

// nsLab makes the lab: a with its link renamed nsIf, and b.
func nsLab(t *testing.T) (a, b *nettest.Host) {
	t.Helper()
	lab := nettest.NewLab(t)
	a = lab.AddHost("a", nsAddr+"/24")
	b = lab.AddHost("b", "10.61.0.2/24")
	a.Run("ip", "link", "set", "eth0", "down")
	a.Run("ip", "link", "set", "eth0", "name", nsIf)
	a.Run("ip", "link", "set", nsIf, "up")
	return a, b
}

func nsConf(top string) string {
	return `global_defs {
    router_id ns
    vrrp_version 3
}
` + top + `vrrp_instance VI {
    interface ` + nsIf + `
    virtual_router_id 61
    priority 200
    advert_int 0.1
    virtual_ipaddress {
        ` + nsVIP + `/24
    }
}
`
}

// rootDaemon is a daemon started from the test's own namespace, as an
// operator starts keepalived -s NS from the host.
type rootDaemon struct {
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
}

func (d *rootDaemon) Write(p []byte) (int, error) { return d.out.Write(p) }

func (d *rootDaemon) output() string {
	return d.out.String()
}

func startFromRoot(t *testing.T, args ...string) *rootDaemon {
	t.Helper()
	d := &rootDaemon{done: make(chan struct{})}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d, d
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", args[0], err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", args[0], d.output())
		}
	})
	return d
}

func (d *rootDaemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop within 10s of SIGTERM", d.cmd.Path)
	}
}

// keepalivedPath is the installed keepalived, the reference.
func keepalivedPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("keepalived")
	if err != nil {
		nettest.SkipUnlessCI(t, "keepalived is not installed")
	}
	return p
}

// rootHasAddr reports whether the test's own namespace, the host's, has
// addr on any interface.
func rootHasAddr(t *testing.T, addr string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-o", "addr", "show").Output()
	if err != nil {
		t.Fatalf("ip addr in the host's namespace: %v", err)
	}
	return strings.Contains(string(out), " "+addr+"/")
}

// sawAdvert reports whether h receives a VRRP advert from src within
// timeout.
func sawAdvert(h *nettest.Host, src string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.ExecContext(ctx, "tcpdump", "-c1", "-n", "-i", "eth0", "ip proto 112 and src "+src).Run() == nil
}

// nsRun is what one daemon did in the namespace lab.
type nsRun struct {
	toVIP    time.Duration // from start to the VIP on a's eth0
	pidFiles []string      // names in /run/keepalived/NS while it ran
	pidIsOwn bool          // the parent's pid file names the started process
	ident    bool          // it logged the syslog ident keepalived's rule gives
	cleaned  bool          // VIP and /run/keepalived/NS gone after SIGTERM
	// overridden: it logged that -s overrides net_namespace.
	overridden bool
}

// TestDaemonNamespaceOption starts keepalived and then gokeepalived from
// the host's namespace with -s naming a lab namespace and an instance
// name in the configuration, each with its default pid files; the
// configuration's net_namespace names another namespace, which -s
// overrides. Both must
// put the VIP on the namespace's eth0 and never in the host's namespace,
// send adverts there, write their pid files in /run/keepalived/NS under
// the instance's names (seen at /run/keepalived in the daemon's own mount
// namespace), keep their process ID, and remove VIP and directory when
// stopped.
func TestDaemonNamespaceOption(t *testing.T) {
	kbin := keepalivedPath(t)
	bin := gokeepalivedBinary(t)
	a, b := nsLab(t)
	inst := "t" + strconv.Itoa(os.Getpid())
	nsDir := filepath.Join("/run/keepalived", a.NS)
	t.Cleanup(func() { os.Remove(nsDir); os.Remove("/run/keepalived") })

	var runs [2]nsRun
	for i, ours := range []bool{false, true} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "keepalived.conf")
		// -s overrides net_namespace.
		if err := os.WriteFile(conf, []byte(nsConf("net_namespace "+b.NS+"\ninstance "+inst+"\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{kbin, "-n", "-l", "-D", "-G", "-P", "-s", a.NS, "-f", conf}
		if ours {
			args = append([]string{bin}, append(args[1:], "--control-socket", filepath.Join(dir, "ctl.sock"))...)
		}
		d := startFromRoot(t, args...)
		r := &runs[i]
		r.toVIP = waitFor(t, "the VIP in the namespace", 10*time.Second, func() bool { return a.HasAddr(nsVIP) })
		if rootHasAddr(t, nsVIP) || b.HasAddr(nsVIP) {
			t.Errorf("ours=%v: the VIP %s is in the host's namespace or net_namespace's", ours, nsVIP)
		}
		if !sawAdvert(b, nsAddr, 3*time.Second) {
			t.Errorf("ours=%v: no advert from %s reached b", ours, nsAddr)
		}
		r.overridden = strings.Contains(d.output(), fmt.Sprintf("Overriding config net_namespace '%s' with command line namespace '%s'", b.NS, a.NS))
		entries, _ := os.ReadDir(nsDir)
		for _, e := range entries {
			r.pidFiles = append(r.pidFiles, e.Name())
		}
		slices.Sort(r.pidFiles)
		own := filepath.Join("/proc", strconv.Itoa(d.cmd.Process.Pid), "root/run/keepalived", "keepalived_"+inst+".pid")
		pid, err := nettest.PidFromFile(own)
		r.pidIsOwn = err == nil && pid == d.cmd.Process.Pid
		r.ident = strings.Contains(d.output(), "Changing syslog ident to Keepalived_"+a.NS+"_"+inst)
		d.stop(t)
		_, err = os.Stat(nsDir)
		r.cleaned = !a.HasAddr(nsVIP) && errors.Is(err, os.ErrNotExist)
		t.Logf("ours=%v: VIP after %v, pid files %v, own pid %v, ident %v, cleaned %v, override logged %v",
			ours, r.toVIP, r.pidFiles, r.pidIsOwn, r.ident, r.cleaned, r.overridden)
	}
	want := nsRun{pidFiles: []string{"keepalived_" + inst + ".pid", "vrrp_" + inst + ".pid"}, pidIsOwn: true, ident: true, cleaned: true, overridden: true}
	for i, name := range []string{"keepalived", "gokeepalived"} {
		got := runs[i]
		got.toVIP = 0
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	t.Logf("VIP in the namespace after: keepalived %v, gokeepalived %v", runs[0].toVIP, runs[1].toVIP)
}

// TestDaemonNetNamespace starts keepalived and then gokeepalived from the
// host's namespace with net_namespace in the configuration and pid files
// in the test's directory: the VIP goes on the namespace's eth0 only, the
// pid files are where -p and -r say, a reload that names another
// namespace, another instance name or an IPVS namespace is refused with
// keepalived's message and leaves the VIP where it is, and SIGTERM
// removes it.
func TestDaemonNetNamespace(t *testing.T) {
	kbin := keepalivedPath(t)
	bin := gokeepalivedBinary(t)
	a, b := nsLab(t)
	t.Cleanup(func() { os.Remove(filepath.Join("/run/keepalived", a.NS)); os.Remove("/run/keepalived") })

	for _, ours := range []bool{false, true} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(nsConf("net_namespace "+a.NS+"\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		pidFile, vrrpFile := filepath.Join(dir, "k.pid"), filepath.Join(dir, "v.pid")
		args := []string{kbin, "-n", "-l", "-D", "-G", "-P", "-f", conf, "-p", pidFile, "-r", vrrpFile, "-c", filepath.Join(dir, "c.pid")}
		if ours {
			args = append([]string{bin}, append(args[1:], "--control-socket", filepath.Join(dir, "ctl.sock"))...)
		}
		d := startFromRoot(t, args...)
		took := waitFor(t, "the VIP in the namespace", 10*time.Second, func() bool { return a.HasAddr(nsVIP) })
		if rootHasAddr(t, nsVIP) {
			t.Errorf("ours=%v: the VIP %s is in the host's namespace", ours, nsVIP)
		}
		if !sawAdvert(b, nsAddr, 3*time.Second) {
			t.Errorf("ours=%v: no advert from %s reached b", ours, nsAddr)
		}
		if pid, err := nettest.PidFromFile(pidFile); err != nil || pid != d.cmd.Process.Pid {
			t.Errorf("ours=%v: pid file %s: %d, %v; want %d", ours, pidFile, pid, err, d.cmd.Process.Pid)
		}
		if _, err := os.Stat(vrrpFile); err != nil {
			t.Errorf("ours=%v: %v", ours, err)
		}

		for _, r := range []struct{ top, refused string }{
			{"net_namespace " + b.NS + "\n", "Cannot change network namespace at a reload - please restart keepalived"},
			{"net_namespace " + a.NS + "\ninstance other\n", "Cannot change instance name at a reload - please restart keepalived"},
			{"net_namespace " + a.NS + "\nnet_namespace_ipvs\n", "Cannot change IPVS network namespace at a reload - please restart keepalived"},
		} {
			if err := os.WriteFile(conf, []byte(nsConf(r.top)), 0o644); err != nil {
				t.Fatal(err)
			}
			d.cmd.Process.Signal(syscall.SIGHUP)
			waitFor(t, "the reload refused", 5*time.Second, func() bool { return strings.Contains(d.output(), r.refused) })
		}
		time.Sleep(300 * time.Millisecond)
		if !a.HasAddr(nsVIP) || b.HasAddr(nsVIP) || rootHasAddr(t, nsVIP) {
			t.Errorf("ours=%v: after the refused reloads the VIP is on a %v, b %v, host %v; want a only",
				ours, a.HasAddr(nsVIP), b.HasAddr(nsVIP), rootHasAddr(t, nsVIP))
		}
		d.stop(t)
		if a.HasAddr(nsVIP) {
			t.Errorf("ours=%v: the VIP stays in the namespace after SIGTERM", ours)
		}
		t.Logf("ours=%v: VIP in the namespace after %v", ours, took)
	}
}

// TestDaemonInstancePidDir runs keepalived and then gokeepalived in a lab
// namespace and a mount namespace of their own with /run on a fresh
// tmpfs, so that the host's /run is never touched: with instance NAME the
// pid files are /run/keepalived/keepalived_NAME.pid and vrrp_NAME.pid,
// with use_pid_dir alone /run/keepalived/keepalived.pid and vrrp.pid.
func TestDaemonInstancePidDir(t *testing.T) {
	kbin := keepalivedPath(t)
	bin := gokeepalivedBinary(t)
	a, _ := nsLab(t)
	for _, c := range []struct {
		top  string
		want []string
	}{
		{"instance i9\n", []string{"keepalived_i9.pid", "vrrp_i9.pid"}},
		{"use_pid_dir\n", []string{"keepalived.pid", "vrrp.pid"}},
	} {
		for _, ours := range []bool{false, true} {
			dir := t.TempDir()
			conf := filepath.Join(dir, "keepalived.conf")
			if err := os.WriteFile(conf, []byte(nsConf(c.top)), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{kbin, "-n", "-l", "-G", "-P", "-f", conf}
			if ours {
				args = append([]string{bin}, append(args[1:], "--control-socket", filepath.Join(dir, "ctl.sock"))...)
			}
			d := a.Start(t, "unshare", append([]string{"-m", "--propagation", "private", "sh", "-c",
				`mount -t tmpfs tmpfs /run && exec "$0" "$@"`}, args...)...)
			root := filepath.Join("/proc", strconv.Itoa(d.Pid()), "root/run/keepalived")
			var got []string
			waitFor(t, "the pid files", 10*time.Second, func() bool {
				entries, _ := os.ReadDir(root)
				got = got[:0]
				for _, e := range entries {
					got = append(got, e.Name())
				}
				slices.Sort(got)
				return len(got) >= len(c.want) && a.HasAddr(nsVIP)
			})
			if !slices.Equal(got, c.want) {
				t.Errorf("ours=%v, %q: pid files %v, want %v", ours, strings.TrimSpace(c.top), got, c.want)
			}
			if pid, err := nettest.PidFromFile(filepath.Join(root, c.want[0])); err != nil || pid != d.Pid() {
				t.Errorf("ours=%v, %q: %s names %d (%v), want %d", ours, strings.TrimSpace(c.top), c.want[0], pid, err, d.Pid())
			}
			if err := d.Stop(t, 10*time.Second); err != nil {
				t.Errorf("ours=%v: %v", ours, err)
			}
		}
	}
}

// TestConfigTestNamespace runs -t on a configuration whose interface
// exists only in a lab namespace: both keepalived and gokeepalived check
// it inside the namespace that net_namespace or -s names, and a missing
// namespace ends keepalived's check with status 0, which gokeepalived
// keeps.
func TestConfigTestNamespace(t *testing.T) {
	kbin := keepalivedPath(t)
	bin := gokeepalivedBinary(t)
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", nsAddr+"/24")
	ifname := fmt.Sprintf("gkq%d", os.Getpid()%100000)
	a.Run("ip", "link", "add", ifname, "type", "veth", "peer", "name", ifname+"p")
	dir := t.TempDir()
	write := func(name, top string) string {
		p := filepath.Join(dir, name)
		conf := strings.Replace(nsConf(top), "interface "+nsIf, "interface "+ifname, 1)
		if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inNS := write("in.conf", "net_namespace "+a.NS+"\n")
	plain := write("plain.conf", "")
	missing := write("missing.conf", "net_namespace gknosuch"+strconv.Itoa(os.Getpid())+"\n")
	noIf := "WARNING - interface " + ifname + " for vrrp_instance VI doesn't exist"
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		warned bool
	}{
		{"net_namespace", []string{"-f", inNS}, 0, false},
		{"-s", []string{"-s", a.NS, "-f", plain}, 0, false},
		{"no namespace", []string{"-f", plain}, exitConfigTest, true},
		{"missing namespace", []string{"-f", missing}, 0, false},
	} {
		for _, b := range []string{kbin, bin} {
			out, err := exec.Command(b, append([]string{"-t"}, c.args...)...).CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || strings.Contains(string(out), noIf) != c.warned {
				t.Errorf("%s -t, %s: status %d, warned %v; want %d, %v\n%s", filepath.Base(b), c.name,
					code, strings.Contains(string(out), noIf), c.code, c.warned, out)
			}
		}
	}
}

// TestDaemonMissingNamespace starts keepalived and gokeepalived with -s
// naming a namespace that does not exist: neither creates it; each logs
// keepalived's message, exits with status 0 and leaves no pid directory.
func TestDaemonMissingNamespace(t *testing.T) {
	nettest.RequireRoot(t)
	kbin := keepalivedPath(t)
	bin := gokeepalivedBinary(t)
	name := "gknosuch" + strconv.Itoa(os.Getpid())
	_, err := os.Stat(netns.PidDir)
	hadPidDir := err == nil
	for _, b := range []string{kbin, bin} {
		dir := t.TempDir()
		conf := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(nsConf("")), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{b, "-n", "-l", "-G", "-P", "-s", name, "-f", conf,
			"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid")}
		if b == bin {
			args = append(args, "--control-socket", filepath.Join(dir, "ctl.sock"))
		}
		d := startFromRoot(t, args...)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s -s %s still runs after 5s", filepath.Base(b), name)
		}
		msg := "Unable to set network namespace " + name + " - exiting"
		if code := d.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(d.output(), msg) {
			t.Errorf("%s -s %s: status %d, want 0 and %q in:\n%s", filepath.Base(b), name, code, msg, d.output())
		}
		for _, p := range []string{filepath.Join(netns.Dir, name), filepath.Join("/run/keepalived", name)} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s -s %s: %s exists (%v)", filepath.Base(b), name, p, err)
			}
		}
		if _, err := os.Stat(netns.PidDir); err == nil && !hadPidDir {
			t.Errorf("%s -s %s: leaves %s behind", filepath.Base(b), name, netns.PidDir)
		}
	}
}
