package main

import (
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
	"github.com/gokeepalived/gokeepalived/notify"
)

// rfc2787MIB is VRRP-MIB (RFC 2787), keepalived's "VRRP" module.
func (d *daemon) rfc2787MIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "VRRP",
		OID:  agentx.MustParseOID("1.3.6.1.2.1.68"),
		Fill: func(b *agentx.Builder) {},
	}
}

// rfc6527MIB is VRRPv3-MIB (RFC 6527), keepalived's "VRRPV3" module.
func (d *daemon) rfc6527MIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "VRRPV3",
		OID:  agentx.MustParseOID("1.3.6.1.2.1.207"),
		Fill: func(b *agentx.Builder) {},
	}
}

// rfcStateTraps sends the RFC MIBs' traps for an instance's new state.
func (d *daemon) rfcStateTraps(a *snmpagent.Agent, st snmpSettings, ci *config.Instance, s notify.State) {
}
