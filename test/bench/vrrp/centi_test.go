package vrrp

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/internal/benchproc"
	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// centiRouters is the number of virtual routers of the centisecond set.
const centiRouters = 20

// metricsAddr is where gokeepalived serves its metrics in each router's
// namespace, for the garbage collector's pauses.
const metricsAddr = "127.0.0.1:9650"

// gcPauses names the histogram of the Go runtime's stop-the-world pauses
// for garbage collection, and gcLargest the largest recent pause.
const (
	gcPauses  = "go_sched_pauses_total_gc_seconds"
	gcLargest = `go_gc_duration_seconds{quantile="1"}`
)

// steadyResult is what runSteady saw of both implementations.
type steadyResult struct {
	count      map[bool]steadyCount
	perSent    benchtab.Pairs // CPU of the master per advert sent, us
	perRecv    benchtab.Pairs // CPU of the backup per advert received, us
	sent, recv benchtab.Pairs // adverts per second
	gc         histogram      // gokeepalived's pauses over every window, both routers
	gcLargest  float64        // the largest pause since a daemon's start, seconds
}

// runSteady runs each implementation as master and backup of 20 routers
// at advert_int 0.01 in windows, alternating between a lab of each, and
// counts what should not happen (a transition, a VIP out of place) and
// the CPU per advert. The daemons of a lab run only during its windows.
func runSteady(t *testing.T, impls [2]impl, warmup, window time.Duration, windows int) (steadyResult, error) {
	res := steadyResult{count: map[bool]steadyCount{}, gcLargest: -1}
	type lab struct {
		im       impl
		m, b     *nettest.Host
		mNL, bNL *netlink.Handle
	}
	labs := map[bool]*lab{}
	for _, im := range impls {
		l := nettest.NewLab(t)
		x := &lab{im: im, m: l.AddHost("m", "10.77.0.1/24"), b: l.AddHost("b", "10.77.0.2/24")}
		x.mNL, x.bNL = x.m.Netlink(), x.b.Netlink()
		labs[im.ours] = x
	}
	var vips []string
	for _, in := range centisecond.instances(true) {
		ip, _, _ := net.ParseCIDR(in.vip)
		vips = append(vips, ip.String())
	}
	mConf := makeConf("m", centisecond.instances(true)...)
	bConf := makeConf("b", centisecond.instances(false)...)
	ps, err := interleave(windows, func(ours bool, pair int) ([]float64, error) {
		l := labs[ours]
		var extra []string
		if ours {
			extra = []string{"--metrics-listen", metricsAddr}
		}
		db := l.im.start(t, l.b, bConf, extra...)
		defer db.Kill()
		dm := l.im.start(t, l.m, mConf, extra...)
		defer dm.Kill()
		if _, ok := nettest.Eventually(20*time.Second, func() bool {
			return countAddrs(l.mNL, vips) == len(vips) && countAddrs(l.bNL, vips) == 0
		}); !ok {
			return nil, fmt.Errorf("the master does not own the %d VIPs alone", len(vips))
		}
		time.Sleep(warmup)
		mLog, bLog := len(dm.Output()), len(db.Output())
		var gc0 [2]histogram
		if ours {
			for i, h := range []*nettest.Host{l.m, l.b} {
				var err error
				if gc0[i], err = scrapeGC(h); err != nil {
					return nil, err
				}
			}
		}
		sent0, err := mcast(l.m, false)
		if err != nil {
			return nil, err
		}
		recv0, err := mcast(l.b, true)
		if err != nil {
			return nil, err
		}
		m0, err := benchproc.Self(dm.Pid())
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		b0, err := benchproc.Self(db.Pid())
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		// From outside: the master holds every VIP and the backup none,
		// ten times a second.
		var c steadyCount
		start := time.Now()
		for time.Since(start) < window {
			time.Sleep(100 * time.Millisecond)
			c.polls++
			if countAddrs(l.mNL, vips) != len(vips) || countAddrs(l.bNL, vips) != 0 {
				c.misplaced++
			}
		}
		m1, err := benchproc.Self(dm.Pid())
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		b1, err := benchproc.Self(db.Pid())
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		elapsed := time.Since(start)
		sent1, err := mcast(l.m, false)
		if err != nil {
			return nil, err
		}
		recv1, err := mcast(l.b, true)
		if err != nil {
			return nil, err
		}
		if ours {
			for i, h := range []*nettest.Host{l.m, l.b} {
				g1, err := scrapeGC(h)
				if err != nil {
					return nil, err
				}
				d, err := g1.sub(gc0[i])
				if err != nil {
					return nil, err
				}
				res.gc = res.gc.add(d)
				if v, err := scrapeValue(h, gcLargest); err == nil {
					res.gcLargest = max(res.gcLargest, v)
				}
			}
		}
		c.logged = transitions(dm.Output()[mLog:]) + transitions(db.Output()[bLog:])
		prev := res.count[ours]
		res.count[ours] = steadyCount{logged: prev.logged + c.logged, misplaced: prev.misplaced + c.misplaced, polls: prev.polls + c.polls}
		sent, recv := sent1-sent0, recv1-recv0
		if sent == 0 || recv == 0 {
			return nil, fmt.Errorf("%d adverts sent and %d received in the window", sent, recv)
		}
		mCPU, bCPU := m1.CPU-m0.CPU, b1.CPU-b0.CPU
		fig := []float64{
			float64(mCPU.Microseconds()) / float64(sent), float64(bCPU.Microseconds()) / float64(recv),
			float64(sent) / elapsed.Seconds(), float64(recv) / elapsed.Seconds(),
		}
		t.Logf("window %d %s (%v): %d transitions logged, %d of %d polls misplaced; master CPU %v for %d adverts sent (%.1f us each), backup CPU %v for %d received (%.1f us each)",
			pair, l.im.name, elapsed.Round(time.Millisecond), c.logged, c.misplaced, c.polls, mCPU, sent, fig[0], bCPU, recv, fig[1])
		if c.logged > 0 {
			t.Logf("window %d %s: master log:\n%s\nbackup log:\n%s", pair, l.im.name, tail(dm.Output()[mLog:], 40), tail(db.Output()[bLog:], 40))
		}
		return fig, nil
	})
	if len(ps) == 4 {
		res.perSent, res.perRecv, res.sent, res.recv = ps[0], ps[1], ps[2], ps[3]
	}
	return res, err
}

