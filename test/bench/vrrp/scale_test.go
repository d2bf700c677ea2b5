package vrrp

import (
	"fmt"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/internal/benchproc"
	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// routers is the number of virtual routers of the scale run: every VRID
// VRRP has.
const routers = 255

// scaleConfig makes a daemon master or backup of VRIDs 1-255 on eth0 at
// advert_int 1, each with one VIP of its own.
func scaleConfig(routerID string, master bool) string {
	prio := backupPriority
	if master {
		prio = masterPriority
	}
	ins := make([]instance, routers)
	for i := range ins {
		vrid := i + 1
		ins[i] = instance{version: 2, advert: time.Second, master: master, priority: prio,
			vrid: vrid, vip: fmt.Sprintf("10.78.%d.1/32", vrid)}
	}
	return makeConf(routerID, ins...)
}

func scaleVIPs() []string {
	vs := make([]string, routers)
	for i := range vs {
		vs[i] = fmt.Sprintf("10.78.%d.1", i+1)
	}
	return vs
}

// A scaleLab is one implementation as master and as backup of 255
// routers.
type scaleLab struct {
	im     impl
	m, b   *nettest.Host
	mNL    *netlink.Handle
	bNL    *netlink.Handle
	dm, db *nettest.Daemon
}

// runScale starts a lab for each implementation, both running
// throughout, and measures them in alternating windows: the master's and
// the backup's CPU over the window (schedstat, every thread of the
// daemon's process tree) and their resident memory at its end.
func runScale(t *testing.T, impls [2]impl, warmup, window time.Duration, pairs int) ([]benchtab.Pairs, error) {
	labs := map[bool]*scaleLab{}
	vips := scaleVIPs()
	for _, im := range impls {
		lab := nettest.NewLab(t)
		l := &scaleLab{im: im, m: lab.AddHost("m", "10.77.0.1/24"), b: lab.AddHost("b", "10.77.0.2/24")}
		l.mNL, l.bNL = l.m.Netlink(), l.b.Netlink()
		l.db = im.start(t, l.b, scaleConfig("b", false))
		l.dm = im.start(t, l.m, scaleConfig("m", true))
		labs[im.ours] = l
	}
	for _, l := range labs {
		waitFor(t, fmt.Sprintf("%s master of all %d routers, backup of none", l.im.name, routers), time.Minute, func() bool {
			return countAddrs(l.mNL, vips) == routers && countAddrs(l.bNL, vips) == 0
		})
	}
	time.Sleep(warmup)
	return interleave(pairs, func(ours bool, pair int) ([]float64, error) {
		l := labs[ours]
		m0, err := benchproc.Self(l.dm.Pid())
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		b0, err := benchproc.Self(l.db.Pid())
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		time.Sleep(window)
		m1, err := benchproc.Self(l.dm.Pid())
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		b1, err := benchproc.Self(l.db.Pid())
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		// A router that changed hands would have measured an election,
		// not a steady state.
		if vm, vb := countAddrs(l.mNL, vips), countAddrs(l.bNL, vips); vm != routers || vb != 0 {
			return nil, fmt.Errorf("after the window the master holds %d VIPs and the backup %d; want %d and 0", vm, vb, routers)
		}
		fig := []float64{(m1.CPU - m0.CPU).Seconds(), (b1.CPU - b0.CPU).Seconds(), mib(m1.RSS), mib(b1.RSS)}
		t.Logf("pair %d %s: master CPU %.3fs RSS %.1f MiB peak %.1f MiB; backup CPU %.3fs RSS %.1f MiB peak %.1f MiB",
			pair, l.im.name, fig[0], fig[2], mib(m1.HWM), fig[1], fig[3], mib(b1.HWM))
		return fig, nil
	})
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// scaleRows makes the scale run's rows from runScale's pairs.
func scaleRows(ps []benchtab.Pairs, window time.Duration) []benchtab.Row {
	if len(ps) != 4 {
		return nil
	}
	return []benchtab.Row{
		ps[0].Row(fmt.Sprintf("255 instances, master: CPU seconds per %v window", window), "%.3f s", benchtab.AtMost(1)),
		ps[1].Row(fmt.Sprintf("255 instances, backup: CPU seconds per %v window", window), "%.3f s", benchtab.AtMost(1)),
		infoRow("255 instances, master: RSS", "%.1f MiB", ps[2]),
		infoRow("255 instances, backup: RSS", "%.1f MiB", ps[3]),
	}
}
