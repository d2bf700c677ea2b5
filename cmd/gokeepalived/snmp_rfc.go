package main

import (
	"net/netip"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/snmpagent"
	"github.com/gokeepalived/gokeepalived/internal/vrrpmib"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// rfcSnapshot is the VRRP instances as the RFC MIBs show them now.
func (d *daemon) rfcSnapshot() *vrrpmib.Snapshot {
	d.mu.Lock()
	traps := d.cfg.Global.EnableTraps
	d.mu.Unlock()
	s := &vrrpmib.Snapshot{Traps: traps, Start: d.started, Now: time.Now()}
	if l := d.vrrpLoop(); l != nil {
		s.Instances = l.RFCMIB()
	}
	return s
}

// rfc2787MIB is VRRP-MIB (RFC 2787), keepalived's "VRRP" module.
func (d *daemon) rfc2787MIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "VRRP",
		OID:  vrrpmib.RFC2787,
		Fill: func(b *agentx.Builder) { vrrpmib.FillRFC2787(b, d.rfcSnapshot()) },
	}
}

// rfc6527MIB is VRRPv3-MIB (RFC 6527), keepalived's "VRRPV3" module.
func (d *daemon) rfc6527MIB() snmpagent.MIB {
	return snmpagent.MIB{
		Name: "VRRPV3",
		OID:  vrrpmib.RFC6527,
		Fill: func(b *agentx.Builder) { vrrpmib.FillRFC6527(b, d.rfcSnapshot()) },
	}
}

// rfcStateTraps sends the RFC MIBs' notifications of a new master, as
// keepalived does with enable_traps and the MIB enabled: only for
// instances the MIB shows, with the instance's source address (its
// mcast_src_ip or unicast_src_ip, else its interface's).
func (d *daemon) rfcStateTraps(a *snmpagent.Agent, st snmpSettings, ci *config.Instance, s notify.State) {
	if s != notify.Master || !st.traps || (!st.rfcv2 && !st.rfcv3) {
		return
	}
	l := d.vrrpLoop()
	if l == nil {
		return
	}
	in, ok := l.RFCMIBInstance(ci.Name)
	if !ok {
		return
	}
	src := in.Primary
	for _, a := range []netip.Addr{ci.McastSrcIP, ci.UnicastSrcIP} {
		if a.IsValid() {
			src = a
		}
	}
	if st.rfcv2 {
		if vbs := vrrpmib.NewMasterTrap(&in, src); vbs != nil {
			a.Send(vrrpmib.TrapNewMaster, vbs...)
		}
	}
	if st.rfcv3 {
		if vbs := vrrpmib.NewMasterNotify(&in, src); vbs != nil {
			a.Send(vrrpmib.NotifyNewMaster, vbs...)
		}
	}
}

// rfcAuthFailure sends vrrpTrapAuthFailure for an advert an instance
// rejected, as keepalived does with enable_traps and VRRP-MIB enabled,
// for the instances VRRP-MIB shows.
func (d *daemon) rfcAuthFailure(ci *config.Instance, src netip.Addr, f vrrp.AuthFailure) {
	a, st, ok := d.vrrpTraps()
	if !ok || !st.rfcv2 {
		return
	}
	l := d.vrrpLoop()
	if l == nil {
		return
	}
	if in, ok := l.RFCMIBInstance(ci.Name); ok {
		if vbs := vrrpmib.AuthFailureTrap(&in, src, vrrpmib.AuthError(f)); vbs != nil {
			a.vrrp.Send(vrrpmib.TrapAuthFailure, vbs...)
		}
	}
}

// rfcProtoError sends vrrpv3ProtoError for an advert with a protocol
// error, as keepalived does with enable_traps and VRRPv3-MIB enabled,
// for the instances VRRPv3-MIB shows.
func (d *daemon) rfcProtoError(ci *config.Instance, e vrrp.ProtoError) {
	a, st, ok := d.vrrpTraps()
	if !ok || !st.rfcv3 {
		return
	}
	l := d.vrrpLoop()
	if l == nil {
		return
	}
	if in, ok := l.RFCMIBInstance(ci.Name); ok {
		in.ProtoErr = vrrpmib.ProtoError(e)
		if vbs := vrrpmib.ProtoErrNotify(&in); vbs != nil {
			a.vrrp.Send(vrrpmib.NotifyProtoErr, vbs...)
		}
	}
}
