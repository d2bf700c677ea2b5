package lvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// Checks runs the health checks of real servers and reports their
// changes of state; *check.Scheduler implements it.
type Checks interface {
	Add(check.Server) error
	Remove(name string)
	Events() <-chan check.Event
	Run(ctx context.Context) error
	// Resend delivers the current state of every server again.
	Resend()
}

// A Table is the kernel's IPVS table as a reconciler keeps it;
// *ipvs.Reconciler implements it.
type Table interface {
	// Reconcile makes the table hold exactly the desired services among
	// those it owns.
	Reconcile(ctx context.Context, desired []ipvs.Service) ([]ipvs.Op, error)
	// ReconcileServices is Reconcile narrowed to the services with the
	// given keys.
	ReconcileServices(ctx context.Context, desired []ipvs.Service, keys ...ipvs.ServiceKey) ([]ipvs.Op, error)
	// Shutdown removes what the table owns.
	Shutdown(ctx context.Context) ([]ipvs.Op, error)
}

// DefaultShutdownTimeout bounds the removal of the IPVS entries at
// shutdown.
const DefaultShutdownTimeout = 10 * time.Second

// Options configure an LVS. Table is required.
type Options struct {
	// Table is the IPVS table to program.
	Table Table
	// Checks runs the checks; nil means a check.Scheduler logging to Log.
	Checks Checks
	// Notifier reports real server and quorum changes; nil reports
	// nothing.
	Notifier Notifier
	// Log receives keepalived's messages; nil discards them.
	Log logrus.FieldLogger
	// Clock drives the periodic reconcile; nil means check.SystemClock.
	Clock check.Clock
	// ResyncInterval is the period of the full reconcile that undoes
	// changes made to the table behind the daemon's back. Zero means the
	// smallest delay_loop of the virtual servers, but not under
	// MinResyncInterval, stretched to ResyncCost times the duration of a
	// full reconcile that changed nothing (the shorter of the last two):
	// a full pass reads back every service and destination, and with
	// tens of thousands of them a pass every delay_loop would cost more
	// CPU than the checks themselves. An ordinary table is resynced
	// every delay_loop or MinResyncInterval; a huge one takes at most
	// 1/ResyncCost of one CPU.
	ResyncInterval time.Duration
	// VIPOwned tells, for virtual servers with ha_suspend, whether an
	// address is a virtual address of a VRRP instance that is MASTER on
	// this node. Nil owns every address. Call VIPsChanged when its
	// answers change.
	VIPOwned func(netip.Addr) bool
	// ScriptUser runs the scripts that name no user; nil means
	// notify.DefaultUser of the configuration's global_defs.
	ScriptUser *notify.Credential
	// Trap, if set, is told of every Event, under the LVS's lock: it must
	// not block nor call the LVS.
	Trap func(Event)
	// DontReleaseIPVS leaves the table alone at shutdown, as keepalived's
	// --dont-release-ipvs: no entry is removed and omega reports nothing.
	DontReleaseIPVS bool
	// BFDUp tells BFD_CHECK whether the session of a bfd_instance is
	// Up; nil: none is.
	BFDUp func(name string) bool
}

// MinResyncInterval is the shortest period of the full reconcile when
// Options.ResyncInterval is zero. keepalived never reads its table back;
// with delay_loop 1 and 120 real servers, a read-back every second was a
// tenth of the daemon's CPU.
const MinResyncInterval = 5 * time.Second

// ResyncCost is the factor by which the period of the full reconcile
// exceeds the duration of one, when Options.ResyncInterval is zero: the
// resync of a huge table takes at most half a percent of one CPU.
// keepalived never reads its table back, and at 1,000 real servers a
// budget of 2% was an eighth of all the CPU the daemon spent on the
// checks.
const ResyncCost = 200

