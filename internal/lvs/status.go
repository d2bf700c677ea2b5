package lvs

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// VirtualServerStatus is a snapshot of one virtual server.
type VirtualServerStatus struct {
	// Name is keepalived's name for it: "[10.0.0.1]:tcp:80", "FWM 1" or
	// "[group]:0".
	Name     string
	QuorumUp bool
	// LiveWeight is the sum of the live real servers' weights, which the
	// quorum is compared with.
	LiveWeight int64
	// SorryServer says the sorry server is in the pool.
	SorryServer bool
	// QuorumUpScript and QuorumDownScript are the quorum_up and
	// quorum_down scripts as they run, their path resolved, in
	// keepalived's notation ("'/usr/bin/true' 'up'"); empty when there
	// is none or it was refused.
	QuorumUpScript, QuorumDownScript string
	// Services are the IPVS services it last called for: one, or one
	// per member of its group.
	Services    []ipvs.Service
	RealServers []RealServerStatus
}

// RealServerStatus is a snapshot of one real server.
type RealServerStatus struct {
	// Name is keepalived's name for it: "[10.0.0.2]:tcp:80".
	Name  string
	Addr  netip.AddrPort
	Alive bool
	// Weight is the effective weight, Configured the configured one.
	Weight     int
	Configured int
	// InPool says whether the real server is in the IPVS table (alive,
	// or at weight 0 with inhibit_on_failure).
	InPool bool
	// LastResult is the last change the checks reported, such as
	// "TCP_CHECK failed: connecting to 10.0.0.2:80: connection refused",
	// and LastChange its time; empty until the checks reported one.
	LastResult string
	LastChange time.Time
	// NotifyUp and NotifyDown are its notify_up and notify_down scripts,
	// as VirtualServerStatus's quorum scripts.
	NotifyUp, NotifyDown string
}

// scriptText is s in keepalived's notation, "" for none.
func scriptText(s *notify.Script) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// Status returns a snapshot of every virtual server, in configuration
// order.
func (l *LVS) Status() []VirtualServerStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]VirtualServerStatus, 0, len(l.vss))
	for _, vs := range l.vss {
		st := vs.state()
		s := VirtualServerStatus{Name: vs.name, QuorumUp: vs.quorumUp, LiveWeight: st.liveWeight(), SorryServer: vs.sorryIn,
			QuorumUpScript: scriptText(vs.quorum.Up), QuorumDownScript: scriptText(vs.quorum.Down),
			Services: slices.Clone(vs.services)}
		for _, rs := range vs.rs {
			s.RealServers = append(s.RealServers, RealServerStatus{
				Name:       rs.name,
				Addr:       rs.id.Addr,
				Alive:      rs.alive,
				Weight:     rs.weight,
				Configured: rs.cfg.Weight,
				InPool:     l.running && vs.inPool(rs) && (rs.drain == nil || !rs.drain.removed),
				LastResult: rs.result,
				LastChange: rs.since,
				NotifyUp:   scriptText(rs.id.Up),
				NotifyDown: scriptText(rs.id.Down),
			})
		}
		out = append(out, s)
	}
	return out
}

// Running reports whether the virtual servers have been started (and not
// yet shut down): before, Status shows their configuration, not a state.
func (l *LVS) Running() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running && !l.stopped
}
