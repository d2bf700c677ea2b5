package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The closed vocabularies of keepalived.conf. Each is parsed once, with
// the spellings keepalived 2.2.7 accepts, and written back by String
// and MarshalText with the spelling the dump shows. Where the kernel has
// a number for a value, the constant is that number.

// Scope is an address or route scope (RT_SCOPE_*). keepalived accepts the
// names below, those of /etc/iproute2/rt_scopes and any number to 255.
type Scope uint8

const (
	ScopeGlobal  Scope = 0 // RT_SCOPE_UNIVERSE, the default
	ScopeSite    Scope = 200
	ScopeLink    Scope = 253
	ScopeHost    Scope = 254
	ScopeNowhere Scope = 255
)

// scopeNames is keepalived's rtscope_default.
var scopeNames = []rtName{
	{uint32(ScopeGlobal), "global"}, {uint32(ScopeNowhere), "nowhere"}, {uint32(ScopeHost), "host"},
	{uint32(ScopeLink), "link"}, {uint32(ScopeSite), "site"},
}

func (s Scope) String() string { return rtNameOf(scopeNames, uint32(s)) }

// MarshalText writes the scope's name, or its number when it has none.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a scope name or number, without rt_scopes.
func (s *Scope) UnmarshalText(b []byte) error {
	v, ok := parseScope(string(b), nil)
	if !ok {
		return fmt.Errorf("parsing scope %q: not a scope name or a number to 255", b)
	}
	*s = v
	return nil
}

func parseScope(w string, sys *rtFiles) (Scope, bool) {
	v, ok := findRTEntry(w, sys.list("rt_scopes", 255), scopeNames, 255)
	return Scope(v), ok
}

// Table is a routing table, by number. Zero is RT_TABLE_UNSPEC: a route
// that names no table goes in main, as the kernel does with table 0.
type Table uint32

const (
	TableUnspec  Table = 0
	TableDefault Table = 253
	TableMain    Table = 254
	TableLocal   Table = 255
)

// tableNames is keepalived's rttable_default.
var tableNames = []rtName{{uint32(TableDefault), "default"}, {uint32(TableMain), "main"}, {uint32(TableLocal), "local"}}

func (t Table) String() string { return rtNameOf(tableNames, uint32(t)) }

// MarshalText writes main, local or default, or else the table's number.
func (t Table) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a table name or number, without rt_tables.
func (t *Table) UnmarshalText(b []byte) error {
	v, ok := parseTable(string(b), nil)
	if !ok {
		return fmt.Errorf("parsing routing table %q: not main, local, default or a number", b)
	}
	*t = v
	return nil
}

func parseTable(w string, sys *rtFiles) (Table, bool) {
	v, ok := findRTEntry(w, sys.list("rt_tables", 1<<32-1), tableNames, 1<<32-1)
	return Table(v), ok
}

// RouteType is a route's type (RTN_*). Zero is a route that names none,
// which is unicast.
type RouteType uint8

const (
	RouteUnspec      RouteType = 0
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

// RouteTypes lists every RouteType, for switches that must cover them.
func RouteTypes() []RouteType {
	return []RouteType{RouteUnspec, RouteUnicast, RouteLocal, RouteBroadcast, RouteAnycast, RouteMulticast,
		RouteBlackhole, RouteUnreachable, RouteProhibit, RouteThrow, RouteNAT, RouteXResolve}
}

// routeTypeNames is keepalived's rtntypes, brd being another name of
// broadcast.
var routeTypeNames = []rtName{
	{uint32(RouteLocal), "local"}, {uint32(RouteNAT), "nat"}, {uint32(RouteBroadcast), "broadcast"},
	{uint32(RouteBroadcast), "brd"}, {uint32(RouteAnycast), "anycast"}, {uint32(RouteMulticast), "multicast"},
	{uint32(RouteProhibit), "prohibit"}, {uint32(RouteUnreachable), "unreachable"},
	{uint32(RouteBlackhole), "blackhole"}, {uint32(RouteXResolve), "xresolve"},
	{uint32(RouteUnicast), "unicast"}, {uint32(RouteThrow), "throw"},
}

func (t RouteType) String() string {
	if t == RouteUnspec {
		return ""
	}
	return rtNameOf(routeTypeNames, uint32(t))
}

// MarshalText writes the type's name; a route that named none has none.
func (t RouteType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a route type name or number.
func (t *RouteType) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = RouteUnspec
		return nil
	}
	v, ok := parseRouteType(string(b))
	if !ok {
		return fmt.Errorf("parsing route type %q: not a type name or a number to 255", b)
	}
	if v > RouteXResolve {
		return fmt.Errorf("parsing route type %q: no such type", b)
	}
	*t = v
	return nil
}

