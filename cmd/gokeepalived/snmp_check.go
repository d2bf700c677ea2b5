package main

import (
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/checkerd"
	"github.com/gokeepalived/gokeepalived/internal/checkermib"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// checkerMIB is KEEPALIVED-MIB's checker part (keepalived's
// "Healthchecker" module, under keepalivedOID.3), read from the running
// configuration and the checker loop at each request.
func (d *daemon) checkerMIB() snmpagent.MIB {
	cache := &counterCache{}
	return snmpagent.MIB{
		Name: "Healthchecker",
		OID:  checkermib.Root,
		Fill: func(b *agentx.Builder) { checkermib.Fill(b, d.checkerSnapshot(cache)) },
	}
}

// statsRefresh is how long a virtual server's counters are kept before
// the kernel is asked again, keepalived's STATS_REFRESH: a walk asks
// for every column of every row, and each would read the whole table.
const statsRefresh = 5 * time.Second

// counterCache keeps each virtual server's counters for statsRefresh.
type counterCache struct {
	mu   sync.Mutex
	byVS map[string]vsCounters // by the virtual server's name
}

type vsCounters struct {
	at    time.Time
	total ipvs.Counters
	dests map[netip.AddrPort]ipvs.DestinationCounters
}

// get returns the counters of vs, read again once statsRefresh has
// passed.
func (c *counterCache) get(loop *checkerd.Loop, vs lvs.VirtualServerStatus, now time.Time) (vsCounters, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if have, ok := c.byVS[vs.Name]; ok && now.Sub(have.at) < statsRefresh {
		return have, nil
	}
	total, dests, err := loop.Counters(vs)
	if err != nil {
		return vsCounters{}, err
	}
	if c.byVS == nil {
		c.byVS = make(map[string]vsCounters)
	}
	v := vsCounters{at: now, total: total, dests: dests}
	c.byVS[vs.Name] = v
	return v, nil
}

// prune drops the counters of the virtual servers not in names.
func (c *counterCache) prune(names map[string]lvs.VirtualServerStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.byVS {
		if _, ok := names[name]; !ok {
			delete(c.byVS, name)
		}
	}
}

// checkerSnapshot is the configuration and the live state of its virtual
// and real servers. Until the checker loop has started them, the subtree
// is empty: keepalived's subagent answers only once its checkers have
// set up the servers, and a state made up before would be false.
func (d *daemon) checkerSnapshot(cache *counterCache) checkermib.Snapshot {
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
	cache.prune(live)
	now := time.Now()
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
		counters, err := cache.get(c, st, now)
		if err != nil {
			d.log.Debugf("SNMP: %v", err)
		} else {
			out.Stats = &counters.total
			if ss := vs.SorryServer; ss != nil {
				out.SorryStats = realStats(counters.dests, netip.AddrPortFrom(ss.Addr, ss.Port))
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
				o.Stats = realStats(counters.dests, addr)
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
