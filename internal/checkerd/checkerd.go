// Package checkerd is keepalived's health-checker process as a library:
// it opens the kernel's IPVS, applies the global LVS settings (lvs_flush,
// lvs_timeouts, lvs_sloppy_tcp and lvs_sloppy_sctp), runs the checks of every real server through package lvs
// and the check scheduler, sends the checkers' smtp_alert mails, and
// writes the checker half of keepalived's USR1 data file.
package checkerd

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// Outputs is where the checkers report; *notifyhub.Hub is the daemon's.
type Outputs interface {
	// Notifier runs the scripts and writes the FIFO lines.
	Notifier() *notify.Notifier
	// Mailer sends smtp_alert mails; nil sends none.
	Mailer() *notify.Mailer
}

// Options configure a Loop.
type Options struct {
	// Log receives keepalived's checker messages.
	Log logrus.FieldLogger
	// Notify is where real server and quorum changes are reported.
	Notify Outputs
	// KeepIPVS leaves the IPVS table as it is when the loop stops:
	// keepalived's --dont-release-ipvs.
	KeepIPVS bool
	// VIPOwned answers, for ha_suspend, whether a VRRP instance that is
	// MASTER here holds an address; nil holds every address.
	VIPOwned func(netip.Addr) bool
	// Observe, if set, is told of every check attempt.
	Observe func(check.Attempt)
	// Trap, if set, is told of every real server and quorum change, as
	// keepalived's SNMP notifications are; see lvs.Options.Trap.
	Trap func(lvs.Event)
	// BFDUp tells BFD_CHECK whether the session of a bfd_instance is
	// Up; nil: none is.
	BFDUp func(name string) bool
}

// A Loop runs the checks and the IPVS table of one configuration, and of
// the configurations reloads give it.
type Loop struct {
	log    logrus.FieldLogger
	handle io.Closer // the kernel's IPVS
	// counters reads the kernel's statistics, and dests a service's
	// destinations in the kernel's order; nil without a kernel.
	counters func(ipvs.Service) (ipvs.ServiceCounters, bool, error)
	dests    func(ipvs.Service) ([]ipvs.Destination, error)
	table    *ipvs.Reconciler
	lvs      *lvs.LVS
	checks   *check.Scheduler
	alerts   *checkerAlerts
	notify   Outputs
	// sloppy sets lvs_sloppy_tcp and lvs_sloppy_sctp; keep leaves them
	// as they are when the loop stops, with the table.
	sloppy *sloppySysctls
	keep   bool
	// drainWake wakes the watch of draining real servers.
	drainWake chan struct{}

	mu  sync.Mutex
	cfg *config.Config // the running configuration, for Run and the data file
	// started is set once a Run has applied the global LVS settings:
	// the Runs that follow one that failed take the table over as it is.
	started bool
}

// New opens IPVS and builds the checks of cfg's virtual servers.
func New(cfg *config.Config, opts Options) (*Loop, error) {
	h, err := ipvs.OpenKernel()
	if err != nil {
		return nil, err
	}
	l, err := newLoop(cfg, opts, h, h)
	if err != nil {
		h.Close()
		return nil, err
	}
	l.counters = h.ServiceCounters
	l.dests = h.Destinations
	return l, nil
}

// newLoop is New on the IPVS table k, which closer releases.
func newLoop(cfg *config.Config, opts Options, k ipvs.Kernel, closer io.Closer) (*Loop, error) {
	table := ipvs.NewReconciler(k, ipvs.ReconcilerConfig{
		Log:            opts.Log,
		KeepOnShutdown: opts.KeepIPVS,
		// The services of the configuration that a previous run left
		// (with -I, or killed) are taken over, as keepalived does;
		// others stay untouched.
		Adopt:           true,
		FlushOnShutdown: cfg.Global.LVSFlushOnStop == config.FlushOnStopAll && !opts.KeepIPVS,
	})
	alerts := newCheckerAlerts(opts.Notify, cfg)
	observe := opts.Observe
	var begun sync.Once
	checks := check.NewScheduler(check.Options{Logger: opts.Log, Observe: func(a check.Attempt) {
		// The observer runs under the scheduler's lock: the
		// collection runs apart.
		begun.Do(func() { go collectStartup() })
		alerts.observe(a)
		if observe != nil {
			observe(a)
		}
	}})
	l, err := lvs.New(cfg, lvs.Options{
		Table:           table,
		Checks:          checks,
		Notifier:        alerts,
		Log:             opts.Log,
		VIPOwned:        opts.VIPOwned,
		DontReleaseIPVS: opts.KeepIPVS,
		Trap:            opts.Trap,
		BFDUp:           opts.BFDUp,
	})
	if err != nil {
		return nil, err
	}
	reportViolation(opts.Log, cfg, opts.Notify)
	return &Loop{log: opts.Log, handle: closer, table: table, lvs: l, checks: checks, alerts: alerts, cfg: cfg, notify: opts.Notify,
		drainWake: make(chan struct{}, 1), sloppy: newSloppySysctls(ipvsSysctlDir), keep: opts.KeepIPVS}, nil
}