// An LVS runs keepalived's checker logic for one configuration: it checks
// every real server of every virtual server, keeps the IPVS table equal
// to what their health calls for, and reports the changes.
type LVS struct {
	progress atomic.Int64 // UnixNano of the last heartbeat
	log      logrus.FieldLogger
	checks   Checks
	table    Table
	clock    check.Clock
	resync   time.Duration // Options.ResyncInterval
	owned    func(netip.Addr) bool
	keep     bool
	userSet  bool // the script user was given, not taken from global_defs
	vipsChan chan struct{}

	mu sync.Mutex // guards everything below
	m  machine
	// pass is what a full reconcile costs when the table is as it should
	// be: the shorter of the last two that changed nothing (zero until
	// there are two). A pass that repaired the table, or one slowed once
	// by load, does not stretch the resync of an ordinary table beyond
	// delay_loop.
	pass, lastPass time.Duration
	cfg            *config.Config
	user           *notify.Credential
	bfdUp          func(string) bool
	vss            []*virtualServer
	servers        map[string]serverRef // by check name
	// running is set from the first start of the virtual servers to the
	// shutdown: the state is live and the table is programmed, whether
	// or not a Run is under way.
	running bool
	// inRun is set while a Run is under way.
	inRun bool
	// begun is set once a Run has begun to start the virtual servers,
	// stopped once one has shut them down.
	begun, stopped bool

	// testPanic, when set, is called by Run with each event before it is
	// handled, and testPanicBegin as a first start gives the checks
	// their servers, so that tests can make Run panic there.
	testPanic      func(check.Event)
	testPanicBegin func()
}

type serverRef struct {
	vs *virtualServer
	rs *realServer
}

// New returns an LVS for cfg; checks and table changes begin with Run.
func New(cfg *config.Config, opts Options) (*LVS, error) {
	if opts.Table == nil {
		return nil, errors.New("creating LVS: no IPVS table")
	}
	log := opts.Log
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	l := &LVS{
		log:      log,
		checks:   opts.Checks,
		table:    opts.Table,
		clock:    opts.Clock,
		resync:   opts.ResyncInterval,
		owned:    opts.VIPOwned,
		keep:     opts.DontReleaseIPVS,
		user:     opts.ScriptUser,
		bfdUp:    opts.BFDUp,
		userSet:  opts.ScriptUser != nil,
		vipsChan: make(chan struct{}, 1),
		m:        machine{log: log, notifier: opts.Notifier, trap: opts.Trap},
	}
	if l.checks == nil {
		l.checks = check.NewScheduler(check.Options{Logger: log})
	}
	if l.clock == nil {
		l.clock = check.SystemClock{}
	}
	l.load(cfg)
	return l, nil
}

// load makes the state of a configuration, without starting anything.
func (l *LVS) load(cfg *config.Config) {
	if !l.userSet {
		l.user = nil
		g := &cfg.Global
		if c, err := notify.DefaultUser(g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity); err != nil {
			l.log.WithError(err).Warn("No default script user: scripts that name no user are ignored")
		} else {
			l.user = &c
		}
	}
	l.cfg = cfg
	l.m.initNotifies = cfg.Global.RSInitNotifies
	l.logRefusedMisc(cfg)
	l.vss = make([]*virtualServer, len(cfg.VirtualServers))
	total := 0
	for i := range cfg.VirtualServers {
		l.vss[i] = newVirtualServer(&cfg.VirtualServers[i], l.script)
		total += len(l.vss[i].rs)
	}
	owner := make(map[ipvs.ServiceKey]string, len(l.vss))
	for _, vs := range l.vss {
		for _, s := range Services(vs.cfg, cfg.VirtualServerGroups, State{}, nil) {
			if first, dup := owner[s.Key()]; dup {
				l.log.Warnf("VS %s: service %s is already VS %s's - ignoring it", vs.name, s, first)
				continue
			}
			owner[s.Key()] = vs.name
		}
	}
	// The real servers' names are already formatted: CheckNames would
	// format each again.
	plain := make([]string, 0, total)
	for _, vs := range l.vss {
		for _, rs := range vs.rs {
			plain = append(plain, rs.name)
		}
	}
	names := checkNames(cfg, plain)
	l.servers = make(map[string]serverRef, total)
	k := 0
	for _, vs := range l.vss {
		for _, rs := range vs.rs {
			rs.check = names[k]
			k++
			l.servers[rs.check] = serverRef{vs, rs}
		}
	}
}

