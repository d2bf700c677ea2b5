// Package vrrpd is keepalived's VRRP process as a library: it turns the
// vrrp_instance, vrrp_sync_group, vrrp_script and vrrp_track_file blocks
// of a configuration into the instances of a vrrp.Router, applies
// keepalived's tracking rules for sync groups, reports every transition to
// the notify scripts, FIFOs and smtp_alert mails, runs lvs_sync_daemon
// with the state of its instance, answers ha_suspend's question of which
// addresses a master here holds, and writes the VRRP halves of
// keepalived's USR1, USR2 and JSON files.
//
// The protocol itself (RFC 3768, RFC 5798) is package vrrp's.
package vrrpd

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/notifyhub"
	"github.com/gokeepalived/gokeepalived/internal/safefile"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// Options configure a Loop.
type Options struct {
	// Log receives keepalived's VRRP messages.
	Log logrus.FieldLogger
	// Notify is where transitions are reported.
	Notify *notifyhub.Hub
	// KeepAddresses leaves a master's addresses in place when the loop
	// stops: keepalived's --dont-release-vrrp.
	KeepAddresses bool
	// MastersChanged, if set, is told, outside any lock, that the set of
	// addresses held by MASTER instances may have changed (for
	// ha_suspend).
	MastersChanged func()
	// FileMode is the mode of the files the loop writes (track files'
	// init_file); nil means safefile.Mode of keepalived's default umask.
	FileMode func() os.FileMode
	// InstanceState, if set, is told of every state the notify scripts
	// of an instance are told of (a removed instance's DELETED or FAULT
	// included), with the instance's configuration, in order: the
	// D-Bus signal keepalived sends with its notifications.
	InstanceState func(ci *config.Instance, s notify.State)
	// AuthFailure, if set, is told of every advert an instance rejected
	// for its authentication, in order, with its source.
	AuthFailure func(ci *config.Instance, src netip.Addr, f vrrp.AuthFailure)
	// ProtoError, if set, is told of every protocol error an instance
	// found in an advert, in order.
	ProtoError func(ci *config.Instance, e vrrp.ProtoError)
	// GroupState, if set, is told of every state the notify scripts of
	// a sync group are told of, after its members' states.
	GroupState func(name string, s notify.State)
}

// A Loop runs the VRRP instances of one configuration, and of the
// configurations reloads give it.
type Loop struct {
	log    logrus.FieldLogger
	hub    *notifyhub.Hub
	keep   bool
	router *vrrp.Router
	events chan vrrp.Transition
	// syncd is lvs_sync_daemon's daemon; nil if not configured (yet) or
	// IPVS is missing. A reload may set it; transitions read it.
	syncd atomic.Pointer[syncDaemon]
	// changed is Options.MastersChanged.
	changed  func()
	fileMode func() os.FileMode
	// onState is Options.InstanceState.
	onState func(*config.Instance, notify.State)
	// onAuth is Options.AuthFailure.
	onAuth func(*config.Instance, netip.Addr, vrrp.AuthFailure)
	// onProto is Options.ProtoError.
	onProto func(*config.Instance, vrrp.ProtoError)
	// onGroup is Options.GroupState.
	onGroup func(string, notify.State)
	panics  atomic.Uint64 // recovered in reporting transitions
	// drained holds every instance at priority 1: the director's drain.
	drained atomic.Bool
	// queued and reported count the transitions enqueued and reported,
	// for Flush.
	queued, reported atomic.Uint64
	// promote sets promote_secondaries where instances ask for it;
	// apply and Run's end use it, under applyMu.
	promote promoter

	// applyMu serializes apply: a reload, and the retries of instances
	// waiting for an interface.
	applyMu sync.Mutex
	// cfg is the configuration last applied, to apply again when an
	// interface an instance waits for appears.
	cfg *config.Config
	// retry is signalled when an interface appears that a waiting
	// instance needs, or that a running one used under another index.
	retry    chan struct{}
	stopping atomic.Bool // the router is stopping every instance
	// startAfter is when vrrp_startup_delay, read at start-up only,
	// lets backups stand for master.
	startAfter time.Time
	// statics is static_ipaddress, static_routes and static_rules,
	// installed while Run runs.
	statics *statics

	mu sync.Mutex
	// applied is when the instances were last applied, at start or
	// reload: keepalived's per-instance uptime for the RFC MIBs.
	applied   time.Time
	instances []*instance // in the configuration's order
	byName    map[string]*instance
	groups    map[string]*group
	// deleted holds the instances the last reload removed until their
	// STOP is reported, which keepalived reports as DELETED or FAULT.
	deleted map[string]*instance
}

