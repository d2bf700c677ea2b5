package main

import (
	"net/netip"
	"os"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/checkermib"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// checkerMIB is KEEPALIVED-MIB's checker part (keepalived's
// "Healthchecker" module, under keepalivedOID.3), read from the running
// configuration and the checker loop at each request.
func (d *daemon) checkerMIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "Healthchecker",
		OID:  checkermib.Root,
		Fill: func(b *agentx.Builder) { checkermib.Fill(b, d.checkerSnapshot()) },
	}
}

// checkerSnapshot is the configuration and the live state of its virtual
// and real servers. Until the checker loop has started them, the subtree
// is empty: keepalived's subagent answers only once its checkers have
// set up the servers, and a state made up before would be false.
func (d *daemon) checkerSnapshot() checkermib.Snapshot {
	c := d.checkerLoop()
	if c == nil || !c.Running() {
		return checkermib.Snapshot{}
	}
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	s := checkermib.Snapshot{Config: cfg}
	if cfg == nil {
		return s
	}
	// The loop's virtual servers are those of its configuration, in
	// order; they are matched by name, so that a reload under way shows
	// the servers both configurations have.
	live := make(map[string]lvs.VirtualServerStatus)
	for _, st := range c.Servers() {
		if _, dup := live[st.Name]; !dup {
			live[st.Name] = st
		}
	}
	s.Servers = make([]checkermib.VirtualServer, len(cfg.VirtualServers))
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		out := &s.Servers[i]
		out.Real = make([]checkermib.RealServer, len(vs.RealServers))
		st, ok := live[vs.Name()]
		if !ok {
			// Not (yet) the loop's: the configuration's scripts, as
			// written.
			out.QuorumUpScript, out.QuorumDownScript = checkermib.Script(vs.QuorumUp), checkermib.Script(vs.QuorumDown)
			for j := range vs.RealServers {
				rs := &vs.RealServers[j]
				out.Real[j].NotifyUp, out.Real[j].NotifyDown = checkermib.Script(rs.NotifyUp), checkermib.Script(rs.NotifyDown)
			}
			continue
		}
		out.QuorumUp = st.QuorumUp
		out.QuorumUpScript, out.QuorumDownScript = st.QuorumUpScript, st.QuorumDownScript
		total, dests, err := c.Counters(st)
		if err != nil {
			d.log.Debugf("SNMP: %v", err)
		} else {
			out.Stats = &total
			if ss := vs.SorryServer; ss != nil {
				out.SorryStats = realStats(dests, netip.AddrPortFrom(ss.Addr, ss.Port))
			}
		}
		byAddr := make(map[netip.AddrPort]lvs.RealServerStatus, len(st.RealServers))
		for _, r := range st.RealServers {
			byAddr[r.Addr] = r
		}
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			addr := netip.AddrPortFrom(rs.Addr, rs.Port)
			r, ok := byAddr[addr]
			if !ok {
				continue
			}
			o := &out.Real[j]
			o.Alive, o.Weight, o.FailedCheckers = r.Alive, r.Weight, c.FailedCheckers(vs, rs)
			o.NotifyUp, o.NotifyDown = r.NotifyUp, r.NotifyDown
			if err == nil {
				o.Stats = realStats(dests, addr)
			}
		}
	}
	return s
}

// realStats are the counters of the destination at addr, zero when it
// is not in the table.
func realStats(dests map[netip.AddrPort]ipvs.DestinationCounters, addr netip.AddrPort) *checkermib.RealServerStats {
	d := dests[addr]
	return &checkermib.RealServerStats{Counters: d.Counters, ActiveConns: d.ActiveConns, InactConns: d.InactConns, PersistConns: d.PersistConns}
}

// checkerTrap sends keepalived's realServerStateChange and
// virtualServerQuorumStateChange when the running configuration asks for
// traps. It runs under the checker loop's lock: Send only queues.
func (d *daemon) checkerTrap(ev lvs.Event) {
	a := d.snmp.Load()
	if a == nil || a.checker == nil {
		return
	}
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	if !cfg.Global.EnableTraps {
		return
	}
	trap, vbs := checkermib.Trap(ev, routerID(cfg))
	a.checker.Send(trap, vbs...)
}

// routerID is global_defs' router_id, or the host's name, keepalived's
// default.
func routerID(cfg *config.Config) string {
	if cfg.Global.RouterID != "" {
		return cfg.Global.RouterID
	}
	name, _ := os.Hostname()
	return name
}
