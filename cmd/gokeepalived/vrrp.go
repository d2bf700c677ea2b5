package main

import (
	"context"
	"fmt"
	"github.com/gokeepalived/gokeepalived/internal/control"
	"golang.org/x/sys/unix"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// vrrpLoop is keepalived's VRRP process: the instances of the
// configuration, their sync groups, and their notify scripts.
type vrrpLoop struct {
	keep   bool // --dont-release-vrrp
	log    logrus.FieldLogger
	n      *notifier
	router *vrrp.Router

	mu        sync.Mutex
	instances []*vrrp.Instance
	scripts   map[string]*notify.Instance  // by instance name
	mail      map[string]bool              // smtp_alert, by instance or group name
	mailed    map[string]notify.State      // the last state mailed, by name
	groups    map[string]*notify.SyncGroup // by sync group name
	memberOf  map[string]string            // sync group name, by member instance name
	vips      map[string][]netip.Addr      // by instance name
	ifaces    map[string]string            // by instance name
	configs   map[string]*config.Instance  // by instance name
	baseline  map[string]vrrp.Stats        // counters at the last STATS_CLEAR
	// changed is told, outside any lock, that the set of addresses owned
	// by MASTER instances may have changed (for ha_suspend).
	changed func()

	events chan vrrp.Transition
	syncd  *syncDaemon // lvs_sync_daemon, if configured
}

// newVRRP builds the instances of cfg. Scripts that fail keepalived's
// script security checks are left out, with keepalived's messages.
func newVRRP(cfg *config.Config, s *settings, n *notifier, log logrus.FieldLogger) (*vrrpLoop, error) {
	v := &vrrpLoop{
		keep:   s.keepVRRP,
		log:    log,
		n:      n,
		router: vrrp.NewRouter(nil, log),
		events: make(chan vrrp.Transition, 256),
	}
	if c := cfg.Global.LVSSyncDaemon; c != nil {
		sd, err := newSyncDaemon(c, log)
		if err != nil {
			log.Errorf("%v", err)
		} else {
			v.syncd = sd
		}
	}
	if err := v.apply(cfg); err != nil {
		return nil, err
	}
	return v, nil
}

// apply makes the router's instances and sync groups those of cfg: at
// start-up, and on reload, where instances that stay keep their state.
func (v *vrrpLoop) apply(cfg *config.Config) error {
	sec := &notify.Security{Enabled: cfg.Global.EnableScriptSecurity, Log: v.log}
	scripts := map[string]*notify.Instance{}
	groups := map[string]*notify.SyncGroup{}
	mail := map[string]bool{}
	vips := map[string][]netip.Addr{}
	ifaces := map[string]string{}
	configs := map[string]*config.Instance{}
	tracked := v.trackScripts(cfg, sec)
	files := map[string]*vrrp.TrackFile{}
	fileWeights := map[string]int{} // track_file's own weight, which an instance may override
	for i := range cfg.TrackFiles {
		f := &cfg.TrackFiles[i]
		fileWeights[f.Name] = f.Weight
		files[f.Name] = &vrrp.TrackFile{Name: f.Name, Path: f.File, InitFile: f.InitFile, InitValue: f.InitValue, InitOverwrite: f.InitOverwrite}
	}
	inGroup := map[string]*config.SyncGroup{}
	for i := range cfg.SyncGroups {
		for _, m := range cfg.SyncGroups[i].Group {
			inGroup[m] = &cfg.SyncGroups[i]
		}
	}

	var specs []vrrp.Spec
	for i := range cfg.Instances {
		ci := &cfg.Instances[i]
		vc, nc, err := vrrpConfig(ci, &cfg.Global)
		if err != nil {
			return fmt.Errorf("(%s) %w", ci.Name, err)
		}
		vc.Notify = v.enqueue
		vc.KeepAddressesOnStop = v.keep
		// keepalived ignores the weights of a sync group member's
		// trackers unless told otherwise: the group moves as one.
		zeroWeights := inGroup[ci.Name] != nil && !inGroup[ci.Name].SyncGroupTrackingWeight
		for _, t := range ci.Tracking.Scripts {
			ts := tracked[t.Name]
			if ts == nil {
				continue
			}
			w := ts.weight
			if t.HasWeight {
				w = t.Weight
			}
			if zeroWeights {
				w = 0
			}
			nc.TrackScripts = append(nc.TrackScripts, vrrp.TrackedScript{Script: ts.script, Weight: w, Reverse: t.Reverse != ts.reverse})
		}
		for _, t := range ci.Tracking.Files {
			tf := files[t.Name]
			if tf == nil {
				continue
			}
			w := t.Weight
			if !t.HasWeight {
				w = fileWeights[t.Name]
			}
			if zeroWeights {
				w = 0
			}
			nc.TrackFiles = append(nc.TrackFiles, vrrp.TrackedFile{File: tf, Weight: w, Reverse: t.Reverse})
		}
		if g := inGroup[ci.Name]; g != nil {
			v.groupTracking(&nc, g, cfg, tracked, files, fileWeights)
		}
		specs = append(specs, vrrp.Spec{Config: vc, Net: nc})
		mail[ci.Name] = ci.SMTPAlert
		ifaces[ci.Name] = ci.Interface
		configs[ci.Name] = ci
		for _, vip := range nc.VIPs {
			vips[ci.Name] = append(vips[ci.Name], vip.Prefix.Addr())
		}
		scripts[ci.Name] = &notify.Instance{
			Name:             ci.Name,
			Master:           v.script(sec, "notify_master", ci.Notify.Master),
			Backup:           v.script(sec, "notify_backup", ci.Notify.Backup),
			Fault:            v.script(sec, "notify_fault", ci.Notify.Fault),
			Stop:             v.script(sec, "notify_stop", ci.Notify.Stop),
			Deleted:          v.script(sec, "notify_deleted", ci.Notify.Deleted),
			Notify:           v.script(sec, "notify", ci.Notify.Any),
			MasterRxLowerPri: v.script(sec, "notify_master_rx_lower_pri", ci.Notify.MasterRxLowerPri),
		}
	}
	var gspecs []vrrp.GroupSpec
	for i := range cfg.SyncGroups {
		g := &cfg.SyncGroups[i]
		var members []string
		for _, name := range g.Group {
			if configs[name] != nil {
				members = append(members, name)
			}
		}
		if len(members) == 0 {
			continue
		}
		gspecs = append(gspecs, vrrp.GroupSpec{Name: g.Name, Members: members, Notify: v.enqueue})
		mail[g.Name] = g.SMTPAlert
		groups[g.Name] = &notify.SyncGroup{
			Name:   g.Name,
			Master: v.script(sec, "notify_master", g.Notify.Master),
			Backup: v.script(sec, "notify_backup", g.Notify.Backup),
			Fault:  v.script(sec, "notify_fault", g.Notify.Fault),
			Stop:   v.script(sec, "notify_stop", g.Notify.Stop),
			Notify: v.script(sec, "notify", g.Notify.Any),
		}
	}

	// The notify maps change before the router so that the transitions
	// of new instances find their scripts.
	v.mu.Lock()
	v.scripts, v.groups, v.vips, v.ifaces, v.configs, v.mail = scripts, groups, vips, ifaces, configs, mail
	v.memberOf = make(map[string]string)
	for name, g := range inGroup {
		v.memberOf[name] = g.Name
	}
	if v.mailed == nil {
		v.mailed = map[string]notify.State{}
	}
	if v.baseline == nil {
		v.baseline = map[string]vrrp.Stats{}
	}
	v.mu.Unlock()
	if err := v.router.Apply(specs, gspecs); err != nil {
		return err
	}
	v.mu.Lock()
	v.instances = v.router.Instances()
	v.mu.Unlock()
	return nil
}

// groupTracking adds a sync group's track_interface, track_script and
// track_file to one of its members, as keepalived 2.2.7 adds them to
// every member: with the group entry's weight (or the script's or file's
// own), which, unlike a member's own trackers, keeps its weight, so that
// every member moves by the same amount. A member that is address owner
// (priority 255) cannot have weights, so keepalived clears them for the
// whole group. A tracker the member already has itself is not added
// twice.
func (v *vrrpLoop) groupTracking(nc *vrrp.NetConfig, g *config.SyncGroup, cfg *config.Config,
	tracked map[string]*trackedScript, files map[string]*vrrp.TrackFile, fileWeights map[string]int) {
	owner := false
	for i := range cfg.Instances {
		if slices.Contains(g.Group, cfg.Instances[i].Name) && cfg.Instances[i].Priority == 255 {
			owner = true
		}
	}
	weight := func(w int) int {
		if owner {
			return 0
		}
		return w
	}
	for _, t := range g.Tracking.Interfaces {
		if slices.ContainsFunc(nc.TrackInterfaces, func(ti vrrp.TrackedInterface) bool { return ti.Name == t.Name }) {
			continue
		}
		if t.Reverse {
			v.log.Warnf("(%s) track_interface %s: reverse is not supported; tracking it without", g.Name, t.Name)
		}
		nc.TrackInterfaces = append(nc.TrackInterfaces, vrrp.TrackedInterface{Name: t.Name, Weight: weight(t.Weight)})
	}
	for _, t := range g.Tracking.Scripts {
		ts := tracked[t.Name]
		if ts == nil || slices.ContainsFunc(nc.TrackScripts, func(x vrrp.TrackedScript) bool { return x.Script == ts.script }) {
			continue
		}
		w := ts.weight
		if t.HasWeight {
			w = t.Weight
		}
		nc.TrackScripts = append(nc.TrackScripts, vrrp.TrackedScript{Script: ts.script, Weight: weight(w), Reverse: t.Reverse != ts.reverse})
	}
	for _, t := range g.Tracking.Files {
		tf := files[t.Name]
		if tf == nil || slices.ContainsFunc(nc.TrackFiles, func(x vrrp.TrackedFile) bool { return x.File == tf }) {
			continue
		}
		w := fileWeights[t.Name]
		if t.HasWeight {
			w = t.Weight
		}
		nc.TrackFiles = append(nc.TrackFiles, vrrp.TrackedFile{File: tf, Weight: weight(w), Reverse: t.Reverse})
	}
}

// trackedScript is a vrrp_script ready for the router, with its own weight
// and reverse, which a track_script entry may override.
type trackedScript struct {
	script  *vrrp.TrackScript
	weight  int
	reverse bool
}

// trackScripts builds the vrrp_scripts. One that script security refuses,
// or whose user does not exist, is left out, as keepalived disables it.
func (v *vrrpLoop) trackScripts(cfg *config.Config, sec *notify.Security) map[string]*trackedScript {
	out := map[string]*trackedScript{}
	for i := range cfg.Scripts {
		cs := &cfg.Scripts[i]
		s, err := notify.NewScript("script", cs.Cmd, cs.User, cs.Group, &v.n.user)
		if err != nil {
			v.log.Errorf("Disabling track script %s: %v", cs.Name, err)
			continue
		}
		if !sec.Check(s) {
			continue
		}
		out[cs.Name] = &trackedScript{
			script: &vrrp.TrackScript{
				Name:       cs.Name,
				Args:       s.Args,
				Interval:   cs.Interval,
				Timeout:    cs.Timeout,
				Rise:       cs.Rise,
				Fall:       cs.Fall,
				InitFail:   cs.InitFail,
				Credential: &syscall.Credential{Uid: s.Cred.UID, Gid: s.Cred.GID},
			},
			weight:  cs.Weight,
			reverse: cs.Reverse,
		}
	}
	return out
}

// script builds a notify script from its configuration, or nil when there
// is none or script security refuses it.
func (v *vrrpLoop) script(sec *notify.Security, keyword string, c *config.Notify) *notify.Script {
	if c == nil {
		return nil
	}
	s, err := notify.NewScript(keyword, c.Cmd, c.User, c.Group, &v.n.user)
	if err != nil {
		v.log.Errorf("%s %s: %v", keyword, c.Cmd, err)
		return nil
	}
	if !sec.Check(s) {
		return nil
	}
	return s
}

// enqueue takes a transition from an instance, which holds its lock while
// it calls: the scripts and FIFO lines go out from another goroutine, in
// order.
func (v *vrrpLoop) enqueue(t vrrp.Transition) {
	select {
	case v.events <- t:
	default:
		v.log.Errorf("(%s) notify queue full: transition to %s not reported", t.Instance, t.To)
	}
}

// Run runs the instances until ctx ends, then stops them as keepalived
// does: masters send priority 0 and release their addresses.
func (v *vrrpLoop) Run(ctx context.Context) error {
	stopped := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.report(stopped)
	}()
	if v.syncd != nil {
		// Backup until the instance is master, as keepalived starts it.
		v.syncd.set(false)
	}
	err := v.router.Run(ctx)
	// The router has stopped every instance: the STOP transitions are
	// queued, and report sends them before it returns.
	close(stopped)
	<-done
	if v.syncd != nil {
		v.syncd.close()
	}
	return err
}