// mcast reads the multicast datagrams h's namespace has received (in) or
// sent.
func mcast(h *nettest.Host, in bool) (uint64, error) {
	out, err := h.Exec("cat", "/proc/net/netstat").Output()
	if err != nil {
		return 0, fmt.Errorf("reading /proc/net/netstat in %s: %w", h.NS, err)
	}
	i, o, err := mcastCounts(string(out))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", h.NS, err)
	}
	if in {
		return i, nil
	}
	return o, nil
}

func scrapeGC(h *nettest.Host) (histogram, error) {
	body, err := scrapeMetrics(h)
	if err != nil {
		return histogram{}, err
	}
	return parseHistogram(body, gcPauses)
}

func scrapeValue(h *nettest.Host, series string) (float64, error) {
	body, err := scrapeMetrics(h)
	if err != nil {
		return 0, err
	}
	return gaugeValue(body, series)
}

// scrapeMetrics fetches gokeepalived's /metrics in h's namespace.
func scrapeMetrics(h *nettest.Host) (string, error) {
	// The metrics server may not be listening yet right after start.
	var out []byte
	var err error
	for range 50 {
		out, err = h.Exec("curl", "-sf", "--max-time", "5", "http://"+metricsAddr+"/metrics").Output()
		if err == nil {
			return string(out), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("scraping gokeepalived's metrics in %s: %w", h.NS, err)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// centiRows makes the centisecond set's rows.
func centiRows(steady steadyResult, total time.Duration, fail pairsMs) []benchtab.Row {
	var rows []benchtab.Row
	if steady.perSent.Len() > 0 {
		rows = append(rows,
			spuriousRow(fmt.Sprintf("v3 0.01 s x%d steady: spurious transitions (logs of both; outside polls)", centiRouters),
				total, steady.count[true], steady.count[false]),
			steady.perSent.Row("v3 0.01 s x20 master: CPU per advert sent", "%.1f us", benchtab.AtMost(1)),
			steady.perRecv.Row("v3 0.01 s x20 backup: CPU per advert received", "%.1f us", benchtab.AtMost(1)),
			infoRow("v3 0.01 s x20: adverts per second sent (master) in the windows", "%.0f/s", steady.sent),
			gcRow("v3 0.01 s x20: gokeepalived GC stop-the-world pauses in the windows (master and backup)", steady.gc, steady.gcLargest),
		)
	}
	if len(fail.G) > 0 {
		rows = append(rows, latencyRow(fmt.Sprintf("%s: all %d VIPs on backup after SIGKILL (median / max)", centisecond.name(), centiRouters), centisecond, fail))
	}
	return rows
}
