package vrrpd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

// syncDaemon runs the kernel's IPVS connection synchronisation daemon for
// lvs_sync_daemon: as master while the named VRRP instance is MASTER, as
// backup otherwise, so that the connections of a failed master survive on
// the new one. As in keepalived, the VRRP loop owns it.
type syncDaemon struct {
	log    logrus.FieldLogger
	handle *ipvs.Handle
	table  *ipvs.Reconciler

	// mu guards what follows: transitions and reloads come from
	// different goroutines.
	mu       sync.Mutex
	instance string
	base     ipvs.SyncDaemon
	state    ipvs.SyncState // 0 until started
}

func newSyncDaemon(c *config.LVSSyncDaemon, log logrus.FieldLogger) (*syncDaemon, error) {
	h, err := ipvs.OpenKernel()
	if err != nil {
		return nil, fmt.Errorf("lvs_sync_daemon: %w", err)
	}
	return &syncDaemon{
		log:      log,
		instance: c.Instance,
		handle:   h,
		table:    ipvs.NewReconciler(h, ipvs.ReconcilerConfig{Log: log}),
		base:     syncBase(c),
	}, nil
}

// syncBase is the daemon lvs_sync_daemon asks for, in no state yet.
func syncBase(c *config.LVSSyncDaemon) ipvs.SyncDaemon {
	return ipvs.SyncDaemon{
		Interface: c.Interface,
		SyncID:    uint8(c.SyncID),
		MaxLen:    uint16(c.MaxLen),
		Port:      c.Port,
		TTL:       uint8(c.TTL),
		Group:     c.Group,
	}
}

// follows reports whether the daemon follows the named instance.
func (s *syncDaemon) follows(instance string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instance == instance
}

// set switches the daemon to master or backup.
func (s *syncDaemon) set(master bool) {
	want := ipvs.SyncBackup
	if master {
		want = ipvs.SyncMaster
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == want {
		return
	}
	s.switchTo(want)
}

// switchTo stops the running daemon, if any, and starts it in state want.
func (s *syncDaemon) switchTo(want ipvs.SyncState) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.state != 0 {
		if _, err := s.table.StopSyncDaemon(ctx, s.state); err != nil {
			s.log.Errorf("Stopping IPVS sync daemon %s: %v", s.state, err)
		}
	}
	d := s.base
	d.State = want
	if _, err := s.table.StartSyncDaemon(ctx, d); err != nil {
		s.log.Errorf("Starting IPVS sync daemon %s: %v", want, err)
		s.state = 0
		return
	}
	s.state = want
}

// reload takes lvs_sync_daemon's settings after a reload as keepalived's
// VRRP process does: a running daemon whose settings changed is started
// again, in its state, with the new ones. A configuration without the
// keyword leaves the running daemon as it is, as keepalived does.
func (s *syncDaemon) reload(c *config.LVSSyncDaemon) {
	if c == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instance = c.Instance
	base := syncBase(c)
	if base == s.base {
		return
	}
	s.base = base
	if s.state != 0 {
		s.switchTo(s.state)
	}
}

// close stops what it started.
func (s *syncDaemon) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.table.Shutdown(ctx)
	s.handle.Close()
}