// report sends transitions to the notify scripts and FIFOs, in order,
// until stopped is closed and the queue is empty.
func (v *vrrpLoop) report(stopped <-chan struct{}) {
	for {
		select {
		case t := <-v.events:
			v.notify(t)
		case <-stopped:
			for {
				select {
				case t := <-v.events:
					v.notify(t)
				default:
					return
				}
			}
		}
	}
}

func (v *vrrpLoop) notify(t vrrp.Transition) {
	s, ok := notifyState(t.To)
	if !ok {
		return
	}
	v.mu.Lock()
	inst, group, changed := v.scripts[t.Instance], v.groups[t.Instance], v.changed
	// keepalived mails a state once, not again when it is re-entered.
	mail := v.n.mailer != nil && v.mail[t.Instance] && v.mailed[t.Instance] != s
	if mail {
		v.mailed[t.Instance] = s
	}
	v.mu.Unlock()
	if mail {
		if t.Group {
			v.n.mailer.GroupState(t.Instance, s)
		} else {
			v.n.mailer.VRRPState(t.Instance, s)
		}
	}
	if t.Group {
		if group != nil {
			v.n.GroupState(group, s)
		}
	} else if inst != nil {
		v.n.InstanceState(inst, s, int(t.Priority))
	}
	if v.syncd != nil && !t.Group && t.Instance == v.syncd.instance && t.To != vrrp.StateStop {
		v.syncd.set(t.To == vrrp.StateMaster)
	}
	if changed != nil && (t.To == vrrp.StateMaster || t.From == vrrp.StateMaster) {
		changed()
	}
}

