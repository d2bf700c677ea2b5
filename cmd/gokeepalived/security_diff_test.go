package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// securityConf tracks and notifies through the same script, with script
// security on.
func securityConf(script string) string {
	return fmt.Sprintf(`global_defs {
    router_id sec
    enable_script_security
    script_user root
}
vrrp_script chk {
    script "%[1]s track"
    interval 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 77
    priority 150
    advert_int 1
    virtual_ipaddress {
        %[2]s/24
    }
    track_script {
        chk
    }
    notify "%[1]s notify"
}
`, script, daemonVIP)
}

var securityLine = regexp.MustCompile(`(Unsafe permissions|Disabling|SECURITY VIOLATION|insecure|not found).*`)

// securityLines are a daemon's messages about script security, in order,
// with its directory dir written DIR.
func securityLines(out, dir string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if m := securityLine.FindString(l); m != "" {
			lines = append(lines, strings.ReplaceAll(m, dir, "DIR"))
		}
	}
	return lines
}

// A scriptCondition is a way keepalived's script security judges a
// script: unsafe, or safe.
type scriptCondition struct {
	name   string
	unsafe func(dir, script string) error
}

// scriptConditions are the safe case and each unsafe condition keepalived
// checks: a file others may write, a directory on its path others may
// write, a file another user owns.
func scriptConditions(t *testing.T) []scriptCondition {
	t.Helper()
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	return []scriptCondition{
		{"safe", func(string, string) error { return nil }},
		{"file writable by others", func(_, script string) error { return os.Chmod(script, 0o757) }},
		{"directory writable by others", func(dir, _ string) error { return os.Chmod(dir, 0o777) }},
		{"file of another user", func(_, script string) error { return os.Chown(script, uid, -1) }},
	}
}

// layout makes a directory for one daemon's run, with a script that
// records its arguments in calls, under condition c.
func (c scriptCondition) layout(t *testing.T) (top, script, calls string) {
	t.Helper()
	top = t.TempDir()
	os.Chmod(top, 0o755)
	dir := filepath.Join(top, "scripts")
	os.Mkdir(dir, 0o755)
	calls = filepath.Join(top, "calls")
	script = filepath.Join(dir, "s.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.unsafe(dir, script); err != nil {
		t.Fatal(err)
	}
	return top, script, calls
}

// TestDaemonScriptSecurityBesideKeepalived runs keepalived and then
// gokeepalived, with enable_script_security, on a track script and a
// notify script that are unsafe in each of the ways keepalived checks: a
// file others may write, a directory on its path others may write, a file
// another user owns. Both refuse the same scripts with the same messages
// and run none of them; both run the same scripts when they are safe.
func TestDaemonScriptSecurityBesideKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	for _, c := range scriptConditions(t) {
		t.Run(c.name, func(t *testing.T) {
			out := map[bool][]string{}
			ran := map[bool]bool{}
			for _, ours := range []bool{false, true} {
				top, script, calls := c.layout(t)
				conf := securityConf(script)
				var d *nettest.Daemon
				if ours {
					path := filepath.Join(top, "keepalived.conf")
					os.WriteFile(path, []byte(conf), 0o644)
					d = m.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", path,
						"-p", filepath.Join(top, "k.pid"), "-r", filepath.Join(top, "v.pid"), "-c", filepath.Join(top, "c.pid"),
						"--control-socket", filepath.Join(top, "ctl.sock"))
				} else {
					d = m.StartKeepalived(t, conf, "-P")
				}
				waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
				time.Sleep(1500 * time.Millisecond) // a track script's interval and more
				if err := d.Stop(t, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				out[ours] = securityLines(d.Output(), top)
				b, _ := os.ReadFile(calls)
				ran[ours] = strings.Contains(string(b), "notify INSTANCE VI_1 MASTER") && strings.Contains(string(b), "track")
			}
			if !slices.Equal(out[true], out[false]) {
				t.Errorf("messages:\n%s\nkeepalived's:\n%s", strings.Join(out[true], "\n"), strings.Join(out[false], "\n"))
			}
			if ran[true] != ran[false] || ran[false] != (c.name == "safe") {
				t.Errorf("scripts ran: ours %v, keepalived's %v", ran[true], ran[false])
			}
		})
	}
}

// checkerSecurityConf has a MISC_CHECK, a real server's notify_up and
// notify_down and a virtual server's quorum_up, all through script, with
// script security on.
func checkerSecurityConf(script string) string {
	return fmt.Sprintf(`global_defs {
    router_id sec
    enable_script_security
    script_user root
}
virtual_server 192.0.2.30 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum_up "%[1]s quorum"
    real_server 127.0.0.1 18090 {
        notify_up "%[1]s up"
        notify_down "%[1]s down"
        MISC_CHECK {
            misc_path "%[1]s misc"
        }
    }
}
`, script)
}

// TestGuestCheckerScriptSecurity runs keepalived's checkers and then
// gokeepalived's in the kernel guest, with script security on, on a
// MISC_CHECK, notify_up, notify_down and quorum_up that are unsafe in
// each of the ways keepalived checks, or safe: both refuse the same
// scripts with the same messages, and run the same ones.
func TestGuestCheckerScriptSecurity(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	for _, c := range scriptConditions(t) {
		t.Run(c.name, func(t *testing.T) {
			out := map[bool][]string{}
			ran := map[bool]bool{}
			for _, ours := range []bool{false, true} {
				top, script, calls := c.layout(t)
				d := startGuest(t, ours, checkerSecurityConf(script), "-C")
				time.Sleep(4 * time.Second) // the MISC_CHECK's first runs and the notifies they cause
				d.stop(t)
				out[ours] = securityLines(d.out.String(), top)
				b, _ := os.ReadFile(calls)
				ran[ours] = strings.Contains(string(b), "misc")
			}
			if !slices.Equal(out[true], out[false]) {
				t.Errorf("messages:\n%s\nkeepalived's:\n%s", strings.Join(out[true], "\n"), strings.Join(out[false], "\n"))
			}
			if ran[true] != ran[false] || ran[false] != (c.name == "safe") {
				t.Errorf("MISC_CHECK ran: ours %v, keepalived's %v", ran[true], ran[false])
			}
		})
	}
}