// instance is what the loop keeps of one vrrp_instance.
type instance struct {
	cfg     *config.Instance
	vrrp    *vrrp.Instance
	scripts *notify.Instance
	group   string       // the sync group's name; "" for none
	vmac    string       // the VMAC interface's name; "" without use_vmac
	vips    []netip.Addr // virtual_ipaddress, for ha_suspend and status
	mail    bool         // smtp_alert
	// noFaultMail is global_defs' no_email_faults: FAULT is not mailed.
	noFaultMail bool
	// mailed is the last state mailed: keepalived mails a state once,
	// not again when it is re-entered. It carries over a reload.
	mailed notify.State
	// baseline is the counters at the last STATS_CLEAR; it carries over
	// a reload.
	baseline vrrp.Stats
	// trackIfs and trackScripts are the interfaces and the commands of
	// the scripts the instance tracks, its sync group's included, for
	// the JSON file.
	trackIfs     []string
	trackScripts []string
	// tracked, trackedScripts (the instance's own, before its group's
	// weights) and trackedFiles are the same with their weights, for
	// KEEPALIVED-MIB.
	tracked        []vrrp.TrackedInterface
	trackedScripts []vrrp.TrackedScript
	trackedFiles   []vrrp.TrackedFile
	// waiting is why the instance is held back from the router, its
	// interface missing; nil while it runs.
	waiting error
	// needs is the interfaces the instance runs on and tracks, with the
	// index each had when the instance was applied.
	needs map[string]int
	// rebinding marks an instance the router stops and starts again
	// because its interface was created anew: that STOP is not reported.
	rebinding bool
}

// group is what the loop keeps of one vrrp_sync_group.
type group struct {
	scripts     *notify.SyncGroup
	mail        bool
	noFaultMail bool // no_email_faults
	mailed      notify.State
}

// New builds the instances of cfg. Scripts that fail keepalived's script
// security checks are left out, with keepalived's messages.
func New(cfg *config.Config, opts Options) (*Loop, error) {
	l := &Loop{
		log:      opts.Log,
		hub:      opts.Notify,
		keep:     opts.KeepAddresses,
		router:   vrrp.NewRouter(nil, opts.Log),
		events:   make(chan vrrp.Transition, 256),
		changed:  opts.MastersChanged,
		fileMode: opts.FileMode,
		onState:  opts.InstanceState,
		onAuth:   opts.AuthFailure,
		onProto:  opts.ProtoError,
		onGroup:  opts.GroupState,
		retry:    make(chan struct{}, 1),
		statics:  newStatics(cfg, opts.Log),
	}
	l.router.OnLink(l.linkAppeared)
	l.router.SetFirewall(firewallConfig(cfg, l.log))
	if l.fileMode == nil {
		l.fileMode = func() os.FileMode { return safefile.Mode(safefile.DefaultUmask) }
	}
	if c := syncDaemonOf(cfg, l.log); c != nil {
		sd, err := newSyncDaemon(c, l.log)
		if err != nil {
			l.log.Errorf("%v", err)
		} else {
			l.syncd.Store(sd)
		}
	}
	if d := cfg.Global.VRRPStartupDelay; d > 0 {
		l.startAfter = time.Now().Add(d)
		l.log.Infof("Delaying startup for %g seconds", d.Seconds())
	}
	l.initTrackFiles(cfg, false)
	if err := l.apply(cfg); err != nil {
		if sd := l.syncd.Load(); sd != nil {
			sd.close()
		}
		return nil, err
	}
	return l, nil
}

