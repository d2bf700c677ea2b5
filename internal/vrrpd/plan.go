package vrrpd

import (
	"slices"
	"syscall"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/dump"
	"github.com/gokeepalived/gokeepalived/internal/notifyhub"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// plan is what a configuration asks of the router and of the loop's
// records.
type plan struct {
	specs      []vrrp.Spec
	groupSpecs []vrrp.GroupSpec
	instances  []*instance
	byName     map[string]*instance
	groups     map[string]*group
}

// trackedScript is a vrrp_script ready for the router, with its own weight
// and reverse, which a track_script entry may override.
type trackedScript struct {
	script  *vrrp.TrackScript
	weight  int
	reverse bool
}

// trackedFile is a vrrp_track_file ready for the router, with its own
// weight, which a track_file entry may override.
type trackedFile struct {
	file   *vrrp.TrackFile
	weight int
}

// trackedProcess is a vrrp_track_process ready for the router, with its
// own weight and reverse, which a track_process entry may override.
type trackedProcess struct {
	process *vrrp.TrackProcess
	weight  int
	reverse bool
}

// planner builds a plan: the trackers and scripts are built once and
// shared by the instances that name them.
type planner struct {
	l       *Loop
	cfg     *config.Config
	sec     *notify.Security
	user    *notify.Credential
	scripts map[string]*trackedScript
	files   map[string]*trackedFile
	procs   map[string]*trackedProcess
	warned  map[string]bool // the sync groups' process weights cleared, as "group\x00process"
	inGroup map[string]*config.SyncGroup
}

// plan maps cfg to the router's specs and the loop's records.
func (l *Loop) plan(cfg *config.Config) *plan {
	pl := &planner{
		l:       l,
		cfg:     cfg,
		sec:     &notify.Security{Enabled: cfg.Global.EnableScriptSecurity, Log: l.log},
		user:    l.hub.ScriptUser(),
		files:   make(map[string]*trackedFile),
		warned:  make(map[string]bool),
		inGroup: make(map[string]*config.SyncGroup),
	}
	pl.scripts = pl.trackScripts()
	pl.procs = trackProcesses(cfg.TrackProcesses)
	for i := range cfg.TrackFiles {
		f := &cfg.TrackFiles[i]
		pl.files[f.Name] = &trackedFile{
			file:   &vrrp.TrackFile{Name: f.Name, Path: f.File},
			weight: f.Weight,
		}
	}
	for i := range cfg.SyncGroups {
		for _, m := range cfg.SyncGroups[i].Group {
			pl.inGroup[m] = &cfg.SyncGroups[i]
		}
	}

	p := &plan{byName: make(map[string]*instance), groups: make(map[string]*group)}
	vmacs := vmacNames(cfg)
	statics := staticTracks(cfg, l.log)
	for i := range cfg.Instances {
		ci := &cfg.Instances[i]
		vc, nc := vrrpConfig(ci, &cfg.Global)
		if ci.UseVMAC {
			nc.VMACName = vmacs[i]
		}
		if nc.ConfigFault {
			l.log.Infof("(%s) Cannot use unicast without any peers - going to fault state", ci.Name)
		}
		spec := vrrp.Spec{Config: vc, Net: nc}
		spec.Config.Notify = l.enqueue
		spec.Config.KeepAddressesOnStop = l.keep
		spec.Config.StartAfter = l.startAfter
		ownScripts := pl.track(&spec.Net, ci)
		spec.Net.TrackInterfaces = trackStatics(spec.Net.TrackInterfaces, ci.Interface, statics[ci.Name])
		p.specs = append(p.specs, spec)
		in := &instance{cfg: ci, vmac: nc.VMACName, mail: ci.SMTPAlert, noFaultMail: cfg.Global.NoEmailFaults, scripts: pl.instanceScripts(ci)}
		if g := pl.inGroup[ci.Name]; g != nil {
			in.group = g.Name
		}
		in.tracked, in.trackedScripts, in.trackedFiles = spec.Net.TrackInterfaces, ownScripts, spec.Net.TrackFiles
		for _, ti := range spec.Net.TrackInterfaces {
			in.trackIfs = append(in.trackIfs, ti.Name)
		}
		for _, ts := range spec.Net.TrackScripts {
			in.trackScripts = append(in.trackScripts, dump.QuoteArgs(ts.Script.Args))
		}
		for _, vip := range spec.Net.VIPs {
			in.vips = append(in.vips, vip.Prefix.Addr())
		}
		p.instances = append(p.instances, in)
		p.byName[ci.Name] = in
	}
	for i := range cfg.SyncGroups {
		g := &cfg.SyncGroups[i]
		var members []string
		for _, name := range g.Group {
			if p.byName[name] != nil {
				members = append(members, name)
			}
		}
		if len(members) == 0 {
			continue
		}
		p.groupSpecs = append(p.groupSpecs, vrrp.GroupSpec{Name: g.Name, Members: members, Notify: l.enqueue})
		p.groups[g.Name] = &group{mail: g.SMTPAlert, noFaultMail: cfg.Global.NoEmailFaults, scripts: &notify.SyncGroup{
			Name:   g.Name,
			Master: pl.script("notify_master", g.Notify.Master),
			Backup: pl.script("notify_backup", g.Notify.Backup),
			Fault:  pl.script("notify_fault", g.Notify.Fault),
			Stop:   pl.script("notify_stop", g.Notify.Stop),
			Notify: pl.script("notify", g.Notify.Any),
		}}
	}
	pl.reportViolation()
	return p
}

// reportViolation logs keepalived's warning when scripts run without
// enable_script_security, as its VRRP process's
// check_vrrp_script_security does at start-up and on reload: the
// instances' scripts and the notify_fifo and vrrp_notify_fifo scripts
// count, and only when there are instances.
func (pl *planner) reportViolation() {
	if len(pl.cfg.Instances) == 0 {
		return
	}
	// The hub reports about the FIFO scripts; here they only count.
	log := pl.sec.Log
	pl.sec.Log = nil
	for _, f := range []config.FIFO{pl.cfg.Global.NotifyFIFO, pl.cfg.Global.VRRPNotifyFIFO} {
		if s, err := notifyhub.FIFOScript(f, pl.user); err == nil {
			pl.sec.Check(s)
		}
	}
	pl.sec.Log = log
	if v := pl.sec.Violation("scripts"); v != "" {
		pl.l.log.Info(v)
	}
}

// instanceScripts builds an instance's notify scripts.
func (pl *planner) instanceScripts(ci *config.Instance) *notify.Instance {
	return &notify.Instance{
		Name:             ci.Name,
		Master:           pl.script("notify_master", ci.Notify.Master),
		Backup:           pl.script("notify_backup", ci.Notify.Backup),
		Fault:            pl.script("notify_fault", ci.Notify.Fault),
		Stop:             pl.script("notify_stop", ci.Notify.Stop),
		Deleted:          pl.script("notify_deleted", ci.Notify.Deleted),
		Notify:           pl.script("notify", ci.Notify.Any),
		MasterRxLowerPri: pl.script("notify_master_rx_lower_pri", ci.Notify.MasterRxLowerPri),
	}
}

// track adds an instance's track_script and track_file entries, and those
// of its sync group, to nc. keepalived ignores the weights of a sync group
// member's own trackers unless sync_group_tracking_weight is set: the
// group moves as one. It returns the instance's own track_script entries
// before its group's change their weights, as keepalived's SNMP shows
// them.
func (pl *planner) track(nc *vrrp.NetConfig, ci *config.Instance) (own []vrrp.TrackedScript) {
	g := pl.inGroup[ci.Name]
	zeroWeights := g != nil && !g.SyncGroupTrackingWeight
	weight := func(w int) int {
		if zeroWeights {
			return 0
		}
		return w
	}
	for _, t := range ci.Tracking.Scripts {
		if ts := pl.scripts[t.Name]; ts != nil {
			nc.TrackScripts = append(nc.TrackScripts, ts.entry(t, weight))
		}
	}
	for _, t := range ci.Tracking.Files {
		if tf := pl.files[t.Name]; tf != nil {
			nc.TrackFiles = append(nc.TrackFiles, tf.entry(t, weight))
		}
	}
	// keepalived 2.2.7 keeps the weights of a sync group member's own
	// track_process, unlike those of its scripts and files.
	for _, t := range ci.Tracking.Processes {
		if tp := pl.procs[t.Name]; tp != nil {
			nc.TrackProcesses = append(nc.TrackProcesses, tp.entry(t))
		}
	}
	// A sync group member's weighted track_bfd entries are gone already
	// (config drops them, as keepalived does).
	for _, t := range ci.Tracking.BFDs {
		if e, ok := pl.bfdEntry(t); ok {
			nc.TrackBFDs = append(nc.TrackBFDs, e)
		}
	}
	if k := slices.IndexFunc(pl.cfg.BFDInstances, func(b config.BFDInstance) bool { return b.Name == ci.BFDTakeover }); k >= 0 {
		b := pl.cfg.BFDInstances[k]
		nc.BFDTakeover = vrrp.BFDTakeover{Name: ci.BFDTakeover, Neighbor: b.Neighbor, Answer: takeoverAnswer(b)}
	}
	own = slices.Clone(nc.TrackScripts)
	if g != nil {
		pl.groupTracking(nc, ci.Name, ci.Interface, g)
		pl.groupProcesses(nc, ci.Name, g)
		pl.groupBFDs(nc, ci.Name, g)
	}
	return own
}

// bfdEntry is a track_bfd line's use of a bfd_instance: the block's
// weight and reverse unless the line sets them; "weight W" alone keeps
// the block's reverse, as keepalived's alloc_track_bfd does.
func (pl *planner) bfdEntry(t config.Track) (vrrp.TrackedBFD, bool) {
	k := slices.IndexFunc(pl.cfg.BFDInstances, func(b config.BFDInstance) bool { return b.Name == t.Name })
	if k < 0 {
		return vrrp.TrackedBFD{}, false
	}
	b := &pl.cfg.BFDInstances[k]
	w := b.Weight
	if t.HasWeight {
		w = t.Weight
	}
	return vrrp.TrackedBFD{Name: t.Name, Weight: w, Reverse: t.Reverse || b.WeightReverse && !t.NoReverse}, true
}

// groupBFDs adds a sync group's track_bfd entries to one of its members
// as keepalived's sync_group_tracking_init and add_vrrp_to_track_bfd do:
// with no weight when a member is address owner, and, for a session the
// member tracks itself, the group's weight and reverse unless the
// member's weight is 0.
func (pl *planner) groupBFDs(nc *vrrp.NetConfig, member string, g *config.SyncGroup) {
	owner := slices.ContainsFunc(pl.cfg.Instances, func(in config.Instance) bool {
		return in.Priority == 255 && slices.Contains(g.Group, in.Name)
	})
	for _, t := range g.Tracking.BFDs {
		e, ok := pl.bfdEntry(t)
		if !ok {
			continue
		}
		if owner && e.Weight != 0 {
			if k := g.Name + "\x00bfd\x00" + t.Name; !pl.warned[k] {
				pl.warned[k] = true
				pl.l.log.Errorf("(%s) Cannot have weighted track bfd '%s' with member having priority %d - setting weight 0", g.Name, t.Name, vrrp.PriorityOwner)
			}
			e.Weight = 0
		}
		k := slices.IndexFunc(nc.TrackBFDs, func(x vrrp.TrackedBFD) bool { return x.Name == e.Name })
		if k < 0 {
			nc.TrackBFDs = append(nc.TrackBFDs, e)
			continue
		}
		pl.l.log.Infof("(%s) track_bfd %s is configured on VRRP instance and sync group. Remove vrrp instance config", member, t.Name)
		if nc.TrackBFDs[k].Weight != 0 {
			nc.TrackBFDs[k].Weight, nc.TrackBFDs[k].Reverse = e.Weight, e.Reverse
		}
	}
}

// entry is a track_script line's use of the script: its weight unless the
// line sets one, reversed when either says so.
func (ts *trackedScript) entry(t config.Track, weight func(int) int) vrrp.TrackedScript {
	w := ts.weight
	if t.HasWeight {
		w = t.Weight
	}
	return vrrp.TrackedScript{Script: ts.script, Weight: weight(w), Reverse: t.Reverse != ts.reverse}
}

// entry is a track_file line's use of the file.
func (tf *trackedFile) entry(t config.Track, weight func(int) int) vrrp.TrackedFile {
	w := tf.weight
	if t.HasWeight {
		w = t.Weight
	}
	return vrrp.TrackedFile{File: tf.file, Weight: weight(w), Reverse: t.Reverse}
}

// groupTracking adds a sync group's track_interface, track_script and
// track_file to one of its members, as keepalived 2.2.7 adds them to
// every member: with the group entry's weight (or the script's or file's
// own), which, unlike a member's own trackers, keeps its weight, so that
// every member moves by the same amount. A member that is address owner
// (priority 255) cannot have weights, so keepalived clears them for the
// whole group. A tracker the member already has itself is not added
// twice; primary is the member's own interface.
func (pl *planner) groupTracking(nc *vrrp.NetConfig, member, primary string, g *config.SyncGroup) {
	owner := slices.ContainsFunc(pl.cfg.Instances, func(in config.Instance) bool {
		return in.Priority == 255 && slices.Contains(g.Group, in.Name)
	})
	weight := func(w int) int {
		if owner {
			return 0
		}
		return w
	}
	// An interface the member tracks already keeps its entry, taking
	// the group's weight and reverse only where the member's weight is
	// not 0, as keepalived's add_vrrp_to_interface does. The member's
	// own interface counts, tracked with weight 0 (so the group's weight
	// is lost), unless dont_track_primary leaves it untracked, when the
	// group's entry is the one that tracks it. The configuration reports
	// both cases.
	for _, t := range g.Tracking.Interfaces {
		if t.Name == primary && !nc.DontTrackPrimary {
			continue
		}
		e := vrrp.TrackedInterface{Name: t.Name, Weight: weight(t.Weight), Reverse: t.Reverse}
		k := slices.IndexFunc(nc.TrackInterfaces, func(ti vrrp.TrackedInterface) bool { return ti.Name == t.Name })
		if k < 0 {
			nc.TrackInterfaces = append(nc.TrackInterfaces, e)
			continue
		}
		if nc.TrackInterfaces[k].Weight != 0 {
			nc.TrackInterfaces[k].Weight, nc.TrackInterfaces[k].Reverse = e.Weight, e.Reverse
		}
	}
	// A script or file the member tracks itself takes the group's weight
	// and reverse, unless the member's weight is 0, as keepalived's
	// add_vrrp_to_track_script and add_obj_to_track_file do.
	for _, t := range g.Tracking.Scripts {
		ts := pl.scripts[t.Name]
		if ts == nil {
			continue
		}
		e := ts.entry(t, weight)
		k := slices.IndexFunc(nc.TrackScripts, func(x vrrp.TrackedScript) bool { return x.Script == ts.script })
		if k < 0 {
			nc.TrackScripts = append(nc.TrackScripts, e)
			continue
		}
		pl.l.log.Infof("(%s) track_script %s is configured on VRRP instance and sync group. Remove vrrp instance config", member, t.Name)
		if nc.TrackScripts[k].Weight != 0 {
			nc.TrackScripts[k].Weight, nc.TrackScripts[k].Reverse = e.Weight, e.Reverse
		}
	}
	for _, t := range g.Tracking.Files {
		tf := pl.files[t.Name]
		if tf == nil {
			continue
		}
		e := tf.entry(t, weight)
		k := slices.IndexFunc(nc.TrackFiles, func(x vrrp.TrackedFile) bool { return x.File == tf.file })
		if k < 0 {
			nc.TrackFiles = append(nc.TrackFiles, e)
			continue
		}
		pl.l.log.Infof("(%s) track_file %s is configured on VRRP instance and sync group. Remove vrrp instance config", member, t.Name)
		if nc.TrackFiles[k].Weight != 0 {
			nc.TrackFiles[k].Weight, nc.TrackFiles[k].Reverse = e.Weight, e.Reverse
		}
	}
}

// groupProcesses adds a sync group's track_process entries to one of its
// members as keepalived's sync_group_tracking_init and
// add_vrrp_to_track_process do: with no weight when a member is address
// owner, and, for a process the member tracks itself, the group's
// weight unless the member's is 0, the member's reverse staying.
func (pl *planner) groupProcesses(nc *vrrp.NetConfig, member string, g *config.SyncGroup) {
	owner := slices.ContainsFunc(pl.cfg.Instances, func(in config.Instance) bool {
		return in.Priority == 255 && slices.Contains(g.Group, in.Name)
	})
	for _, t := range g.Tracking.Processes {
		tp := pl.procs[t.Name]
		if tp == nil {
			continue
		}
		e := tp.entry(t)
		if owner && e.Weight != 0 {
			if k := g.Name + "\x00" + t.Name; !pl.warned[k] {
				pl.warned[k] = true
				pl.l.log.Errorf("(%s) Cannot have weighted track process '%s' with member having priority %d - setting weight 0", g.Name, t.Name, vrrp.PriorityOwner)
			}
			e.Weight = 0
		}
		k := slices.IndexFunc(nc.TrackProcesses, func(x vrrp.TrackedProcess) bool { return x.Process == tp.process })
		if k < 0 {
			nc.TrackProcesses = append(nc.TrackProcesses, e)
			continue
		}
		pl.l.log.Infof("(%s) track_process %s is configured on VRRP instance and sync group. Remove vrrp instance config", member, t.Name)
		if nc.TrackProcesses[k].Weight != 0 {
			nc.TrackProcesses[k].Weight = e.Weight
		}
	}
}

// entry is a track_process line's use of the process: its weight unless
// the line sets one, reversed when either says so.
func (tp *trackedProcess) entry(t config.Track) vrrp.TrackedProcess {
	w := tp.weight
	if t.HasWeight {
		w = t.Weight
	}
	return vrrp.TrackedProcess{Process: tp.process, Weight: w, Reverse: t.Reverse || tp.reverse}
}

// paramMatch maps the configuration's param_match to the router's.
func paramMatch(m config.ParamMatch) vrrp.ParamMatch {
	// In the order of vrrp's constants.
	modes := [...]config.ParamMatch{config.ParamMatchNone, config.ParamMatchExact, config.ParamMatchPartial, config.ParamMatchInitial}
	return vrrp.ParamMatch(max(slices.Index(modes[:], m), 0))
}

// trackProcesses builds the vrrp_track_processes.
func trackProcesses(cps []config.TrackProcess) map[string]*trackedProcess {
	out := make(map[string]*trackedProcess, len(cps))
	for i := range cps {
		cp := &cps[i]
		out[cp.Name] = &trackedProcess{
			process: &vrrp.TrackProcess{
				Name: cp.Name, Process: cp.Process, Params: cp.Params, ParamMatch: paramMatch(cp.ParamMatch),
				FullCommand: cp.FullCommand, Quorum: cp.Quorum, QuorumMax: cp.QuorumMax,
				TerminateDelay: cp.TerminateDelay, ForkDelay: cp.ForkDelay,
			},
			weight:  cp.Weight,
			reverse: cp.Reverse,
		}
	}
	return out
}

// trackScripts builds the vrrp_scripts. One that script security refuses,
// or whose user does not exist, is left out, as keepalived disables it.
func (pl *planner) trackScripts() map[string]*trackedScript {
	out := make(map[string]*trackedScript)
	for i := range pl.cfg.Scripts {
		cs := &pl.cfg.Scripts[i]
		s, err := notify.NewScript("script", cs.Cmd, cs.User, cs.Group, pl.user)
		if err != nil {
			pl.l.log.Errorf("Disabling track script %s: %v", cs.Name, err)
			continue
		}
		// keepalived's check_vrrp_script_security.
		switch pl.sec.Verdict(s) {
		case notify.Allowed:
		case notify.Inhibited:
			pl.l.log.Errorf("Disabling track script %s due to insecure", cs.Name)
			continue
		case notify.NotFound:
			pl.l.log.Errorf("Disabling track script %s since not found/accessible", cs.Name)
			continue
		default:
			continue
		}
		out[cs.Name] = &trackedScript{
			script: &vrrp.TrackScript{
				Name:     cs.Name,
				Args:     s.Args,
				Interval: cs.Interval,
				Timeout:  cs.Timeout,
				Rise:     cs.Rise,
				Fall:     cs.Fall,
				// keepalived 2.2.7 puts a script back in its
				// init state whenever an instance or sync
				// group tracks it (alloc_track_script), after
				// init_fail set it failed: init_fail never takes
				// effect there. This is a bug in keepalived,
				// followed so that both daemons tell the same
				// states: a script starts with no result.
				InitFail:   false,
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
func (pl *planner) script(keyword string, c *config.Notify) *notify.Script {
	if c == nil || c.Cmd == "" {
		// notify_deleted may come without a script.
		return nil
	}
	s, err := notify.NewScript(keyword, c.Cmd, c.User, c.Group, pl.user)
	if err != nil {
		pl.l.log.Errorf("%s %s: %v", keyword, c.Cmd, err)
		return nil
	}
	if !pl.sec.Check(s) {
		return nil
	}
	return s
}

// trackStatics adds to an instance's tracked interfaces those its track
// groups give it, with weight 0: down, they put it in FAULT. keepalived
// gives an interface it tracks already weight 0 too, and leaves its own
// interface as it is.
func trackStatics(tracked []vrrp.TrackedInterface, own string, ifnames []string) []vrrp.TrackedInterface {
	for _, name := range ifnames {
		if name == own {
			continue
		}
		i := slices.IndexFunc(tracked, func(t vrrp.TrackedInterface) bool { return t.Name == name })
		if i < 0 {
			tracked = append(tracked, vrrp.TrackedInterface{Name: name})
			continue
		}
		tracked[i].Weight, tracked[i].Reverse = 0, false
	}
	return tracked
}

// takeoverAnswer is how long a backup with bfd_takeover gives its
// master to answer a BFD Down with an advert: twice the detection time
// the session's own intervals give (the master's side goes Down within
// about one, later by up to one transmit interval, or more where its
// intervals differ), and the time for the advert to be sent and heard.
func takeoverAnswer(b config.BFDInstance) time.Duration {
	detect := time.Duration(b.Multiplier) * time.Duration(max(b.MinRx, b.MinTx)) * time.Microsecond
	return 2*detect + takeoverAnswerSlack
}

// takeoverAnswerSlack is the time, beyond the detection, that a master
// is given to send its answer and the backup to hear it.
const takeoverAnswerSlack = 50 * time.Millisecond
