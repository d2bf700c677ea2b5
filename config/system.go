package config

import (
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
	p.checkScripts()
}

func (p *parser) checkInterfaces() {
	exists := func(name string) bool {
		_, err := net.InterfaceByName(name)
		return err == nil
	}
	for _, in := range p.cfg.Instances {
		if in.Interface != "" && !exists(in.Interface) {
			p.errorf(in.ifPos, "WARNING - interface %s for vrrp_instance %s doesn't exist", in.Interface, in.Name)
		}
		for _, t := range in.Tracking.Interfaces {
			if !exists(t.Name) {
				p.errorf(t.Pos, "(%s) tracked interface %s doesn't exist", in.Name, t.Name)
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
	}
	if sd := p.cfg.Global.LVSSyncDaemon; sd != nil && !exists(sd.Interface) {
		p.errorf(sd.Pos, "WARNING - interface %s for lvs_sync_daemon doesn't exist", sd.Interface)
	}
}

// checkScripts finds every script's program as keepalived does before it
// agrees to run anything. A vrrp_script whose program is missing is
// disabled; any script that would run as root without
// enable_script_security is refused.
func (p *parser) checkScripts() {
	g := &p.cfg.Global
	type script struct {
		pos    Pos
		cmd    string
		user   string
		vrrp   string // vrrp_script name, if it is one
		notify bool
	}
	var all []script
	add := func(n *Notify) {
		if n != nil && n.Cmd != "" {
			all = append(all, script{pos: n.Pos, cmd: n.Cmd, user: n.User, notify: true})
		}
	}
	addAll := func(ns Notifies) {
		for _, n := range []*Notify{ns.Master, ns.Backup, ns.Fault, ns.Stop, ns.Deleted, ns.Any, ns.MasterRxLowerPri} {
			add(n)
		}
	}
	for _, s := range p.cfg.Scripts {
		all = append(all, script{pos: s.Pos, cmd: s.Cmd, user: s.User, vrrp: s.Name})
	}
	for _, in := range p.cfg.Instances {
		addAll(in.Notify)
	}
	for _, sg := range p.cfg.SyncGroups {
		addAll(sg.Notify)
	}
	for _, f := range []FIFO{g.NotifyFIFO, g.VRRPNotifyFIFO, g.LVSNotifyFIFO} {
		add(f.Script)
	}
	for _, vs := range p.cfg.VirtualServers {
		add(vs.QuorumUp)
		add(vs.QuorumDown)
		for _, rs := range vs.RealServers {
			add(rs.NotifyUp)
			add(rs.NotifyDown)
			for _, c := range rs.Checkers {
				if c.Misc != nil {
					all = append(all, script{pos: c.Pos, cmd: c.Misc.Path, user: c.Misc.User})
				}
			}
		}
	}
	if len(all) == 0 {
		return
	}

	defaultUser := g.ScriptUser
	if defaultUser == "" {
		if _, err := user.Lookup("keepalived_script"); err == nil {
			defaultUser = "keepalived_script"
		} else if g.EnableScriptSecurity {
			p.errorf(g.Pos, "Unable to set default user keepalived_script for script")
		}
	}
	violation := false
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
		if (u == "" || u == "root") && !g.EnableScriptSecurity && !violation {
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
