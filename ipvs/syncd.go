package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// A SyncState is the role of an IPVS connection synchronisation daemon.
type SyncState uint32

// Sync daemon roles, the kernel's IP_VS_STATE_* values.
const (
	SyncMaster SyncState = 1
	SyncBackup SyncState = 2
)

func (s SyncState) String() string {
	switch s {
	case SyncMaster:
		return "master"
	case SyncBackup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// A SyncDaemon is the kernel's connection synchronisation thread,
// keepalived's lvs_sync_daemon. Zero fields take the kernel's defaults
// (port 8848, TTL 1, group 224.0.0.81, a length from the interface MTU).
type SyncDaemon struct {
	State     SyncState
	Interface string // multicast interface
	SyncID    uint8
	MaxLen    uint16 // sync message length
	Port      uint16
	TTL       uint8
	Group     netip.Addr // multicast group, IPv4 or IPv6
}

func (d SyncDaemon) String() string {
	s := fmt.Sprintf("%s %s syncid %d", d.State, d.Interface, d.SyncID)
	if d.MaxLen != 0 {
		s += fmt.Sprintf(" maxlen %d", d.MaxLen)
	}
	if d.Port != 0 {
		s += fmt.Sprintf(" port %d", d.Port)
	}
	if d.TTL != 0 {
		s += fmt.Sprintf(" ttl %d", d.TTL)
	}
	if d.Group.IsValid() {
		s += " group " + d.Group.String()
	}
	return s
}

// SyncDaemonKernel is implemented by kernels that can run sync daemons;
// *Handle does.
type SyncDaemonKernel interface {
	NewSyncDaemon(SyncDaemon) error
	DelSyncDaemon(SyncDaemon) error
}

// StartSyncDaemon starts a connection synchronisation daemon. The
// reconciler stops it again at Shutdown.
func (r *Reconciler) StartSyncDaemon(ctx context.Context, d SyncDaemon) (Op, error) {
	if d.State != SyncMaster && d.State != SyncBackup {
		return Op{}, fmt.Errorf("starting sync daemon: unsupported %v", d.State)
	}
	if d.Interface == "" {
		return Op{}, fmt.Errorf("starting sync daemon %s: no interface", d.State)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var p pass
	err := r.do(ctx, &p, Op{Kind: StartSyncDaemon, SyncDaemon: d})
	if err == nil {
		r.daemons[d.State] = d
	}
	return lastOp(p, StartSyncDaemon), err
}

// StopSyncDaemon stops the sync daemon in the given role.
func (r *Reconciler) StopSyncDaemon(ctx context.Context, state SyncState) (Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.daemons[state]
	if !ok {
		d = SyncDaemon{State: state}
	}
	var p pass
	err := r.do(ctx, &p, Op{Kind: StopSyncDaemon, SyncDaemon: d})
	if err == nil {
		delete(r.daemons, state)
	}
	return lastOp(p, StopSyncDaemon), err
}

// Generic netlink values from linux/ip_vs.h that the moby/ipvs library
// does not cover.
const (
	cmdNewDaemon = 9
	cmdDelDaemon = 10
	cmdGetDaemon = 11

	cmdAttrDaemon = 3

	daemonAttrState      = 1
	daemonAttrMcastIfn   = 2
	daemonAttrSyncID     = 3
	daemonAttrSyncMaxLen = 4
	daemonAttrMcastGroup = 5
	daemonAttrMcastGrp6  = 6
	daemonAttrMcastPort  = 7
	daemonAttrMcastTTL   = 8

	genlCtrlAttrFamilyID   = 1
	genlCtrlAttrFamilyName = 2
)

// NewSyncDaemon implements SyncDaemonKernel.
func (h *Handle) NewSyncDaemon(d SyncDaemon) error {
	attr := nl.NewRtAttr(cmdAttrDaemon, nil)
	attr.AddRtAttr(daemonAttrState, nl.Uint32Attr(uint32(d.State)))
	attr.AddRtAttr(daemonAttrMcastIfn, nl.ZeroTerminated(d.Interface))
	attr.AddRtAttr(daemonAttrSyncID, nl.Uint32Attr(uint32(d.SyncID)))
	if d.MaxLen != 0 {
		attr.AddRtAttr(daemonAttrSyncMaxLen, nl.Uint16Attr(d.MaxLen))
	}
	if d.Port != 0 {
		attr.AddRtAttr(daemonAttrMcastPort, nl.Uint16Attr(d.Port))
	}
	if d.TTL != 0 {
		attr.AddRtAttr(daemonAttrMcastTTL, nl.Uint8Attr(d.TTL))
	}
	switch {
	case d.Group.Is4():
		attr.AddRtAttr(daemonAttrMcastGroup, d.Group.AsSlice())
	case d.Group.Is6():
		attr.AddRtAttr(daemonAttrMcastGrp6, d.Group.AsSlice())
	}
	_, err := h.genl(cmdNewDaemon, 0, attr)
	return err
}

// DelSyncDaemon implements SyncDaemonKernel. Only d.State matters.
func (h *Handle) DelSyncDaemon(d SyncDaemon) error {
	attr := nl.NewRtAttr(cmdAttrDaemon, nil)
	attr.AddRtAttr(daemonAttrState, nl.Uint32Attr(uint32(d.State)))
	_, err := h.genl(cmdDelDaemon, 0, attr)
	return err
}

// SyncDaemons returns the running sync daemons as the kernel reports them,
// defaults filled in.
func (h *Handle) SyncDaemons() ([]SyncDaemon, error) {
	msgs, err := h.genl(cmdGetDaemon, unix.NLM_F_DUMP)
	if err != nil {
		return nil, fmt.Errorf("listing IPVS sync daemons: %w", err)
	}
	var out []SyncDaemon
	for _, m := range msgs {
		d, err := parseSyncDaemon(m)
		if err != nil {
			return nil, fmt.Errorf("listing IPVS sync daemons: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseSyncDaemon(m []byte) (SyncDaemon, error) {
	if len(m) < nl.SizeofGenlmsg {
		return SyncDaemon{}, errors.New("short message")
	}
	top, err := nl.ParseRouteAttr(m[nl.SizeofGenlmsg:])
	if err != nil {
		return SyncDaemon{}, err
	}
	var d SyncDaemon
	for _, t := range top {
		if t.Attr.Type&^unix.NLA_F_NESTED != cmdAttrDaemon {
			continue
		}
		attrs, err := nl.ParseRouteAttr(t.Value)
		if err != nil {
			return SyncDaemon{}, err
		}
		for _, a := range attrs {
			v := a.Value
			switch a.Attr.Type {
			case daemonAttrState:
				d.State = SyncState(nl.NativeEndian().Uint32(v))
			case daemonAttrMcastIfn:
				d.Interface = nl.BytesToString(v)
			case daemonAttrSyncID:
				d.SyncID = uint8(nl.NativeEndian().Uint32(v))
			case daemonAttrSyncMaxLen:
				d.MaxLen = nl.NativeEndian().Uint16(v)
			case daemonAttrMcastPort:
				d.Port = nl.NativeEndian().Uint16(v)
			case daemonAttrMcastTTL:
				d.TTL = v[0]
			case daemonAttrMcastGroup, daemonAttrMcastGrp6:
				if g, ok := netip.AddrFromSlice(v); ok && !g.IsUnspecified() {
					d.Group = g
				}
			}
		}
	}
	return d, nil
}

// genl sends one IPVS generic netlink command on the handle's own socket
// and returns the reply payloads.
func (h *Handle) genl(cmd uint8, flags int, attrs ...*nl.RtAttr) ([][]byte, error) {
	family, err := h.ipvsFamily()
	if err != nil {
		return nil, err
	}
	return h.conn.execute(family, cmd, flags, attrs...)
}

// ipvsFamily resolves the IPVS generic netlink family in the handle's
// namespace once.
func (h *Handle) ipvsFamily() (uint16, error) {
	h.familyOnce.Do(func() {
		msgs, err := h.conn.execute(unix.GENL_ID_CTRL, unix.CTRL_CMD_GETFAMILY, 0,
			nl.NewRtAttr(genlCtrlAttrFamilyName, nl.ZeroTerminated("IPVS")))
		if err != nil {
			h.familyErr = fmt.Errorf("resolving IPVS generic netlink family: %w", err)
			return
		}
		for _, m := range msgs {
			attrs, err := nl.ParseRouteAttr(m[nl.SizeofGenlmsg:])
			if err != nil {
				h.familyErr = fmt.Errorf("resolving IPVS generic netlink family: %w", err)
				return
			}
			for _, a := range attrs {
				if a.Attr.Type == genlCtrlAttrFamilyID && len(a.Value) >= 2 {
					h.family = binary.NativeEndian.Uint16(a.Value)
					return
				}
			}
		}
		h.familyErr = errors.New("resolving IPVS generic netlink family: no family id in reply")
	})
	return h.family, h.familyErr
}