// parseRouteType is keepalived's find_rttables_rtntype: a name, or any
// number to 255.
func parseRouteType(w string) (RouteType, bool) {
	for _, e := range routeTypeNames {
		if w == e.name {
			return RouteType(e.id), true
		}
	}
	if strings.HasPrefix(w, "-") {
		return 0, false
	}
	v, ok := strtoul(w)
	if !ok || v > 255 {
		return 0, false
	}
	return RouteType(v), true
}

// RouteProtocol is a route's protocol (RTPROT_*): the names below, those
// of /etc/iproute2/rt_protos or any number to 255. Zero, none, is also a
// route that names no protocol.
type RouteProtocol uint8

// RouteProtocolKeepalived is RTPROT_KEEPALIVED, the protocol of the
// routes keepalived tracks.
const RouteProtocolKeepalived RouteProtocol = 18

// protoNames is keepalived's rtprot_default.
var protoNames = []rtName{
	{0, "none"}, {1, "redirect"}, {2, "kernel"}, {3, "boot"}, {4, "static"},
	{8, "gated"}, {9, "ra"}, {10, "mrt"}, {11, "zebra"}, {12, "bird"}, {42, "babel"},
	{13, "dnrouted"}, {14, "xorp"}, {15, "ntk"}, {16, "dhcp"},
}

func (p RouteProtocol) String() string { return rtNameOf(protoNames, uint32(p)) }

