package lvs

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gokeepalived/gokeepalived/ipvs"
)

// drain is an operator's drain of a real server, beyond keepalived: the
// server stays in the pool at weight 0, so that the kernel sends it no
// new connection while those it has go on, until they are gone or the
// deadline passes; then it leaves the table. Its checks run on
// throughout, and a drained server that comes up stays drained. A reload
// keeps the drain of a real server that the new configuration still has;
// one it removes is forgotten with it.
type drain struct {
	since, deadline time.Time // deadline zero: none
	removed         bool
}

// DrainStatus is one drained real server.
type DrainStatus struct {
	VirtualServer string // keepalived's FMT_VS
	RealServer    string // keepalived's FMT_RS
	// Services are the virtual server's services, Dests the real
	// server's destination in each, for reading the kernel's counters.
	Services []ipvs.Service
	Dests    []netip.AddrPort
	Since    time.Time
	Deadline time.Time
	Removed  bool
}

// findLocked finds the real server that vsName and rsName name: the
// virtual server as ADDR:PORT[/PROTO] (tcp by default), fwmark:N or its
// name in the status ("[10.0.0.1]:tcp:80", "FWM 1", "[group]:0"), the
// real server as ADDR:PORT, ADDR for one without a port, or its name in
// the status.
func (l *LVS) findLocked(vsName, rsName string) (*virtualServer, *realServer, error) {
	for _, vs := range l.vss {
		if !vsMatches(vs, vsName) {
			continue
		}
		for _, rs := range vs.rs {
			if rs.name == rsName {
				return vs, rs, nil
			}
			if a, err := netip.ParseAddrPort(rsName); err == nil && a == rs.id.Addr {
				return vs, rs, nil
			}
			// A firewall mark's real servers have no port.
			if a, err := netip.ParseAddr(rsName); err == nil && netip.AddrPortFrom(a, 0) == rs.id.Addr {
				return vs, rs, nil
			}
		}
		return nil, nil, fmt.Errorf("virtual server %s has no real server %s", vs.name, rsName)
	}
	return nil, nil, fmt.Errorf("no virtual server %s", vsName)
}

func vsMatches(vs *virtualServer, s string) bool {
	if s == vs.name {
		return true
	}
	c := vs.cfg
	if m, ok := strings.CutPrefix(s, "fwmark:"); ok {
		n, err := strconv.ParseUint(m, 10, 32)
		return err == nil && c.Group == "" && c.FWMark == uint32(n)
	}
	if c.Group != "" || c.FWMark != 0 {
		return false
	}
	addr, proto, _ := strings.Cut(s, "/")
	a, err := netip.ParseAddrPort(addr)
	if err != nil || a != netip.AddrPortFrom(c.Addr, c.Port) {
		return false
	}
	if proto == "" {
		proto = "tcp"
	}
	return strings.EqualFold(proto, c.Protocol.String())
}

// Drain drains a real server: weight 0 in the table at once, out of it
// once DrainDone says its connections are gone, or once timeout (zero:
// none) has passed. Draining a drained server again restarts its drain
// with the new timeout.
func (l *LVS) Drain(ctx context.Context, vsName, rsName string, timeout time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	vs, rs, err := l.findLocked(vsName, rsName)
	if err != nil {
		return err
	}
	now := l.clock.Now()
	d := &drain{since: now}
	if timeout > 0 {
		d.deadline = now.Add(timeout)
	}
	rs.drain = d
	l.log.Infof("Draining %s from %s", rs.name, vs.name)
	l.reconcileVSLocked(ctx, vs)
	return nil
}

// Undrain puts a drained real server back at the weight its
// configuration and health give it.
func (l *LVS) Undrain(ctx context.Context, vsName, rsName string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	vs, rs, err := l.findLocked(vsName, rsName)
	if err != nil {
		return err
	}
	if rs.drain == nil {
		return fmt.Errorf("%s of %s is not drained", rs.name, vs.name)
	}
	rs.drain = nil
	l.log.Infof("Undraining %s of %s", rs.name, vs.name)
	l.reconcileVSLocked(ctx, vs)
	return nil
}

// DrainDone takes a draining real server out of the table: its active
// connections are gone, or now is past its deadline. It reports whether
// the server was draining.
func (l *LVS) DrainDone(ctx context.Context, vsName, rsName string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	vs, rs, err := l.findLocked(vsName, rsName)
	if err != nil || rs.drain == nil || rs.drain.removed {
		return false
	}
	rs.drain.removed = true
	l.log.Infof("Drained %s: removing it from %s", rs.name, vs.name)
	l.reconcileVSLocked(ctx, vs)
	return true
}

// Drains lists the drained real servers.
func (l *LVS) Drains() []DrainStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []DrainStatus
	for _, vs := range l.vss {
		for _, rs := range vs.rs {
			if d := rs.drain; d != nil {
				dests := make([]netip.AddrPort, len(vs.services))
				for i, s := range vs.services {
					dests[i] = destAddr(rs.cfg.Addr, rs.cfg.Port, rs.cfg.Forwarding, s.Addr.Port())
				}
				out = append(out, DrainStatus{VirtualServer: vs.name, RealServer: rs.name, Services: slices.Clone(vs.services), Dests: dests,
					Since: d.since, Deadline: d.deadline, Removed: d.removed})
			}
		}
	}
	return out
}

// reconcileVSLocked brings the services of vs to its state.
func (l *LVS) reconcileVSLocked(ctx context.Context, vs *virtualServer) {
	if !l.running {
		return
	}
	keys := vs.keys()
	l.refreshLocked(vs)
	for _, k := range vs.keys() {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if _, err := l.table.ReconcileServices(ctx, l.desiredLocked(keys...), keys...); err != nil && ctx.Err() == nil {
		l.log.WithError(err).Warn("IPVS table not fully applied")
	}
}