// firewallConfig is the nftables firewall of cfg: that of global_defs,
// or keepalived's default table when an instance needs one and none is
// configured.
func firewallConfig(cfg *config.Config, log logrus.FieldLogger) vrrp.FirewallConfig {
	g := &cfg.Global
	fc := vrrp.FirewallConfig{Table: g.NFTables, Priority: g.NFTablesPriority, Ifindex: g.NFTablesIfindex, Counters: g.NFTablesCounters}
	if fc.Table != "" {
		return fc
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if !in.Accept || in.UseVMAC {
			log.Infof("use_vmac or no_accept/strict specified, but no firewall configured - using nftables")
			fc.Table = "keepalived"
			return fc
		}
	}
	return fc
}

// apply makes the router's instances and sync groups those of cfg: at
// start-up, and on reload, where instances that stay keep their state.
func (l *Loop) apply(cfg *config.Config) error {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	l.cfg = cfg
	p := l.plan(cfg)
	l.promote.log = l.log
	l.promote.apply(cfg)
	// One listing of the links and addresses serves the checks and the
	// apply of this pass.
	look := vrrp.NewLookup()
	l.holdBack(look, p)

	// The records change before the router so that the transitions of
	// new instances find their scripts.
	l.mu.Lock()
	for _, in := range p.instances {
		if old := l.byName[in.cfg.Name]; old != nil {
			in.mailed, in.baseline, in.vrrp = old.mailed, old.baseline, old.vrrp
			if old.vrrp != nil && in.waiting == nil && movedLinks(old.needs, in.needs) {
				in.rebinding = true
			}
		}
	}
	for name, g := range p.groups {
		if old := l.groups[name]; old != nil {
			g.mailed = old.mailed
		}
	}
	l.deleted = make(map[string]*instance)
	for _, in := range l.instances {
		if p.byName[in.cfg.Name] == nil {
			l.deleted[in.cfg.Name] = in
		}
	}
	l.instances, l.byName, l.groups = p.instances, p.byName, p.groups
	l.applied = time.Now()
	l.mu.Unlock()

	if err := l.router.ApplyLookup(look, p.specs, p.groupSpecs); err != nil {
		return err
	}
	running := make(map[string]*vrrp.Instance)
	for _, vi := range l.router.Instances() {
		running[vi.Name()] = vi
	}
	l.mu.Lock()
	for _, in := range l.instances {
		in.vrrp = running[in.cfg.Name]
	}
	l.mu.Unlock()
	// The director's drain holds the instances a reload adds or keeps.
	if l.drained.Load() {
		for _, vi := range running {
			vi.SetDrained(true)
		}
	}
	return nil
}

// SetDrained drains the director, or undrains it: every instance, those
// of later reloads too, at priority 1, so that the peers take over; or
// every instance back at its configured and tracked priority.
func (l *Loop) SetDrained(drained bool) {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	l.drained.Store(drained)
	for _, in := range l.running() {
		in.vrrp.SetDrained(drained)
	}
}

// Drained reports whether the director is drained.
func (l *Loop) Drained() bool { return l.drained.Load() }

// Run runs the instances until ctx ends, then stops them as keepalived
// does: masters send priority 0 and release their addresses.
func (l *Loop) Run(ctx context.Context) error {
	stopped := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.report(stopped)
	}()
	if sd := l.syncd.Load(); sd != nil {
		// Backup until the instance is master, as keepalived starts it.
		sd.set(false)
	}
	retryCtx, stopRetries := context.WithCancel(ctx)
	retried := make(chan struct{})
	go func() {
		defer close(retried)
		l.retryWaiting(retryCtx)
	}()
	go func() {
		<-ctx.Done()
		l.stopping.Store(true)
	}()
	l.statics.start(ctx)
	err := l.router.Run(ctx)
	// keepalived clears the static entries once the instances have
	// released theirs.
	l.statics.stop()
	l.applyMu.Lock()
	l.promote.restore()
	l.applyMu.Unlock()
	stopRetries()
	<-retried
	// The router has stopped every instance: the STOP transitions are
	// queued, and report sends them before it returns.
	close(stopped)
	<-done
	l.stopGroups()
	if sd := l.syncd.Swap(nil); sd != nil {
		sd.close()
	}
	return err
}

