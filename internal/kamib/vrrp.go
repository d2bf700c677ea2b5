package kamib

import (
	"net/netip"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// State is a VRRP state as KEEPALIVED-MIB numbers it.
type State int32

// The states. The tables show the first five (keepalived's
// vrrp_snmp_state); the notifications also tell STOP and DELETED apart.
const (
	StateInit    State = 0
	StateBackup  State = 1
	StateMaster  State = 2
	StateFault   State = 3
	StateUnknown State = 4
	StateStop    State = 5
	StateDeleted State = 6
)

// column is s as vrrpInstanceState and vrrpSyncGroupState show it.
func (s State) column() int32 {
	if s >= StateInit && s <= StateFault {
		return int32(s)
	}
	return int32(StateUnknown)
}

// VRRP is what the VRRP part shows: the running instances, sync groups
// and scripts, each list in the configuration's order, which gives the
// rows their indexes.
type VRRP struct {
	Groups    []SyncGroup
	Instances []Instance
	Scripts   []Script
	Files     []File
	// Static is static_ipaddress: the address table's rows of index 0.
	Static []Address
	// StaticRoutes is static_routes: the route table's rows of index 0.
	StaticRoutes []Route
	// StaticRules is static_rules: the rule table's rows of index 0.
	StaticRules []Rule
}

// SyncGroup is one vrrp_sync_group.
type SyncGroup struct {
	Name  string
	State State
	// SMTPAlert, NotifyExec (a notify script is configured) and
	// TrackingWeight (sync_group_tracking_weight) are the group's.
	SMTPAlert, NotifyExec, TrackingWeight bool
	// The notify scripts, as keepalived's cmd_str writes them; empty for
	// none.
	ScriptMaster, ScriptBackup, ScriptFault, ScriptStop, Script string
	// Members are the member instances' names.
	Members []string
	// The group's own tracking (its track_interface, track_script and
	// track_file blocks).
	TrackedInterfaces []TrackedInterface
	TrackedScripts    []TrackedScript
	TrackedFiles      []TrackedFile
}

// Instance is one vrrp_instance.
type Instance struct {
	Name                  string
	VRID                  uint8
	State, Initial, Wants State
	BasePriority          int32
	EffectivePriority     int32
	VIPsSet               bool   // the VIPs are on the interfaces
	Interface             string // no variable when empty
	// AdvertInt is advert_int in keepalived's unit for the version:
	// seconds for VRRPv2, centiseconds for VRRPv3.
	AdvertInt    uint32
	Preempt      bool
	PreemptDelay uint32 // seconds
	AuthType     int32  // 0 none, 1 PASS, 2 AH; 0 for VRRPv3
	// LVSSyncInterface is lvs_sync_daemon's interface when this
	// instance drives it, else empty.
	LVSSyncInterface string
	SyncGroup        string
	GarpDelay        uint32 // garp_master_delay in seconds
	SMTPAlert        bool
	NotifyExec       bool // a notify script is configured
	// The notify scripts, as keepalived's cmd_str writes them; empty for
	// none.
	ScriptMaster, ScriptBackup, ScriptFault, ScriptStop, ScriptDeleted, Script, ScriptMasterRxLowerPri string
	// Accept is vrrpInstanceAccept: 0 for VRRPv2, else a TruthValue.
	Accept             bool
	PromoteSecondaries bool
	LinkbeatPolling    bool
	Version            int32
	NotifyDeleted      bool
	// McastGroup is the multicast group the adverts go to; invalid for
	// a unicast instance, which has no variable.
	McastGroup netip.Addr

	TrackedInterfaces []TrackedInterface
	TrackedScripts    []TrackedScript
	TrackedFiles      []TrackedFile
	// VIPs and ExcludedVIPs are virtual_ipaddress and
	// virtual_ipaddress_excluded.
	VIPs, ExcludedVIPs []Address
	// Routes is virtual_routes.
	Routes []Route
	// Rules is virtual_rules.
	Rules []Rule
}

// TrackedInterface is one interface an instance tracks, its sync
// group's included.
type TrackedInterface struct {
	Name    string
	Weight  int32
	Reverse bool
}

// TrackedScript is one vrrp_script an instance tracks, with the weight it
// tracks it with (0 in a sync group without sync_group_tracking_weight).
type TrackedScript struct {
	Name    string
	Weight  int32
	Reverse bool
}

// TrackedFile is one track file an instance or a group tracks. keepalived
// shows the vrrp_track_file's own weight and reverse, not those of the
// track_file line that uses it.
type TrackedFile struct {
	Name    string
	Weight  int32
	Reverse bool
}

// File is one vrrp_track_file.
type File struct {
	Name    string
	Path    string
	Value   int32 // the number last read from the file
	Weight  int32
	Reverse bool
}

// ScriptResult is vrrpScriptResult.
type ScriptResult int32

// The script results.
const (
	ScriptInit ScriptResult = 1 // no result yet
	ScriptBad  ScriptResult = 2
	ScriptGood ScriptResult = 3
	// ScriptInitFailed is init_fail before the first result.
	ScriptInitFailed ScriptResult = 5
)

// Script is one vrrp_script.
type Script struct {
	Name    string
	Command string // as keepalived's cmd_str writes it
	// Interval is in seconds.
	Interval   int32
	Weight     int32
	Reverse    bool
	Result     ScriptResult
	Rise, Fall uint32
}

// Address is one virtual, excluded or static address.
type Address struct {
	Prefix netip.Prefix
	// Broadcast is an IPv4 address's brd; invalid (shown as 0.0.0.0)
	// when not configured.
	Broadcast netip.Addr
	Scope     uint8 // the kernel's RT_SCOPE_*
	IfIndex   int32
	IfName    string
	Label     string     // no variable when empty
	Set       bool       // on the interface now
	Peer      netip.Addr // invalid for none
}

// scope is keepalived's snmp_scope: the kernel's scope in the MIB's
// numbering.
func scope(s uint8) int32 {
	switch s {
	case 0:
		return 14 // global
	case 254:
		return 1 // host
	case 253:
		return 2 // link
	case 200:
		return 5 // site
	}
	return 0 // nowhere, and any other
}

// Fill adds the VRRP part's tables (keepalived's vrrp_snmp.c vrrp_vars).
func (v *VRRP) Fill(b *agentx.Builder) {
	o := VRRPOID
	// vrrpSyncGroupTable and vrrpSyncGroupMemberTable.
	for i, g := range v.Groups {
		n := uint32(i + 1)
		col := func(c uint32) agentx.OID { return o.Append(1, 1, c, n) }
		b.String(col(2), g.Name)
		b.Int(col(3), g.State.column())
		b.Int(col(4), truth(g.SMTPAlert))
		b.Int(col(5), truth(g.NotifyExec))
		optString(b, col(6), g.ScriptMaster)
		optString(b, col(7), g.ScriptBackup)
		optString(b, col(8), g.ScriptFault)
		optString(b, col(9), g.Script)
		b.Int(col(10), truth(g.TrackingWeight))
		optString(b, col(11), g.ScriptStop)
		for j, m := range g.Members {
			b.String(o.Append(2, 1, 2, n, uint32(j+1)), m)
		}
		// syncGroupTrackedInterfaceTable, …ScriptTable, …FileTable.
		for j, t := range g.TrackedInterfaces {
			t.fill(b, o.Append(14, 1), 1, n, uint32(j+1))
		}
		for j, t := range g.TrackedScripts {
			t.fill(b, o.Append(15, 1), n, uint32(j+1))
		}
		for j, t := range g.TrackedFiles {
			t.fill(b, o.Append(16, 1), n, uint32(j+1))
		}
	}
	for i := range v.Instances {
		v.Instances[i].fill(b, uint32(i+1))
	}
	// vrrpAddressTable: index 0 is static_ipaddress, then each
	// instance's VIPs and excluded VIPs numbered on together.
	// keepalived 2.2.7 tells only the first instance's VIPs as
	// advertised: the flag it sets on reaching that instance's VIPs is
	// cleared at its excluded ones and never set again. The bug is kept,
	// as it is what keepalived's users see.
	for j, a := range v.Static {
		a.fill(b, 0, uint32(j+1), false)
	}
	for i, in := range v.Instances {
		n := uint32(i + 1)
		for j, a := range in.VIPs {
			a.fill(b, n, uint32(j+1), i == 0)
		}
		for j, a := range in.ExcludedVIPs {
			a.fill(b, n, uint32(len(in.VIPs)+j+1), false)
		}
	}
	// vrrpRouteTable and vrrpRouteNextHopTable: index 0 is
	// static_routes, then each instance's.
	for j := range v.StaticRoutes {
		v.StaticRoutes[j].fill(b, 0, uint32(j+1))
	}
	for i := range v.Instances {
		for j := range v.Instances[i].Routes {
			v.Instances[i].Routes[j].fill(b, uint32(i+1), uint32(j+1))
		}
	}
	// vrrpRuleTable, numbered as the routes.
	for j := range v.StaticRules {
		v.StaticRules[j].fill(b, 0, uint32(j+1))
	}
	for i := range v.Instances {
		for j := range v.Instances[i].Rules {
			v.Instances[i].Rules[j].fill(b, uint32(i+1), uint32(j+1))
		}
	}
	// vrrpScriptTable.
	for i, s := range v.Scripts {
		n := uint32(i + 1)
		col := func(c uint32) agentx.OID { return o.Append(9, 1, c, n) }
		b.String(col(2), s.Name)
		b.String(col(3), s.Command)
		b.Int(col(4), s.Interval)
		b.Int(col(5), s.Weight)
		b.Int(col(6), int32(s.Result))
		b.Gauge(col(7), s.Rise)
		b.Gauge(col(8), s.Fall)
		b.Int(col(9), truth(s.Reverse))
	}
	// vrrpFileTable.
	for i, f := range v.Files {
		n := uint32(i + 1)
		col := func(c uint32) agentx.OID { return o.Append(13, 1, c, n) }
		b.String(col(2), f.Name)
		b.String(col(3), f.Path)
		b.Int(col(4), f.Value)
		b.Int(col(5), f.Weight)
		b.Int(col(6), truth(f.Reverse))
	}
}

// fill adds row (n, m) of a tracked interface table whose name column
// is first.
func (t TrackedInterface) fill(b *agentx.Builder, entry agentx.OID, first, n, m uint32) {
	b.String(entry.Append(first, n, m), t.Name)
	b.Int(entry.Append(first+1, n, m), t.Weight)
	b.Int(entry.Append(first+2, n, m), truth(t.Reverse))
}

// fill adds row (n, m) of a tracked script table.
func (t TrackedScript) fill(b *agentx.Builder, entry agentx.OID, n, m uint32) {
	b.String(entry.Append(2, n, m), t.Name)
	b.Int(entry.Append(3, n, m), t.Weight)
	b.Int(entry.Append(4, n, m), truth(t.Reverse))
}

// fill adds row (n, m) of a tracked file table.
func (t TrackedFile) fill(b *agentx.Builder, entry agentx.OID, n, m uint32) {
	b.String(entry.Append(2, n, m), t.Name)
	b.Int(entry.Append(3, n, m), t.Weight)
	b.Int(entry.Append(4, n, m), truth(t.Reverse))
}

// fill adds row n of vrrpInstanceTable, and the instance's rows of the
// tracking tables.
func (in *Instance) fill(b *agentx.Builder, n uint32) {
	o := VRRPOID
	col := func(c uint32) agentx.OID { return o.Append(3, 1, c, n) }
	b.String(col(2), in.Name)
	b.Gauge(col(3), uint32(in.VRID))
	b.Int(col(4), in.State.column())
	b.Int(col(5), in.Initial.column())
	b.Int(col(6), in.Wants.column())
	b.Int(col(7), in.BasePriority)
	b.Int(col(8), in.EffectivePriority)
	b.Int(col(9), truth(in.VIPsSet))
	optString(b, col(10), in.Interface)
	// vrrpInstanceTrackPrimaryIf is whether the instance tracks any
	// interface (keepalived tests its track_ifp list), whatever
	// dont_track_primary says.
	b.Int(col(11), truth(len(in.TrackedInterfaces) > 0))
	b.Gauge(col(12), in.AdvertInt)
	b.Int(col(13), truth(in.Preempt))
	b.Gauge(col(14), in.PreemptDelay)
	b.Int(col(15), in.AuthType)
	b.Int(col(16), truth(in.LVSSyncInterface != ""))
	optString(b, col(17), in.LVSSyncInterface)
	optString(b, col(18), in.SyncGroup)
	b.Gauge(col(19), in.GarpDelay)
	b.Int(col(20), truth(in.SMTPAlert))
	b.Int(col(21), truth(in.NotifyExec))
	optString(b, col(22), in.ScriptMaster)
	optString(b, col(23), in.ScriptBackup)
	optString(b, col(24), in.ScriptFault)
	optString(b, col(25), in.ScriptStop)
	optString(b, col(26), in.Script)
	accept := int32(0)
	if in.Version == 3 {
		accept = truth(in.Accept)
	}
	b.Int(col(27), accept)
	b.Int(col(28), truth(in.PromoteSecondaries))
	b.Int(col(29), truth(in.LinkbeatPolling))
	b.Int(col(30), in.Version)
	optString(b, col(31), in.ScriptMasterRxLowerPri)
	optString(b, col(32), in.ScriptDeleted)
	b.Int(col(33), truth(in.NotifyDeleted))
	if in.McastGroup.IsValid() {
		b.Int(col(34), inetAddressType(in.McastGroup))
		b.Bytes(col(35), addrBytes(in.McastGroup))
	}
	// vrrpTrackedInterfaceTable, …ScriptTable, …FileTable.
	for j, t := range in.TrackedInterfaces {
		t.fill(b, o.Append(4, 1), 1, n, uint32(j+1))
	}
	for j, t := range in.TrackedScripts {
		t.fill(b, o.Append(5, 1), n, uint32(j+1))
	}
	for j, t := range in.TrackedFiles {
		t.fill(b, o.Append(12, 1), n, uint32(j+1))
	}
}

// fill adds row (n, m) of vrrpAddressTable.
func (a *Address) fill(b *agentx.Builder, n, m uint32, advertised bool) {
	col := func(c uint32) agentx.OID { return VRRPOID.Append(6, 1, c, n, m) }
	addr := a.Prefix.Addr()
	b.Int(col(2), inetAddressType(addr))
	b.Bytes(col(3), addrBytes(addr))
	if addr.Is4() {
		b.Bytes(col(4), addrBytes(a.Broadcast))
	}
	b.Gauge(col(5), uint32(a.Prefix.Bits()))
	b.Int(col(6), scope(a.Scope))
	b.Int(col(7), a.IfIndex)
	b.String(col(8), a.IfName)
	optString(b, col(9), a.Label)
	b.Int(col(10), truth(a.Set))
	b.Int(col(11), truth(advertised))
	if a.Peer.IsValid() {
		b.Bytes(col(12), addrBytes(a.Peer))
	}
}

// optString adds s unless it is empty: keepalived has no variable for an
// unset string.
func optString(b *agentx.Builder, name agentx.OID, s string) {
	if s != "" {
		b.String(name, s)
	}
}

// InstanceTrap is vrrpInstanceStateChange's variables for an instance
// now in state s. keepalived names the columns without an instance
// index (vrrpInstanceName rather than vrrpInstanceName.N); the names are
// kept, as receivers match them.
func InstanceTrap(routerID, name string, s, initial State) []agentx.VarBind {
	return []agentx.VarBind{
		{Name: VRRPOID.Append(3, 1, 2), Type: agentx.OctetString, Value: []byte(name)},
		{Name: VRRPOID.Append(3, 1, 4), Type: agentx.Integer, Value: int32(s)},
		{Name: VRRPOID.Append(3, 1, 5), Type: agentx.Integer, Value: int32(initial)},
		{Name: RouterIDOID, Type: agentx.OctetString, Value: []byte(routerID)},
	}
}

// GroupTrap is vrrpSyncGroupStateChange's variables for a sync group now
// in state s, named as InstanceTrap's are.
func GroupTrap(routerID, name string, s State) []agentx.VarBind {
	if s == StateDeleted {
		// keepalived has no DELETED group state.
		s = StateUnknown
	}
	return []agentx.VarBind{
		{Name: VRRPOID.Append(1, 1, 2), Type: agentx.OctetString, Value: []byte(name)},
		{Name: VRRPOID.Append(1, 1, 3), Type: agentx.Integer, Value: int32(s)},
		{Name: RouterIDOID, Type: agentx.OctetString, Value: []byte(routerID)},
	}
}