func notifyState(s vrrp.State) (notify.State, bool) {
	switch s {
	case vrrp.StateMaster:
		return notify.Master, true
	case vrrp.StateBackup:
		return notify.Backup, true
	case vrrp.StateFault:
		return notify.Fault, true
	case vrrp.StateStop:
		return notify.Stop, true
	}
	return 0, false
}

// Owned reports whether a with MASTER instance here has addr among its
// virtual addresses: ha_suspend's question.
func (v *vrrpLoop) Owned(addr netip.Addr) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, inst := range v.instances {
		if inst.Status().State != vrrp.StateMaster {
			continue
		}
		for _, a := range v.vips[inst.Name()] {
			if a == addr {
				return true
			}
		}
	}
	return false
}

// Reload applies a new configuration: instances that stay keep their
// state and VIPs, new ones start, removed ones stop.
func (v *vrrpLoop) Reload(cfg *config.Config) error {
	return v.apply(cfg)
}

// vrrpConfig maps a vrrp_instance to the protocol's and the network's
// settings.
func vrrpConfig(ci *config.Instance, g *config.Global) (vrrp.Config, vrrp.NetConfig, error) {
	vc := vrrp.Config{
		Name:                    ci.Name,
		VRID:                    uint8(ci.VirtualRouterID),
		Priority:                uint8(ci.Priority),
		Version:                 ci.Version,
		Interval:                ci.AdvertInt,
		Nopreempt:               ci.Nopreempt,
		PreemptDelay:            ci.PreemptDelay,
		SkipCheckAdvAddr:        ci.SkipCheckAdvAddr,
		DownTimerAdverts:        ci.DownTimerAdverts,
		LowerPrioNoAdvert:       ci.LowerPrioNoAdvert,
		HigherPrioSendAdvert:    ci.HigherPrioSendAdvert,
		GarpMasterRepeat:        ci.GarpMasterRepeat,
		GarpMasterDelay:         ci.GarpMasterDelay,
		GarpMasterRefresh:       ci.GarpMasterRefresh,
		GarpMasterRefreshRepeat: ci.GarpMasterRefreshRepeat,
		GarpLowerPrioRepeat:     ci.GarpLowerPrioRepeat,
		GarpLowerPrioDelay:      ci.GarpLowerPrioDelay,
	}
	if ci.Auth != nil {
		switch ci.Auth.Type {
		case "PASS":
			vc.AuthType, vc.AuthPass = vrrp.AuthPass, ci.Auth.Pass
		case "AH":
			vc.AuthType, vc.AuthPass = vrrp.AuthAH, ci.Auth.Pass
		}
	}
	nc := vrrp.NetConfig{
		Interface:        ci.Interface,
		Source:           ci.McastSrcIP,
		Garp:             ci.GarpInterval,
		DontTrackPrimary: ci.DontTrackPrimary,
	}
	if ci.UnicastSrcIP.IsValid() {
		nc.Source = ci.UnicastSrcIP
	}
	for _, p := range ci.UnicastPeers {
		nc.Peers = append(nc.Peers, p.Addr)
	}
	for _, t := range ci.Tracking.Interfaces {
		nc.TrackInterfaces = append(nc.TrackInterfaces, vrrp.TrackedInterface{Name: t.Name, Weight: t.Weight})
	}
	vc.CheckUnicastSrc = ci.CheckUnicastSrc || g.VRRPCheckUnicastSrc
	nc.UseVMAC, nc.VMACName, nc.VMACXmitBase = ci.UseVMAC, ci.VMACName, ci.VMACXmitBase
	for _, a := range ci.VirtualIPs {
		vip, err := vrrpVIP(a)
		if err != nil {
			return vc, nc, err
		}
		nc.VIPs = append(nc.VIPs, vip)
	}
	for _, a := range ci.ExcludedVIPs {
		vip, err := vrrpVIP(a)
		if err != nil {
			return vc, nc, err
		}
		nc.ExcludedVIPs = append(nc.ExcludedVIPs, vip)
	}
	for _, r := range ci.VirtualRoutes {
		vr, err := vrrpRoute(r)
		if err != nil {
			return vc, nc, err
		}
		nc.Routes = append(nc.Routes, vr)
	}
	switch {
	case ci.McastDstIP.IsValid():
		nc.Group = ci.McastDstIP
	case len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6():
		nc.Group = g.VRRPMcastGroup6
	default:
		nc.Group = g.VRRPMcastGroup4
	}
	if len(ci.VirtualIPs) > 0 && ci.VirtualIPs[0].Prefix.Addr().Is6() && ci.GnaInterval != 0 {
		nc.Garp = ci.GnaInterval
	}
	return vc, nc, nil
}

