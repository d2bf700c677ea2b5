package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime/pprof"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// checkers is keepalived's health-checker process: the checks of every
// real server and the IPVS table they decide.
type checkers struct {
	log    logrus.FieldLogger
	handle *ipvs.Handle
	table  *ipvs.Reconciler
	lvs    *lvs.LVS
	alerts *checkerAlerts
	global config.Global
	cfg    *config.Config // for the data file; Reload and Dump run on the same goroutine
}

// newCheckers opens IPVS and builds the checks of cfg's virtual servers.
// vipOwned answers, for ha_suspend, whether a VRRP instance that is MASTER
// here owns an address; observe, if not nil, is told of every attempt.
func newCheckers(cfg *config.Config, s *settings, n *notifier, log logrus.FieldLogger, vipOwned func(netip.Addr) bool, observe func(check.Attempt)) (*checkers, error) {
	h, err := openIPVS()
	if err != nil {
		return nil, err
	}
	table := ipvs.NewReconciler(h, ipvs.ReconcilerConfig{
		Log:            log,
		KeepOnShutdown: s.keepIPVS,
		// The services of the configuration that a previous run left
		// (with -I, or killed) are taken over, as keepalived does;
		// others stay untouched.
		Adopt:           true,
		FlushOnShutdown: cfg.Global.LVSFlushOnStop == config.FlushOnStopAll && !s.keepIPVS,
	})
	alerts := newCheckerAlerts(n.Notifier, n.mailer, cfg)
	l, err := lvs.New(cfg, lvs.Options{
		Table: table,
		Checks: check.NewScheduler(check.Options{Logger: log, Observe: func(a check.Attempt) {
			alerts.observe(a)
			if observe != nil {
				observe(a)
			}
		}}),
		Notifier:        alerts,
		Log:             log,
		VIPOwned:        vipOwned,
		ScriptUser:      &n.user,
		DontReleaseIPVS: s.keepIPVS,
	})
	if err != nil {
		h.Close()
		return nil, err
	}
	return &checkers{log: log, handle: h, table: table, lvs: l, alerts: alerts, global: cfg.Global, cfg: cfg}, nil
}

// cpuProfileEnv names a file that receives a CPU profile of the checker
// loop, from its start to its end. It is for measuring the daemon where
// it runs, as in the checker benchmark's kernel guest; it is no option of
// keepalived's, so it is not on the command line.
const cpuProfileEnv = "GOKEEPALIVED_CHECKER_CPUPROFILE"

// Run applies the global LVS settings, then runs the checks until ctx
// ends; the table is released as the command line says.
func (c *checkers) Run(ctx context.Context) error {
	if path := os.Getenv(cpuProfileEnv); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			c.log.Errorf("%s: %v", cpuProfileEnv, err)
		} else {
			defer stop()
		}
	}
	if c.global.LVSFlush {
		if _, err := c.table.Flush(ctx); err != nil {
			c.log.Errorf("lvs_flush: %v", err)
		}
	}
	t := c.global.LVSTimeouts
	if t.TCP != 0 || t.TCPFin != 0 || t.UDP != 0 {
		if _, err := c.table.SetTimeouts(ctx, ipvs.Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP}); err != nil {
			c.log.Errorf("lvs_timeouts: %v", err)
		}
	}
	return c.lvs.Run(ctx)
}

// Reload hands the new configuration to the checks and the table.
func (c *checkers) Reload(cfg *config.Config) error {
	c.global = cfg.Global
	c.cfg = cfg
	c.alerts.apply(cfg)
	c.lvs.Reload(context.Background(), cfg)
	return nil
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

// close releases the netlink handle once Run has returned.
func (c *checkers) close() { c.handle.Close() }

func upDown(b bool) string {
	if b {
		return "up"
	}
	return "down"
}

func aliveWord(b bool) string {
	if b {
		return "alive"
	}
	return "dead"
}

// status reports the virtual servers for the control socket.
func (c *checkers) status() []control.VirtualServer {
	var out []control.VirtualServer
	for _, vs := range c.lvs.Status() {
		cv := control.VirtualServer{Name: vs.Name, QuorumUp: vs.QuorumUp, SorryServer: vs.SorryServer}
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

// openIPVS opens the kernel's IPVS, or says, as keepalived does, that the
// kernel has none: without the check the first request would fail with a
// misleading error and every pass after it again.
func openIPVS() (*ipvs.Handle, error) {
	if _, err := netlink.GenlFamilyGet("IPVS"); err != nil {
		return nil, fmt.Errorf("IPVS: Can't initialize ipvs: %w (is the ip_vs module loaded?)", err)
	}
	h, err := ipvs.Open("")
	if err != nil {
		return nil, fmt.Errorf("IPVS: Can't initialize ipvs: %w", err)
	}
	return h, nil
}
