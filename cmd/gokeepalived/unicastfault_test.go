package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// unicastFaultConf is an instance with unicast_fault_no_peer and the
// given unicast lines, notifying through dir's notify.sh.
func unicastFaultConf(dir, unicast string) string {
	return "global_defs {\n    enable_script_security\n    script_user root\n}\n" +
		wireInstance("    unicast_fault_no_peer\n    unicast_src_ip 10.77.0.1\n"+unicast+
			"    notify "+filepath.Join(dir, "notify.sh")+"\n")
}

// TestDaemonUnicastFaultNoPeerBesideKeepalived runs an instance with
// unicast_fault_no_peer under keepalived and then gokeepalived. Without
// unicast peers both log that the instance goes to FAULT, notify FAULT
// and nothing else until STOP, and never take the VIP; with a peer both
// become MASTER. keepalived -t finds nothing to say of either
// configuration: neither does gokeepalived -t.
func TestDaemonUnicastFaultNoPeerBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	lab.AddHost("o", "10.77.0.2/24")
	bin := gokeepalivedBinary(t)
	const logLine = "(VI_1) Cannot use unicast without any peers - going to fault state"
	for _, c := range []struct {
		name, unicast, calls string
	}{
		{"no peer", "", "INSTANCE VI_1 FAULT 150\nINSTANCE VI_1 STOP 150\n"},
		{"peer", "    unicast_peer {\n        10.77.0.2\n    }\n", "INSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\nINSTANCE VI_1 STOP 150\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, ours := range []bool{false, true} {
				who := map[bool]string{false: "keepalived", true: "gokeepalived"}[ours]
				dir := t.TempDir()
				notifyScript(t, dir)
				conf := unicastFaultConf(dir, c.unicast)
				path := filepath.Join(dir, "test.conf")
				if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
					t.Fatal(err)
				}
				tbin := "keepalived"
				if ours {
					tbin = bin
				}
				out, err := m.Exec(tbin, "-t", "-f", path).CombinedOutput()
				if err != nil || len(out) > 0 {
					t.Errorf("%s -t: %v, %q; want success and silence", who, err, out)
				}

				d := startEither(t, m, bin, ours, dir, conf)
				if c.unicast == "" {
					if !d.WaitOutput(logLine, 5*time.Second) {
						t.Errorf("%s does not log %q", who, logLine)
					}
					// Past the master down interval (3.4 s) with
					// margin: a master would have the VIP.
					time.Sleep(4500 * time.Millisecond)
				} else {
					waitFor(t, who+" MASTER", 10*time.Second, func() bool { return m.HasAddr("10.77.0.120") })
					if strings.Contains(d.Output(), logLine) {
						t.Errorf("%s logs %q with a peer", who, logLine)
					}
				}
				if got, want := m.HasAddr("10.77.0.120"), c.unicast != ""; got != want {
					t.Errorf("%s: VIP on the host %v, want %v", who, got, want)
				}
				if err := d.Stop(t, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(filepath.Join(dir, "calls"))
				if string(b) != c.calls {
					t.Errorf("%s notified:\n%s\nwant:\n%s", who, b, c.calls)
				}
			}
		})
	}
}
