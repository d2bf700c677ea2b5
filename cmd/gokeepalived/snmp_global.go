package main

import (
	"net/netip"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/kamib"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
)

// globalMIB is KEEPALIVED-MIB's global scalars (keepalived's "Keepalived"
// module, under keepalivedOID.1).
func (d *daemon) globalMIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "Keepalived",
		OID:  keepalivedOID.Append(1),
		Fill: func(b *agentx.Builder) {
			d.mu.Lock()
			g := mibGlobal(&d.cfg.Global, d.place.namespace)
			d.mu.Unlock()
			g.Fill(b)
		},
	}
}

// mibGlobal is the global scalars' snapshot of g, the daemon running in
// the network namespace ns ("" for the one it was started in).
func mibGlobal(g *config.Global, ns string) kamib.Global {
	k := kamib.Global{
		Version:        "gokeepalived v" + version,
		RouterID:       g.RouterID,
		EmailFrom:      g.NotificationEmailFrom,
		Emails:         g.NotificationEmail,
		EmailFaults:    !g.NoEmailFaults,
		SMTPAlert:      kamib.TriOf(g.SMTPAlert),
		SMTPAlertVRRP:  kamib.TriOf(g.SMTPAlertVRRP),
		SMTPAlertLVS:   kamib.TriOf(g.SMTPAlertChecker),
		Traps:          g.EnableTraps,
		LVSFlush:       g.LVSFlush,
		LVSFlushOnStop: kamib.FlushNone,
		// keepalived's column says whether it was built with IPVS's
		// 64-bit counters, as Debian's is; the checker MIB's 64-bit
		// columns stand for them here.
		IPVS64BitStats: true,
		NetNamespace:   ns,
		DBus:           g.EnableDBus,
		Dynamic:        g.DynamicInterfaces,
	}
	switch g.LVSFlushOnStop {
	case config.FlushOnStopAll:
		k.LVSFlushOnStop = kamib.FlushAll
	case config.FlushOnStopVS:
		k.LVSFlushOnStop = kamib.FlushVS
	}
	// keepalived sets the connection timeout's default, and the port,
	// only with a server; without one it shows an unset address as
	// type ipv6 and four zero bytes, and zeros.
	if a, err := netip.ParseAddr(g.SMTPServer); err == nil {
		k.SMTPServer = a.Unmap()
		k.SMTPPort = g.SMTPPort
		k.SMTPTimeout = uint32(g.SMTPConnectTimeout / time.Second)
	}
	return k
}
