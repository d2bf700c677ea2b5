package vrrp

import (
	"context"
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

const (
	vip     = "10.77.0.100"
	vipCIDR = vip + "/24"
)

// takeovers are the times from the signal to the master, one per trial.
type takeovers struct {
	vip   []time.Duration // the VIP added on the backup
	neigh []time.Duration // the client's neighbour entry for the VIP naming the backup's MAC
	exit  []time.Duration // the master's exit, after SIGTERM only
}

// runHandovers takes the master of a same-implementation pair away trials
// times, as sc says.
func runHandovers(t *testing.T, im impl, sc scenario, trials int) takeovers {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	b := lab.AddHost("b", "10.77.0.2/24")
	c := lab.AddHost("c", "10.77.0.3/24")
	masterConf := makeConf("m", instance{version: sc.version, advert: sc.advert, master: true,
		priority: masterPriority, vrid: 77, vip: vipCIDR})
	backupConf := makeConf("b", instance{version: sc.version, advert: sc.advert,
		priority: backupPriority, vrid: 77, vip: vipCIDR})

	addrs := watchAddrs(t, b.NS)
	neighs := watchNeighs(t, c.NS)
	ip := net.ParseIP(vip)
	var r takeovers
	im.start(t, b, backupConf)
	for i := range trials {
		// A master killed with SIGKILL leaves its VIP behind; each
		// trial starts from a clean link whatever the implementation
		// does about leftovers.
		m.Exec("ip", "addr", "del", vipCIDR, "dev", "eth0").Run()
		d := im.start(t, m, masterConf)
		waitFor(t, "the master owns the VIP alone", 20*time.Second, func() bool {
			return m.HasAddr(vip) && !b.HasAddr(vip)
		})
		waitFor(t, "the client's neighbour entry names the master", 10*time.Second, func() bool {
			c.Exec("ping", "-c1", "-W1", vip).Run()
			return c.Neighbor(vip).String() == m.MAC.String()
		})
		// The backup has given the VIP up, so it follows the master's
		// adverts. One interval for the master to settle into its
		// rhythm, then a random phase so that the signal falls
		// anywhere in its advertisement interval: the takeover time
		// after SIGKILL is Master_Down_Interval minus that phase.
		time.Sleep(sc.advert + rand.N(sc.advert))
		addrs.drain()
		neighs.drain()
		start := time.Now()
		if sc.kill {
			d.Kill()
		} else if err := d.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("trial %d: SIGTERM: %v", i, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), sc.bound()+5*time.Second)
		gotVIP, err := addrs.first(ctx, start, addrAdded(ip))
		if err != nil {
			cancel()
			t.Fatalf("trial %d: the backup did not add %s: %v", i, vip, err)
		}
		gotNeigh, err := neighs.first(ctx, start, neighIs(ip, b.MAC))
		cancel()
		if err != nil {
			t.Fatalf("trial %d: the client's entry for %s did not move to %s: %v", i, vip, b.MAC, err)
		}
		r.vip = append(r.vip, gotVIP.Sub(start))
		r.neigh = append(r.neigh, gotNeigh.Sub(start))
		if !sc.kill {
			select {
			case <-d.Done():
				r.exit = append(r.exit, time.Since(start))
			case <-time.After(10 * time.Second):
				t.Fatalf("trial %d: the master did not exit within 10s of SIGTERM", i)
			}
		}
		d.Kill()
	}
	t.Logf("%s %s: VIP %v; neighbour %v (bound %v); exit %v", im.name, sc.name(),
		summarize(r.vip), summarize(r.neigh), sc.bound(), summarize(r.exit))
	return r
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if _, ok := nettest.Eventually(timeout, cond); !ok {
		t.Fatalf("%s: not within %v", what, timeout)
	}
}
