package config

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strings"
)

// checkSystem checks what depends on this machine, as keepalived -t does:
// that the interfaces named exist and that the scripts can be run.
func (p *parser) checkSystem() {
	p.checkInterfaces()
	p.checkScriptUsers()
	p.checkScripts()
}

// checkScriptUsers drops the vrrp_scripts whose user or group does not
// exist here, and the tracking of them, as keepalived does.
func (p *parser) checkScriptUsers() {
	c := p.cfg
	dropped := make(map[string]bool)
	kept := c.Scripts[:0]
	for _, s := range c.Scripts {
		if s.User != "" && !accountExists(s.User, s.Group) {
			prog, _, _ := strings.Cut(s.Cmd, " ")
			p.errorf(s.userPos, "Unable to set uid/gid for script '%s'", prog)
			dropped[s.Name] = true
			continue
		}
		kept = append(kept, s)
	}
	c.Scripts = kept
	if len(dropped) == 0 {
		return
	}
	untrack := func(owner string, list []Track) []Track {
		out := list[:0]
		for _, t := range list {
			if dropped[t.Name] {
				p.errorf(t.Pos, "(%s) track script %s not found, ignoring...", owner, t.Name)
				continue
			}
			out = append(out, t)
		}
		return out
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		in.Tracking.Scripts = untrack(in.Name, in.Tracking.Scripts)
	}
	for i := range c.SyncGroups {
		g := &c.SyncGroups[i]
		g.Tracking.Scripts = untrack(g.Name, g.Tracking.Scripts)
	}
}

func accountExists(name, group string) bool {
	if _, err := user.Lookup(name); err != nil {
		return false
	}
	if group == "" {
		return true
	}
	_, err := user.LookupGroup(group)
	return err == nil
}

func (p *parser) checkInterfaces() {
	// keepalived reads the interfaces once, at the start of the check;
	// one table is also what keeps a configuration of many instances from
	// asking the kernel for every link and address once per instance.
	links := make(map[string]net.Interface)
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifi := range ifs {
			links[ifi.Name] = ifi
		}
	}
	interfaceByName := func(name string) (net.Interface, error) {
		if ifi, ok := links[name]; ok {
			return ifi, nil
		}
		return net.Interface{}, fmt.Errorf("looking up interface %q: no such interface", name)
	}
	// missing records whether a VRRP setting names an interface that does
	// not exist, which keepalived's VRRP process sums up once at the end.
	missing := false
	exists := func(name string) bool {
		if p.cfg.Global.DynamicInterfaces {
			// keepalived takes a missing interface as one that will
			// be created.
			return true
		}
		_, err := interfaceByName(name)
		missing = missing || err != nil
		return err == nil
	}
	for _, in := range p.cfg.Instances {
		if in.Interface != "" && !exists(in.Interface) {
			p.errorf(in.ifPos, "WARNING - interface %s for vrrp_instance %s doesn't exist", in.Interface, in.Name)
		}
		if ifi, err := interfaceByName(in.Interface); err == nil && ifi.Flags&net.FlagLoopback != 0 {
			p.errorf(in.ifPos, "(%s) cannot use a loopback interface (%s) for vrrp - ignoring", in.Name, in.Interface)
			p.errorf(in.Pos, "(%s) Unknown interface!", in.Name)
		}
		if in.VRF != "" {
			if !exists(in.VRF) {
				p.errorf(in.vrfPos, "(%s) WARNING - VRF interface %s doesn't exist", in.Name, in.VRF)
			} else if ifi, err := interfaceByName(in.VRF); err == nil && ifi.Flags&net.FlagLoopback != 0 {
				p.errorf(in.vrfPos, "(%s) cannot use a loopback interface (%s) for VRF - ignoring", in.Name, in.VRF)
			}
		}
		for _, t := range in.Tracking.Interfaces {
			if !exists(t.Name) {
				p.errorf(t.Pos, "(%s) tracked interface %s doesn't exist", in.Name, t.Name)
			}
		}
		if _, err := interfaceByName(in.Interface); err == nil {
			for _, t := range in.Tracking.Interfaces {
				if t.Name == in.Interface {
					// keepalived's vrrp_complete_instance, which
					// names no line.
					p.errorf(Pos{}, "(%s) Ignoring track_interface %s since own interface", in.Name, t.Name)
				}
			}
		}
		for _, list := range [][]Address{in.VirtualIPs, in.ExcludedVIPs} {
			for _, a := range list {
				if a.Dev != "" && !exists(a.Dev) {
					p.errorf(a.Pos, "WARNING - interface %s for ip address %s doesn't exist", a.Dev, a.Prefix.Addr())
				}
			}
		}
		for _, r := range in.VirtualRoutes {
			if r.Dev != "" && !exists(r.Dev) {
				p.errorf(r.Pos, "WARNING - interface %s for VROUTE nexthop doesn't exist", r.Dev)
			}
		}
	}
	for _, r := range p.cfg.StaticRoutes {
		if r.Dev != "" && !exists(r.Dev) {
			p.errorf(r.Pos, "WARNING - interface %s for VROUTE nexthop doesn't exist", r.Dev)
		}
	}
	for _, a := range p.cfg.StaticAddresses {
		if a.Dev != "" && !exists(a.Dev) {
			p.errorf(a.Pos, "WARNING - interface %s for ip address %s doesn't exist", a.Dev, a.Prefix.Addr())
		}
		if a.Dev == "" && !exists(cmp.Or(p.cfg.Global.DefaultInterface, DefaultInterface)) {
			p.errorf(a.Pos, "Static address %s requires either an interface or default interface must exist", a.Prefix)
		}
	}
	for _, g := range p.cfg.GarpGroups {
		for i, name := range g.Interfaces {
			if !exists(name) {
				p.errorf(g.ifPos[i], "WARNING - interface %s specified for garp_group doesn't exist", name)
			}
		}
	}
	if missing {
		p.errorf(Pos{}, "Non-existent interface specified in configuration")
	}
	if sd := p.cfg.Global.LVSSyncDaemon; sd != nil {
		if _, err := interfaceByName(sd.Interface); err != nil {
			p.errorf(sd.Pos, "WARNING - interface %s for lvs_sync_daemon doesn't exist", sd.Interface)
		}
	}
}