// collectStartup runs one garbage collection as the first check ends.
// Building the checks (a record per real server in lvs, the scheduler
// and the mail records, the first programming of the IPVS table, a log
// line per checker) holds a transient heap that the collector would take
// as the size to double: with 10,000 + 2,000 real servers, 30 MB live
// while lvs starts them against 25 MB once they run, and the heap grew
// to twice the former in the first seconds of checks. One collection
// once they have begun sets the goal from what stays, for about 15 ms of
// CPU, once per loop.
func collectStartup() { runtime.GC() }

// cpuProfileEnv names a file that receives a CPU profile of the checker
// loop, from its start to its end. It is for measuring the daemon where
// it runs, as in the checker benchmark's kernel guest; it is no option of
// keepalived's, so it is not on the command line.
const cpuProfileEnv = "GOKEEPALIVED_CHECKER_CPUPROFILE"

// Run applies the global LVS settings, then runs the checks until ctx
// ends; the table is released as the command line says. A Run after one
// that failed (a panic, say, which the daemon's supervisor contains)
// takes over the table and the real servers' state as they are: the
// settings are not applied again, so lvs_flush does not empty the table
// the first Run programmed.
func (l *Loop) Run(ctx context.Context) error {
	if path := os.Getenv(cpuProfileEnv); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			l.log.Errorf("%s: %v", cpuProfileEnv, err)
		} else {
			defer stop()
		}
	}
	l.mu.Lock()
	g, first := l.cfg.Global, !l.started
	l.started = true
	l.mu.Unlock()
	if first {
		if g.LVSFlush {
			if _, err := l.table.Flush(ctx); err != nil {
				l.log.Errorf("lvs_flush: %v", err)
			}
		}
		l.setTimeouts(ctx, g.LVSTimeouts)
		l.setSloppy(g)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go l.watchDrains(wctx)
	// Drains carried over a restart of the loop resume their watch.
	select {
	case l.drainWake <- struct{}{}:
	default:
	}
	return l.lvs.Run(ctx)
}

// setTimeouts applies lvs_timeouts; the reconciler restores the kernel's
// own for those the configuration no longer sets.
func (l *Loop) setTimeouts(ctx context.Context, t config.LVSTimeouts) {
	if _, err := l.table.SetTimeouts(ctx, ipvs.Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP}); err != nil {
		l.log.Errorf("lvs_timeouts: %v", err)
	}
}

// setSloppy applies lvs_sloppy_tcp and lvs_sloppy_sctp.
func (l *Loop) setSloppy(g config.Global) {
	if err := l.sloppy.apply(g.LVSSloppyTCP, g.LVSSloppySCTP); err != nil {
		l.log.Errorf("lvs_sloppy_tcp/lvs_sloppy_sctp: %v", err)
	}
}

// Reload hands the new configuration to the checks and the table.
func (l *Loop) Reload(ctx context.Context, cfg *config.Config) error {
	l.mu.Lock()
	old := l.cfg.Global.LVSTimeouts
	oldTCP, oldSCTP := l.cfg.Global.LVSSloppyTCP, l.cfg.Global.LVSSloppySCTP
	l.cfg = cfg
	started := l.started
	l.mu.Unlock()
	// keepalived applies lvs_timeouts again on reload; before the first
	// Run, that Run applies them.
	if started && cfg.Global.LVSTimeouts != old {
		l.setTimeouts(ctx, cfg.Global.LVSTimeouts)
	}
	if started && (cfg.Global.LVSSloppyTCP != oldTCP || cfg.Global.LVSSloppySCTP != oldSCTP) {
		l.setSloppy(cfg.Global)
	}
	l.alerts.apply(cfg)
	l.lvs.Reload(ctx, cfg)
	reportViolation(l.log, cfg, l.notify)
	return nil
}

// Close releases the netlink handle once Run has returned, and before it
// what a Run that failed left in the table, unless the command line says
// to keep it: the loop can stop between a failed Run and the next.
func (l *Loop) Close() {
	if err := l.lvs.Close(); err != nil {
		l.log.Errorf("Releasing the IPVS table: %v", err)
	}
	// The kernel's settings go back with the table it releases.
	if !l.keep {
		if err := l.sloppy.restore(); err != nil {
			l.log.Errorf("lvs_sloppy_tcp/lvs_sloppy_sctp: %v", err)
		}
	}
	l.handle.Close()
}

