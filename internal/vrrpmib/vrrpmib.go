// Package vrrpmib builds VRRP-MIB (RFC 2787) and VRRPv3-MIB (RFC 6527)
// as keepalived serves them: which instances each shows, their indexes,
// their columns' values and units, and the notifications' variables.
// Everything is computed from a snapshot of the instances, so that the
// tables can be checked without a network or an SNMP master.
package vrrpmib

import (
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

// The MIBs' roots and their notifications.
var (
	RFC2787 = agentx.MustParseOID("1.3.6.1.2.1.68")
	RFC6527 = agentx.MustParseOID("1.3.6.1.2.1.207")

	TrapNewMaster   = RFC2787.Append(0, 1) // vrrpTrapNewMaster
	TrapAuthFailure = RFC2787.Append(0, 2) // vrrpTrapAuthFailure
	NotifyNewMaster = RFC6527.Append(0, 1) // vrrpv3NewMaster
	NotifyProtoErr  = RFC6527.Append(0, 2) // vrrpv3ProtoError
)

// State is an instance's state as both MIBs number it.
type State int32

// States.
const (
	StateInitialize State = 1
	StateBackup     State = 2
	StateMaster     State = 3
)

// AuthType is vrrpOperAuthType.
type AuthType int32

// Authentication types.
const (
	AuthNone AuthType = 1 // noAuthentication
	AuthPass AuthType = 2 // simpleTextPassword
	AuthAH   AuthType = 3 // ipAuthenticationHeader
)

// AuthError is vrrpTrapAuthErrorType.
type AuthError int32

// Authentication errors.
const (
	AuthErrInvalidType  AuthError = 1 // invalidAuthType
	AuthErrTypeMismatch AuthError = 2 // authTypeMismatch
	AuthErrFailure      AuthError = 3 // authFailure
)

// MasterReason is vrrpv3StatisticsNewMasterReason, keepalived's reading
// of RFC 6527: priority for a master that stopped (a priority 0
// advert), preempted for a master of lower priority or the address
// owner, masterNoResponse when the adverts stopped.
type MasterReason int32

// Reasons.
const (
	ReasonNotMaster        MasterReason = 0
	ReasonPriority         MasterReason = 1
	ReasonPreempted        MasterReason = 2
	ReasonMasterNoResponse MasterReason = 3
)

// ProtoError is vrrpv3StatisticsProtoErrReason.
type ProtoError int32

// Protocol errors.
const (
	ProtoNoError       ProtoError = 0
	ProtoIPTTLError    ProtoError = 1
	ProtoVersionError  ProtoError = 2
	ProtoChecksumError ProtoError = 3
	ProtoVRIDError     ProtoError = 4
)

// Stats are an instance's counters as keepalived keeps them.
type Stats struct {
	BecomeMaster      uint64
	AdvertRcvd        uint64
	AdvertIntervalErr uint64
	AuthFailure       uint64
	IPTTLErr          uint64
	PriZeroRcvd       uint64
	PriZeroSent       uint64
	InvalidTypeRcvd   uint64
	AddrListErr       uint64
	InvalidAuthType   uint64
	AuthTypeMismatch  uint64
	PacketLenErr      uint64
	ChecksumErr       uint64
	VersionErr        uint64
	VRIDErr           uint64
}

// Instance is what the MIBs show of one VRRP instance.
type Instance struct {
	IfIndex int // the interface's, its parent's with use_vmac
	VRID    uint8
	Version int // 2 or 3
	IPv6    bool
	VIPs    []netip.Addr     // virtual_ipaddress
	MAC     net.HardwareAddr // the interface's, the VMAC's with use_vmac
	State   State
	// Priority is the configured priority, not the effective one.
	Priority uint8
	// Master is the source of the last advert heard from another
	// master while backup (keepalived's master_saddr); invalid if none.
	Master netip.Addr
	// Primary is the interface's primary address of the instance's
	// family (its parent's with use_vmac): its first IPv4 address, its
	// IPv6 link-local address.
	Primary   netip.Addr
	Auth      AuthType
	AdvertInt time.Duration
	Preempt   bool
	Accept    bool
	// Up is when the instance last took its state at start or reload
	// (keepalived's stats uptime).
	Up           time.Time
	Stats        Stats
	MasterReason MasterReason
	ProtoErr     ProtoError
}

// Snapshot is the instances at one moment.
type Snapshot struct {
	Instances []Instance
	Traps     bool      // enable_traps: vrrpNotificationCntl
	Start     time.Time // when the VRRP process started
	Now       time.Time
}

// InRFC2787 reports whether VRRP-MIB shows in: keepalived, built with
// both MIBs, shows only VRRPv2 IPv4 instances there, and none without a
// virtual address.
func InRFC2787(in *Instance) bool {
	return in.Version == 2 && !in.IPv6 && len(in.VIPs) > 0
}

// InRFC6527 reports whether VRRPv3-MIB shows in. keepalived (as Debian
// builds it, with _SNMP_REPLY_V3_FOR_V2_) shows the VRRPv2 instances
// there too; only those without a virtual address are left out.
func InRFC6527(in *Instance) bool {
	return len(in.VIPs) > 0
}

// index2 is a VRRP-MIB row's index: ifIndex, VRID.
func index2(in *Instance) []uint32 { return []uint32{uint32(in.IfIndex), uint32(in.VRID)} }

// index3 is a VRRPv3-MIB row's index: ifIndex, VRID, InetAddressType.
func index3(in *Instance) []uint32 {
	t := uint32(1)
	if in.IPv6 {
		t = 2
	}
	return []uint32{uint32(in.IfIndex), uint32(in.VRID), t}
}

func col(base agentx.OID, index []uint32, sub ...uint32) agentx.OID {
	return base.Append(sub...).Append(index...)
}

func truth(b bool) int32 {
	if b {
		return 1
	}
	return 2
}

func ip4(a netip.Addr) [4]byte {
	if a.Is4() {
		return a.As4()
	}
	return [4]byte{}
}

// addrBytes is a of the instance's family as an InetAddress, zeros when
// a is unknown.
func addrBytes(in *Instance, a netip.Addr) []byte {
	if in.IPv6 {
		if a.Is6() {
			b := a.As16()
			return b[:]
		}
		return make([]byte, 16)
	}
	b := ip4(a)
	return b[:]
}

// sortedVIPs is in's addresses in index order: numerically.
func sortedVIPs(in *Instance) []netip.Addr {
	vs := slices.Clone(in.VIPs)
	slices.SortFunc(vs, netip.Addr.Compare)
	return slices.Compact(vs)
}

// centis is d in hundredths of a second, as TimeTicks count.
func centis(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	return uint32(d / (10 * time.Millisecond))
}

// FillRFC2787 adds VRRP-MIB's variables.
//
// keepalived 2.2.7 has a bug in its lookup of vrrpOperTable and
// vrrpRouterStatsTable rows: an operator precedence slip skips every
// instance as soon as the request names an index, so a walk shows the
// first row only and a Get of any row finds nothing (vrrpAssoIpAddrTable,
// looked up otherwise, shows every row). Every row is served here, as the
// RFC means; with a single VRRPv2 instance the two agree.
func FillRFC2787(b *agentx.Builder, s *Snapshot) {
	ops := RFC2787.Append(1)
	b.Int(ops.Append(1, 0), 2) // vrrpNodeVersion
	ctl := int32(2)            // vrrpNotificationCntl: disabled
	if s.Traps {
		ctl = 1
	}
	b.Int(ops.Append(2, 0), ctl)
	var chk, ver, vrid uint64
	for i := range s.Instances {
		in := &s.Instances[i]
		if !InRFC2787(in) {
			continue
		}
		chk += in.Stats.ChecksumErr
		ver += in.Stats.VersionErr
		vrid += in.Stats.VRIDErr
		x := index2(in)
		oper := ops.Append(3, 1)
		b.Bytes(col(oper, x, 2), in.MAC) // vrrpOperVirtualMacAddr
		b.Int(col(oper, x, 3), int32(in.State))
		b.Int(col(oper, x, 4), 1) // vrrpOperAdminState: up
		b.Int(col(oper, x, 5), int32(in.Priority))
		b.Int(col(oper, x, 6), int32(len(in.VIPs)))
		b.Add(col(oper, x, 7), agentx.IPAddress, ip4(in.Master))
		b.Add(col(oper, x, 8), agentx.IPAddress, ip4(in.Primary))
		b.Int(col(oper, x, 9), int32(in.Auth))
		// vrrpOperAuthKey (10) reads as nothing, as the RFC asks.
		b.Int(col(oper, x, 11), int32(in.AdvertInt/time.Second))
		b.Int(col(oper, x, 12), truth(in.Preempt))
		// vrrpOperVirtualRouterUpTime: keepalived gives the time from
		// the process's start to the instance's, not the RFC's time
		// since the router came up.
		var up uint32
		if in.State == StateBackup || in.State == StateMaster {
			up = centis(in.Up.Sub(s.Start))
		}
		b.Ticks(col(oper, x, 13), up)
		b.Int(col(oper, x, 14), 1) // vrrpOperProtocol: ip
		b.Int(col(oper, x, 15), 1) // vrrpOperRowStatus: active
		for _, v := range sortedVIPs(in) {
			a := v.As4()
			b.Int(ops.Append(4, 1, 2).Append(x...).Append(uint32(a[0]), uint32(a[1]), uint32(a[2]), uint32(a[3])), 1)
		}
		st := RFC2787.Append(2, 4, 1)
		c := func(n uint32, v uint64) { b.Counter(col(st, x, n), uint32(v)) }
		c(1, in.Stats.BecomeMaster)
		c(2, in.Stats.AdvertRcvd)
		c(3, in.Stats.AdvertIntervalErr)
		c(4, in.Stats.AuthFailure)
		c(5, in.Stats.IPTTLErr)
		c(6, in.Stats.PriZeroRcvd)
		c(7, in.Stats.PriZeroSent)
		c(8, in.Stats.InvalidTypeRcvd)
		c(9, in.Stats.AddrListErr)
		c(10, in.Stats.InvalidAuthType)
		c(11, in.Stats.AuthTypeMismatch)
		c(12, in.Stats.PacketLenErr)
	}
	b.Counter(RFC2787.Append(2, 1, 0), uint32(chk))
	b.Counter(RFC2787.Append(2, 2, 0), uint32(ver))
	b.Counter(RFC2787.Append(2, 3, 0), uint32(vrid))
}

// FillRFC6527 adds VRRPv3-MIB's variables.
func FillRFC6527(b *agentx.Builder, s *Snapshot) {
	var chk, ver, vrid uint64
	for i := range s.Instances {
		in := &s.Instances[i]
		if !InRFC6527(in) {
			continue
		}
		chk += in.Stats.ChecksumErr
		ver += in.Stats.VersionErr
		vrid += in.Stats.VRIDErr
		x := index3(in)
		oper := RFC6527.Append(1, 1, 1, 1)
		// vrrpv3OperationsMasterIpAddr: the primary address while
		// master, else the last master heard.
		mip := in.Master
		if in.State == StateMaster {
			mip = in.Primary
		}
		b.Bytes(col(oper, x, 3), addrBytes(in, mip))
		b.Bytes(col(oper, x, 4), addrBytes(in, in.Primary))
		b.Bytes(col(oper, x, 5), in.MAC)
		b.Int(col(oper, x, 6), int32(in.State))
		b.Gauge(col(oper, x, 7), uint32(in.Priority))
		b.Int(col(oper, x, 8), int32(len(in.VIPs)))
		b.Int(col(oper, x, 9), int32(in.AdvertInt/(10*time.Millisecond)))
		b.Int(col(oper, x, 10), truth(in.Preempt))
		b.Int(col(oper, x, 11), truth(in.Accept))
		var up uint32
		if in.State == StateBackup || in.State == StateMaster {
			up = centis(s.Now.Sub(in.Up))
		}
		b.Ticks(col(oper, x, 12), up)
		b.Int(col(oper, x, 13), 1) // vrrpv3OperationsRowStatus: active
		for _, v := range sortedVIPs(in) {
			name := RFC6527.Append(1, 1, 2, 1, 2).Append(x...)
			for _, c := range v.AsSlice() {
				name = append(name, uint32(c))
			}
			b.Int(name, 1)
		}
		st := RFC6527.Append(1, 2, 5, 1)
		c := func(n uint32, v uint64) { b.Counter64(col(st, x, n), v) }
		b.Counter(col(st, x, 1), uint32(in.Stats.BecomeMaster))
		b.Int(col(st, x, 2), int32(in.MasterReason))
		c(3, in.Stats.AdvertRcvd)
		c(4, in.Stats.AdvertIntervalErr)
		c(5, in.Stats.IPTTLErr)
		b.Int(col(st, x, 6), int32(in.ProtoErr))
		c(7, in.Stats.PriZeroRcvd)
		c(8, in.Stats.PriZeroSent)
		c(9, in.Stats.InvalidTypeRcvd)
		c(10, in.Stats.AddrListErr)
		c(11, in.Stats.PacketLenErr)
		b.Ticks(col(st, x, 12), 0) // keepalived has no discontinuities
		// vrrpv3StatisticsRefreshRate, in milliseconds.
		b.Gauge(col(st, x, 13), uint32(in.AdvertInt/(10*time.Millisecond))*10)
	}
	b.Counter64(RFC6527.Append(1, 2, 1, 0), chk)
	b.Counter64(RFC6527.Append(1, 2, 2, 0), ver)
	b.Counter64(RFC6527.Append(1, 2, 3, 0), vrid)
	b.Ticks(RFC6527.Append(1, 2, 4, 0), 0)
}

// NewMasterTrap is vrrpTrapNewMaster's variables for in, which has just
// become master with source address src; nil when VRRP-MIB does not
// show in.
func NewMasterTrap(in *Instance, src netip.Addr) []agentx.VarBind {
	if !InRFC2787(in) {
		return nil
	}
	return []agentx.VarBind{{
		Name: RFC2787.Append(1, 3, 1, 7).Append(index2(in)...), Type: agentx.IPAddress, Value: ip4(src),
	}}
}

// AuthFailureTrap is vrrpTrapAuthFailure's variables for an advert from
// src that in rejected; nil when VRRP-MIB does not show in.
func AuthFailureTrap(in *Instance, src netip.Addr, e AuthError) []agentx.VarBind {
	if !InRFC2787(in) {
		return nil
	}
	x := index2(in)
	return []agentx.VarBind{
		{Name: RFC2787.Append(1, 5).Append(x...), Type: agentx.IPAddress, Value: ip4(src)},
		{Name: RFC2787.Append(1, 6).Append(x...), Type: agentx.Integer, Value: int32(e)},
	}
}

// NewMasterNotify is vrrpv3NewMaster's variables for in, which has just
// become master with source address src; nil when VRRPv3-MIB does not
// show in.
func NewMasterNotify(in *Instance, src netip.Addr) []agentx.VarBind {
	if !InRFC6527(in) {
		return nil
	}
	x := index3(in)
	return []agentx.VarBind{
		{Name: RFC6527.Append(1, 1, 1, 1, 3).Append(x...), Type: agentx.OctetString, Value: addrBytes(in, src)},
		{Name: RFC6527.Append(1, 2, 5, 1, 2).Append(x...), Type: agentx.Integer, Value: int32(in.MasterReason)},
	}
}

// ProtoErrNotify is vrrpv3ProtoError's variables for in; nil when
// VRRPv3-MIB does not show in.
func ProtoErrNotify(in *Instance) []agentx.VarBind {
	if !InRFC6527(in) {
		return nil
	}
	return []agentx.VarBind{
		{Name: RFC6527.Append(1, 2, 5, 1, 6).Append(index3(in)...), Type: agentx.Integer, Value: int32(in.ProtoErr)},
	}
}