// vrrpVIP maps a virtual_ipaddress line.
func vrrpVIP(a config.Address) (vrrp.VIP, error) {
	v := vrrp.VIP{Prefix: a.Prefix, Device: a.Dev, Label: a.Label}
	switch a.Broadcast {
	case "", "-", "+":
		// "+" asks the kernel's default broadcast; netlink computes it
		// when none is given.
	default:
		b, err := netip.ParseAddr(a.Broadcast)
		if err != nil {
			return v, fmt.Errorf("broadcast %q of %s: %w", a.Broadcast, a.Prefix, err)
		}
		v.Broadcast = b
	}
	scope, err := parseScope(a.Scope)
	if err != nil {
		return v, fmt.Errorf("%w of %s", err, a.Prefix)
	}
	v.Scope = scope
	return v, nil
}

func parseScope(s string) (vrrp.Scope, error) {
	switch s {
	case "", "global", "universe":
		return vrrp.ScopeUniverse, nil
	case "site":
		return vrrp.ScopeSite, nil
	case "link":
		return vrrp.ScopeLink, nil
	case "host":
		return vrrp.ScopeHost, nil
	case "nowhere":
		return vrrp.ScopeNowhere, nil
	}
	return 0, fmt.Errorf("scope %q is not known", s)
}

// vrrpRoute maps a virtual_routes line.
func vrrpRoute(r config.Route) (vrrp.Route, error) {
	vr := vrrp.Route{Dst: r.To, Src: r.Src, Gateway: r.Via, Device: r.Dev, Metric: r.Metric}
	switch r.Type {
	case "", "unicast":
		vr.Type = unix.RTN_UNICAST
	case "blackhole":
		vr.Type = unix.RTN_BLACKHOLE
	case "unreachable":
		vr.Type = unix.RTN_UNREACHABLE
	case "prohibit":
		vr.Type = unix.RTN_PROHIBIT
	default:
		return vr, fmt.Errorf("route type %q of %s is not supported", r.Type, r.To)
	}
	switch r.Table {
	case "", "main":
	case "local":
		vr.Table = unix.RT_TABLE_LOCAL
	case "default":
		vr.Table = unix.RT_TABLE_DEFAULT
	default:
		n, err := strconv.Atoi(r.Table)
		if err != nil {
			return vr, fmt.Errorf("route table %q of %s: only numbers, main, local and default are known", r.Table, r.To)
		}
		vr.Table = n
	}
	if r.Scope != "" {
		scope, err := parseScope(r.Scope)
		if err != nil {
			return vr, fmt.Errorf("%w of route %s", err, r.To)
		}
		vr.Scope = scope
	}
	return vr, nil
}

// status reports the instances for the control socket.
func (v *vrrpLoop) status() []control.Instance {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []control.Instance
	for _, inst := range v.instances {
		st := inst.Status()
		ci := control.Instance{
			Name:              st.Name,
			Interface:         v.ifaces[st.Name],
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
		for _, a := range v.vips[st.Name] {
			ci.VIPs = append(ci.VIPs, a.String())
		}
		for _, n := range st.Stats.Drops {
			ci.Drops += n
		}
		out = append(out, ci)
	}
	return out
}