// logRefusedMisc reports the MISC_CHECK scripts of cfg that script
// security refuses, in keepalived's words, when the configuration is
// loaded: before the other scripts, as keepalived checks them first.
func (l *LVS) logRefusedMisc(cfg *config.Config) {
	env := checkEnv(cfg, l.user, l.bfdUp)
	for i := range cfg.VirtualServers {
		for j := range cfg.VirtualServers[i].RealServers {
			for _, c := range cfg.VirtualServers[i].RealServers[j].Checkers {
				if c.Misc == nil {
					continue
				}
				var refused *ScriptRefusedError
				if _, err := env.miscCheck(&c); errors.As(err, &refused) {
					for _, m := range refused.Messages {
						l.log.Error(m)
					}
				}
			}
		}
	}
}

// CheckNames names each real server of cfg for the check scheduler: as
// keepalived logs it, "[10.0.0.2]:tcp:80", followed by " of VS ..." for a
// real server several virtual servers share, and by " #2", " #3" ... for
// one a virtual server lists twice. The checks' attempts and events carry
// these names. They come in the order of cfg's virtual servers and of
// their real servers: a reload names ten thousand real servers, and a
// map by real server cost more than all the names.
func CheckNames(cfg *config.Config) []string {
	total := 0
	for i := range cfg.VirtualServers {
		total += len(cfg.VirtualServers[i].RealServers)
	}
	plain := make([]string, 0, total)
	for i := range cfg.VirtualServers {
		plain = append(plain, realServerNames(&cfg.VirtualServers[i])...)
	}
	return checkNames(cfg, plain)
}

// checkNames makes the names of CheckNames from the real servers' own
// names, plain, in the order of cfg's virtual servers and theirs.
func checkNames(cfg *config.Config, plain []string) []string {
	count := make(map[string]int, len(plain))
	for _, n := range plain {
		count[n]++
	}
	names := make([]string, 0, len(plain))
	used := make(map[string]bool, len(plain))
	var (
		buf  []byte
		ends []int
	)
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		own := plain[len(names) : len(names)+len(vs.RealServers)]
		// The names that several virtual servers share take this one's
		// name after them, all written into one string: when every
		// virtual server has the same real servers, each name has it.
		buf, ends = buf[:0], ends[:0]
		vsName := ""
		for _, n := range own {
			buf = append(buf, n...)
			if count[n] > 1 {
				if vsName == "" {
					vsName = vs.Name()
				}
				buf = append(buf, " of VS "...)
				buf = append(buf, vsName...)
			}
			ends = append(ends, len(buf))
		}
		if vsName != "" {
			all, start := string(buf), 0
			own = make([]string, len(ends))
			for j, end := range ends {
				own[j], start = all[start:end], end
			}
		}
		for _, n := range own {
			for base, i := n, 2; used[n]; i++ {
				n = fmt.Sprintf("%s #%d", base, i)
			}
			used[n] = true
			names = append(names, n)
		}
	}
	return names
}

// script builds a notify script from its configuration keyword; keepalived
// ignores, with a log line, one it cannot use, and one its script
// security refuses (check_check_script_security's
// check_notify_script_secure on notify_up, notify_down, quorum_up and
// quorum_down).
func (l *LVS) script(n *config.Notify, keyword string) *notify.Script {
	if n == nil {
		return nil
	}
	s, err := notify.NewScript(keyword, n.Cmd, n.User, n.Group, l.user)
	if err != nil {
		l.log.WithField("pos", n.Pos.String()).Warn(err.Error())
		return nil
	}
	sec := notify.Security{Enabled: l.cfg.Global.EnableScriptSecurity, Log: l.log}
	if !sec.Check(s) {
		return nil
	}
	return s
}

