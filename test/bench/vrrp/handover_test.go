package vrrp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

const (
	vip     = "10.77.0.100"
	vipCIDR = vip + "/24"
)

// A pairLab is one implementation's lab for a scenario: master host m,
// backup host b and client c on one bridge, with watchers of b's
// addresses and c's neighbours. Both daemons run only during a trial, so
// that a lab waiting for its turn sends nothing.
type pairLab struct {
	im      impl
	sc      scenario
	m, b, c *nettest.Host
	mNL     *netlink.Handle // m's namespace, for polling its addresses
	bNL     *netlink.Handle
	addrs   *watcher[netlink.AddrUpdate]
	neighs  *watcher[netlink.NeighUpdate]
	vips    []string // addresses, without prefix length
	mConf   string
	bConf   string
}

func newPairLab(t *testing.T, im impl, sc scenario) *pairLab {
	lab := nettest.NewLab(t)
	l := &pairLab{im: im, sc: sc,
		m: lab.AddHost("m", "10.77.0.1/24"),
		b: lab.AddHost("b", "10.77.0.2/24"),
		c: lab.AddHost("c", "10.77.0.3/24"),
	}
	l.mNL, l.bNL = l.m.Netlink(), l.b.Netlink()
	l.addrs = watchAddrs(t, l.b.NS)
	l.neighs = watchNeighs(t, l.c.NS)
	masters := sc.instances(true)
	for _, in := range masters {
		a, _, _ := strings.Cut(in.vip, "/")
		l.vips = append(l.vips, a)
	}
	l.mConf = makeConf("m", masters...)
	l.bConf = makeConf("b", sc.instances(false)...)
	return l
}

// A handover is one trial's times from the signal to the master.
type handover struct {
	vip   time.Duration // every VIP added on the backup
	neigh time.Duration // the client's entry for the VIP naming the backup (one router only)
	exit  time.Duration // the master's exit, after SIGTERM only
}

// trial starts both routers, takes the master away as the scenario says
// and stops the backup.
func (l *pairLab) trial(t *testing.T, n int) (handover, error) {
	var h handover
	// A daemon killed with SIGKILL leaves its VIPs behind; each trial
	// starts from a clean link whatever the implementation does about
	// leftovers.
	l.clean()
	db := l.im.start(t, l.b, l.bConf)
	defer db.Kill()
	dm := l.im.start(t, l.m, l.mConf)
	defer dm.Kill()
	if _, ok := nettest.Eventually(20*time.Second, func() bool {
		return countAddrs(l.mNL, l.vips) == len(l.vips) && countAddrs(l.bNL, l.vips) == 0
	}); !ok {
		return h, fmt.Errorf("trial %d: the master does not own the VIPs alone (master %d, backup %d of %d)",
			n, countAddrs(l.mNL, l.vips), countAddrs(l.bNL, l.vips), len(l.vips))
	}
	if l.sc.routers == 0 {
		if _, ok := nettest.Eventually(10*time.Second, func() bool {
			l.c.Exec("ping", "-c1", "-W1", vip).Run()
			return l.c.Neighbor(vip).String() == l.m.MAC.String()
		}); !ok {
			return h, fmt.Errorf("trial %d: the client's neighbour entry does not name the master", n)
		}
	}
	// The backup has given the VIPs up, so it follows the master's
	// adverts. One interval for the master to settle into its rhythm,
	// then a random phase so that the signal falls anywhere in its
	// advertisement interval: the takeover time after SIGKILL is
	// Master_Down_Interval minus that phase.
	time.Sleep(l.sc.advert + rand.N(l.sc.advert))
	l.addrs.drain()
	l.neighs.drain()
	start := time.Now()
	if l.sc.kill {
		dm.Kill()
	} else if err := dm.Signal(syscall.SIGTERM); err != nil {
		return h, fmt.Errorf("trial %d: SIGTERM: %w", n, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), l.sc.bound()+5*time.Second)
	defer cancel()
	want := make(map[string]bool, len(l.vips))
	for _, a := range l.vips {
		want[a] = true
	}
	var last time.Time
	for len(want) > 0 {
		at, u, err := l.addrs.next(ctx, start, func(u netlink.AddrUpdate) bool {
			return u.NewAddr && want[u.LinkAddress.IP.String()]
		})
		if err != nil {
			return h, fmt.Errorf("trial %d: the backup did not add %d of the %d VIPs: %w", n, len(want), len(l.vips), err)
		}
		delete(want, u.LinkAddress.IP.String())
		last = at
	}
	h.vip = last.Sub(start)
	if l.sc.routers == 0 {
		at, _, err := l.neighs.next(ctx, start, neighIs(net.ParseIP(vip), l.b.MAC))
		if err != nil {
			return h, fmt.Errorf("trial %d: the client's entry for %s did not move to %s: %w", n, vip, l.b.MAC, err)
		}
		h.neigh = at.Sub(start)
	}
	if !l.sc.kill {
		select {
		case <-dm.Done():
			h.exit = time.Since(start)
		case <-time.After(10 * time.Second):
			return h, fmt.Errorf("trial %d: the master did not exit within 10s of SIGTERM", n)
		}
	}
	return h, nil
}

// clean removes the VIPs from both routers.
func (l *pairLab) clean() {
	for _, nl := range []*netlink.Handle{l.mNL, l.bNL} {
		link, err := nl.LinkByName("eth0")
		if err != nil {
			continue
		}
		as, _ := nl.AddrList(link, netlink.FAMILY_V4)
		for _, a := range as {
			if l.isVIP(a.IP) {
				nl.AddrDel(link, &a)
			}
		}
	}
}

func (l *pairLab) isVIP(ip net.IP) bool {
	s := ip.String()
	for _, v := range l.vips {
		if v == s {
			return true
		}
	}
	return false
}

// countAddrs counts how many of addrs the namespace of nl holds on eth0,
// read over netlink (cheap enough to poll many times a second with one
// handle per namespace).
func countAddrs(nl *netlink.Handle, addrs []string) int {
	link, err := nl.LinkByName("eth0")
	if err != nil {
		return -1
	}
	as, err := nl.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return -1
	}
	n := 0
	for _, a := range as {
		s := a.IP.String()
		for _, v := range addrs {
			if v == s {
				n++
				break
			}
		}
	}
	return n
}

// runHandovers runs trials pairs of trials, one in each implementation's
// lab, alternating which goes first, and returns the pairs of takeover
// times in milliseconds: VIPs on the backup, client neighbour (one router
// only), master exited (SIGTERM only).
func runHandovers(t *testing.T, impls [2]impl, sc scenario, trials int) (vip, neigh, exit pairsMs, err error) {
	labs := map[bool]*pairLab{}
	for _, im := range impls {
		labs[im.ours] = newPairLab(t, im, sc)
	}
	ps, err := interleave(trials, func(ours bool, pair int) ([]float64, error) {
		h, err := labs[ours].trial(t, pair)
		if err != nil {
			return nil, err
		}
		return []float64{msOf(h.vip), msOf(h.neigh), msOf(h.exit)}, nil
	})
	if len(ps) == 3 {
		vip, neigh, exit = pairsMs(ps[0]), pairsMs(ps[1]), pairsMs(ps[2])
	}
	t.Logf("%s, per pair (gokeepalived, keepalived ms): VIP %s", sc.name(), vip.list())
	if sc.routers == 0 {
		t.Logf("%s, per pair: client neighbour %s", sc.name(), neigh.list())
	}
	if !sc.kill {
		t.Logf("%s, per pair: master exited %s", sc.name(), exit.list())
	}
	return vip, neigh, exit, err
}
