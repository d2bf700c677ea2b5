package kamib

import (
	"net/netip"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// RouteType is vrrpRouteType: unicast(1), multipath(2) for a route with
// next hops, then the kernel's other types.
type RouteType int32

// The route types.
const (
	RouteUnicast     RouteType = 1
	RouteMultipath   RouteType = 2
	RouteBlackhole   RouteType = 3
	RouteAnycast     RouteType = 4
	RouteMulticast   RouteType = 5
	RouteBroadcast   RouteType = 6
	RouteUnreachable RouteType = 7
	RouteProhibit    RouteType = 8
	RouteThrow       RouteType = 9
	RouteNAT         RouteType = 10
	RouteXResolve    RouteType = 11
)

// RouteMetric is one of a route's metrics: whether it is set, its
// value, and whether it is locked.
type RouteMetric struct {
	Set    bool
	Value  uint32
	Locked bool
}

// Route is one virtual or static route.
type Route struct {
	Dst  netip.Prefix // invalid for none
	Src  netip.Prefix // "from", invalid for none
	Via  netip.Addr
	Pref netip.Addr // "src", the preferred source
	// Metric, Scope (the kernel's), Type and Table are always shown.
	Metric  uint32
	Scope   uint8
	Type    RouteType
	Table   uint32
	IfIndex int32
	IfName  string // no variables when empty
	Set     bool
	// Tos is shown when HasTos; Protocol (the kernel's) when
	// HasProtocol.
	Tos         uint8
	HasTos      bool
	Protocol    uint8
	HasProtocol bool
	ECN         bool
	QuickAck    bool
	// The metrics, in RTAX order where the MIB has them.
	MTU, Hoplimit, AdvMSS, RTT, RTTVar, Reordering, Window, Cwnd, Ssthresh, RtoMin, InitCwnd, InitRwnd RouteMetric
	Congctl                                                                                            string
	FastOpenNoCookie                                                                                   RouteMetric
	Realms                                                                                             uint32
	NextHops                                                                                           []NextHop
}

// NextHop is one next hop of a multipath route.
type NextHop struct {
	Via     netip.Addr // invalid for none
	IfIndex int32
	IfName  string // no variables when empty
	// Weight is the nexthop's weight (1-256); zero when not given.
	Weight uint32
	OnLink bool
	Realms uint32
}

// fill adds row (n, m) of vrrpRouteTable and the route's rows of
// vrrpRouteNextHopTable.
func (r *Route) fill(b *agentx.Builder, n, m uint32) {
	col := func(c uint32) agentx.OID { return VRRPOID.Append(7, 1, c, n, m) }
	family := r.Dst.Addr()
	if !family.IsValid() {
		family = r.Src.Addr()
	}
	if !family.IsValid() {
		family = r.Pref
	}
	// keepalived calls a route of no known family IPv4.
	typ := int32(1)
	if family.Is6() {
		typ = 2
	}
	b.Int(col(2), typ)
	if r.Dst.IsValid() {
		b.Bytes(col(3), addrBytes(r.Dst.Addr()))
		b.Gauge(col(4), uint32(r.Dst.Bits()))
	}
	if r.Via.IsValid() {
		b.Bytes(col(5), addrBytes(r.Via))
	}
	// vrrpRouteSecondaryGateway is the next hop of a route with exactly
	// one.
	if len(r.NextHops) == 1 && r.NextHops[0].Via.IsValid() {
		b.Bytes(col(6), addrBytes(r.NextHops[0].Via))
	}
	if r.Pref.IsValid() {
		b.Bytes(col(7), addrBytes(r.Pref))
	}
	b.Gauge(col(8), r.Metric)
	b.Int(col(9), scope(r.Scope))
	typ = int32(r.Type)
	if len(r.NextHops) > 0 {
		typ = int32(RouteMultipath)
	}
	b.Int(col(10), typ)
	if r.IfName != "" {
		b.Int(col(11), r.IfIndex)
		b.String(col(12), r.IfName)
	}
	b.Gauge(col(13), r.Table)
	b.Int(col(14), truth(r.Set))
	if r.Src.IsValid() {
		b.Bytes(col(15), addrBytes(r.Src.Addr()))
		b.Gauge(col(16), uint32(r.Src.Bits()))
	}
	if r.HasTos {
		b.Gauge(col(17), uint32(r.Tos))
	}
	if r.HasProtocol {
		// rtprot numbered from 1.
		b.Int(col(18), int32(r.Protocol)+1)
	}
	b.Int(col(19), truth(r.ECN))
	b.Int(col(20), truth(r.QuickAck))
	metric := func(c uint32, v RouteMetric, div uint32, lock bool) {
		if !v.Set {
			return
		}
		b.Gauge(col(c), v.Value/div)
		if lock {
			b.Int(col(c+1), truth(v.Locked))
		}
	}
	metric(22, r.MTU, 1, true)
	if r.Hoplimit.Set {
		b.Gauge(col(24), r.Hoplimit.Value)
		// keepalived 2.2.7 shows advmss when hoplimit is set (and
		// its lock when advmss is), a slip kept as it is what it
		// serves.
		b.Gauge(col(25), r.AdvMSS.Value)
	}
	if r.AdvMSS.Set {
		b.Int(col(26), truth(r.AdvMSS.Locked))
	}
	metric(27, r.RTT, 8, true)
	metric(29, r.RTTVar, 4, true)
	metric(31, r.Reordering, 1, true)
	metric(33, r.Window, 1, false)
	metric(34, r.Cwnd, 1, true)
	metric(36, r.Ssthresh, 1, true)
	metric(38, r.RtoMin, 1, true)
	metric(40, r.InitCwnd, 1, false)
	metric(41, r.InitRwnd, 1, false)
	optString(b, col(42), r.Congctl)
	if r.Realms != 0 {
		b.Gauge(col(44), r.Realms&0xffff)
	}
	if r.Realms&0xffff0000 != 0 {
		b.Gauge(col(45), r.Realms>>16)
	}
	if r.FastOpenNoCookie.Set {
		b.Int(col(55), truth(r.FastOpenNoCookie.Value != 0))
	}
	for k, nh := range r.NextHops {
		c := func(c uint32) agentx.OID { return VRRPOID.Append(11, 1, c, n, m, uint32(k+1)) }
		if nh.Via.IsValid() {
			b.Int(c(2), inetAddressType(nh.Via))
			b.Bytes(c(3), addrBytes(nh.Via))
		}
		if nh.IfName != "" {
			b.Int(c(4), nh.IfIndex)
			b.String(c(5), nh.IfName)
		}
		if nh.Weight != 0 {
			b.Gauge(c(6), nh.Weight)
		}
		b.Int(c(7), truth(nh.OnLink))
		if nh.Realms != 0 {
			b.Gauge(c(8), nh.Realms&0xffff)
		}
		if nh.Realms&0xffff0000 != 0 {
			b.Gauge(c(9), nh.Realms>>16)
		}
	}
}
