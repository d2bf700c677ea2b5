// Package gobgp is a bgp.Speaker on GoBGP's server, run in this
// process. Only gokeepalived-bgp links it: GoBGP and what it brings
// (gRPC, protocol buffers) would cost every daemon process its memory,
// BGP configured or not.
package gobgp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/bgp"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	bgppkt "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// deferralTime is how long a restarting speaker waits for its
// neighbors' End-of-RIB before it announces its routes, such as a
// neighbor with graceful restart whose session is not up: GoBGP's
// default, six minutes, would leave the stale routes the other neighbors
// hold unrefreshed for that long.
const deferralTime = 3 * time.Second

// connectRetry is how long a session waits before dialling again: GoBGP's
// default, two minutes, would leave a restarted router without routes
// for that long.
const connectRetry = 3 * time.Second

// Speaker is a bgp.Speaker on GoBGP's server, run in this process.
type Speaker struct {
	log     *slog.Logger
	onState func(bgp.PeerStatus)

	mu      sync.Mutex
	srv     *server.BgpServer
	peers   []bgp.Neighbor             // in the order added
	routes  map[netip.Prefix]bgp.Attrs // announced
	stopped bool
}

// New returns a Speaker that passes GoBGP's warnings and errors to
// log, which may be nil, and tells onState, if set, of each session's
// changes of state.
func New(log *slog.Logger, onState func(bgp.PeerStatus)) *Speaker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Speaker{log: log, onState: onState, routes: make(map[netip.Prefix]bgp.Attrs)}
}

// Start implements bgp.Speaker.
func (g *Speaker) Start(ctx context.Context, gl bgp.Global) error {
	lvl := new(slog.LevelVar)
	lvl.Set(slog.LevelWarn)
	srv := server.NewBgpServer(server.LoggerOption(g.log, lvl))
	go srv.Serve()
	err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:      gl.ASN,
		RouterId: gl.RouterID.String(),
		// No listener: the speaker dials its neighbors, and port 179
		// stays free for a routing daemon on the same host.
		ListenPort: -1,
	}})
	if err != nil {
		srv.Stop()
		return fmt.Errorf("bgp: start speaker %s AS %d: %w", gl.RouterID, gl.ASN, err)
	}
	if g.onState != nil {
		err := srv.WatchEvent(context.WithoutCancel(ctx), server.WatchEventMessageCallbacks{
			OnPeerUpdate: func(e *apiutil.WatchEventMessage_PeerEvent, _ time.Time) {
				if e.Type != apiutil.PEER_EVENT_STATE {
					return
				}
				g.onState(bgp.PeerStatus{Addr: e.Peer.State.NeighborAddress, ASN: e.Peer.State.PeerASN,
					State: bgp.SessionState(e.Peer.State.SessionState)})
			},
		}, server.WatchPeer())
		if err != nil {
			srv.Stop()
			return fmt.Errorf("bgp: watch sessions: %w", err)
		}
	}
	g.mu.Lock()
	g.srv = srv
	g.mu.Unlock()
	return nil
}

func (g *Speaker) server() (*server.BgpServer, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv == nil || g.stopped {
		return nil, fmt.Errorf("bgp: speaker not running")
	}
	return g.srv, nil
}

