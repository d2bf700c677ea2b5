package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// startStopConf has a startup and a shutdown script, both the script
// given, with the words start and stop, and an instance that becomes
// master at once.
func startStopConf(script, startWord string, timeout int) string {
	return fmt.Sprintf(`global_defs {
    router_id startstop
    enable_script_security
    script_user root
    startup_script "%[1]s %[2]s"
    startup_script_timeout %[3]d
    shutdown_script "%[1]s stop"
    shutdown_script_timeout 5
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 78
    priority 150
    advert_int 1
    virtual_ipaddress {
        %[4]s/24
    }
}
`, script, startWord, timeout, daemonVIP)
}

// startStopScriptText records its word, whether the VIP was up when it
// started, and when it ended; "slow" then sleeps past any timeout, and
// "fail" exits with status 3.
func startStopScriptText(marks string) string {
	return fmt.Sprintf(`#!/bin/sh
vip=$(ip -o addr show | grep -c ' %[2]s/')
case "$1" in
slow) sleep 30 ;;
fail) echo "$1 vip=$vip" >> %[1]s; exit 3 ;;
start) sleep 1 ;;
esac
echo "$1 vip=$vip" >> %[1]s
`, marks, daemonVIP)
}

var startStopLine = regexp.MustCompile(`((Running )?(startup|shutdown) script.*)`)

// startStopLines are a daemon's messages about its startup and shutdown
// scripts, with dir written DIR.
func startStopLines(out, dir string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if m := startStopLine.FindString(l); m != "" {
			lines = append(lines, strings.ReplaceAll(m, dir, "DIR"))
		}
	}
	return lines
}

// TestDaemonStartupShutdownScriptsBesideKeepalived runs keepalived and
// then gokeepalived with a startup_script and a shutdown_script: a
// startup script that succeeds, one that fails, and one that overruns its
// timeout. Both daemons log the same lines; both finish the startup
// script (or give up on it) before the VIP is added, and run the shutdown
// script after the VIP is released; the VIP comes up after a timed-out
// startup script as soon as keepalived's does.
func TestDaemonStartupShutdownScriptsBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	for _, word := range []string{"start", "fail", "slow"} {
		t.Run(word, func(t *testing.T) {
			logs := map[bool][]string{}
			marks := map[bool]string{}
			upAfter := map[bool]time.Duration{}
			for _, ours := range []bool{false, true} {
				top := t.TempDir()
				os.Chmod(top, 0o755)
				markFile := filepath.Join(top, "marks")
				script := filepath.Join(top, "s.sh")
				if err := os.WriteFile(script, []byte(startStopScriptText(markFile)), 0o755); err != nil {
					t.Fatal(err)
				}
				conf := startStopConf(script, word, 2)
				began := time.Now()
				d := startEither(t, m, bin, ours, top, conf, "-D")
				waitFor(t, "master", 20*time.Second, func() bool { return m.HasAddr(daemonVIP) })
				upAfter[ours] = time.Since(began)
				if err := d.Stop(t, 20*time.Second); err != nil {
					t.Fatal(err)
				}
				if m.HasAddr(daemonVIP) {
					t.Fatalf("VIP left after stop")
				}
				logs[ours] = startStopLines(d.Output(), top)
				b, _ := os.ReadFile(markFile)
				marks[ours] = string(b)
			}
			if !slices.Equal(logs[true], logs[false]) {
				t.Errorf("messages:\n%s\nkeepalived's:\n%s", strings.Join(logs[true], "\n"), strings.Join(logs[false], "\n"))
			}
			if marks[true] != marks[false] {
				t.Errorf("script marks:\n%s\nkeepalived's:\n%s", marks[true], marks[false])
			}
			want := map[string]string{"start": "start vip=0\nstop vip=0\n", "fail": "fail vip=0\nstop vip=0\n", "slow": "stop vip=0\n"}[word]
			if marks[false] != want {
				t.Errorf("keepalived's marks %q, want %q", marks[false], want)
			}
			// The startup script holds the start: at least its sleep, or
			// its timeout; and ours no longer than keepalived's and a
			// second for the advert timer.
			least := map[string]time.Duration{"start": time.Second, "fail": 0, "slow": 2 * time.Second}[word]
			if upAfter[true] < least || upAfter[true] > upAfter[false]+time.Second {
				t.Errorf("VIP up after %v, keepalived's after %v; want at least %v", upAfter[true], upAfter[false], least)
			}
			t.Logf("VIP up %v after start, keepalived's %v; messages %s", upAfter[true].Round(time.Millisecond), upAfter[false].Round(time.Millisecond), strconv.Quote(strings.Join(logs[true], "; ")))
		})
	}
}