// addChecks gives a real server's checks to the scheduler. With carry,
// the checks start in the state the real server already has instead of
// the configured one, so that replacing them on reload does not flap it:
// a failed server stays out until all its new checks pass, as keepalived
// makes new checkers of a failed server start down.
func (l *LVS) addChecks(vs *virtualServer, rs *realServer, carry bool) {
	srv, err := CheckServer(rs.check, vs.cfg, rs.cfg, checkEnv(l.cfg, l.user, l.bfdUp))
	if err != nil {
		l.logCheckErrors(err)
	}
	if carry {
		for i := range srv.Checks {
			if _, ok := srv.Checks[i].Checker.(failing); !ok {
				srv.Checks[i].Timing.Alpha = !rs.alive
			}
		}
	}
	act := "A"
	if vs.cfg.HASuspend && l.owned != nil && len(vs.services) == 0 {
		act = "Dea"
	}
	for _, c := range srv.Checks {
		if _, ok := c.Checker.(*check.BFDCheck); ok {
			// keepalived's BFD checker has nothing to launch: it
			// waits for the BFD process's events, and says nothing.
			continue
		}
		l.log.Infof("%sctivating healthchecker for service %s for VS %s", act, rs.name, vs.name)
	}
	if err := l.checks.Add(srv); err != nil {
		l.log.WithError(err).Error("Adding real server checks")
	}
}

// logCheckErrors logs each checker CheckServer could not build.
func (l *LVS) logCheckErrors(err error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, err := range errs {
		var refused *ScriptRefusedError
		var ce *CheckerError
		switch {
		case errors.As(err, &refused):
			// A script that script security refused was reported when
			// the configuration was loaded.
		case errors.As(err, &ce):
			l.log.WithField("pos", ce.Pos.String()).Warn(err.Error())
		default:
			l.log.WithError(err).Warn("Checker left out")
		}
	}
}

// VIPsChanged tells a running LVS that the answers of Options.VIPOwned
// may have changed, so that ha_suspend services come and go.
func (l *LVS) VIPsChanged() {
	select {
	case l.vipsChan <- struct{}{}:
	default:
	}
}

// Run starts every virtual server, runs the checks and applies their
// verdicts until ctx is done, then shuts down as keepalived does: omega
// notifies, and the entries the table owns are removed (unless
// DontReleaseIPVS). It returns ctx's error, joined with any error of the
// shutdown's table changes.
//
// A Run that ends otherwise, by a panic or because the checks failed,
// stops the checks and leaves the state and the table as they are: the
// next Run takes them over, without a flush, a release or a transition
// of any real server, reconciles the table with the state and starts the
// checks again. Call Close when no Run will follow. Once shut down, an
// LVS does not run again.
func (l *LVS) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.inRun {
		l.mu.Unlock()
		return errors.New("LVS already running")
	}
	l.inRun = true
	l.mu.Unlock()
	// Cleared however Run ends, a panic in begin included, or no Run
	// could follow.
	defer func() {
		l.mu.Lock()
		l.inRun = false
		l.mu.Unlock()
	}()
	resync, err := l.begin(ctx)
	if err != nil {
		return err
	}

	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.checks.Run(cctx) }()
	// However Run ends, a panic included, the checks end with it: they
	// must not go on with no one to take their events, and the next Run
	// starts them again.
	checksEnded := false
	defer func() {
		if !checksEnded {
			cancel()
			<-done
		}
	}()

	timer := l.clock.NewTimer(resync)
	defer timer.Stop()
	// The wall clock's, not Options.Clock's: progress is what a watchdog
	// outside the process sees.
	beat := time.NewTicker(HeartbeatInterval)
	defer beat.Stop()
	l.heartbeat()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			checksEnded = true
			return errors.Join(ctx.Err(), l.shutdown())
		case <-beat.C:
			l.heartbeat()
		case ev := <-l.checks.Events():
			if l.testPanic != nil {
				l.testPanic(ev)
			}
			l.Handle(ctx, ev)
		case <-l.vipsChan:
			l.apply(ctx)
		case <-timer.C():
			timer.Reset(l.apply(ctx))
		case err := <-done:
			checksEnded = true
			cancel()
			return fmt.Errorf("running checks: %w", err)
		}
	}
}

// HeartbeatInterval is how often a running LVS records its Progress.
const HeartbeatInterval = time.Second

// heartbeat takes the lock and records the time: what a goroutine wedged
// while holding it would stop.
func (l *LVS) heartbeat() {
	l.mu.Lock()
	l.progress.Store(time.Now().UnixNano())
	l.mu.Unlock()
}