// checkScripts finds every script's program as keepalived does before it
// agrees to run anything. A vrrp_script whose program is missing is
// disabled; any script that would run as root without
// enable_script_security is refused.
func (p *parser) checkScripts() {
	g := &p.cfg.Global
	type script struct {
		pos       Pos
		cmd       string
		user      string
		vrrp      string // vrrp_script name, if it is one
		checker   bool   // run by the checker process
		startStop bool   // startup_script or shutdown_script
	}
	var all []script
	add := func(n *Notify, checker bool) {
		if n != nil && n.Cmd != "" {
			all = append(all, script{pos: n.Pos, cmd: n.Cmd, user: n.User, checker: checker})
		}
	}
	addAll := func(ns *Notifies) {
		for _, n := range []*Notify{ns.Master, ns.Backup, ns.Fault, ns.Stop, ns.Deleted, ns.Any, ns.MasterRxLowerPri} {
			add(n, false)
		}
	}
	for _, s := range p.cfg.Scripts {
		all = append(all, script{pos: s.Pos, cmd: s.Cmd, user: s.User, vrrp: s.Name})
	}
	for i := range p.cfg.Instances {
		addAll(&p.cfg.Instances[i].Notify)
	}
	for i := range p.cfg.SyncGroups {
		addAll(&p.cfg.SyncGroups[i].Notify)
	}
	add(g.NotifyFIFO.Script, false)
	add(g.VRRPNotifyFIFO.Script, false)
	add(g.LVSNotifyFIFO.Script, true)
	for i := range p.cfg.VirtualServers {
		vs := &p.cfg.VirtualServers[i]
		add(vs.QuorumUp, true)
		add(vs.QuorumDown, true)
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			add(rs.NotifyUp, true)
			add(rs.NotifyDown, true)
			for _, c := range rs.Checkers {
				if c.Misc != nil {
					all = append(all, script{pos: c.Pos, cmd: c.Misc.Path, user: c.Misc.User, checker: true})
				}
			}
		}
	}
	for _, n := range []*Notify{g.StartupScript, g.ShutdownScript} {
		if n != nil {
			all = append(all, script{pos: n.Pos, cmd: n.Cmd, user: n.User, startStop: true})
		}
	}
	if len(all) == 0 {
		return
	}

	defaultUser := g.ScriptUser
	if defaultUser == "" {
		if _, err := user.Lookup("keepalived_script"); err == nil {
			defaultUser = "keepalived_script"
		} else if g.EnableScriptSecurity && p.defaultUser == defaultUserUnresolved {
			p.errorf(g.Pos, "Unable to set default user keepalived_script for script")
		}
	}
	// keepalived's VRRP and checker processes each report once.
	violation, checkViolation, startStopViolation := false, false, false
	for _, s := range all {
		fields := strings.Fields(s.cmd)
		if len(fields) == 0 {
			continue
		}
		if !runnable(fields[0]) {
			if s.vrrp != "" {
				p.errorf(s.pos, "Disabling track script %s since not found/accessible", s.vrrp)
			}
			continue
		}
		u := s.user
		if u == "" {
			u = defaultUser
		}
		if u != "" && u != "root" || g.EnableScriptSecurity {
			continue
		}
		switch {
		case s.startStop && !startStopViolation:
			p.errorf(s.pos, "SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled.")
			startStopViolation = true
		case s.checker && !checkViolation:
			p.errorf(s.pos, "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.")
			checkViolation = true
		case !s.startStop && !s.checker && !violation:
			p.errorf(s.pos, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
			violation = true
		}
	}
}

// runnable reports whether a script's program exists and is executable,
// searching PATH for a bare name as keepalived does.
func runnable(prog string) bool {
	if !strings.Contains(prog, "/") {
		_, err := exec.LookPath(prog)
		return err == nil
	}
	st, err := os.Stat(prog)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
