package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/dump"
	"github.com/gokeepalived/gokeepalived/internal/logging"
	"github.com/gokeepalived/gokeepalived/internal/notifyhub"
	"github.com/gokeepalived/gokeepalived/internal/pidfile"
	"github.com/gokeepalived/gokeepalived/internal/reaper"
	"github.com/gokeepalived/gokeepalived/internal/safefile"
	"github.com/gokeepalived/gokeepalived/internal/systemd"
	"github.com/gokeepalived/gokeepalived/internal/vrrpdbus"
)

// The signals keepalived answers, beyond HUP, TERM and INT. --signum prints
// the same numbers.
const (
	sigJSON       = syscall.Signal(36) // SIGRTMIN+2
	sigStatsClear = syscall.Signal(63) // SIGRTMAX-1
)

// envDaemonized marks the child of the fork that -n turns off.
const envDaemonized = "GOKEEPALIVED_DAEMONIZED"

// daemon is the running process: its configuration, logs and loops.
type daemon struct {
	s       *settings
	place   place // where the daemon runs, fixed for its life
	log     *logrus.Logger
	sinks   *logging.Sinks
	sd      *systemd.Notifier
	hub     *notifyhub.Hub
	metrics *metrics
	control *control.Server // nil without a control socket
	// dbus is the VRRP D-Bus service (enable_dbus); nil when it does not
	// run. Only the signal loop sets it.
	dbus atomic.Pointer[vrrpdbus.Server]
	// snmp are the AgentX subagents, nil when none runs. Only the
	// signal loop sets it.
	snmp atomic.Pointer[snmpAgents]
	// requests are the D-Bus service's calls for the signal loop, which
	// alone writes the files signals ask for and reloads.
	requests chan func()
	// stopping is closed when the signal loop returns.
	stopping chan struct{}
	// loopPanics counts, by loop, the panics that ended a loop's Run and
	// had supervise start it again.
	loopPanics [numLoops]atomic.Uint64
	// umask is the process's umask; only the signal loop changes it.
	umask int
	// bfd carries BFD session states to the VRRP loop.
	bfd bfdRelay

	mu  sync.Mutex
	cfg *config.Config
	// cfgErrors are the messages of the errors the running
	// configuration was loaded with.
	cfgErrors  []string
	loops      [numLoops]*runningLoop // nil: not running
	started    time.Time
	lastReload time.Time
	wedged     error // why the watchdog is not fed; nil while it is
	drain      directorDrain
}