// AddPeer implements bgp.Speaker.
func (g *Speaker) AddPeer(ctx context.Context, n bgp.Neighbor) error {
	srv, err := g.server()
	if err != nil {
		return err
	}
	g.mu.Lock()
	i := slices.IndexFunc(g.peers, func(o bgp.Neighbor) bool { return o.Addr == n.Addr })
	same := i >= 0 && g.peers[i] == n
	g.mu.Unlock()
	if same {
		return nil
	}
	if i >= 0 {
		if err := g.RemovePeer(ctx, n.Addr); err != nil {
			return err
		}
	}
	families := []*api.Family{
		{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST},
		{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST},
	}
	p := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: n.Addr.String(),
			PeerAsn:         n.ASN,
			AuthPassword:    n.Password,
		},
		Transport: &api.Transport{},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry:           uint64(connectRetry / time.Second),
			IdleHoldTimeAfterReset: uint64(connectRetry / time.Second),
		}},
	}
	for _, f := range families {
		af := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f, Enabled: true}}
		if n.RestartTime > 0 {
			af.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		p.AfiSafis = append(p.AfiSafis, af)
	}
	if n.RestartTime > 0 {
		p.GracefulRestart = &api.GracefulRestart{
			Enabled:     true,
			RestartTime: uint32(n.RestartTime / time.Second),
			// Every start is taken for a restart: the speaker cannot
			// tell a first start from a start after a crash, and the
			// Restart State and Forwarding State bits this sets tell
			// a neighbor holding stale routes of the speaker to keep
			// them until its End-of-RIB, and one holding none
			// nothing. The forwarding state is the kernel's, which
			// the daemon's death leaves as it was.
			LocalRestarting: true,
			// A restarting speaker holds its routes back until each
			// neighbor's End-of-RIB, which a neighbor sends at once;
			// deferralTime bounds the wait for one that does not.
			DeferralTime: uint32(deferralTime / time.Second),
		}
	}
	if n.HoldTime > 0 {
		p.Timers.Config.HoldTime = uint64(n.HoldTime / time.Second)
		p.Timers.Config.KeepaliveInterval = max(1, uint64(n.HoldTime/time.Second)/3)
	}
	if n.Source.IsValid() {
		p.Transport.LocalAddress = n.Source.String()
	}
	if n.Multihop > 0 {
		p.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(n.Multihop)}
	}
	if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: p}); err != nil {
		return fmt.Errorf("bgp: add neighbor %s AS %d: %w", n.Addr, n.ASN, err)
	}
	g.mu.Lock()
	g.peers = append(g.peers, n)
	g.mu.Unlock()
	return nil
}

// RemovePeer implements bgp.Speaker.
func (g *Speaker) RemovePeer(ctx context.Context, addr netip.Addr) error {
	srv, err := g.server()
	if err != nil {
		return err
	}
	if err := srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("bgp: remove neighbor %s: %w", addr, err)
	}
	g.mu.Lock()
	g.peers = slices.DeleteFunc(g.peers, func(o bgp.Neighbor) bool { return o.Addr == addr })
	g.mu.Unlock()
	return nil
}

// path makes the GoBGP path of prefix with a, next hop a.NextHop or
// else this host.
func path(prefix netip.Prefix, a bgp.Attrs) (*apiutil.Path, error) {
	nlri, err := bgppkt.NewIPAddrPrefix(prefix)
	if err != nil {
		return nil, err
	}
	attrs := []bgppkt.PathAttributeInterface{bgppkt.NewPathAttributeOrigin(bgppkt.BGP_ORIGIN_ATTR_TYPE_IGP)}
	// The unspecified next hop makes GoBGP send its own address on each
	// session; another, a third party's on the neighbor's network, it
	// sends as it is.
	if prefix.Addr().Is4() {
		hop := netip.IPv4Unspecified()
		if a.NextHop.Is4() {
			hop = a.NextHop
		}
		nh, err := bgppkt.NewPathAttributeNextHop(hop)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, nh)
	} else {
		hop := netip.IPv6Unspecified()
		if a.NextHop.Is6() {
			hop = a.NextHop
		}
		mp, err := bgppkt.NewPathAttributeMpReachNLRI(bgppkt.RF_IPv6_UC, []bgppkt.PathNLRI{{NLRI: nlri}}, hop)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, mp)
	}
	if a.HasMED {
		attrs = append(attrs, bgppkt.NewPathAttributeMultiExitDisc(a.MED))
	}
	if len(a.Communities) > 0 {
		cs := make([]uint32, len(a.Communities))
		for i, c := range a.Communities {
			cs[i] = uint32(c)
		}
		attrs = append(attrs, bgppkt.NewPathAttributeCommunities(cs))
	}
	if len(a.LargeCommunities) > 0 {
		ls := make([]*bgppkt.LargeCommunity, len(a.LargeCommunities))
		for i, c := range a.LargeCommunities {
			ls[i] = bgppkt.NewLargeCommunity(c.ASN, c.Local1, c.Local2)
		}
		attrs = append(attrs, bgppkt.NewPathAttributeLargeCommunities(ls))
	}
	family := bgppkt.RF_IPv4_UC
	if prefix.Addr().Is6() {
		family = bgppkt.RF_IPv6_UC
	}
	return &apiutil.Path{Family: family, Nlri: nlri, Attrs: attrs}, nil
}

// Announce implements bgp.Speaker.
func (g *Speaker) Announce(ctx context.Context, prefix netip.Prefix, a bgp.Attrs) error {
	srv, err := g.server()
	if err != nil {
		return err
	}
	if err := g.add(srv, prefix, a); err != nil {
		return err
	}
	g.mu.Lock()
	g.routes[prefix] = a
	g.mu.Unlock()
	return nil
}

