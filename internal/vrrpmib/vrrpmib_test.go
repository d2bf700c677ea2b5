package vrrpmib

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/agentx"
)

func testSnapshot() *Snapshot {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	return &Snapshot{
		Traps: true,
		Start: start,
		Now:   start.Add(10 * time.Second),
		Instances: []Instance{
			{
				IfIndex: 7, VRID: 61, Version: 2, MAC: mac, State: StateBackup, Priority: 150,
				VIPs:   []netip.Addr{netip.MustParseAddr("10.0.0.101"), netip.MustParseAddr("10.0.0.100")},
				Master: netip.MustParseAddr("10.0.0.2"), Primary: netip.MustParseAddr("10.0.0.1"),
				Auth: AuthPass, AdvertInt: time.Second, Preempt: true, Accept: true,
				Up:    start.Add(2 * time.Second),
				Stats: Stats{BecomeMaster: 1, ChecksumErr: 2, VersionErr: 3},
			},
			{
				IfIndex: 7, VRID: 63, Version: 3, IPv6: true, MAC: mac, State: StateMaster, Priority: 100,
				VIPs:    []netip.Addr{netip.MustParseAddr("2001:db8::100"), netip.MustParseAddr("2001:db8::99")},
				Primary: netip.MustParseAddr("fe80::1"), AdvertInt: 200 * time.Millisecond,
				Up: start.Add(4 * time.Second), MasterReason: ReasonPriority,
				Stats: Stats{VersionErr: 5},
			},
			// IPv4 VRRPv3: in VRRPv3-MIB only; before the other two by
			// its index.
			{IfIndex: 3, VRID: 62, Version: 3, MAC: mac, State: StateBackup, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.102")}, AdvertInt: time.Second},
			// No virtual address: in neither.
			{IfIndex: 7, VRID: 64, Version: 2, MAC: mac, State: StateMaster},
		},
	}
}

func view(fill func(*agentx.Builder, *Snapshot), s *Snapshot) map[string]agentx.VarBind {
	var b agentx.Builder
	fill(&b, s)
	m := map[string]agentx.VarBind{}
	for _, vb := range b.View().All() {
		m[vb.Name.String()] = vb
	}
	return m
}

func TestRFC2787(t *testing.T) {
	v := view(FillRFC2787, testSnapshot())
	want := map[string]any{
		"1.3.6.1.2.1.68.1.1.0":                   int32(2),
		"1.3.6.1.2.1.68.1.2.0":                   int32(1),
		"1.3.6.1.2.1.68.1.3.1.2.7.61":            []byte{2, 0, 0, 0, 0, 1},
		"1.3.6.1.2.1.68.1.3.1.3.7.61":            int32(StateBackup),
		"1.3.6.1.2.1.68.1.3.1.5.7.61":            int32(150),
		"1.3.6.1.2.1.68.1.3.1.6.7.61":            int32(2),
		"1.3.6.1.2.1.68.1.3.1.7.7.61":            [4]byte{10, 0, 0, 2},
		"1.3.6.1.2.1.68.1.3.1.8.7.61":            [4]byte{10, 0, 0, 1},
		"1.3.6.1.2.1.68.1.3.1.9.7.61":            int32(AuthPass),
		"1.3.6.1.2.1.68.1.3.1.11.7.61":           int32(1),
		"1.3.6.1.2.1.68.1.3.1.12.7.61":           int32(1),
		"1.3.6.1.2.1.68.1.3.1.13.7.61":           uint32(200), // from the process's start
		"1.3.6.1.2.1.68.1.4.1.2.7.61.10.0.0.100": int32(1),
		"1.3.6.1.2.1.68.1.4.1.2.7.61.10.0.0.101": int32(1),
		"1.3.6.1.2.1.68.2.1.0":                   uint32(2),
		"1.3.6.1.2.1.68.2.2.0":                   uint32(3),
		"1.3.6.1.2.1.68.2.4.1.1.7.61":            uint32(1),
	}
	for name, val := range want {
		vb, ok := v[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if !equal(vb.Value, val) {
			t.Errorf("%s = %v, want %v", name, vb.Value, val)
		}
	}
	oper := agentx.MustParseOID("1.3.6.1.2.1.68.1.3.1")
	for name, vb := range v {
		if vb.Name.HasPrefix(oper.Append(10)) {
			t.Errorf("vrrpOperAuthKey %s is readable", name)
		}
		// Only VRRPv2 IPv4 instances with addresses: VRID 61.
		if vb.Name.HasPrefix(oper) && vb.Name[len(vb.Name)-1] != 61 {
			t.Errorf("%s: not a VRRP-MIB instance", name)
		}
	}
}

func TestRFC6527(t *testing.T) {
	s := testSnapshot()
	v := view(FillRFC6527, s)
	ll := netip.MustParseAddr("fe80::1").As16()
	want := map[string]any{
		// Master: its own primary address; backup: the master heard.
		"1.3.6.1.2.1.207.1.1.1.1.3.7.63.2":  ll[:],
		"1.3.6.1.2.1.207.1.1.1.1.3.7.61.1":  []byte{10, 0, 0, 2},
		"1.3.6.1.2.1.207.1.1.1.1.3.3.62.1":  []byte{0, 0, 0, 0},
		"1.3.6.1.2.1.207.1.1.1.1.6.7.63.2":  int32(StateMaster),
		"1.3.6.1.2.1.207.1.1.1.1.7.7.63.2":  uint32(100),
		"1.3.6.1.2.1.207.1.1.1.1.9.7.63.2":  int32(20),
		"1.3.6.1.2.1.207.1.1.1.1.9.7.61.1":  int32(100),
		"1.3.6.1.2.1.207.1.1.1.1.10.3.62.1": int32(2),
		"1.3.6.1.2.1.207.1.1.1.1.11.3.62.1": int32(2),
		"1.3.6.1.2.1.207.1.1.1.1.12.7.63.2": uint32(600), // since the instance's start
		"1.3.6.1.2.1.207.1.2.2.0":           uint64(8),
		"1.3.6.1.2.1.207.1.2.5.1.2.7.63.2":  int32(ReasonPriority),
		"1.3.6.1.2.1.207.1.2.5.1.13.7.63.2": uint32(200),
		"1.3.6.1.2.1.207.1.2.5.1.13.3.62.1": uint32(1000),
	}
	for name, val := range want {
		vb, ok := v[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if !equal(vb.Value, val) {
			t.Errorf("%s = %v, want %v", name, vb.Value, val)
		}
	}
	// The rows of a column come in index order: ifIndex, VRID, type.
	var rows []string
	var b agentx.Builder
	FillRFC6527(&b, s)
	col := agentx.MustParseOID("1.3.6.1.2.1.207.1.1.1.1.6")
	for _, vb := range b.View().All() {
		if vb.Name.HasPrefix(col) {
			rows = append(rows, vb.Name[len(col):].String())
		}
	}
	if want := []string{"3.62.1", "7.61.1", "7.63.2"}; !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	// Addresses in numeric order, IPv6 ::99 before ::100.
	addr := agentx.MustParseOID("1.3.6.1.2.1.207.1.1.2.1.2.7.63.2")
	var addrs []string
	for _, vb := range b.View().All() {
		if vb.Name.HasPrefix(addr) {
			addrs = append(addrs, vb.Name[len(addr):].String())
		}
	}
	if want := []string{"32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.153", "32.1.13.184.0.0.0.0.0.0.0.0.0.0.1.0"}; !slices.Equal(addrs, want) {
		t.Errorf("addresses %v, want %v", addrs, want)
	}
}

func TestNotifications(t *testing.T) {
	s := testSnapshot()
	src := netip.MustParseAddr("10.0.0.1")
	if vbs := NewMasterTrap(&s.Instances[0], src); len(vbs) != 1 || vbs[0].Name.String() != "1.3.6.1.2.1.68.1.3.1.7.7.61" || vbs[0].Value != [4]byte{10, 0, 0, 1} {
		t.Errorf("vrrpTrapNewMaster %v", vbs)
	}
	if vbs := NewMasterTrap(&s.Instances[2], src); vbs != nil {
		t.Errorf("vrrpTrapNewMaster for a VRRPv3 instance: %v", vbs)
	}
	vbs := NewMasterNotify(&s.Instances[1], netip.MustParseAddr("fe80::1"))
	if len(vbs) != 2 || vbs[1].Name.String() != "1.3.6.1.2.1.207.1.2.5.1.2.7.63.2" || vbs[1].Value != int32(ReasonPriority) {
		t.Errorf("vrrpv3NewMaster %v", vbs)
	}
	if vbs := NewMasterNotify(&s.Instances[3], src); vbs != nil {
		t.Errorf("vrrpv3NewMaster for an instance without addresses: %v", vbs)
	}
	vbs = AuthFailureTrap(&s.Instances[0], netip.MustParseAddr("10.0.0.9"), AuthErrFailure)
	if len(vbs) != 2 || vbs[0].Name.String() != "1.3.6.1.2.1.68.1.5.7.61" || vbs[1].Value != int32(3) {
		t.Errorf("vrrpTrapAuthFailure %v", vbs)
	}
	s.Instances[2].ProtoErr = ProtoVersionError
	vbs = ProtoErrNotify(&s.Instances[2])
	if len(vbs) != 1 || vbs[0].Name.String() != "1.3.6.1.2.1.207.1.2.5.1.6.3.62.1" || vbs[0].Value != int32(2) {
		t.Errorf("vrrpv3ProtoError %v", vbs)
	}
	s.Traps = false
	if v := view(FillRFC2787, s); v["1.3.6.1.2.1.68.1.2.0"].Value != int32(2) {
		t.Errorf("vrrpNotificationCntl without enable_traps = %v, want disabled(2)", v["1.3.6.1.2.1.68.1.2.0"].Value)
	}
}

func equal(a, b any) bool {
	if x, ok := a.([]byte); ok {
		y, ok := b.([]byte)
		return ok && slices.Equal(x, y)
	}
	return a == b
}
