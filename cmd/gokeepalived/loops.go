package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/bfdd"
	"github.com/gokeepalived/gokeepalived/internal/bgpd"
	"github.com/gokeepalived/gokeepalived/internal/checkerd"
	"github.com/gokeepalived/gokeepalived/internal/logging"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/internal/safefile"
	"github.com/gokeepalived/gokeepalived/internal/vrrpd"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// A loop is one of the daemon's loops, as keepalived's child processes:
// VRRP, the checkers with the IPVS table, or BFD.
type loop interface {
	// Run works until ctx ends, then releases what it holds unless the
	// command line says to keep it.
	Run(ctx context.Context) error
	// Reload switches to cfg, which has been validated, touching only
	// what changed.
	Reload(ctx context.Context, cfg *config.Config) error
	// Dump writes the loop's part of its USR1 data file, after the
	// global definitions.
	Dump(w io.Writer)
}

// loopKind names a loop. Loops start, reload and stop in this order.
type loopKind int

const (
	vrrpKind loopKind = iota
	checkerKind
	bfdKind
	bgpKind
	numLoops
)

func (k loopKind) String() string {
	switch k {
	case vrrpKind:
		return "vrrp"
	case checkerKind:
		return "checker"
	case bfdKind:
		return "bfd"
	case bgpKind:
		return "bgp"
	}
	return fmt.Sprintf("loop %d", int(k))
}

// runningLoop is a loop the daemon started.
type runningLoop struct {
	loop    loop
	close   func() // after Run has returned; may be nil
	cancel  context.CancelFunc
	done    chan struct{} // closed when the loop has stopped
	started time.Time
}

// A progressor is a loop that reports when it last showed that it works,
// at least every few seconds while it does.
type progressor interface {
	Progress() time.Time
}

// staleAfter is how long a loop may show no progress before the daemon
// stops feeding systemd's watchdog: three of the loops' heartbeats, or
// half of WatchdogSec if that is longer, so that a wedged loop stops the
// pings within WatchdogSec.
func (d *daemon) staleAfter() time.Duration {
	return max(3*max(vrrp.HeartbeatInterval, lvs.HeartbeatInterval), d.sd.WatchdogInterval()/2)
}

// wants reports whether cfg and the command line ask for loop k: keepalived
// starts a child only for a configuration that has something for it.
func (d *daemon) wants(k loopKind, cfg *config.Config) bool {
	switch k {
	case vrrpKind:
		return !d.s.checkOnly && len(cfg.Instances) > 0
	case checkerKind:
		return !d.s.vrrpOnly && len(cfg.VirtualServers) > 0
	case bfdKind:
		// keepalived's -P and -C leave BFD running; -B stops it.
		return !d.s.noBFD && len(cfg.BFDInstances) > 0
	case bgpKind:
		// An extension: it runs whatever the command line, as its
		// announcements follow both VRRP and the checkers.
		return cfg.BGPSpeaker != nil
	}
	return false
}

