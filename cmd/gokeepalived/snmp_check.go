package main

import (
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
)

// checkerMIB is KEEPALIVED-MIB's checker part (keepalived's
// "Healthchecker" module, under keepalivedOID.3).
func (d *daemon) checkerMIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "Healthchecker",
		OID:  keepalivedOID.Append(3),
		Fill: func(b *agentx.Builder) {},
	}
}