// runDaemon is gokeepalived without -t, -d, -v or -h: the service itself.
func runDaemon(prog string, args []string, s *settings, stderr io.Writer) int {
	if !s.dontFork && os.Getenv(envDaemonized) == "" {
		return daemonize(prog, args, stderr)
	}
	// keepalived's umask for everything the daemon and its scripts
	// create. The other modes create no file but through safefile,
	// which sets the mode itself.
	unix.Umask(s.umask)
	facility, err := logging.ParseFacility(orDefault(s.logFacility, "daemon"))
	var fe *logging.FacilityError
	if errors.As(err, &fe) {
		// keepalived reports it and carries on with LOG_DAEMON.
		fmt.Fprintln(stderr, fe.Error())
	}
	pl := placeOf(s)
	log, sinks, err := logging.New(logging.Options{
		Ident:    pl.ident(logging.IdentParent),
		Console:  s.logConsole && s.dontFork,
		Detail:   s.logDetail,
		Facility: facility,
		File:     s.logFile,
		FileMode: safefile.Mode(s.umask),
		NoSyslog: s.noSyslog,
		Stderr:   stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived: %v\n", err)
		return exitFatal
	}
	defer sinks.Close()

	if !pl.enter(prog, log) {
		return exitOK
	}
	defer pl.leave(log)
	parentPid, vrrpPid, checkersPid := pl.pidFiles(s)
	pids := []string{parentPid}
	if !s.checkOnly {
		pids = append(pids, vrrpPid)
	}
	if !s.vrrpOnly {
		pids = append(pids, checkersPid)
	}
	if pidfile.Running(log, pids...) {
		log.Info("daemon is already running")
		return exitOK
	}
	for _, p := range pids {
		f, err := pidfile.Create(p)
		if err != nil {
			log.Errorf("pidfile_write : Cannot open %s pidfile", p)
			return exitOK
		}
		defer f.Remove()
	}

	log.Infof("Starting gokeepalived v%s (keepalived 2.2 compatible)", version)
	log.Infof("Command line: '%s'", strings.Join(append([]string{prog}, args...), "' '"))
	log.Infof("Configuration file %s", s.configFile)
	pl.logStart(log)

	d := &daemon{s: s, place: pl, log: log, sinks: sinks, sd: systemd.FromEnvironment(), started: time.Now(), umask: s.umask,
		requests: make(chan func()), stopping: make(chan struct{})}
	pl.read = nil // the daemon's copy hands it on; this one would keep it alive
	d.metrics = newMetrics(d)
	cfg, ok := d.loadConfig(true)
	if !ok {
		return exitConfig
	}
	d.cfg = cfg
	defer startProfiles(log)()
	return d.run()
}

// loadConfig reads the configuration file and logs every diagnostic with
// its file and line. At start-up the daemon runs what it could read, as
// keepalived does. A reload is refused when the new file has an error the
// running configuration did not have, so that a typo never replaces a
// working configuration, while errors the operator already runs with
// (keepalived accepts many) do not block every later reload.
func (d *daemon) loadConfig(startup bool) (*config.Config, bool) {
	var (
		cfg   *config.Config
		diags config.Diagnostics
		err   error
	)
	if r := d.place.read; startup && r != nil && d.place.namespace == "" {
		// Read moments ago, in the namespace the daemon stays in: the
		// same file, parsed with the same options.
		cfg, diags = r.cfg, r.diags
		d.place.read = nil
	} else {
		cfg, diags, err = config.Load(d.s.configFile, config.Options{ConfigID: d.s.configID})
	}
	if err != nil {
		d.log.Errorf("Configuration file %s: %v", d.s.configFile, err)
		return nil, false
	}
	known := make(map[string]bool)
	for _, m := range d.cfgErrors {
		known[m] = true
	}
	var errs []string
	fresh := 0
	for _, dg := range diags {
		if dg.Severity != config.Error {
			d.log.Warn(dg.String())
			continue
		}
		d.log.Error(dg.String())
		errs = append(errs, dg.Msg)
		if !known[dg.Msg] {
			fresh++
		}
	}
	if !startup && fresh > 0 {
		d.log.Errorf("Reload of %s refused: %d new errors; still running the previous configuration", d.s.configFile, fresh)
		return nil, false
	}
	if !startup && !d.sameRestartOnly(cfg) {
		return nil, false
	}
	d.cfgErrors = errs
	d.applyUmask(cfg.Global.Umask)
	return cfg, true
}

// applyUmask makes the umask keyword the process's umask, as keepalived's
// umask_handler does at start-up and on reload, unless -u set it. A
// configuration without the keyword keeps the umask in force.
func (d *daemon) applyUmask(m *int) {
	if m == nil {
		return
	}
	if d.s.umaskCmdline {
		d.log.Info("umask command line option specified, ignoring config option")
		return
	}
	d.umask = *m
	unix.Umask(*m)
	// keepalived's update_log_file_perms.
	if err := d.sinks.SetFileMode(safefile.Mode(*m)); err != nil {
		d.log.Errorf("%v", err)
	}
}

// run starts the loops and answers signals until told to stop.
func (d *daemon) run() int {
	defer close(d.stopping)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT,
		syscall.SIGUSR1, syscall.SIGUSR2, sigJSON, sigStatsClear)
	defer signal.Stop(sigs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Before any script runs, so that what scripts leave behind is
	// reparented here and reaped.
	if err := reaper.Start(ctx, d.log); err != nil {
		d.log.Errorf("%v", err)
	}
	// keepalived runs it before it starts its processes, which open the
	// notify FIFOs.
	g := &d.cfg.Global
	d.runStartStop(ctx, "startup", g, g.StartupScript, g.StartupScriptTimeout)
	hub, err := notifyhub.New(&d.cfg.Global, d.log)
	if err != nil {
		d.log.Errorf("%v", err)
		return exitConfig
	}
	defer hub.Close()
	d.hub = hub
	d.startSNMP(ctx, d.cfg)
	for k := range numLoops {
		if d.wants(k, d.cfg) {
			d.startLoop(ctx, k, d.cfg)
		}
	}
	d.syncDBus(ctx, d.cfg, false)
	if d.s.controlSocket != "" {
		d.control = &control.Server{Path: d.s.controlSocket, Status: d.status, Log: d.log, Command: d.command}
		go func() {
			if err := d.control.Serve(ctx); err != nil {
				d.log.Errorf("%v", err)
			}
		}()
	}
	if d.s.metricsListen != "" {
		go func() {
			if err := d.metrics.serve(ctx, d.s.metricsListen); err != nil {
				d.log.Errorf("metrics on %s: %v", d.s.metricsListen, err)
			}
		}()
	}
	d.sd.Ready()
	go d.sd.Watchdog(ctx, d.healthy)
	go d.reportStatus(ctx)
	d.testStall()

	for {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case f := <-d.requests:
			f()
			continue
		}
		switch sig {
		case syscall.SIGHUP:
			d.doReload(ctx)
		case syscall.SIGUSR1:
			d.writeData()
		case syscall.SIGUSR2, sigStatsClear:
			d.writeStats(sig == sigStatsClear)
		case sigJSON:
			if v := d.vrrpLoop(); v != nil {
				d.writeSignalFile(jsonFile, v.WriteJSON)
			}
		case syscall.SIGTERM, syscall.SIGINT:
			d.log.Info("Stopping")
			d.sd.Stopping()
			d.stopLoops()
			// keepalived's VRRP process says it stops once its
			// instances have.
			d.stopDBus()
			d.stopSNMP()
			d.mu.Lock()
			g := &d.cfg.Global
			d.mu.Unlock()
			d.runStartStop(ctx, "shutdown", g, g.ShutdownScript, g.ShutdownScriptTimeout)
			d.log.Infof("Stopped gokeepalived v%s", version)
			return exitOK
		}
	}
}