// Progress returns when Run last showed that it works: its loop runs and
// its lock can be taken. A time that stops moving means a wedged loop.
func (l *LVS) Progress() time.Time { return time.Unix(0, l.progress.Load()) }

// apply brings the whole table to the state, and returns the period of
// the next full reconcile.
func (l *LVS) apply(ctx context.Context) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applyLocked(ctx)
	return l.resyncIntervalLocked()
}

// begin starts every virtual server and its checks and programs the
// table, or takes over those of a Run that ended without a shutdown; it
// returns the period of the full reconcile.
func (l *LVS) begin(ctx context.Context) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.stopped:
		return 0, errors.New("LVS already ran")
	case l.running:
		// The state is what the last verdicts made it and the checks
		// still hold their servers: nothing starts again. The table
		// is brought to the state, in case the last Run ended between
		// a change of state and its table change, and the checks
		// report every server again, in case it ended with an event
		// taken and not applied: only a state that was lost changes.
		l.log.Info("Taking over the IPVS table and the real servers' state")
		l.applyLocked(ctx)
		l.checks.Resend()
		return l.resyncIntervalLocked(), nil
	}
	// A first start that a panic cut short starts again from the
	// beginning: the checks it gave are taken back first.
	retry := l.begun
	l.begun = true
	for _, vs := range l.vss {
		l.m.start(vs)
		l.refreshLocked(vs)
	}
	if l.testPanicBegin != nil {
		l.testPanicBegin()
	}
	for _, vs := range l.vss {
		for _, rs := range vs.rs {
			if retry {
				l.checks.Remove(rs.check)
			}
			l.addChecks(vs, rs, false)
		}
	}
	l.running = true
	l.applyLocked(ctx)
	return l.resyncIntervalLocked(), nil
}

// Close shuts down what a Run that ended without a shutdown left running,
// as Run's own shutdown does: when the loop stops between a failed Run
// and the next, the table is released all the same. It does nothing once
// Run has shut down, or while a Run is under way.
func (l *LVS) Close() error {
	l.mu.Lock()
	if l.inRun {
		l.mu.Unlock()
		return nil
	}
	live := l.running
	l.stopped = true
	l.mu.Unlock()
	if !live {
		return nil
	}
	return l.shutdown()
}

// resyncIntervalLocked is the period of the full reconcile, as
// Options.ResyncInterval defines it.
func (l *LVS) resyncIntervalLocked() time.Duration {
	if l.resync > 0 {
		return l.resync
	}
	d := check.DefaultDelayLoop
	for _, vs := range l.vss {
		if dl := vs.cfg.Timing.DelayLoop; dl > 0 && dl < d {
			d = dl
		}
	}
	return max(d, MinResyncInterval, ResyncCost*l.pass)
}

