package lvs

import (
	"net/netip"
	"time"
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
}

// Status returns a snapshot of every virtual server, in configuration
// order.
func (l *LVS) Status() []VirtualServerStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]VirtualServerStatus, 0, len(l.vss))
	for _, vs := range l.vss {
		st := vs.state()
		s := VirtualServerStatus{Name: vs.name, QuorumUp: vs.quorumUp, LiveWeight: st.liveWeight(), SorryServer: vs.sorryIn}
		for _, rs := range vs.rs {
			s.RealServers = append(s.RealServers, RealServerStatus{
				Name:       rs.name,
				Addr:       rs.id.Addr,
				Alive:      rs.alive,
				Weight:     rs.weight,
				Configured: rs.cfg.Weight,
				InPool:     l.running && vs.inPool(rs),
				LastResult: rs.result,
				LastChange: rs.since,
			})
		}
		out = append(out, s)
	}
	return out
}