// doReload reads the configuration again and hands it to the notify
// outputs and every loop if it is valid; if not, nothing changes.
func (d *daemon) doReload(ctx context.Context) {
	d.log.Info("Reloading ...")
	d.sd.Reloading()
	defer d.sd.Ready()
	d.sinks.Reopen()
	cfg, ok := d.loadConfig(false)
	d.metrics.reloaded(ok)
	if !ok {
		return
	}
	d.mu.Lock()
	d.cfg = cfg
	d.lastReload = time.Now()
	d.mu.Unlock()
	if err := d.hub.Reload(&cfg.Global); err != nil {
		d.log.Errorf("Reloading the notify outputs: %v; keeping the previous ones", err)
	}
	if srv := d.dbus.Load(); srv != nil {
		srv.BeginReload()
	}
	d.reloadLoops(ctx, cfg)
	if v := d.vrrpLoop(); v != nil {
		// The signals of the instances the reload stopped go out
		// before VrrpReloaded, as keepalived's do.
		v.Flush(time.Second)
	}
	d.syncDBus(ctx, cfg, true)
	d.log.Info("Reload finished")
}

// writeData answers SIGUSR1 as keepalived's processes do: VRRP writes
// dataFile and the checkers checkDataFile, each the global definitions
// and then its own part.
func (d *daemon) writeData() {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	// The BGP extension's section follows VRRP's in keepalived.data:
	// both are about the addresses this director holds.
	d.writeLoopData(cfg, dataFile, vrrpKind, bgpKind)
	d.writeLoopData(cfg, checkDataFile, checkerKind)
	d.writeLoopData(cfg, bfdDataFile, bfdKind)
}

// writeLoopData writes a data file with the parts of the loops ks that
// run, if any does: the global definitions of cfg, then each loop's part.
func (d *daemon) writeLoopData(cfg *config.Config, name string, ks ...loopKind) {
	var rs []*runningLoop
	for _, k := range ks {
		if r := d.loopOf(k); r != nil {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return
	}
	d.writeSignalFile(name, func(w io.Writer) error {
		g := cfg.Global
		// keepalived's -s replaces net_namespace.
		g.NetNamespace = d.s.namespaceOf(cfg)
		dump.Global(w, &g)
		for _, r := range rs {
			r.loop.Dump(w)
		}
		return nil
	})
}

// writeStats answers SIGUSR2, or with clear the STATS_CLEAR signal: VRRP
// writes statsFile.
func (d *daemon) writeStats(clear bool) {
	if v := d.vrrpLoop(); v != nil {
		d.writeSignalFile(statsFile, func(w io.Writer) error { v.WriteStats(w, clear); return nil })
	}
}

// writeSignalFile replaces one of the files keepalived writes on a signal,
// logging a failure in keepalived's words.
func (d *daemon) writeSignalFile(name string, write func(io.Writer) error) {
	if err := writeFile(name, d.umask, write); err != nil {
		d.log.Errorf("Can't open %s (%v)", name, err)
	}
}

// daemonize starts the daemon again in the background, in its own session
// and without a terminal, and returns as keepalived's parent does.
func daemonize(prog string, args []string, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived: %v\n", err)
		return exitFatal
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived: %v\n", err)
		return exitFatal
	}
	defer devnull.Close()
	cmd := exec.Command(self, args...)
	cmd.Args[0] = prog
	cmd.Env = append(os.Environ(), envDaemonized+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "gokeepalived: starting the daemon: %v\n", err)
		return exitFatal
	}
	return exitOK
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// status is the snapshot the control socket serves.
func (d *daemon) status() control.Status {
	d.mu.Lock()
	st := control.Status{Version: version, ConfigFile: d.s.configFile, Started: d.started, LastReload: d.lastReload}
	d.mu.Unlock()
	if v := d.vrrpLoop(); v != nil {
		st.Instances = v.Status()
	}
	if c := d.checkerLoop(); c != nil {
		st.VirtualServers = c.Status()
	}
	if b := d.bgpLoop(); b != nil {
		st.BGPPeers, st.BGPAnnouncements = b.Status()
	}
	st.Drains = d.drains()
	return st
}