// build makes loop k for cfg.
func (d *daemon) build(k loopKind, cfg *config.Config) (*runningLoop, error) {
	switch k {
	case vrrpKind:
		v, err := vrrpd.New(cfg, vrrpd.Options{
			Log:            logging.WithIdent(d.log, d.place.ident(logging.IdentVRRP)),
			Notify:         d.hub,
			KeepAddresses:  d.s.keepVRRP,
			MastersChanged: d.mastersChanged,
			// On the signal loop, which alone changes the umask.
			FileMode:      func() os.FileMode { return safefile.Mode(d.umask) },
			InstanceState: d.instanceState,
			AuthFailure:   d.rfcAuthFailure,
			ProtoError:    d.rfcProtoError,
			GroupState:    d.snmpGroupState,
		})
		if err != nil {
			return nil, fmt.Errorf("VRRP not started: %w", err)
		}
		return &runningLoop{loop: v}, nil
	case checkerKind:
		c, err := checkerd.New(cfg, checkerd.Options{
			Log:      logging.WithIdent(d.log, d.place.ident(logging.IdentCheckers)),
			Notify:   d.hub,
			KeepIPVS: d.s.keepIPVS,
			VIPOwned: d.vipOwned,
			Observe:  d.metrics.observeAttempt,
			Trap:     d.checkerEvent,
			BFDUp:    d.bfd.checkerUp,
		})
		if err != nil {
			return nil, fmt.Errorf("Health checkers not started: %w", err)
		}
		return &runningLoop{loop: c, close: c.Close}, nil
	case bfdKind:
		b, err := bfdd.New(cfg, bfdd.Options{Log: d.loopLog(bfdKind), Detail: d.s.logDetail})
		if err != nil {
			return nil, fmt.Errorf("BFD not started: %w", err)
		}
		return &runningLoop{loop: b}, nil
	case bgpKind:
		b, err := bgpd.New(cfg, bgpd.Options{Log: d.loopLog(bgpKind), Masters: d.vrrpMasters, Quorums: d.quorums})
		if err != nil {
			return nil, fmt.Errorf("BGP not started: %w", err)
		}
		return &runningLoop{loop: b}, nil
	}
	return nil, fmt.Errorf("unknown %s", k)
}

// instanceState fans the VRRP loop's report of an instance's state out to
// D-Bus, SNMP and the BGP announcements that follow VRRP.
func (d *daemon) instanceState(ci *config.Instance, s notify.State) {
	d.dbusInstanceState(ci, s)
	d.snmpInstanceState(ci, s)
	d.bgpWake()
}