// stopGroups reports each sync group's STOP once its instances have
// reported theirs, as keepalived's notify_shutdown does: scripts, FIFOs,
// mail and the GroupState hook.
func (l *Loop) stopGroups() {
	var names []string
	l.mu.Lock()
	if l.cfg != nil {
		for _, g := range l.cfg.SyncGroups {
			if l.groups[g.Name] != nil {
				names = append(names, g.Name)
			}
		}
	}
	l.mu.Unlock()
	for _, name := range names {
		l.reportOne(vrrp.Transition{Instance: name, Group: true, To: vrrp.StateStop, Time: time.Now()})
	}
}

// Reload applies a new configuration: instances that stay keep their
// state and addresses, new ones start, removed ones stop; a sync daemon
// whose lvs_sync_daemon settings changed starts again with the new ones.
func (l *Loop) Reload(_ context.Context, cfg *config.Config) error {
	l.initTrackFiles(cfg, true)
	// keepalived reads the firewall settings again: a reload that first
	// needs a firewall gets one, while one already made stays as it is.
	l.router.SetFirewall(firewallConfig(cfg, l.log))
	l.mu.Lock()
	kept := make(map[string]bool)
	for name, in := range l.byName {
		kept[name] = in.vrrp != nil
	}
	for name := range l.groups {
		kept["group "+name] = true
	}
	l.mu.Unlock()
	err := l.apply(cfg)
	if cfg.Global.FIFOWriteVRRPStatesOnReload {
		l.writeStates(kept)
	}
	l.statics.reload(cfg)
	switch c, sd := syncDaemonOf(cfg, l.log), l.syncd.Load(); {
	case sd != nil:
		sd.reload(c)
	case c != nil:
		// First written now: keepalived's reload starts it, as master
		// if its instance is.
		sd, nerr := newSyncDaemon(c, l.log)
		if nerr != nil {
			l.log.Errorf("%v", nerr)
			break
		}
		master := false
		l.mu.Lock()
		if in := l.byName[c.Instance]; in != nil && in.vrrp != nil {
			master = in.vrrp.Status().State == vrrp.StateMaster
		}
		l.mu.Unlock()
		sd.set(master)
		l.syncd.Store(sd)
	}
	return err
}

// writeStates writes to the notify FIFOs the state of the sync groups,
// then of the instances, that were there before a reload, as keepalived's
// fifo_write_vrrp_states_on_reload does where it sends no notification:
// every group, and every instance but a master, which keepalived's reload
// takes through its master path without a word. kept holds the instances'
// names and the groups' as "group NAME".
func (l *Loop) writeStates(kept map[string]bool) {
	n := l.hub.Notifier()
	l.mu.Lock()
	names := make([]string, 0, len(l.instances))
	insts := make(map[string]*vrrp.Instance, len(l.instances))
	for _, in := range l.instances {
		if kept[in.cfg.Name] && in.vrrp != nil {
			names = append(names, in.cfg.Name)
			insts[in.cfg.Name] = in.vrrp
		}
	}
	var groups []string
	for _, g := range l.cfg.SyncGroups {
		if kept["group "+g.Name] && l.groups[g.Name] != nil {
			groups = append(groups, g.Name)
		}
	}
	l.mu.Unlock()
	// A group's state is its members'.
	state := make(map[string]vrrp.State)
	for _, name := range names {
		if g := insts[name].SyncGroup(); g != nil {
			state[g.Name()] = g.State()
		}
	}
	for _, g := range groups {
		if s, ok := notifyState(state[g]); ok {
			n.VRRPLine(notify.GroupLine(g, s))
		}
	}
	for _, name := range names {
		st := insts[name].Status()
		if st.State == vrrp.StateMaster {
			continue
		}
		if s, ok := notifyState(st.State); ok {
			n.VRRPLine(notify.InstanceLine(name, s, int(st.EffectivePriority)))
		}
	}
}

// running is the loop's instances that the router runs.
func (l *Loop) running() []*instance {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*instance, 0, len(l.instances))
	for _, in := range l.instances {
		if in.vrrp != nil {
			out = append(out, in)
		}
	}
	return out
}

// Owned reports whether a MASTER instance here has addr among its virtual
// addresses: ha_suspend's question.
func (l *Loop) Owned(addr netip.Addr) bool {
	for _, in := range l.running() {
		if in.vrrp.Status().State == vrrp.StateMaster && slices.Contains(in.vips, addr) {
			return true
		}
	}
	return false
}

