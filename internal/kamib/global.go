package kamib

import (
	"net/netip"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// FlushOnStop is lvs_flush_on_stop as lvsFlushOnStop numbers it.
type FlushOnStop int32

// The lvsFlushOnStop values.
const (
	FlushAll  FlushOnStop = 1 // lvs_flush_on_stop: the whole table
	FlushNone FlushOnStop = 2 // unset: only what the daemon made
	FlushVS   FlushOnStop = 3 // lvs_flush_on_stop VS: the configured services
)

// Global is what the global scalars show: global_defs as the daemon runs
// it.
type Global struct {
	Version  string // version
	RouterID string // router_id; no variable when empty
	// SMTPServer is smtp_server's address; invalid when there is none,
	// which keepalived shows as type ipv6(2) and four zero bytes.
	SMTPServer  netip.Addr
	SMTPPort    uint16 // zero without smtp_server
	SMTPTimeout uint32 // smtp_connect_timeout in seconds
	EmailFrom   string // notification_email_from; no variable when empty
	Emails      []string
	// EmailFaults is !no_email_faults.
	EmailFaults                            bool
	SMTPAlert, SMTPAlertVRRP, SMTPAlertLVS Tri
	Traps                                  bool // enable_traps
	// LinkbeatPolling is linkbeat_use_polling: polling(2) rather than
	// netlink(1).
	LinkbeatPolling bool
	LVSFlush        bool // lvs_flush
	LVSFlushOnStop  FlushOnStop
	IPVS64BitStats  bool
	NetNamespace    string // net_namespace; empty for none
	DBus            bool   // enable_dbus
	Dynamic         bool   // dynamic_interfaces
}

// Fill adds the global scalars (keepalived's core/snmp.c global_vars).
func (g *Global) Fill(b *agentx.Builder) {
	o := GlobalOID
	b.String(o.Append(1, 0), g.Version)
	if g.RouterID != "" {
		b.String(o.Append(2, 0), g.RouterID)
	}
	b.Int(o.Append(3, 1, 0), inetAddressType(g.SMTPServer))
	b.Bytes(o.Append(3, 2, 0), addrBytes(g.SMTPServer))
	b.Gauge(o.Append(3, 3, 0), g.SMTPTimeout)
	if g.EmailFrom != "" {
		b.String(o.Append(3, 4, 0), g.EmailFrom)
	}
	for i, e := range g.Emails {
		b.String(o.Append(3, 5, 1, 2, uint32(i+1)), e)
	}
	b.Gauge(o.Append(3, 6, 0), uint32(g.SMTPPort))
	b.Int(o.Append(3, 7, 0), truth(g.EmailFaults))
	b.Int(o.Append(3, 8, 0), g.SMTPAlert.snmp())
	b.Int(o.Append(3, 9, 0), g.SMTPAlertVRRP.snmp())
	b.Int(o.Append(3, 10, 0), g.SMTPAlertLVS.snmp())
	b.Int(o.Append(4, 0), truth(g.Traps))
	linkbeat := int32(1)
	if g.LinkbeatPolling {
		linkbeat = 2
	}
	b.Int(o.Append(5, 0), linkbeat)
	b.Int(o.Append(6, 0), truth(g.LVSFlush))
	b.Int(o.Append(7, 0), truth(g.IPVS64BitStats))
	b.String(o.Append(8, 0), g.NetNamespace)
	b.Int(o.Append(9, 0), truth(g.DBus))
	b.Int(o.Append(10, 0), truth(g.Dynamic))
	flush := g.LVSFlushOnStop
	if flush == 0 {
		flush = FlushNone
	}
	b.Int(o.Append(11, 0), int32(flush))
}
