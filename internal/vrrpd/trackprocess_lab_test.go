package vrrpd_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/internal/proctrack"
)

// The lab tests below track a process of the test's on the master, kill
// it and time how long the master takes to lose the process's quorum
// and the backup to take over.
//
// The kernel's process connector exists in the initial network namespace
// only. keepalived 2.2.7 run inside a lab namespace fails to subscribe
// and, never reading /proc then, counts no process at all:
// TestTrackProcessKeepalivedInNamespace shows it. Its net_namespace, which
// would open the connector before entering a namespace, is not in the
// installed build. So keepalived's own timing is taken in the test's
// network namespace, the initial one, where its connector works, tracking
// the process with an instance on an interface that does not exist
// (dynamic_interfaces) and without addresses: it sends nothing and
// touches no interface, and logs its quorum changes all the same.
// gokeepalived runs inside the lab's namespaces, where it polls /proc for
// new processes and hears the counted ones exit through pidfds.

// trackedName is a name of the test's own for the tracked process.
func trackedName() string {
	return fmt.Sprintf("gkproc%09d", time.Now().UnixNano()%1e9)
}

// runTracked starts the tracked process, a sleep whose first word is
// name; the caller ends it with endTracked.
func runTracked(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("bash", "-c", "exec -a "+name+" sleep 1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// endTracked kills the tracked process and reaps it.
func endTracked(cmd *exec.Cmd) {
	cmd.Process.Kill()
	cmd.Wait()
}

// startKeepalivedTracking runs keepalived, VRRP only, in the test's own
// network namespace, the initial one (nsenter takes it back there from
// h's), tracking the process name with an instance on an interface that
// does not exist and without addresses, so that it touches nothing of
// the host's.
func startKeepalivedTracking(t *testing.T, h *nettest.Host, name string) *nettest.Daemon {
	t.Helper()
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		nettest.SkipUnlessCI(t, "keepalived is not installed")
	}
	ifname := fmt.Sprintf("gkn%09d", time.Now().UnixNano()%1e9)
	if _, err := net.InterfaceByName(ifname); err == nil {
		t.Fatalf("interface %s exists", ifname)
	}
	conf := fmt.Sprintf(`global_defs {
	dynamic_interfaces
}
vrrp_track_process proc {
	process %s
	full_command
}
vrrp_instance VI_1 {
	interface %s
	virtual_router_id 77
	priority 150
	track_process {
		proc
	}
}
`, name, ifname)
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return h.Start(t, "nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", os.Getpid()), "--", bin, "-n", "-l", "-D", "-P", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"))
}

const processLabVIP = "10.77.0.100"

// processLabConf is a VRRP instance of priority prio; with process, it
// tracks that process with weight.
func processLabConf(prio int, process string, weight int) string {
	track, def := "", ""
	if process != "" {
		def = fmt.Sprintf("vrrp_track_process proc {\n\tprocess %s\n\tfull_command\n", process)
		if weight != 0 {
			def += fmt.Sprintf("\tweight %d\n", weight)
		}
		def += "}\n"
		track = "\ttrack_process {\n\t\tproc\n\t}\n"
	}
	// Both start as BACKUP (the default), advertising every second.
	return def + fmt.Sprintf(`vrrp_instance VI_1 {
	interface eth0
	virtual_router_id 77
	priority %d
	virtual_ipaddress {
		%s/24
	}
%s}
`, prio, processLabVIP, track)
}

// count is how many times s is in d's output.
func count(d *nettest.Daemon, s string) int { return strings.Count(d.Output(), s) }

// A mark is a line awaited in a daemon's output: its n+1th occurrence.
type mark struct {
	d *nettest.Daemon
	s string
	n int
}

// next is the next occurrence of s in d's output.
func next(d *nettest.Daemon, s string) mark { return mark{d, s, count(d, s)} }

// since waits for every mark and returns how long after t0 each came,
// looking at all of them every millisecond, so that one's wait does not
// count in another's time.
func since(t *testing.T, t0 time.Time, timeout time.Duration, marks ...mark) []time.Duration {
	t.Helper()
	got := make([]time.Duration, len(marks))
	left := len(marks)
	for left > 0 {
		for k, m := range marks {
			if got[k] == 0 && count(m.d, m.s) > m.n {
				got[k] = max(time.Since(t0), time.Nanosecond)
				left--
			}
		}
		if left > 0 && time.Since(t0) > timeout {
			for k, m := range marks {
				if got[k] == 0 {
					t.Errorf("%q not logged within %v", m.s, timeout)
				}
			}
			t.FailNow()
		}
		time.Sleep(time.Millisecond)
	}
	return got
}

// median is the middle of d.
func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestTrackProcessFailover kills the tracked process on a gokeepalived
// master, with weight -60 (priority 150 to 90, under the backup's 100)
// and weight 0 (FAULT), three times each, with keepalived and with
// gokeepalived as backup, and logs the times from the kill to the
// master's "Quorum lost" and to the backup's MASTER state; each time
// the process starts again, the master says "Quorum gained" and takes
// the VIP back. keepalived, beside, tracks the same process (see above)
// and its times to "Quorum lost" and "Quorum gained" are the reference:
// gokeepalived must lose the quorum no later than keepalived, within
// 20ms of lab jitter, and gain it within its poll interval of
// keepalived.
func TestTrackProcessFailover(t *testing.T) {
	nettest.RequireRoot(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		nettest.SkipUnlessCI(t, "keepalived is not installed")
	}
	const rounds = 3
	startBackup := map[string]func(*testing.T, *nettest.Host, string) *nettest.Daemon{
		"keepalived": func(t *testing.T, h *nettest.Host, conf string) *nettest.Daemon {
			return h.StartKeepalived(t, conf, "-P")
		},
		"gokeepalived": startGokeepalived,
	}
	var lost, gained = map[string][]time.Duration{}, map[string][]time.Duration{}
	for _, weight := range []int{-60, 0} {
		for _, backup := range []string{"keepalived", "gokeepalived"} {
			name := fmt.Sprintf("over %s weight %d", backup, weight)
			t.Run(name, func(t *testing.T) {
				l := nettest.NewLab(t)
				a := l.AddHost("a", "10.77.0.1/24")
				b := l.AddHost("b", "10.77.0.2/24")
				proc := trackedName()
				p := runTracked(t, proc)
				defer func() { endTracked(p) }()
				da := startGokeepalived(t, a, processLabConf(150, proc, weight))
				db := startBackup[backup](t, b, processLabConf(100, "", 0))
				ka := startKeepalivedTracking(t, a, proc)
				wait(t, "a MASTER with the VIP", 15*time.Second, func() bool { return a.HasAddr(processLabVIP) })
				wait(t, "keepalived tracking", 10*time.Second, func() bool {
					return strings.Contains(ka.Output(), "proc_events has confirmed it is configured")
				})
				var failover []time.Duration
				for range rounds {
					marks := []mark{next(da, "Quorum lost for tracked process proc"), next(ka, "Quorum lost for tracked process proc"),
						next(db, "(VI_1) Entering MASTER STATE")}
					// From the kill: the daemons may hear of the exit
					// before the test has reaped the process.
					t0 := time.Now()
					endTracked(p)
					d := since(t, t0, 10*time.Second, marks...)
					lost["gokeepalived"] = append(lost["gokeepalived"], d[0])
					lost["keepalived"] = append(lost["keepalived"], d[1])
					failover = append(failover, d[2])
					wait(t, "b with the VIP", 5*time.Second, func() bool { return b.HasAddr(processLabVIP) })
					want := "(VI_1) Changing effective priority from 150 to 90"
					if weight == 0 {
						want = "(VI_1) Entering FAULT STATE"
					}
					if !strings.Contains(da.Output(), want) {
						t.Fatalf("master did not log %q:\n%s", want, da.Output())
					}

					marks = []mark{next(da, "Quorum gained for tracked process proc"), next(ka, "Quorum gained for tracked process proc")}
					t0 = time.Now()
					p = runTracked(t, proc)
					d = since(t, t0, 10*time.Second, marks...)
					gained["gokeepalived"] = append(gained["gokeepalived"], d[0])
					gained["keepalived"] = append(gained["keepalived"], d[1])
					wait(t, "a MASTER again with the VIP", 15*time.Second, func() bool {
						return a.HasAddr(processLabVIP) && !b.HasAddr(processLabVIP)
					})
				}
				for _, msg := range []string{"Failed to set/clear process event listen - errno 111 - Connection refused",
					"track_process: no process connector in this network namespace"} {
					if count(da, msg) != 1 {
						t.Errorf("%q logged %d times, want once", msg, count(da, msg))
					}
				}
				t.Logf("kill to backup MASTER %v (median %v)", failover, median(failover))
			})
		}
	}
	if len(lost["keepalived"]) == 0 || len(lost["gokeepalived"]) == 0 {
		return
	}
	t.Logf("kill to quorum lost, median of %d: keepalived (connector) %v, gokeepalived (pidfd) %v; all: keepalived %v, gokeepalived %v",
		len(lost["keepalived"]), median(lost["keepalived"]), median(lost["gokeepalived"]), lost["keepalived"], lost["gokeepalived"])
	t.Logf("start to quorum gained, median of %d: keepalived (connector) %v, gokeepalived (poll) %v; all: keepalived %v, gokeepalived %v",
		len(gained["keepalived"]), median(gained["keepalived"]), median(gained["gokeepalived"]), gained["keepalived"], gained["gokeepalived"])
	if median(lost["gokeepalived"]) > median(lost["keepalived"])+20*time.Millisecond {
		t.Errorf("gokeepalived loses the quorum in %v, keepalived in %v", median(lost["gokeepalived"]), median(lost["keepalived"]))
	}
	if median(gained["gokeepalived"]) > median(gained["keepalived"])+proctrack.DefaultPollInterval+20*time.Millisecond {
		t.Errorf("gokeepalived gains the quorum in %v, keepalived in %v", median(gained["gokeepalived"]), median(gained["keepalived"]))
	}
}

// TestTrackProcessKeepalivedInNamespace shows what keepalived 2.2.7 does
// with track_process inside a network namespace: the connector refuses
// the subscription, keepalived reads /proc no more, and the running
// process counts as absent. keepalived (150) and gokeepalived (120) both
// track the running process with weight -60: gokeepalived, finding it,
// stays at 120 and is master over keepalived's 90; had keepalived found
// it, its 150 would win, and had gokeepalived not, its 60 would lose.
func TestTrackProcessKeepalivedInNamespace(t *testing.T) {
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.77.0.1/24")
	b := l.AddHost("b", "10.77.0.2/24")
	proc := trackedName()
	defer endTracked(runTracked(t, proc))
	ka := a.StartKeepalived(t, processLabConf(150, proc, -60), "-P")
	gk := startGokeepalived(t, b, processLabConf(120, proc, -60))
	wait(t, "keepalived's refusal", 10*time.Second, func() bool {
		return strings.Contains(ka.Output(), "Failed to set/clear process event listen - errno 111 - Connection refused")
	})
	wait(t, "gokeepalived's fallback", 10*time.Second, func() bool {
		return strings.Contains(gk.Output(), "track_process: no process connector in this network namespace")
	})
	wait(t, "gokeepalived MASTER", 15*time.Second, func() bool { return b.HasAddr(processLabVIP) })
	// Some advert intervals more: keepalived does not preempt.
	time.Sleep(3 * time.Second)
	if a.HasAddr(processLabVIP) || !b.HasAddr(processLabVIP) {
		t.Fatalf("keepalived holds the VIP: it counted the process\n%s", ka.Output())
	}
	if strings.Contains(gk.Output(), "Changing effective priority") {
		t.Fatalf("gokeepalived changed its priority with the process running:\n%s", gk.Output())
	}
}
