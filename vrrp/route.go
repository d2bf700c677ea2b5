package vrrp

import (
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// RouteProtocol is the rtnetlink protocol keepalived marks its routes
// with (RTPROT_KEEPALIVED), so that ip route shows whose they are.
const RouteProtocol = 18

// A RouteType is an rtnetlink route type (rtm_type), with the kernel's
// values.
type RouteType uint8

// The route types keepalived's virtual_routes accept. Blackhole,
// unreachable, prohibit and throw routes have neither device nor
// gateway; local, broadcast, anycast and nat routes normally go in the
// local table. Linux refuses nat routes.
const (
	RouteUnicast     RouteType = 1
	RouteLocal       RouteType = 2
	RouteBroadcast   RouteType = 3
	RouteAnycast     RouteType = 4
	RouteMulticast   RouteType = 5
	RouteBlackhole   RouteType = 6
	RouteUnreachable RouteType = 7
	RouteProhibit    RouteType = 8
	RouteThrow       RouteType = 9
	RouteNAT         RouteType = 10
	RouteXResolve    RouteType = 11
)

var routeTypeNames = [...]string{
	RouteUnicast:     "unicast",
	RouteLocal:       "local",
	RouteBroadcast:   "broadcast",
	RouteAnycast:     "anycast",
	RouteMulticast:   "multicast",
	RouteBlackhole:   "blackhole",
	RouteUnreachable: "unreachable",
	RouteProhibit:    "prohibit",
	RouteThrow:       "throw",
	RouteNAT:         "nat",
	RouteXResolve:    "xresolve",
}

// String returns the type as ip-route(8) spells it, or its number.
func (t RouteType) String() string {
	if int(t) < len(routeTypeNames) && routeTypeNames[t] != "" {
		return routeTypeNames[t]
	}
	return strconv.Itoa(int(t))
}

// A Route is a virtual_routes entry: a route the master installs with its
// VIPs and removes when it leaves MASTER. It is installed as given: the
// table and scope a type needs (local routes in table local, scope
// host, say) are the caller's to set.
type Route struct {
	Type    RouteType    // type; zero: unicast
	Dst     netip.Prefix // to
	Src     netip.Addr   // src
	Gateway netip.Addr   // via or gw
	Device  string       // dev
	Table   int          // table; zero: main
	Metric  int          // metric
	Scope   Scope        // scope; zero: global
	// Protocol is the rtnetlink protocol (proto); zero: keepalived's,
	// RouteProtocol.
	Protocol uint8
	// OnLink (onlink) takes the gateway as on the device's link even
	// when no route says it is.
	OnLink bool
	// NoTrack (no_track): the route's deletion by hand is not acted on.
	NoTrack bool
	Tos     uint8  // tos or dsfield
	Realms  uint32 // realms: source << 16 | destination
	Metrics RouteMetrics
	// Nexthops make a multipath route: Gateway and Device are then
	// unset.
	Nexthops []Nexthop
	// Mode is how the route goes in beside those of the same key.
	Mode RouteMode
}

// RouteMode is how a route is added beside routes of the same key
// (destination, tos, priority, table): keepalived's prepend, add and
// append.
type RouteMode uint8

const (
	// RoutePrepend puts it first (NLM_F_CREATE alone), the default.
	RoutePrepend RouteMode = iota
	// RouteAdd adds it only if no route has the key (NLM_F_EXCL).
	RouteAdd
	// RouteAppend puts it last (NLM_F_APPEND).
	RouteAppend
)

// RouteMetrics are a route's metrics, in the kernel's units; zero is
// unset.
type RouteMetrics struct {
	MTU, Hoplimit, AdvMSS, RTT, RTTVar, Reordering, Window uint32
	Cwnd, Ssthresh, RtoMin, InitCwnd, InitRwnd, QuickACK   uint32
	FastOpenNoCookie                                       uint32
	MTULock, RtoMinLock, FeatureECN                        bool
	Congctl                                                string
}

// A Nexthop is one path of a multipath route.
type Nexthop struct {
	Gateway netip.Addr
	Device  string
	Weight  int // 1-256; zero is 1
	OnLink  bool
}

// Equal reports whether rt and o are the same route.
func (rt Route) Equal(o Route) bool {
	if !slices.Equal(rt.Nexthops, o.Nexthops) {
		return false
	}
	rt.Nexthops, o.Nexthops = nil, nil
	// Every other field is comparable.
	return reflect.DeepEqual(rt, o)
}

// protocol returns the protocol the route is installed with.
func (rt Route) protocol() uint8 {
	if rt.Protocol == 0 {
		return RouteProtocol
	}
	return rt.Protocol
}

// String returns the route as ip-route(8) would show it.
func (rt Route) String() string {
	var b strings.Builder
	if rt.Type != 0 && rt.Type != RouteUnicast {
		b.WriteString(rt.Type.String() + " ")
	}
	b.WriteString(rt.Dst.String())
	if rt.Gateway.IsValid() {
		b.WriteString(" via " + rt.Gateway.String())
	}
	if rt.Device != "" {
		b.WriteString(" dev " + rt.Device)
	}
	if rt.Src.IsValid() {
		b.WriteString(" src " + rt.Src.String())
	}
	if rt.Table != 0 {
		b.WriteString(" table " + strconv.Itoa(rt.Table))
	}
	if rt.Metric != 0 {
		b.WriteString(" metric " + strconv.Itoa(rt.Metric))
	}
	if rt.Scope != ScopeUniverse {
		b.WriteString(" scope " + rt.Scope.String())
	}
	if rt.Protocol != 0 {
		b.WriteString(" proto " + strconv.Itoa(int(rt.Protocol)))
	}
	if rt.OnLink {
		b.WriteString(" onlink")
	}
	return b.String()
}
