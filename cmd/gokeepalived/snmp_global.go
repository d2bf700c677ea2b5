package main

import (
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
)

// globalMIB is KEEPALIVED-MIB's global scalars (keepalived's "Keepalived"
// module, under keepalivedOID.1).
func (d *daemon) globalMIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "Keepalived",
		OID:  keepalivedOID.Append(1),
		Fill: func(b *agentx.Builder) {},
	}
}
