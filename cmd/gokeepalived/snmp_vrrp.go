package main

import (
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
	"github.com/gokeepalived/gokeepalived/notify"
)

// keepalivedVRRPMIB is KEEPALIVED-MIB's VRRP part (keepalived's
// "KEEPALIVED-VRRP" module, under keepalivedOID.2).
func (d *daemon) keepalivedVRRPMIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "KEEPALIVED-VRRP",
		OID:  keepalivedOID.Append(2),
		Fill: func(b *agentx.Builder) {},
	}
}

// vrrpStateTraps sends KEEPALIVED-MIB's traps for an instance's new state.
func (d *daemon) vrrpStateTraps(a *snmpagent.Agent, st snmpSettings, ci *config.Instance, s notify.State) {
}