func (g *Speaker) add(srv *server.BgpServer, prefix netip.Prefix, a bgp.Attrs) error {
	p, err := path(prefix, a)
	if err != nil {
		return fmt.Errorf("bgp: announce %s: %w", prefix, err)
	}
	if _, err := srv.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("bgp: announce %s: %w", prefix, err)
	}
	return nil
}

// Withdraw implements bgp.Speaker.
func (g *Speaker) Withdraw(ctx context.Context, prefix netip.Prefix) error {
	srv, err := g.server()
	if err != nil {
		return err
	}
	g.mu.Lock()
	a, ok := g.routes[prefix]
	delete(g.routes, prefix)
	g.mu.Unlock()
	if !ok {
		return nil
	}
	p, err := path(prefix, a)
	if err != nil {
		return fmt.Errorf("bgp: withdraw %s: %w", prefix, err)
	}
	if err := srv.DeletePath(apiutil.DeletePathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("bgp: withdraw %s: %w", prefix, err)
	}
	return nil
}

// Peers implements bgp.Speaker.
func (g *Speaker) Peers(ctx context.Context) ([]bgp.PeerStatus, error) {
	srv, err := g.server()
	if err != nil {
		return nil, err
	}
	states := make(map[string]bgp.SessionState)
	err = srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		if p.Conf == nil || p.State == nil {
			return
		}
		states[p.Conf.NeighborAddress] = sessionState(p.State.SessionState)
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: list neighbors: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]bgp.PeerStatus, 0, len(g.peers))
	for _, n := range g.peers {
		out = append(out, bgp.PeerStatus{Addr: n.Addr, ASN: n.ASN, State: states[n.Addr.String()]})
	}
	return out, nil
}

// GoBGP's FSM states are RFC 4271's in its order, as bgp.SessionState's.
var _ = [1]struct{}{}[int(bgppkt.BGP_FSM_ESTABLISHED)-int(bgp.Established)]

func sessionState(s api.PeerState_SessionState) bgp.SessionState {
	switch s {
	case api.PeerState_SESSION_STATE_CONNECT:
		return bgp.Connect
	case api.PeerState_SESSION_STATE_ACTIVE:
		return bgp.Active
	case api.PeerState_SESSION_STATE_OPENSENT:
		return bgp.OpenSent
	case api.PeerState_SESSION_STATE_OPENCONFIRM:
		return bgp.OpenConfirm
	case api.PeerState_SESSION_STATE_ESTABLISHED:
		return bgp.Established
	}
	return bgp.Idle
}

// Stop implements bgp.Speaker.
func (g *Speaker) Stop(ctx context.Context, drain time.Duration) error {
	g.mu.Lock()
	srv := g.srv
	if srv == nil || g.stopped {
		g.mu.Unlock()
		return nil
	}
	g.stopped = true
	routes := make(map[netip.Prefix]bgp.Attrs, len(g.routes))
	for p, a := range g.routes {
		routes[p] = a
	}
	g.mu.Unlock()
	var first error
	if len(routes) > 0 {
		for p, a := range routes {
			if !slices.Contains(a.Communities, bgp.GracefulShutdown) {
				a.Communities = append(slices.Clone(a.Communities), bgp.GracefulShutdown)
			}
			if err := g.add(srv, p, a); err != nil && first == nil {
				first = err
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(drain):
		}
		if err := srv.DeletePath(apiutil.DeletePathRequest{DeleteAll: true}); err != nil && first == nil {
			first = fmt.Errorf("bgp: withdraw all: %w", err)
		}
	}
	// StopBgp closes every session with a Cease, after what is queued,
	// the withdrawals, and ends Serve. The speaker runs no BFD and no
	// gRPC server, the rest of what BgpServer.Stop would stop.
	if err := srv.StopBgp(context.WithoutCancel(ctx), &api.StopBgpRequest{}); err != nil && first == nil {
		first = fmt.Errorf("bgp: stop speaker: %w", err)
	}
	return first
}

// Serve runs a Speaker for the requests read from in, answering on out,
// until in ends: the other end of bgp.Process.
func Serve(in io.Reader, out io.Writer) error {
	return bgp.Serve(in, out, func(log *slog.Logger, onState func(bgp.PeerStatus)) bgp.Speaker {
		return New(log, onState)
	})
}
