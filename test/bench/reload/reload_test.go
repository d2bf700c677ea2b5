// Package reload measures a configuration reload (SIGHUP) of gokeepalived
// beside keepalived's in the same run: a master of 255 VRRP instances whose
// configuration gains or loses one excluded VIP per trial (a change that
// does not show in adverts, so the backup's configuration stays valid), with
// a backup of the same implementation watching for transitions. Both labs
// run side by side and take turns, in interleaved pairs; each reload is
// timed from SIGHUP to the reload's last log line and to the change in the
// kernel, polled from outside the daemon, with the master's CPU time
// (schedstat, every thread of every process) over that time. A goal is met
// when the worst pair meets it.
//
//	sudo GOKEEPALIVED_BENCH=1 [GOKEEPALIVED_BENCH_RELOADS=20] go test -count=1 -v -run TestReloadBench ./test/bench/reload/
package reload

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/internal/benchproc"
	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

const routers = 255

// benchConfig makes a daemon master or backup of VRIDs 1-255 at advert_int 1,
// each with one VIP, and gives VRID extra an excluded VIP when extra > 0.
func benchConfig(routerID string, master bool, extra int) string {
	state, prio := "BACKUP", 100
	if master {
		state, prio = "MASTER", 150
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n", routerID)
	for vrid := 1; vrid <= routers; vrid++ {
		vips := fmt.Sprintf("10.78.%d.1/32\n    }\n", vrid)
		if vrid == extra {
			vips += fmt.Sprintf("    virtual_ipaddress_excluded {\n        10.79.%d.1/32\n    }\n", vrid)
		}
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
    state %s
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s}
`, vrid, state, vrid, prio, vips)
	}
	return b.String()
}

// An impl is one implementation under test and the log line that ends its
// reload.
type impl struct {
	name, bin, done string
}

// A lab is one implementation's master and backup, up and settled.
type lab struct {
	impl
	m, b   *nettest.Host
	dm, db *nettest.Daemon
	mconf  string
	count  func(prefix string) int // the master's addresses under prefix
	// The log lengths once settled: transitions are counted after them.
	mlog0, blog0 int
}

// The knob for the number of interleaved pairs of reloads.
const pairsEnv = "GOKEEPALIVED_BENCH_RELOADS"

func TestReloadBench(t *testing.T) {
	if os.Getenv("GOKEEPALIVED_BENCH") != "1" {
		t.Skip("set GOKEEPALIVED_BENCH=1 to run the reload benchmark")
	}
	nettest.RequireRoot(t)
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatal("keepalived is not installed")
	}
	gk := filepath.Join(t.TempDir(), "gokeepalived")
	if out, err := exec.Command("go", "build", "-o", gk, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived").CombinedOutput(); err != nil {
		t.Fatalf("building gokeepalived: %v\n%s", err, out)
	}
	pairs := 20
	if v := os.Getenv(pairsEnv); v != "" {
		if pairs, err = strconv.Atoi(v); err != nil || pairs < 1 {
			t.Fatalf("%s=%q: want a positive number of pairs", pairsEnv, v)
		}
	}
	// Both labs run side by side and take turns: each reload of one is
	// timed under about the load of the other's, and what drifts during
	// the run weighs on both alike.
	labs := map[bool]*lab{
		true:  startLab(t, impl{name: "gokeepalived", bin: gk, done: "Reload finished"}),
		false: startLab(t, impl{name: "keepalived", bin: ka, done: "Reload complete"}),
	}
	ps, err := benchtab.Interleave(pairs, func(ours bool, i int) ([]float64, error) {
		return labs[ours].reload(t, i)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps[0].Len() {
		t.Logf("pair %2d: done %.1f / %.1f ms, VIP %.1f / %.1f ms, CPU %.2f / %.2f ms (gokeepalived / keepalived)",
			i, ps[0].G[i], ps[0].K[i], ps[1].G[i], ps[1].K[i], ps[2].G[i], ps[2].K[i])
	}
	gt, kt := labs[true].transitions(t), labs[false].transitions(t)
	quiet := fmt.Sprintf("; transitions during the reloads %d / %d, none: ", gt, kt)
	if gt == 0 {
		quiet += "met"
	} else {
		quiet += "not met"
	}
	rows := []benchtab.Row{
		ps[0].Row("reload of 255 VRRP instances, SIGHUP to reload done (median)", "%.1f ms", benchtab.AtMost(1)),
		ps[1].Row("reload of 255 VRRP instances, SIGHUP to an added or removed excluded VIP applied (median)", "%.1f ms", benchtab.AtMost(1)),
		ps[2].Row("reload of 255 VRRP instances, CPU from SIGHUP to reload done and VIP applied (median)", "%.2f ms", benchtab.AtMost(1)),
	}
	rows[0].Goal += quiet
	for _, r := range rows {
		t.Logf("%s: gokeepalived %s, keepalived %s, ratio %s, goal %s", r.Measurement, r.Gokeepalived, r.Keepalived, r.Ratio, r.Goal)
	}
	if err := benchtab.Append(rows...); err != nil {
		t.Error(err)
	}
}

// startLab starts a master and a backup of im and waits until the master
// holds every VIP and the backup none. Each daemon's start-up log must
// show the transitions the benchmark later counts, 255 on the master:
// a pattern that matched nothing would count no transition whatever
// happened.
func startLab(t *testing.T, im impl) *lab {
	nl := nettest.NewLab(t)
	l := &lab{impl: im, m: nl.AddHost("m", "10.77.0.1/24"), b: nl.AddHost("b", "10.77.0.2/24")}
	mdir, bdir := t.TempDir(), t.TempDir()
	l.mconf = filepath.Join(mdir, "keepalived.conf")
	write(t, l.mconf, benchConfig("m", true, 0))
	write(t, filepath.Join(bdir, "keepalived.conf"), benchConfig("b", false, 0))
	args := func(dir string) []string {
		return []string{"-P", "-n", "-l", "-D", "-G", "-f", filepath.Join(dir, "keepalived.conf"),
			"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
			"-c", filepath.Join(dir, "checkers.pid")}
	}
	l.dm = l.m.Start(t, im.bin, args(mdir)...)
	l.db = l.b.Start(t, im.bin, args(bdir)...)
	mh := l.m.Netlink()
	eth, err := mh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	l.count = func(prefix string) int {
		addrs, err := mh.AddrList(eth, netlink.FAMILY_V4)
		if err != nil {
			return -1
		}
		n := 0
		for _, a := range addrs {
			if strings.HasPrefix(a.IP.String(), prefix) {
				n++
			}
		}
		return n
	}
	if _, ok := nettest.Eventually(time.Minute, func() bool {
		return l.count("10.78.") == routers && strings.Count(l.dm.Output(), masterLine) == routers
	}); !ok {
		t.Fatalf("%s: master holds %d of %d VIPs and logged %d %q after a minute\n%s",
			im.name, l.count("10.78."), routers, strings.Count(l.dm.Output(), masterLine), masterLine, l.dm.Output())
	}
	time.Sleep(3 * time.Second) // let the backup's adverts and ARP settle
	if n := strings.Count(l.db.Output(), backupLine); n != routers {
		t.Fatalf("%s: backup logged %d %q, want %d\n%s", im.name, n, backupLine, routers, l.db.Output())
	}
	if l.b.HasAddr("10.78.1.1") {
		t.Fatalf("%s: the backup holds a VIP", im.name)
	}
	l.mlog0, l.blog0 = len(l.dm.Output()), len(l.db.Output())
	return l
}

// Both implementations log these words when an instance enters a state.
const (
	masterLine = "Entering MASTER STATE"
	backupLine = "Entering BACKUP STATE"
)

// reload makes trial i: the master's configuration gains or loses one
// excluded VIP, then SIGHUP. It returns the milliseconds from SIGHUP to
// the reload's last log line and to the VIP's change in the kernel, and
// the master's CPU time (all its processes and threads) from SIGHUP until
// both were seen, in milliseconds.
func (l *lab) reload(t *testing.T, i int) ([]float64, error) {
	vrid := 1 + (i/2)%routers
	add := i%2 == 0
	extra := 0
	if add {
		extra = vrid
	}
	write(t, l.mconf, benchConfig("m", true, extra))
	off := len(l.dm.Output())
	cpu0, err := benchproc.Self(l.dm.Pid())
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := l.dm.Signal(syscall.SIGHUP); err != nil {
		return nil, err
	}
	var dDone, dVIP time.Duration
	for deadline := start.Add(30 * time.Second); (dDone == 0 || dVIP == 0) && time.Now().Before(deadline); {
		if dDone == 0 && strings.Contains(l.dm.Output()[off:], l.done) {
			dDone = time.Since(start)
		}
		if dVIP == 0 && (l.count("10.79.") == 1) == add {
			dVIP = time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	cpu1, err := benchproc.Self(l.dm.Pid())
	if err != nil {
		return nil, err
	}
	if dDone == 0 || dVIP == 0 {
		return nil, fmt.Errorf("%s: reload %d (VIP of VRID %d, add %v) did not finish in 30s (done %v, VIP %v)\n%s",
			l.name, i, vrid, add, dDone, dVIP, l.dm.Output()[off:])
	}
	time.Sleep(1500 * time.Millisecond)
	if n := l.count("10.78."); n != routers {
		return nil, fmt.Errorf("%s: after reload %d the master holds %d of %d VIPs", l.name, i, n, routers)
	}
	if l.b.HasAddr(fmt.Sprintf("10.78.%d.1", vrid)) {
		return nil, fmt.Errorf("%s: after reload %d the backup holds VRID %d's VIP", l.name, i, vrid)
	}
	return []float64{ms(dDone), ms(dVIP), ms(cpu1.CPU - cpu0.CPU)}, nil
}

// transitions counts the states the master and the backup entered after
// start-up: a reload must not cause one.
func (l *lab) transitions(t *testing.T) int {
	n := 0
	for name, out := range map[string]string{"master": l.dm.Output()[l.mlog0:], "backup": l.db.Output()[l.blog0:]} {
		if c := strings.Count(out, "Entering"); c > 0 {
			n += c
			t.Logf("%s %s logged %d transitions during the reloads:\n%s", l.name, name, c, out)
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