// Handle applies one event of the checks: the real server's effective
// weight first, then its state, as keepalived's checkers do, and the
// table changes they call for. Run calls it for each event; it is
// exported for drivers that run the checks themselves.
func (l *LVS) Handle(ctx context.Context, ev check.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ref, ok := l.servers[ev.Server]
	if !ok || !l.running {
		return
	}
	vs, rs := ref.vs, ref.rs
	if ev.Reason != "" {
		rs.result, rs.since = ev.Reason, ev.Time
	}
	// An event changes its real server and the quorum of its virtual
	// server, nothing else of the State: they tell whether the services
	// change, without a copy of the State for each of the ten thousand
	// events of a large table's start.
	alive, weight, quorumUp := rs.alive, rs.weight, vs.quorumUp
	l.m.setWeight(vs, rs, ev.Weight)
	l.m.setAlive(vs, rs, ev.Up)
	if ev.Confirmed && !rs.alive {
		// An alpha checker's first failure changes nothing, yet
		// keepalived runs notify_down for it.
		l.m.rsNotify(vs, rs, false)
	}
	if rs.alive == alive && rs.weight == weight && vs.quorumUp == quorumUp {
		return
	}
	// Only this virtual server's services can have changed: only they
	// are read back and converged.
	keys := vs.keys()
	l.refreshLocked(vs)
	for _, k := range vs.keys() {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if _, err := l.table.ReconcileServices(ctx, l.desiredLocked(keys...), keys...); err != nil && ctx.Err() == nil {
		l.log.WithError(err).Warn("IPVS table not fully applied")
	}
}

// refreshLocked recomputes the services a virtual server calls for.
func (l *LVS) refreshLocked(vs *virtualServer) {
	vs.services = Services(vs.cfg, l.cfg.VirtualServerGroups, vs.state(), l.owned)
}

// desiredLocked is the table the virtual servers call for: all of it, or
// only the services with the given keys, so that a change of one real
// server does not copy the whole table. A service that two virtual
// servers declare is the first one's, as the kernel holds it once.
func (l *LVS) desiredLocked(keys ...ipvs.ServiceKey) []ipvs.Service {
	var all []ipvs.Service
	var seen map[ipvs.ServiceKey]bool
	if len(keys) == 0 {
		all = make([]ipvs.Service, 0, len(l.vss))
		seen = make(map[ipvs.ServiceKey]bool, len(l.vss))
	} else {
		seen = make(map[ipvs.ServiceKey]bool, len(keys))
	}
	for _, vs := range l.vss {
		for _, s := range vs.services {
			k := s.Key()
			if len(keys) > 0 && !slices.Contains(keys, k) {
				continue
			}
			if !seen[k] {
				seen[k] = true
				all = append(all, s)
			}
		}
	}
	return all
}

// applyLocked recomputes every virtual server's services and brings the
// whole kernel table to them. Failures are logged, in keepalived's words,
// by the table; the next change or resync tries again.
func (l *LVS) applyLocked(ctx context.Context) {
	start := l.clock.Now()
	for _, vs := range l.vss {
		l.refreshLocked(vs)
	}
	ops, err := l.table.Reconcile(ctx, l.desiredLocked())
	if err != nil && ctx.Err() == nil {
		l.log.WithError(err).Warn("IPVS table not fully applied")
	}
	if err != nil || len(ops) > 0 {
		return
	}
	took := l.clock.Now().Sub(start)
	l.pass, l.lastPass = min(took, l.lastPass), took
}

// shutdown is keepalived's clear_services.
func (l *LVS) shutdown() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running, l.stopped = false, true
	if l.keep {
		return nil
	}
	for _, vs := range l.vss {
		l.m.clearVS(vs, true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownTimeout)
	defer cancel()
	if _, err := l.table.Shutdown(ctx); err != nil {
		return fmt.Errorf("removing IPVS entries: %w", err)
	}
	return nil
}

// Reload replaces the configuration as keepalived's reload does: virtual
// servers and real servers that stay keep their state, and real servers
// whose checkers and weight are unchanged keep their checks running
// without a new verdict; changed checks are replaced, removed ones
// stopped, and the table changes only where the configuration or the
// state did. A real server whose checks changed starts them afresh: its
// state is what the new checks report first.
//
// Before Run, Reload only replaces the configuration Run will start.
func (l *LVS) Reload(ctx context.Context, cfg *config.Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running {
		l.load(cfg)
		return
	}
	prev := l.desiredLocked()
	old := l.vss
	l.load(cfg)

	byKey := make(map[vsIdentity]*virtualServer, len(old))
	for _, vs := range old {
		byKey[vs.key] = vs
	}
	// One map serves every virtual server in turn.
	var oldRS map[netip.AddrPort]*realServer
	for _, nvs := range l.vss {
		k := nvs.key
		ovs := byKey[k]
		if ovs == nil {
			l.m.start(nvs)
			continue
		}
		delete(byKey, k)
		nvs.quorumUp, nvs.sorryIn = ovs.quorumUp, ovs.sorryIn
		if oldRS == nil {
			oldRS = make(map[netip.AddrPort]*realServer, len(ovs.rs))
		}
		clear(oldRS)
		for _, rs := range ovs.rs {
			oldRS[rs.id.Addr] = rs
		}
		for _, nrs := range nvs.rs {
			ors := oldRS[nrs.id.Addr]
			if ors == nil {
				nrs.weight = nrs.cfg.Weight
				nrs.alive = !startsDown(nrs.cfg)
				continue
			}
			delete(oldRS, nrs.id.Addr)
			nrs.alive, nrs.weight, nrs.result, nrs.since = ors.alive, ors.weight, ors.result, ors.since
			nrs.drain = ors.drain
			if nrs.cfg.Weight != ors.cfg.Weight {
				// A new configured weight replaces the old one and
				// what dynamic checkers made of it; they adjust the
				// new one at their next verdict.
				nrs.weight = nrs.cfg.Weight
			}
			nrs.carried = true
			if ors.check == nrs.check && sameChecks(ors.cfg, nrs.cfg) {
				// Check names are unique: ors is the one real
				// server of the old configuration with this one.
				ors.kept, nrs.kept = true, true
			}
		}
		for _, ors := range ovs.rs {
			if oldRS[ors.id.Addr] == ors {
				l.log.Infof("service %s no longer exist", ors.name)
				l.m.clearRS(ovs, ors, false)
			}
		}
		l.m.updateQuorum(nvs, true)
	}
	for _, ovs := range old {
		if byKey[ovs.key] != ovs {
			continue
		}
		if ovs.cfg.Group != "" {
			l.log.Infof("Removing Virtual Server Group [%s]", ovs.cfg.Group)
		} else {
			l.log.Infof("Removing Virtual Server %s", ovs.name)
		}
		l.m.clearVS(ovs, false)
	}
	for _, vs := range old {
		for _, rs := range vs.rs {
			if !rs.kept {
				l.checks.Remove(rs.check)
			}
		}
	}
	for _, vs := range l.vss {
		l.refreshLocked(vs)
		for _, rs := range vs.rs {
			if !rs.kept {
				l.addChecks(vs, rs, rs.carried)
			}
			rs.kept, rs.carried = false, false
		}
	}
	// Only the services the reload changed are read back and converged,
	// so that a one-line change costs the same in a table of any size;
	// the periodic full pass still catches anything else.
	next := l.desiredLocked()
	if keys := ipvs.ChangedServices(prev, next); len(keys) > 0 {
		if _, err := l.table.ReconcileServices(ctx, next, keys...); err != nil && ctx.Err() == nil {
			l.log.WithError(err).Warn("IPVS table not fully applied")
		}
	}
}

// A vsIdentity identifies a virtual server across reloads as
// keepalived's vs_iseq does: by its group, by its firewall mark and
// family, or by its protocol and address. It is comparable, so a reload
// matches the virtual servers of two configurations without formatting
// a key for each.
type vsIdentity struct {
	group  string
	fwmark uint32
	family ipvs.Family
	proto  config.Protocol
	addr   netip.AddrPort
}

// vsKey is the identity of vs.
func vsKey(vs *config.VirtualServer) vsIdentity {
	switch {
	case vs.Group != "":
		return vsIdentity{group: vs.Group}
	case vs.FWMark != 0:
		return vsIdentity{fwmark: vs.FWMark, family: markFamily(vs)}
	}
	return vsIdentity{proto: vs.Protocol, addr: netip.AddrPortFrom(vs.Addr, vs.Port)}
}

// sameChecks says whether two versions of a real server are checked
// alike: same weight, same checkers with the same settings, wherever in
// the file they are written.
func sameChecks(a, b *config.RealServer) bool {
	if a.Weight != b.Weight || len(a.Checkers) != len(b.Checkers) {
		return false
	}
	if len(a.Checkers) == 0 {
		return true
	}
	return reflect.DeepEqual(unplaced(a.Checkers), unplaced(b.Checkers))
}

// unplaced copies checkers without their positions in the file.
func unplaced(cs []config.Checker) []config.Checker {
	out := make([]config.Checker, len(cs))
	for i, c := range cs {
		c.Pos = config.Pos{}
		if c.HTTP != nil {
			h := *c.HTTP
			h.URLs = slices.Clone(h.URLs)
			for j := range h.URLs {
				h.URLs[j].Pos = config.Pos{}
			}
			c.HTTP = &h
		}
		// Keywords kept raw have no effect on a check, so they never
		// make two checks differ.
		c.Other = nil
		out[i] = c
	}
	return out
}