// MarshalText writes the protocol's name, or its number.
func (p RouteProtocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a protocol name or number, without rt_protos.
func (p *RouteProtocol) UnmarshalText(b []byte) error {
	v, ok := parseRouteProtocol(string(b), nil)
	if !ok {
		return fmt.Errorf("parsing route protocol %q: not a protocol name or a number to 255", b)
	}
	*p = v
	return nil
}

func parseRouteProtocol(w string, sys *rtFiles) (RouteProtocol, bool) {
	v, ok := findRTEntry(w, sys.list("rt_protos", 255), protoNames, 255)
	return RouteProtocol(v), ok
}

// RuleAction is what an ip rule does. Zero looks the packet up in the
// rule's table, which the configuration writes as the table alone.
type RuleAction uint8

const (
	RuleToTable RuleAction = iota
	RuleNop
	RuleBlackhole
	RuleUnreachable
	RuleProhibit
	RuleGoto // goto: on to the rule of Rule.Goto's priority
)

// RuleActions lists every RuleAction.
func RuleActions() []RuleAction {
	return []RuleAction{RuleToTable, RuleNop, RuleBlackhole, RuleUnreachable, RuleProhibit, RuleGoto}
}

func (a RuleAction) String() string {
	switch a {
	case RuleToTable:
		return ""
	case RuleNop:
		return "nop"
	case RuleBlackhole:
		return "blackhole"
	case RuleUnreachable:
		return "unreachable"
	case RuleProhibit:
		return "prohibit"
	case RuleGoto:
		return "goto"
	}
	return "RuleAction(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText writes the action's word; a table lookup has none.
func (a RuleAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an action word; the empty text is a table lookup.
func (a *RuleAction) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = RuleToTable
		return nil
	}
	if string(b) == "goto" {
		*a = RuleGoto
		return nil
	}
	v, ok := parseRuleAction(string(b))
	if !ok {
		return fmt.Errorf("parsing rule action %q: not nop, blackhole, unreachable, prohibit or goto", b)
	}
	*a = v
	return nil
}

// parseRuleAction reads nop or a route type that is a rule action, as
// keepalived's alloc_rule does.
func parseRuleAction(w string) (RuleAction, bool) {
	if w == "nop" {
		return RuleNop, true
	}
	t, ok := parseRouteType(w)
	if !ok {
		return 0, false
	}
	switch t {
	case RouteBlackhole:
		return RuleBlackhole, true
	case RouteUnreachable:
		return RuleUnreachable, true
	case RouteProhibit:
		return RuleProhibit, true
	}
	return 0, false
}

// BroadcastKind says how an address's broadcast is given.
type BroadcastKind uint8

const (
	BroadcastNone  BroadcastKind = iota // no brd: the kernel's choice
	BroadcastAddr                       // brd ADDR
	BroadcastOnes                       // brd +: the host part all ones
	BroadcastZeros                      // brd -: the host part all zeros
)

// Broadcast is an address's brd option: an address, "+" or "-".
type Broadcast struct {
	Kind BroadcastKind
	Addr netip.Addr // for BroadcastAddr
}

func (b Broadcast) String() string {
	switch b.Kind {
	case BroadcastNone:
		return ""
	case BroadcastAddr:
		return b.Addr.String()
	case BroadcastOnes:
		return "+"
	case BroadcastZeros:
		return "-"
	}
	return "BroadcastKind(" + strconv.Itoa(int(b.Kind)) + ")"
}

// MarshalText writes the address, "+" or "-".
func (b Broadcast) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText reads an IPv4 address, "+" or "-".
func (b *Broadcast) UnmarshalText(t []byte) error {
	v, ok := parseBroadcast(string(t))
	if !ok && len(t) > 0 {
		return fmt.Errorf("parsing broadcast %q: not an IPv4 address, + or -", t)
	}
	*b = v
	return nil
}

func parseBroadcast(w string) (Broadcast, bool) {
	switch w {
	case "":
		return Broadcast{}, false
	case "+":
		return Broadcast{Kind: BroadcastOnes}, true
	case "-":
		return Broadcast{Kind: BroadcastZeros}, true
	}
	a, err := netip.ParseAddr(w)
	if err != nil || !a.Is4() {
		return Broadcast{}, false
	}
	return Broadcast{Kind: BroadcastAddr, Addr: a}, true
}

// BroadcastAddr is the broadcast address to give the kernel with a, as
// keepalived computes it: "+" and "-" set the host part of the address to
// ones or zeros. It is invalid when a has no brd, which leaves the choice
// to the kernel.
func (a *Address) BroadcastAddr() netip.Addr {
	switch a.Broadcast.Kind {
	case BroadcastNone:
		return netip.Addr{}
	case BroadcastAddr:
		return a.Broadcast.Addr
	case BroadcastOnes, BroadcastZeros:
		if !a.Prefix.Addr().Is4() || a.Prefix.Bits() > 30 {
			return netip.Addr{}
		}
		b := a.Prefix.Addr().As4()
		host := ^uint32(0) >> a.Prefix.Bits()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if a.Broadcast.Kind == BroadcastOnes {
			v |= host
		} else {
			v &^= host
		}
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	panic("config: unknown BroadcastKind " + strconv.Itoa(int(a.Broadcast.Kind)))
}

// State is the state a vrrp_instance starts in.
type State uint8

const (
	StateBackup State = iota
	StateMaster
)

func (s State) String() string {
	switch s {
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes MASTER or BACKUP.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads MASTER or BACKUP.
func (s *State) UnmarshalText(b []byte) error {
	v, ok := parseState(string(b))
	if !ok {
		return fmt.Errorf("parsing state %q: not MASTER or BACKUP", b)
	}
	*s = v
	return nil
}

func parseState(w string) (State, bool) {
	switch w {
	case "MASTER":
		return StateMaster, true
	case "BACKUP":
		return StateBackup, true
	}
	return 0, false
}

// AuthType is a VRRPv2 authentication type; the constants are the
// protocol's numbers.
type AuthType uint8

const (
	AuthNone AuthType = 0 // an authentication block without auth_type
	AuthPass AuthType = 1
	AuthAH   AuthType = 2
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return ""
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return "AuthType(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText writes PASS or AH.
func (t AuthType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads PASS or AH.
func (t *AuthType) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = AuthNone
		return nil
	}
	v, ok := parseAuthType(string(b))
	if !ok {
		return fmt.Errorf("parsing auth_type %q: not PASS or AH", b)
	}
	*t = v
	return nil
}

func parseAuthType(w string) (AuthType, bool) {
	switch w {
	case "PASS":
		return AuthPass, true
	case "AH":
		return AuthAH, true
	}
	return 0, false
}

// LBKind is an LVS forwarding method (lb_kind, lvs_method). Zero is NAT,
// keepalived's default.
type LBKind uint8

const (
	LBKindNAT LBKind = iota
	LBKindDR
	LBKindTUN
)

// LBKinds lists every LBKind.
func LBKinds() []LBKind {
	return []LBKind{LBKindNAT, LBKindDR, LBKindTUN}
}

func (k LBKind) String() string {
	switch k {
	case LBKindNAT:
		return "NAT"
	case LBKindDR:
		return "DR"
	case LBKindTUN:
		return "TUN"
	}
	return "LBKind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes NAT, DR or TUN.
func (k LBKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads NAT, DR or TUN.
func (k *LBKind) UnmarshalText(b []byte) error {
	v, ok := parseLBKind(string(b))
	if !ok {
		return fmt.Errorf("parsing lvs_method %q: not NAT, DR or TUN", b)
	}
	*k = v
	return nil
}

func parseLBKind(w string) (LBKind, bool) {
	for _, k := range LBKinds() {
		if w == k.String() {
			return k, true
		}
	}
	return 0, false
}

// TunnelType is the encapsulation of lvs_method TUN. Zero is ipip,
// keepalived's default.
type TunnelType uint8

const (
	TunnelIPIP TunnelType = iota
	TunnelGUE
	TunnelGRE
)

// TunnelTypes lists every TunnelType.
func TunnelTypes() []TunnelType {
	return []TunnelType{TunnelIPIP, TunnelGUE, TunnelGRE}
}

func (t TunnelType) String() string {
	switch t {
	case TunnelIPIP:
		return "ipip"
	case TunnelGUE:
		return "gue"
	case TunnelGRE:
		return "gre"
	}
	return "TunnelType(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText writes ipip, gue or gre.
func (t TunnelType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads ipip, gue or gre.
func (t *TunnelType) UnmarshalText(b []byte) error {
	v, ok := parseTunnelType(string(b))
	if !ok {
		return fmt.Errorf("parsing tunnel type %q: not ipip, gue or gre", b)
	}
	*t = v
	return nil
}

func parseTunnelType(w string) (TunnelType, bool) {
	for _, t := range TunnelTypes() {
		if w == t.String() {
			return t, true
		}
	}
	return 0, false
}

// TunnelChecksum is the checksum option of a TUN tunnel. Zero is nocsum,
// keepalived's default.
type TunnelChecksum uint8

const (
	NoChecksum TunnelChecksum = iota
	Checksum
	RemoteChecksum
)

// TunnelChecksums lists every TunnelChecksum.
func TunnelChecksums() []TunnelChecksum {
	return []TunnelChecksum{NoChecksum, Checksum, RemoteChecksum}
}

func (c TunnelChecksum) String() string {
	switch c {
	case NoChecksum:
		return "nocsum"
	case Checksum:
		return "csum"
	case RemoteChecksum:
		return "remcsum"
	}
	return "TunnelChecksum(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText writes nocsum, csum or remcsum.
func (c TunnelChecksum) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads nocsum, csum or remcsum.
func (c *TunnelChecksum) UnmarshalText(b []byte) error {
	v, ok := parseTunnelChecksum(string(b))
	if !ok {
		return fmt.Errorf("parsing tunnel checksum %q: not nocsum, csum or remcsum", b)
	}
	*c = v
	return nil
}

func parseTunnelChecksum(w string) (TunnelChecksum, bool) {
	for _, c := range TunnelChecksums() {
		if w == c.String() {
			return c, true
		}
	}
	return 0, false
}

// Protocol is a virtual server's protocol; the constants are IPPROTO_*.
// Zero is a fwmark or group virtual server's, which has none.
type Protocol uint8

const (
	ProtocolNone Protocol = 0
	ProtocolTCP  Protocol = 6
	ProtocolUDP  Protocol = 17
	ProtocolSCTP Protocol = 132
)

// Protocols lists every Protocol.
func Protocols() []Protocol {
	return []Protocol{ProtocolNone, ProtocolTCP, ProtocolUDP, ProtocolSCTP}
}

func (p Protocol) String() string {
	switch p {
	case ProtocolNone:
		return ""
	case ProtocolTCP:
		return "TCP"
	case ProtocolUDP:
		return "UDP"
	case ProtocolSCTP:
		return "SCTP"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText writes TCP, UDP or SCTP.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads TCP, UDP or SCTP in any case.
func (p *Protocol) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = ProtocolNone
		return nil
	}
	v, ok := parseProtocol(string(b))
	if !ok {
		return fmt.Errorf("parsing protocol %q: not TCP, UDP or SCTP", b)
	}
	*p = v
	return nil
}

// parseProtocol ignores case, as keepalived's proto_handler does.
func parseProtocol(w string) (Protocol, bool) {
	for _, p := range []Protocol{ProtocolTCP, ProtocolUDP, ProtocolSCTP} {
		if strings.EqualFold(w, p.String()) {
			return p, true
		}
	}
	return 0, false
}

// Scheduler is an IPVS scheduler (lvs_sched, lb_algo). Zero is wlc,
// keepalived's default.
type Scheduler uint8

const (
	SchedWLC Scheduler = iota
	SchedRR
	SchedWRR
	SchedLC
	SchedLBLC
	SchedSH
	SchedMH
	SchedDH
	SchedFO
	SchedOVF
	SchedLBLCR
	SchedSED
	SchedNQ
	SchedTwoS
)

// schedulerNames is keepalived's lvs_schedulers, by Scheduler.
var schedulerNames = [...]string{
	SchedWLC: "wlc", SchedRR: "rr", SchedWRR: "wrr", SchedLC: "lc", SchedLBLC: "lblc", SchedSH: "sh",
	SchedMH: "mh", SchedDH: "dh", SchedFO: "fo", SchedOVF: "ovf", SchedLBLCR: "lblcr", SchedSED: "sed",
	SchedNQ: "nq", SchedTwoS: "twos",
}

// Schedulers lists every Scheduler.
func Schedulers() []Scheduler {
	s := make([]Scheduler, len(schedulerNames))
	for i := range s {
		s[i] = Scheduler(i)
	}
	return s
}

// String is the scheduler's name, which is also the kernel's.
func (s Scheduler) String() string {
	if int(s) < len(schedulerNames) {
		return schedulerNames[s]
	}
	return "Scheduler(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the scheduler's name.
func (s Scheduler) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a scheduler name.
func (s *Scheduler) UnmarshalText(b []byte) error {
	v, ok := parseScheduler(string(b))
	if !ok {
		return fmt.Errorf("parsing lvs_sched %q: not a scheduler keepalived knows", b)
	}
	*s = v
	return nil
}

func parseScheduler(w string) (Scheduler, bool) {
	for i, name := range schedulerNames {
		if w == name {
			return Scheduler(i), true
		}
	}
	return 0, false
}

// SchedFlag is a scheduler flag keyword of a virtual server.
type SchedFlag uint8

const (
	SchedFlag1 SchedFlag = iota // flag-1
	SchedFlag2                  // flag-2
	SchedFlag3                  // flag-3
	SHPort                      // sh-port, which is flag-2 for sh
	SHFallback                  // sh-fallback, which is flag-1 for sh
	MHPort                      // mh-port, which is flag-2 for mh
	MHFallback                  // mh-fallback, which is flag-1 for mh
)

var schedFlagNames = [...]string{
	SchedFlag1: "flag-1", SchedFlag2: "flag-2", SchedFlag3: "flag-3",
	SHPort: "sh-port", SHFallback: "sh-fallback", MHPort: "mh-port", MHFallback: "mh-fallback",
}

// SchedFlags lists every SchedFlag.
func SchedFlags() []SchedFlag {
	return []SchedFlag{SchedFlag1, SchedFlag2, SchedFlag3, SHPort, SHFallback, MHPort, MHFallback}
}

// String is the flag's keyword.
func (f SchedFlag) String() string {
	if int(f) < len(schedFlagNames) {
		return schedFlagNames[f]
	}
	return "SchedFlag(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText writes the flag's keyword.
func (f SchedFlag) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads a flag keyword.
func (f *SchedFlag) UnmarshalText(b []byte) error {
	v, ok := parseSchedFlag(string(b))
	if !ok {
		return fmt.Errorf("parsing scheduler flag %q: no such flag", b)
	}
	*f = v
	return nil
}

func parseSchedFlag(w string) (SchedFlag, bool) {
	for i, name := range schedFlagNames {
		if w == name {
			return SchedFlag(i), true
		}
	}
	return 0, false
}

// Family is a virtual server's ip_family. Zero is unset: the family of
// its addresses.
type Family uint8

const (
	FamilyUnspec Family = iota
	FamilyInet
	FamilyInet6
)

func (f Family) String() string {
	switch f {
	case FamilyUnspec:
		return ""
	case FamilyInet:
		return "inet"
	case FamilyInet6:
		return "inet6"
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText writes inet or inet6.
func (f Family) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads inet or inet6.
func (f *Family) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*f = FamilyUnspec
		return nil
	}
	v, ok := parseFamily(string(b))
	if !ok {
		return fmt.Errorf("parsing ip_family %q: not inet or inet6", b)
	}
	*f = v
	return nil
}

func parseFamily(w string) (Family, bool) {
	switch w {
	case "inet":
		return FamilyInet, true
	case "inet6":
		return FamilyInet6, true
	}
	return 0, false
}

// FlushOnStop is global_defs' lvs_flush_on_stop. Zero is unset: keepalived
// removes only the services it made.
type FlushOnStop uint8

const (
	FlushOnStopNone FlushOnStop = iota
	FlushOnStopAll              // lvs_flush_on_stop alone: the whole table
	FlushOnStopVS               // lvs_flush_on_stop VS: the configured services
)

func (f FlushOnStop) String() string {
	switch f {
	case FlushOnStopNone:
		return ""
	case FlushOnStopAll:
		return "ALL"
	case FlushOnStopVS:
		return "VS"
	}
	return "FlushOnStop(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText writes ALL or VS.
func (f FlushOnStop) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads ALL or VS.
func (f *FlushOnStop) UnmarshalText(b []byte) error {
	switch string(b) {
	case "":
		*f = FlushOnStopNone
	case "ALL":
		*f = FlushOnStopAll
	case "VS":
		*f = FlushOnStopVS
	default:
		return fmt.Errorf("parsing lvs_flush_on_stop %q: not ALL or VS", b)
	}
	return nil
}

// HTTPProtocol is the http_protocol of HTTP_GET and SSL_GET. Zero is 1.0,
// keepalived's default.
type HTTPProtocol uint8

const (
	HTTP10  HTTPProtocol = iota // 1.0
	HTTP10C                     // 1.0C: 1.0 with Connection: close
	HTTP11                      // 1.1
)

// HTTPProtocols lists every HTTPProtocol.
func HTTPProtocols() []HTTPProtocol {
	return []HTTPProtocol{HTTP10, HTTP10C, HTTP11}
}

func (p HTTPProtocol) String() string {
	switch p {
	case HTTP10:
		return "1.0"
	case HTTP10C:
		return "1.0C"
	case HTTP11:
		return "1.1"
	}
	return "HTTPProtocol(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText writes 1.0, 1.0C or 1.1.
func (p HTTPProtocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads 1.0, 1.0C, 1.0c or 1.1.
func (p *HTTPProtocol) UnmarshalText(b []byte) error {
	v, ok := parseHTTPProtocol(string(b))
	if !ok {
		return fmt.Errorf("parsing http_protocol %q: not 1.0, 1.0C or 1.1", b)
	}
	*p = v
	return nil
}

func parseHTTPProtocol(w string) (HTTPProtocol, bool) {
	switch w {
	case "1.0":
		return HTTP10, true
	case "1.0C", "1.0c":
		return HTTP10C, true
	case "1.1":
		return HTTP11, true
	}
	return 0, false
}