// VIPsChanged tells the checks that the answers of Options.VIPOwned may
// have changed.
func (l *Loop) VIPsChanged() { l.lvs.VIPsChanged() }

// Servers returns the live state of every virtual and real server.
func (l *Loop) Servers() []lvs.VirtualServerStatus { return l.lvs.Status() }

// FailedCheckers returns how many of a real server's checkers fail now,
// keepalived's num_failed_checkers: those whose latest attempt failed,
// and those in alpha mode that have not run yet.
func (l *Loop) FailedCheckers(vs *config.VirtualServer, rs *config.RealServer) int {
	n := 0
	for i := range rs.Checkers {
		c := &rs.Checkers[i]
		ok, ran, _ := l.alerts.lastAttempt(vs, rs, c.Type)
		if (ran && !ok) || (!ran && c.Timing.Alpha) {
			n++
		}
	}
	return n
}

// Counters reads the kernel's counters of a virtual server's services,
// as keepalived's ipvs_update_stats does: summed over the services of
// its group, and for each real server over its destinations in them.
func (l *Loop) Counters(vs lvs.VirtualServerStatus) (ipvs.Counters, map[netip.AddrPort]ipvs.DestinationCounters, error) {
	var total ipvs.Counters
	dests := make(map[netip.AddrPort]ipvs.DestinationCounters)
	if l.counters == nil {
		return total, dests, nil
	}
	for _, s := range vs.Services {
		sc, ok, err := l.counters(s)
		if err != nil {
			return total, dests, err
		}
		if !ok {
			continue
		}
		addCounters(&total, sc.Counters)
		for _, d := range sc.Destinations {
			have := dests[d.Addr]
			addCounters(&have.Counters, d.Counters)
			have.ActiveConns += d.ActiveConns
			have.InactConns += d.InactConns
			have.PersistConns += d.PersistConns
			dests[d.Addr] = have
		}
	}
	return total, dests, nil
}

func addCounters(to *ipvs.Counters, c ipvs.Counters) {
	to.Conns += c.Conns
	to.InPkts += c.InPkts
	to.OutPkts += c.OutPkts
	to.InBytes += c.InBytes
	to.OutBytes += c.OutBytes
	to.CPS += c.CPS
	to.InPPS += c.InPPS
	to.OutPPS += c.OutPPS
	to.InBPS += c.InBPS
	to.OutBPS += c.OutBPS
}

// Running reports whether the checkers have started the virtual servers
// and not yet shut them down.
func (l *Loop) Running() bool { return l.lvs.Running() }

// Panics returns the number of panics contained in the check attempts;
// see check.Scheduler.Panics.
func (l *Loop) Panics() uint64 { return l.checks.Panics() }

// Progress returns when the checker loop last showed that it works (see
// lvs.LVS.Progress).
func (l *Loop) Progress() time.Time { return l.lvs.Progress() }

// TableStats returns the reconciler's counters.
func (l *Loop) TableStats() ipvs.Stats { return l.table.Stats() }

// OrderFingerprint reads the destinations of an mh virtual server's
// services back from the kernel, in the kernel's order, and returns their
// ipvs.OrderFingerprint: directors whose kernels would send a client to
// different real servers show different values. ok is false for a
// virtual server of another scheduler, without a kernel, or when the read
// fails.
func (l *Loop) OrderFingerprint(vs lvs.VirtualServerStatus) (fp uint32, ok bool) {
	if l.dests == nil || len(vs.Services) == 0 {
		return 0, false
	}
	lists := make([][]ipvs.Destination, 0, len(vs.Services))
	for _, s := range vs.Services {
		if s.Scheduler != "mh" {
			return 0, false
		}
		ds, err := l.dests(s)
		if err != nil {
			l.log.Debugf("Reading the destinations of %s: %v", vs.Name, err)
			return 0, false
		}
		lists = append(lists, ds)
	}
	return ipvs.OrderFingerprint(lists...), true
}

// Status reports the virtual servers for the control socket.
func (l *Loop) Status() []control.VirtualServer {
	var out []control.VirtualServer
	for _, vs := range l.lvs.Status() {
		cv := control.VirtualServer{Name: vs.Name, QuorumUp: vs.QuorumUp, SorryServer: vs.SorryServer}
		if fp, ok := l.OrderFingerprint(vs); ok {
			cv.OrderFingerprint = &fp
		}
		for _, rs := range vs.RealServers {
			cv.RealServers = append(cv.RealServers, control.RealServer{
				Name: rs.Name, Alive: rs.Alive, InPool: rs.InPool, Weight: rs.Weight,
				Configured: rs.Configured, LastResult: rs.LastResult, LastChange: rs.LastChange,
			})
		}
		out = append(out, cv)
	}
	return out
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting CPU profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
