package main

import (
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/kamib"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
	"github.com/gokeepalived/gokeepalived/internal/vrrpd"
	"github.com/gokeepalived/gokeepalived/notify"
)

// keepalivedVRRPMIB is KEEPALIVED-MIB's VRRP part (keepalived's
// "KEEPALIVED-VRRP" module, under keepalivedOID.2).
func (d *daemon) keepalivedVRRPMIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "KEEPALIVED-VRRP",
		OID:  keepalivedOID.Append(2),
		Fill: func(b *agentx.Builder) {
			l := d.vrrpLoop()
			if l == nil {
				return
			}
			d.mu.Lock()
			g := d.cfg.Global
			d.mu.Unlock()
			v := l.MIB(&g)
			v.Fill(b)
		},
	}
}

// mibNotifyState is a state the notify scripts hear of as
// KEEPALIVED-MIB's notifications tell it.
func mibNotifyState(s notify.State) kamib.State {
	switch s {
	case notify.Master:
		return kamib.StateMaster
	case notify.Backup:
		return kamib.StateBackup
	case notify.Fault:
		return kamib.StateFault
	case notify.Stop:
		return kamib.StateStop
	case notify.Deleted:
		return kamib.StateDeleted
	}
	return kamib.StateUnknown
}

// vrrpStateTraps sends KEEPALIVED-MIB's traps for an instance's new state:
// vrrpInstanceStateChange, with enable_traps and the VRRP MIB on, as
// keepalived sends it with each of the instance's notifications.
func (d *daemon) vrrpStateTraps(a *snmpAgents, st snmpSettings, ci *config.Instance, s notify.State) {
	if !st.traps || !st.vrrp {
		return
	}
	d.mu.Lock()
	id := d.cfg.Global.RouterID
	d.mu.Unlock()
	ms := mibNotifyState(s)
	n := kamib.Notification{Trap: kamib.InstanceStateChange, VarBinds: kamib.InstanceTrap(id, ci.Name, ms, vrrpd.InitialState(ci))}
	var group string
	if l := d.vrrpLoop(); l != nil {
		group, _ = l.SyncGroupOf(ci.Name)
	}
	sendAll(a.vrrp, a.seq.Instance(ci.Name, group, ms, n))
}

// snmpGroupState sends vrrpSyncGroupStateChange for a sync group's new
// state, in keepalived's order with its members' traps.
func (d *daemon) snmpGroupState(name string, s notify.State) {
	a, st, ok := d.vrrpTraps()
	if !ok || !st.vrrp {
		return
	}
	d.mu.Lock()
	id := d.cfg.Global.RouterID
	d.mu.Unlock()
	ms := mibNotifyState(s)
	n := kamib.Notification{Trap: kamib.SyncGroupStateChange, VarBinds: kamib.GroupTrap(id, name, ms)}
	var members []string
	if l := d.vrrpLoop(); l != nil {
		members = l.SyncGroupMembers(name)
	}
	sendAll(a.vrrp, a.seq.Group(name, members, ms, n))
}

// sendAll queues ns for the master, in order.
func sendAll(a *snmpagent.Agent, ns []kamib.Notification) {
	for _, n := range ns {
		a.Send(n.Trap, n.VarBinds...)
	}
}
