package checkermib

import (
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
)

// Trap returns the notification keepalived sends for ev, and its
// varbinds after snmpTrapOID.0: realServerStateChange for a real
// server's change of health, virtualServerQuorumStateChange for a change
// of quorum. routerID is global_defs' router_id.
//
// keepalived names each varbind by its column, without a row index, and
// gives virtualServerProtocol as a TruthValue of "is TCP" (1 for TCP, 2
// otherwise) rather than the column's own enumeration; both are kept, as
// a trap receiver that matches keepalived's expects them.
func Trap(ev lvs.Event, routerID string) (agentx.OID, []agentx.VarBind) {
	var vbs []agentx.VarBind
	add := func(name agentx.OID, t agentx.VarType, v any) {
		vbs = append(vbs, agentx.VarBind{Name: name, Type: t, Value: v})
	}
	trap := VirtualServerQuorumStateChange
	if rs := ev.RS; rs != nil {
		trap = RealServerStateChange
		add(Root.Append(4, 1, 3), agentx.Integer, addrType(rs.Addr))
		add(Root.Append(4, 1, 4), agentx.OctetString, addrBytes(rs.Addr))
		add(Root.Append(4, 1, 5), agentx.Gauge32, uint32(rs.Port))
		add(Root.Append(4, 1, 6), agentx.Integer, truth(ev.Up))
	}
	vs := ev.VS
	switch {
	case vs.Group != "":
		add(Root.Append(3, 1, 2), agentx.Integer, int32(3))
		add(Root.Append(3, 1, 3), agentx.OctetString, []byte(vs.Group))
	case vs.FWMark != 0:
		add(Root.Append(3, 1, 2), agentx.Integer, int32(1))
		add(Root.Append(3, 1, 4), agentx.Gauge32, vs.FWMark)
	default:
		add(Root.Append(3, 1, 2), agentx.Integer, int32(2))
		add(Root.Append(3, 1, 5), agentx.Integer, addrType(vs.Addr))
		add(Root.Append(3, 1, 6), agentx.OctetString, addrBytes(vs.Addr))
		add(Root.Append(3, 1, 7), agentx.Gauge32, uint32(vs.Port))
	}
	add(Root.Append(3, 1, 8), agentx.Integer, truth(vs.Protocol == config.ProtocolTCP))
	if ev.RS == nil {
		// virtualServerQuorumStatus: up(1), down(2), or 3 as the
		// checkers shut down.
		status := truth(ev.Up)
		if ev.Stopping {
			status = 3
		}
		add(Root.Append(3, 1, 23), agentx.Integer, status)
		add(Root.Append(3, 1, 22), agentx.Gauge32, vs.Quorum)
	}
	add(Root.Append(3, 1, 21), agentx.Gauge32, uint32(ev.RealUp))
	add(Root.Append(3, 1, 20), agentx.Gauge32, uint32(ev.RealTotal))
	add(routerIDOID, agentx.OctetString, []byte(routerID))
	return trap, vbs
}
