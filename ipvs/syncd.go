package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

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

// NewSyncDaemon implements SyncDaemonKernel.
func (h *Handle) NewSyncDaemon(d SyncDaemon) error {
	return h.request(cmdNewDaemon, 0, func(e *encoder) { e.syncDaemon(&d, false) }, nil)
}

// DelSyncDaemon implements SyncDaemonKernel. Only d.State matters.
func (h *Handle) DelSyncDaemon(d SyncDaemon) error {
	return h.request(cmdDelDaemon, 0, func(e *encoder) { e.syncDaemon(&d, true) }, nil)
}

// SyncDaemons returns the running sync daemons as the kernel reports them,
// defaults filled in.
func (h *Handle) SyncDaemons() ([]SyncDaemon, error) {
	var out []SyncDaemon
	err := h.request(cmdGetDaemon, unix.NLM_F_DUMP, nil, func(m []byte) error {
		d, err := parseSyncDaemon(m)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing IPVS sync daemons: %w", err)
	}
	return out, nil
}

// ipvsFamily resolves the IPVS generic netlink family in the handle's
// namespace once.
func (h *Handle) ipvsFamily() (uint16, error) {
	h.familyOnce.Do(func() {
		err := h.conn.each(unix.GENL_ID_CTRL, unix.CTRL_CMD_GETFAMILY, 0, func(e *encoder) {
			e.String(genlCtrlAttrFamilyName, "IPVS")
		}, func(m []byte) error {
			id, err := parseFamilyID(m)
			if h.family == 0 {
				h.family = id
			}
			return err
		})
		switch {
		case err != nil:
			h.familyErr = fmt.Errorf("resolving IPVS generic netlink family: %w", err)
		case h.family == 0:
			h.familyErr = errors.New("resolving IPVS generic netlink family: no family id in reply")
		}
	})
	return h.family, h.familyErr
}