// Statuses returns the state and counters of every instance, in the
// configuration's order.
func (l *Loop) Statuses() []vrrp.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]vrrp.Status, 0, len(l.instances))
	for _, in := range l.instances {
		switch {
		case in.vrrp != nil:
			out = append(out, in.vrrp.Status())
		case in.waiting != nil:
			// Held back for a missing interface: FAULT, as keepalived
			// shows such an instance.
			out = append(out, vrrp.Status{
				Name:              in.cfg.Name,
				VRID:              uint8(in.cfg.VirtualRouterID),
				State:             vrrp.StateFault,
				Priority:          uint8(in.cfg.Priority),
				EffectivePriority: uint8(in.cfg.Priority),
			})
		}
	}
	return out
}

// SendGarp sends one round of gratuitous ARPs or unsolicited neighbour
// adverts for the addresses of the named instance if it is master, as
// keepalived's D-Bus SendGarp does; it reports whether the instance runs.
func (l *Loop) SendGarp(name string) bool {
	l.mu.Lock()
	in := l.byName[name]
	var vi *vrrp.Instance
	if in != nil {
		vi = in.vrrp
	}
	l.mu.Unlock()
	if vi == nil {
		return false
	}
	vi.SendGratuitous()
	return true
}

// Drops returns the counts of packets dropped before reaching an
// instance.
func (l *Loop) Drops() map[vrrp.DropReason]uint64 { return l.router.Drops() }

// SetBFD hands the instances the state of the BFD session of
// bfd_instance name, as keepalived's BFD process tells its VRRP process.
func (l *Loop) SetBFD(name string, up bool) { l.router.SetBFD(name, up) }

// Progress returns when the VRRP loop last showed that it works (see
// vrrp.Router.Progress).
func (l *Loop) Progress() time.Time { return l.router.Progress() }

// Stall wedges the loop for d, for tests of what watches Progress.
func (l *Loop) Stall(d time.Duration) { l.router.Stall(d) }

// SocketErrors returns the number of VRRP sockets that failed and were
// opened again.
func (l *Loop) SocketErrors() uint64 { return l.router.SocketErrors() }

// LinkResubscriptions returns the number of times the netlink link
// subscription was lost and made again.
func (l *Loop) LinkResubscriptions() uint64 { return l.router.LinkResubscriptions() }

// Panics returns the number of panics recovered in VRRP goroutines: the
// router's and those of reporting transitions.
func (l *Loop) Panics() uint64 { return l.router.Panics() + l.panics.Load() }

// Status reports the instances for the control socket.
func (l *Loop) Status() []control.Instance {
	var out []control.Instance
	for _, in := range l.running() {
		st := in.vrrp.Status()
		ci := control.Instance{
			Name:              st.Name,
			Interface:         in.cfg.Interface,
			VRID:              int(st.VRID),
			State:             st.State.String(),
			Priority:          int(st.Priority),
			EffectivePriority: int(st.EffectivePriority),
			LastTransition:    st.LastTransition,
			AdvertsSent:       st.Stats.AdvertsSent,
			AdvertsReceived:   st.Stats.AdvertsReceived,
		}
		if st.Master.IsValid() {
			ci.Master = st.Master.String()
		}
		for _, a := range in.vips {
			ci.VIPs = append(ci.VIPs, a.String())
		}
		for _, n := range st.Stats.Drops {
			ci.Drops += n
		}
		out = append(out, ci)
	}
	return out
}

// syncDaemonOf is cfg's lvs_sync_daemon, nil when it names no instance
// of cfg: keepalived then clears it, with its message.
func syncDaemonOf(cfg *config.Config, log logrus.FieldLogger) *config.LVSSyncDaemon {
	c := cfg.Global.LVSSyncDaemon
	if c == nil {
		return nil
	}
	for _, in := range cfg.Instances {
		if in.Name == c.Instance {
			return c
		}
	}
	log.Infof("Unable to find vrrp instance %s for lvs_syncd - clearing lvs_syncd config", c.Instance)
	return nil
}
