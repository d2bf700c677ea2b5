package main

import (
	"context"
	"sync"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/kamib"
	"github.com/gokeepalived/gokeepalived/internal/logging"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
	"github.com/gokeepalived/gokeepalived/notify"
)

// keepalivedOID is KEEPALIVED-MIB's root, enterprises.9586.100.5; its
// global scalars are under .1, VRRP under .2, the checkers under .3.
var keepalivedOID = agentx.MustParseOID("1.3.6.1.4.1.9586.100.5")

// snmpSettings are the SNMP choices of a configuration and the command
// line: -x turns every MIB on, as keepalived's does before the
// configuration is read (which cannot turn them off), and -A names the
// socket ahead of snmp_socket.
type snmpSettings struct {
	vrrp, checker, rfcv2, rfcv3, traps bool
	socket                             string
}

func (d *daemon) snmpSettings(cfg *config.Config) snmpSettings {
	g := &cfg.Global
	st := snmpSettings{
		vrrp:    g.EnableSNMPVRRP || d.s.snmp,
		checker: g.EnableSNMPChecker || d.s.snmp,
		rfcv2:   g.EnableSNMPRFCv2 || d.s.snmp,
		rfcv3:   g.EnableSNMPRFCv3 || d.s.snmp,
		traps:   g.EnableTraps,
		socket:  g.SNMPSocket,
	}
	if d.s.snmpSocket != "" {
		st.socket = d.s.snmpSocket
	}
	return st
}

// snmpAgents are the daemon's AgentX subagents: one for VRRP and one for
// the checkers, as keepalived's two processes each run one. Either is nil
// when it does not run.
type snmpAgents struct {
	vrrp, checker *snmpagent.Agent
	// seq puts KEEPALIVED-MIB's VRRP notifications in keepalived's
	// order.
	seq    kamib.Sequencer
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startSNMP starts the subagents cfg asks for, before the loops start, and
// waits a moment for each to reach the master: keepalived's subagent
// connects before its instances take their first state, so their first
// transitions are trapped. The subagents start once and are kept across
// reloads, as keepalived's are; their MIBs read the running
// configuration at each request.
func (d *daemon) startSNMP(ctx context.Context, cfg *config.Config) {
	st := d.snmpSettings(cfg)
	runVRRP := (st.vrrp || st.rfcv2 || st.rfcv3) && d.wants(vrrpKind, cfg)
	runChecker := st.checker && d.wants(checkerKind, cfg)
	if !runVRRP && !runChecker {
		return
	}
	actx, cancel := context.WithCancel(ctx)
	a := &snmpAgents{cancel: cancel}
	start := func(ident string, mibs []snmpagent.MIB) *snmpagent.Agent {
		log := logging.WithIdent(d.log, d.place.ident(ident))
		log.Info("Starting SNMP subagent")
		ag := snmpagent.New(snmpagent.Options{Socket: st.socket, Descr: "Keepalived", MIBs: mibs, Log: log})
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			ag.Run(actx)
		}()
		return ag
	}
	// The checkers' subagent serves the global scalars when it runs;
	// otherwise the VRRP one does (keepalived's vrrp_handles_global_oid).
	if runChecker {
		a.checker = start(logging.IdentCheckers, append([]snmpagent.MIB{d.globalMIB()}, d.checkerMIB()))
	}
	if runVRRP {
		var mibs []snmpagent.MIB
		if !runChecker && st.vrrp {
			mibs = append(mibs, d.globalMIB())
		}
		if st.vrrp {
			mibs = append(mibs, d.keepalivedVRRPMIB())
		}
		if st.rfcv2 {
			mibs = append(mibs, d.rfc2787MIB())
		}
		if st.rfcv3 {
			mibs = append(mibs, d.rfc6527MIB())
		}
		a.vrrp = start(logging.IdentVRRP, mibs)
	}
	d.snmp.Store(a)
	for _, ag := range []*snmpagent.Agent{a.vrrp, a.checker} {
		if ag != nil {
			ag.WaitConnected(time.Second)
		}
	}
}

// stopSNMP hands the last notifications to the master and closes the
// sessions.
func (d *daemon) stopSNMP() {
	a := d.snmp.Swap(nil)
	if a == nil {
		return
	}
	if a.vrrp != nil {
		sendAll(a.vrrp, a.seq.Flush())
	}
	for _, ag := range []*snmpagent.Agent{a.vrrp, a.checker} {
		if ag != nil {
			ag.Drain(time.Second)
		}
	}
	a.cancel()
	a.wg.Wait()
}

// snmpInstanceState is told of every VRRP instance state the notify
// scripts hear of, and sends the traps the running configuration asks
// for.
func (d *daemon) snmpInstanceState(ci *config.Instance, s notify.State) {
	a, st, ok := d.vrrpTraps()
	if !ok {
		return
	}
	d.vrrpStateTraps(a, st, ci, s)
	d.rfcStateTraps(a.vrrp, st, ci, s)
}

// vrrpTraps returns the subagents and the running configuration's SNMP
// settings, and whether VRRP's subagent runs and traps are on: what every
// VRRP notification needs first.
func (d *daemon) vrrpTraps() (*snmpAgents, snmpSettings, bool) {
	a := d.snmp.Load()
	if a == nil || a.vrrp == nil {
		return nil, snmpSettings{}, false
	}
	d.mu.Lock()
	st := d.snmpSettings(d.cfg)
	d.mu.Unlock()
	return a, st, st.traps
}
