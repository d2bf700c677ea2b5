// Package reload measures a configuration reload (SIGHUP) of gokeepalived
// beside keepalived's in the same run: a master of 255 VRRP instances whose
// configuration gains or loses one excluded VIP per trial (a change that
// does not show in adverts, so the backup's configuration stays valid), with
// a backup of the same implementation watching for transitions.
//
//	sudo GOKEEPALIVED_BENCH=1 go test -count=1 -v -run TestReloadBench ./test/bench/reload/
package reload

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

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
	extra           []string
}

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
	trials := 10
	impls := []impl{
		{name: "gokeepalived", bin: gk, done: "Reload finished"},
		{name: "keepalived", bin: ka, done: "Reload complete"},
	}
	res := map[string][2][]time.Duration{}
	transitions := map[string]int{}
	for _, im := range impls {
		done, vip, n := runReloads(t, im, trials)
		res[im.name] = [2][]time.Duration{done, vip}
		transitions[im.name] = n
	}
	g, k := res["gokeepalived"], res["keepalived"]
	rows := []benchtab.Row{
		row("reload of 255 instances, SIGHUP to reload done (median / max)", g[0], k[0], transitions["gokeepalived"]),
		row("reload of 255 instances, SIGHUP to added/removed excluded VIP applied (median / max)", g[1], k[1], transitions["gokeepalived"]),
	}
	for _, r := range rows {
		t.Logf("%s: gokeepalived %s, keepalived %s, ratio %s", r.Measurement, r.Gokeepalived, r.Keepalived, r.Ratio)
	}
	if err := benchtab.Append(rows...); err != nil {
		t.Error(err)
	}
}

// row reports a measurement whose goals are no transition of
// gokeepalived's master or backup during the reloads (transitions counts
// them) and keepalived's median.
func row(what string, g, k []time.Duration, transitions int) benchtab.Row {
	gm, km := median(g), median(k)
	goal := "no transition: met"
	if transitions > 0 {
		goal = fmt.Sprintf("no transition: not met (%d)", transitions)
	}
	if gm > km {
		goal += "; not slower: not met"
	} else {
		goal += "; not slower: met"
	}
	return benchtab.Row{Measurement: what,
		Gokeepalived: fmt.Sprintf("%s / %s", ms(gm), ms(slices.Max(g))),
		Keepalived:   fmt.Sprintf("%s / %s", ms(km), ms(slices.Max(k))),
		Ratio:        benchtab.Ratio(float64(gm), float64(km)),
		Goal:         goal}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// runReloads starts a master and a backup of im, then reloads the master
// trials times, each time adding or removing one VIP, and returns the times
// from SIGHUP to the reload's last log line and to the VIP's change, and
// the number of VRRP transitions the master and the backup logged after
// start-up: a reload must not cause one.
func runReloads(t *testing.T, im impl, trials int) (done, vip []time.Duration, transitions int) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	b := lab.AddHost("b", "10.77.0.2/24")
	mdir, bdir := t.TempDir(), t.TempDir()
	mconf := filepath.Join(mdir, "keepalived.conf")
	write(t, mconf, benchConfig("m", true, 0))
	write(t, filepath.Join(bdir, "keepalived.conf"), benchConfig("b", false, 0))
	args := func(dir string) []string {
		return append([]string{"-P", "-n", "-l", "-D", "-G", "-f", filepath.Join(dir, "keepalived.conf"),
			"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
			"-c", filepath.Join(dir, "checkers.pid")}, im.extra...)
	}
	dm := m.Start(t, im.bin, args(mdir)...)
	db := b.Start(t, im.bin, args(bdir)...)
	mh := m.Netlink()
	eth, err := mh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	count := func(prefix string) int {
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
	if _, ok := nettest.Eventually(time.Minute, func() bool { return count("10.78.") == routers && !b.HasAddr("10.78.1.1") }); !ok {
		t.Fatalf("%s: master holds %d of %d VIPs after a minute", im.name, count("10.78."), routers)
	}
	time.Sleep(3 * time.Second) // let the backup's adverts and ARP settle
	mlog0, blog0 := len(dm.Output()), len(db.Output())
	for i := 0; i < trials; i++ {
		vrid := 1 + i/2
		add := i%2 == 0
		extra := 0
		if add {
			extra = vrid
		}
		write(t, mconf, benchConfig("m", true, extra))
		addr := net.ParseIP(fmt.Sprintf("10.79.%d.1", vrid)).String()
		off := len(dm.Output())
		start := time.Now()
		if err := dm.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		var dDone, dVIP time.Duration
		deadline := start.Add(30 * time.Second)
		for (dDone == 0 || dVIP == 0) && time.Now().Before(deadline) {
			if dDone == 0 && strings.Contains(dm.Output()[off:], im.done) {
				dDone = time.Since(start)
			}
			if dVIP == 0 && (count("10.79.") == 1) == add {
				dVIP = time.Since(start)
			}
			time.Sleep(2 * time.Millisecond)
		}
		if dDone == 0 || dVIP == 0 {
			t.Fatalf("%s: reload %d (VIP %s add=%v) did not finish in 30s (done %v, VIP %v)\n%s",
				im.name, i, addr, add, dDone, dVIP, dm.Output()[off:])
		}
		done, vip = append(done, dDone), append(vip, dVIP)
		time.Sleep(1500 * time.Millisecond)
		if n := count("10.78."); n != routers {
			t.Fatalf("%s: after reload %d the master holds %d of %d VIPs", im.name, i, n, routers)
		}
	}
	// Any "Entering ... STATE" line after start-up is a transition the
	// reloads caused.
	for name, out := range map[string]string{"master": dm.Output()[mlog0:], "backup": db.Output()[blog0:]} {
		if n := strings.Count(out, "Entering"); n > 0 {
			transitions += n
			t.Logf("%s %s logged %d transitions during the reloads:\n%s", im.name, name, n, out)
		}
	}
	t.Logf("%s: SIGHUP to %q: %v; to VIP applied: %v", im.name, im.done, done, vip)
	return done, vip, transitions
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