// startLoop builds loop k for cfg and runs it under supervise. A loop that
// cannot start is logged and left out, as keepalived leaves out a child
// process that fails; the others run.
func (d *daemon) startLoop(ctx context.Context, k loopKind, cfg *config.Config) {
	r, err := d.build(k, cfg)
	if err != nil {
		d.log.Error(err.Error())
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	r.started = time.Now()
	d.mu.Lock()
	d.loops[k] = r
	d.mu.Unlock()
	go func() {
		defer close(r.done)
		supervise(ctx, d.log, k.String(), &d.loopPanics[k], r.loop.Run)
		if r.close != nil {
			r.close()
		}
	}()
	switch k {
	case vrrpKind:
		d.mu.Lock()
		drained := !d.drain.since.IsZero()
		d.mu.Unlock()
		if drained {
			r.loop.(*vrrpd.Loop).SetDrained(true)
		}
		d.bfd.replay(r.loop.(*vrrpd.Loop))
		d.mastersChanged()
	case bfdKind:
		go d.bfd.run(ctx, r.loop.(*bfdd.Loop), d.vrrpLoop)
		go toBGP(ctx, r.loop.(*bfdd.Loop), d.bgpLoop)
	case bgpKind:
		d.mu.Lock()
		drained := !d.drain.since.IsZero()
		d.mu.Unlock()
		if drained {
			// A speaker started on a drained director announces
			// nothing: its grace is over.
			r.loop.(*bgpd.Loop).SetDrained(true, time.Nanosecond)
		}
	}
}

// stopLoop stops loop k, if it runs, and waits until it has released what
// it holds.
func (d *daemon) stopLoop(k loopKind) {
	d.mu.Lock()
	r := d.loops[k]
	d.loops[k] = nil
	d.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	switch k {
	case vrrpKind:
		d.mastersChanged()
	case checkerKind:
		// No quorum is up without the checkers.
		d.bgpWake()
	}
}

// checkerEvent fans the checker loop's report of a real server's or a
// quorum's change out to SNMP and the BGP announcements that follow the
// quorums. It runs under the checkers' lock: the BGP loop is told the
// quorum without blocking, and acts on it without asking the checkers.
func (d *daemon) checkerEvent(ev lvs.Event) {
	d.checkerTrap(ev)
	if ev.RS != nil {
		return
	}
	b := d.bgpLoop()
	switch {
	case b == nil:
	case ev.Stopping || !ev.VS.Addr.IsValid():
		// A bgp_announce tracks a virtual server by its address; at
		// a stop the loop asks what is left.
		b.Wake()
	default:
		b.SetQuorum(bgpd.ServerName(config.BGPTrackedServer{
			Addr: netip.AddrPortFrom(ev.VS.Addr, ev.VS.Port), Protocol: ev.VS.Protocol}), ev.Up)
	}
}

// reloadLoops hands cfg to every loop in order: a loop cfg asks for and
// that runs reloads, one that does not run starts, one cfg no longer asks
// for stops.
func (d *daemon) reloadLoops(ctx context.Context, cfg *config.Config) {
	for k := range numLoops {
		r := d.loopOf(k)
		switch want := d.wants(k, cfg); {
		case want && r != nil:
			// keepalived's children each say so as they reload.
			d.loopLog(k).Info("Reloading")
			if err := r.loop.Reload(ctx, cfg); err != nil {
				d.log.Errorf("Reloading %s: %v", k, err)
			}
		case want:
			d.log.Infof("Starting the %s loop", k)
			d.startLoop(ctx, k, cfg)
		case r != nil:
			// What the configuration removed goes as a reload removes
			// it (keepalived's children stay, empty), then the loop.
			if err := r.loop.Reload(ctx, cfg); err != nil {
				d.log.Errorf("Reloading %s: %v", k, err)
			}
			d.log.Infof("Stopping the %s loop: the configuration has nothing for it", k)
			d.stopLoop(k)
		}
	}
}

// loopLog is d's logger with the syslog identifier of keepalived's child
// that does loop k's work.
func (d *daemon) loopLog(k loopKind) *logrus.Entry {
	ident := logging.IdentVRRP
	switch k {
	case checkerKind:
		ident = logging.IdentCheckers
	case bfdKind:
		ident = logging.IdentBFD
	}
	return logging.WithIdent(d.log, d.place.ident(ident))
}

// stopLoops stops every loop at once and waits for them. The BGP loop
// goes first: its routes drain and are withdrawn while the VIPs and the
// IPVS table behind them still serve.
func (d *daemon) stopLoops() {
	d.stopLoop(bgpKind)
	d.mu.Lock()
	loops := d.loops
	d.mu.Unlock()
	for _, r := range loops {
		if r != nil {
			r.cancel()
		}
	}
	for _, r := range loops {
		if r != nil {
			<-r.done
		}
	}
}

// loopOf returns loop k, or nil when it does not run.
func (d *daemon) loopOf(k loopKind) *runningLoop {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.loops[k]
}

// vrrpLoop returns the VRRP loop, or nil.
func (d *daemon) vrrpLoop() *vrrpd.Loop {
	if r := d.loopOf(vrrpKind); r != nil {
		return r.loop.(*vrrpd.Loop)
	}
	return nil
}

// checkerLoop returns the checker loop, or nil.
func (d *daemon) checkerLoop() *checkerd.Loop {
	if r := d.loopOf(checkerKind); r != nil {
		return r.loop.(*checkerd.Loop)
	}
	return nil
}

// healthy tells the watchdog whether every running loop shows progress.
// The first loop that stops, and its recovery, are logged once each.
func (d *daemon) healthy() error {
	var err error
	for k := range numLoops {
		r := d.loopOf(k)
		p, ok := r.loopProgressor()
		if !ok {
			continue
		}
		last := p.Progress()
		if last.Before(r.started) {
			last = r.started // a loop just started has shown none yet
		}
		if since := time.Since(last); since > d.staleAfter() {
			err = fmt.Errorf("the %s loop shows no progress since %s (%v)", k, last.Format(time.RFC3339), since.Round(time.Second))
			break
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err != nil && d.wedged == nil:
		d.log.Errorf("%v: no longer feeding the systemd watchdog, so that systemd restarts the daemon", err)
	case err == nil && d.wedged != nil:
		d.log.Infof("every loop shows progress again: feeding the systemd watchdog again")
	}
	d.wedged = err
	return err
}

// loopProgressor returns r's loop as a progressor, if r runs and reports
// progress.
func (r *runningLoop) loopProgressor() (progressor, bool) {
	if r == nil {
		return nil, false
	}
	p, ok := r.loop.(progressor)
	return p, ok
}

// envTestStall names a loop and a duration, "vrrp=10s", for which the
// daemon wedges that loop once started: the watchdog tests' way to make
// a loop stop. It is not for operators.
const envTestStall = "GOKEEPALIVED_TEST_STALL"

// testStall wedges the loop envTestStall names.
func (d *daemon) testStall() {
	name, dur, ok := strings.Cut(os.Getenv(envTestStall), "=")
	if !ok {
		return
	}
	stall, err := time.ParseDuration(dur)
	if err != nil || name != vrrpKind.String() {
		d.log.Errorf("%s=%q: want vrrp=DURATION", envTestStall, os.Getenv(envTestStall))
		return
	}
	if v := d.vrrpLoop(); v != nil {
		d.log.Warnf("%s: wedging the vrrp loop for %v", envTestStall, stall)
		go v.Stall(stall)
	}
}

// vipOwned is ha_suspend's question to VRRP: does a master here hold
// addr? Without VRRP every address counts as held.
func (d *daemon) vipOwned(addr netip.Addr) bool {
	if v := d.vrrpLoop(); v != nil {
		return v.Owned(addr)
	}
	return true
}

// mastersChanged tells the checkers that vipOwned's answers may have
// changed.
func (d *daemon) mastersChanged() {
	if c := d.checkerLoop(); c != nil {
		c.VIPsChanged()
	}
	d.bgpWake()
}

// bgpLoop returns the BGP loop, or nil.
func (d *daemon) bgpLoop() *bgpd.Loop {
	if r := d.loopOf(bgpKind); r != nil {
		return r.loop.(*bgpd.Loop)
	}
	return nil
}

// bgpWake tells the BGP loop that a VRRP instance's state or a virtual
// server's quorum changed.
func (d *daemon) bgpWake() {
	if b := d.bgpLoop(); b != nil {
		b.Wake()
	}
}

// vrrpMasters is the BGP loop's question to VRRP: which instances are
// MASTER?
func (d *daemon) vrrpMasters() map[string]bool {
	out := make(map[string]bool)
	if v := d.vrrpLoop(); v != nil {
		for _, s := range v.Statuses() {
			out[s.Name] = s.State == vrrp.StateMaster
		}
	}
	return out
}

// quorums is the BGP loop's question to the checkers: which virtual
// servers have their quorum up?
func (d *daemon) quorums() map[string]bool {
	out := make(map[string]bool)
	if c := d.checkerLoop(); c != nil {
		for _, s := range c.Servers() {
			out[s.Name] = s.QuorumUp
		}
	}
	return out
}

// supervise runs fn until ctx ends. A panic in fn is logged with its stack,
// counted in panics, and fn starts again after a pause, so that one loop's
// bug does not take the VIPs or the IPVS table of the others down with the
// process.
func supervise(ctx context.Context, log logrus.FieldLogger, name string, panics *atomic.Uint64, fn func(context.Context) error) {
	for {
		err, panicked := runRecovered(ctx, fn)
		if panicked {
			panics.Add(1)
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case panicked:
			log.Errorf("%s loop crashed: %v; restarting it", name, err)
		case err != nil:
			log.Errorf("%s loop stopped: %v; restarting it", name, err)
		default:
			log.Errorf("%s loop returned; restarting it", name)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func runRecovered(ctx context.Context, fn func(context.Context) error) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("panic: %v\n%s", r, debug.Stack()), true
		}
	}()
	return fn(ctx), false
}
