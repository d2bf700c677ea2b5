package vrrpd

import (
	"net"
	"net/netip"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/vrrpmib"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// RFCMIB returns what VRRP-MIB and VRRPv3-MIB show of the running
// instances, in the configuration's order. Interfaces are looked up at
// each call, as keepalived reads its interface records at each request.
func (l *Loop) RFCMIB() []vrrpmib.Instance {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]vrrpmib.Instance, 0, len(l.instances))
	for _, in := range l.instances {
		if in.vrrp == nil {
			continue
		}
		out = append(out, mibInstance(in, in.vrrp.Status(), l.applied))
	}
	return out
}

// RFCMIBInstance is RFCMIB's entry for the named instance.
func (l *Loop) RFCMIBInstance(name string) (vrrpmib.Instance, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.byName[name]
	if in == nil || in.vrrp == nil {
		return vrrpmib.Instance{}, false
	}
	return mibInstance(in, in.vrrp.Status(), l.applied), true
}

func mibInstance(in *instance, st vrrp.Status, applied time.Time) vrrpmib.Instance {
	ci := in.cfg
	version := ci.Version
	if version == 0 {
		version = 2
	}
	k := keepalivedCounters(st.Stats, in.baseline)
	d := func(r vrrp.DropReason) uint64 { return st.Stats.Drops[r] - in.baseline.Drops[r] }
	m := vrrpmib.Instance{
		VRID:      st.VRID,
		Version:   version,
		VIPs:      in.vips,
		State:     mibState(st.State),
		Priority:  st.Priority,
		Master:    st.Heard,
		Auth:      vrrpmib.AuthNone,
		AdvertInt: ci.AdvertInt,
		Preempt:   !ci.Nopreempt,
		Accept:    ci.Accept,
		Up:        applied,
		Stats: vrrpmib.Stats{
			BecomeMaster:      k.BecomeMaster,
			AdvertRcvd:        k.AdvertRcvd,
			AdvertIntervalErr: k.AdvertIntervalErr,
			AuthFailure:       k.AuthFailure,
			IPTTLErr:          k.IPTTLErr,
			PriZeroRcvd:       k.PriZeroRcvd,
			PriZeroSent:       k.PriZeroSent,
			// A version error is no invalid type to keepalived's
			// MIBs, which count it apart.
			InvalidTypeRcvd:  d(vrrp.DropType),
			AddrListErr:      k.AddrListErr,
			InvalidAuthType:  k.InvalidAuthType,
			AuthTypeMismatch: k.AuthTypeMismatch,
			PacketLenErr:     k.PacketLenErr,
			ChecksumErr:      d(vrrp.DropChecksum),
			VersionErr:       d(vrrp.DropVersion),
		},
		MasterReason: vrrpmib.MasterReason(st.MasterReason),
		ProtoErr:     vrrpmib.ProtoError(st.ProtoErr),
	}
	if len(in.vips) > 0 {
		m.IPv6 = in.vips[0].Is6()
	}
	if a := ci.Auth; a != nil && version == 2 {
		switch a.Type {
		case config.AuthPass:
			m.Auth = vrrpmib.AuthPass
		case config.AuthAH:
			m.Auth = vrrpmib.AuthAH
		}
	}
	if ifi, err := net.InterfaceByName(ci.Interface); err == nil {
		m.IfIndex = ifi.Index
		m.MAC = ifi.HardwareAddr
		m.Primary = interfacePrimary(ifi, m.IPv6)
	}
	if in.vmac != "" {
		if ifi, err := net.InterfaceByName(in.vmac); err == nil {
			m.MAC = ifi.HardwareAddr
		}
	}
	return m
}

// interfacePrimary is keepalived's record of an interface's address of
// a family: its first IPv4 address, its first IPv6 link-local one.
func interfacePrimary(ifi *net.Interface, v6 bool) netip.Addr {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipn.IP)
		ip = ip.Unmap()
		if (!v6 && ip.Is4()) || (v6 && ip.Is6() && ip.IsLinkLocalUnicast()) {
			return ip
		}
	}
	return netip.Addr{}
}

// mibState numbers s as the RFC MIBs do; keepalived shows FAULT and
// STOP as initialize.
func mibState(s vrrp.State) vrrpmib.State {
	switch s {
	case vrrp.StateBackup:
		return vrrpmib.StateBackup
	case vrrp.StateMaster:
		return vrrpmib.StateMaster
	}
	return vrrpmib.StateInitialize
}
