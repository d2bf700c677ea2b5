package vrrpd_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The lab tests below track a process of the test's on the master, kill
// it and time, under keepalived and under gokeepalived, how long the
// master takes to lose the process's quorum and the backup to take over.
//
// The kernel's process connector exists in the initial network namespace
// only. keepalived run inside a lab namespace fails to subscribe and,
// never reading /proc then, counts no process at all: the test shows
// that. Run from the initial namespace with net_namespace, keepalived
// opens the connector before it enters the lab's namespace, where its
// VRRP and its addresses live: that is the keepalived the timings
// compare with. gokeepalived runs inside the lab's namespace, where it
// polls /proc for new processes and hears the counted ones exit through
// pidfds.

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

// startKeepalivedNetns runs keepalived in the test's own network
// namespace, the initial one, where the process connector is (nsenter
// takes it back there from h's), with net_namespace h's, VRRP only,
// until the test ends.
func startKeepalivedNetns(t *testing.T, h *nettest.Host, conf string) *nettest.Daemon {
	t.Helper()
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	conf = "global_defs {\n\tnet_namespace " + h.NS + "\n}\n" + conf
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return h.Start(t, "nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", os.Getpid()), "--", bin, "-n", "-l", "-D", "-G", "-P", "-f", path,
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

// since waits for the n+1th s in d's output and returns how long after
// t0 it came, polling every millisecond.
func since(t *testing.T, d *nettest.Daemon, s string, n int, t0 time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	for time.Since(t0) < timeout {
		if count(d, s) > n {
			return time.Since(t0)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%q not logged within %v", s, timeout)
	return 0
}

// TestTrackProcessFailover kills the tracked process on the master, with
// weight -60 (priority 150 to 90, under the backup's 100) and weight 0
// (FAULT), three times each, and logs the times from the process's exit
// to the master's "Quorum lost" and to the backup's MASTER state; each
// time the process starts again and the master takes the VIP back. The
// master and backup are keepalived and gokeepalived both ways, and
// gokeepalived twice, so that the failovers of the two masters compare
// with the same backup. gokeepalived must lose the quorum no later than
// keepalived (within 20ms of lab jitter), and fail over no later (within
// 250ms with FAULT, which sends priority 0 at once; within an advert
// interval with a weight, whose lower priority goes with the next
// advert).
func TestTrackProcessFailover(t *testing.T) {
	nettest.RequireRoot(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed")
	}
	const rounds = 3
	type result struct {
		master, backup string
		weight         int
		quorum         []time.Duration // exit to "Quorum lost"
		failover       []time.Duration // exit to the backup's MASTER
	}
	startMaster := map[string]func(*testing.T, *nettest.Host, string) *nettest.Daemon{
		"keepalived":   startKeepalivedNetns,
		"gokeepalived": startGokeepalived,
	}
	startBackup := map[string]func(*testing.T, *nettest.Host, string) *nettest.Daemon{
		"keepalived": func(t *testing.T, h *nettest.Host, conf string) *nettest.Daemon {
			return h.StartKeepalived(t, conf, "-P")
		},
		"gokeepalived": startGokeepalived,
	}
	var results []*result
	for _, weight := range []int{-60, 0} {
		for _, pair := range [][2]string{{"keepalived", "gokeepalived"}, {"gokeepalived", "keepalived"}, {"gokeepalived", "gokeepalived"}} {
			r := &result{master: pair[0], backup: pair[1], weight: weight}
			name := fmt.Sprintf("%s over %s weight %d", r.master, r.backup, weight)
			t.Run(name, func(t *testing.T) {
				l := nettest.NewLab(t)
				a := l.AddHost("a", "10.77.0.1/24")
				b := l.AddHost("b", "10.77.0.2/24")
				proc := trackedName()
				p := runTracked(t, proc)
				defer func() { endTracked(p) }()
				da := startMaster[r.master](t, a, processLabConf(150, proc, weight))
				db := startBackup[r.backup](t, b, processLabConf(100, "", 0))
				wait(t, "a MASTER with the VIP", 15*time.Second, func() bool { return a.HasAddr(processLabVIP) })
				for range rounds {
					nq, nm := count(da, "Quorum lost for tracked process proc"), count(db, "(VI_1) Entering MASTER STATE")
					// From the kill: the daemons may hear of the exit
					// before the test has reaped the process.
					t0 := time.Now()
					endTracked(p)
					r.quorum = append(r.quorum, since(t, da, "Quorum lost for tracked process proc", nq, t0, 10*time.Second))
					r.failover = append(r.failover, since(t, db, "(VI_1) Entering MASTER STATE", nm, t0, 10*time.Second))
					wait(t, "b with the VIP", 5*time.Second, func() bool { return b.HasAddr(processLabVIP) })
					want := "(VI_1) Changing effective priority from 150 to 90"
					if weight == 0 {
						want = "(VI_1) Entering FAULT STATE"
					}
					if !strings.Contains(da.Output(), want) {
						t.Fatalf("master did not log %q:\n%s", want, da.Output())
					}

					ng := count(da, "Quorum gained for tracked process proc")
					p = runTracked(t, proc)
					since(t, da, "Quorum gained for tracked process proc", ng, time.Now(), 10*time.Second)
					wait(t, "a MASTER again with the VIP", 15*time.Second, func() bool {
						return a.HasAddr(processLabVIP) && !b.HasAddr(processLabVIP)
					})
				}
				if r.master == "gokeepalived" {
					for _, msg := range []string{"Failed to set/clear process event listen - errno 111 - Connection refused",
						"track_process: no process connector in this network namespace"} {
						if count(da, msg) != 1 {
							t.Errorf("%q logged %d times, want once", msg, count(da, msg))
						}
					}
				}
				t.Logf("exit to quorum lost %v, to backup MASTER %v", r.quorum, r.failover)
				results = append(results, r)
			})
		}
	}
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	find := func(master, backup string, weight int) *result {
		for _, r := range results {
			if r.master == master && r.backup == backup && r.weight == weight {
				return r
			}
		}
		return nil
	}
	for _, weight := range []int{-60, 0} {
		ka, gk, gkka := find("keepalived", "gokeepalived", weight), find("gokeepalived", "gokeepalived", weight), find("gokeepalived", "keepalived", weight)
		if ka == nil || gk == nil || gkka == nil {
			continue
		}
		t.Logf("weight %d, medians: exit to quorum lost: keepalived %v, gokeepalived %v; to backup MASTER (gokeepalived): keepalived %v, gokeepalived %v; gokeepalived over keepalived %v",
			weight, median(ka.quorum), median(gk.quorum), median(ka.failover), median(gk.failover), median(gkka.failover))
		if q := median(slices.Concat(gk.quorum, gkka.quorum)); q > median(ka.quorum)+20*time.Millisecond {
			t.Errorf("weight %d: gokeepalived loses the quorum in %v, keepalived in %v", weight, q, median(ka.quorum))
		}
		margin := time.Second
		if weight == 0 {
			margin = 250 * time.Millisecond
		}
		if median(gk.failover) > median(ka.failover)+margin {
			t.Errorf("weight %d: gokeepalived fails over in %v, keepalived in %v", weight, median(gk.failover), median(ka.failover))
		}
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
