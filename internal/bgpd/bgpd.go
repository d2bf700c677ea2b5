// Package bgpd is the daemon's BGP loop: it announces each bgp_announce
// prefix while what it tracks is healthy, and withdraws it as soon as
// that changes.
package bgpd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/bgp"
	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/notify"
)

// The loop follows health by push: VRRP calls Wake as soon as an
// instance's state changes, the checker loop SetQuorum as soon as a
// virtual server's quorum does. recheckInterval is the safety poll: the loop looks at everything that
// often all the same, should a change go untold. drainTick is how often
// it looks while a drain's grace runs, to withdraw on time.
const (
	recheckInterval = time.Second
	drainTick       = 20 * time.Millisecond
)

// Drain is how long the speaker announces its routes with the
// GRACEFUL_SHUTDOWN community before it withdraws them at shutdown.
const Drain = time.Second

// Options are what the loop needs from the rest of the daemon.
type Options struct {
	Log logrus.FieldLogger
	// NewSpeaker makes the speaker; nil makes a bgp.Process running
	// gokeepalived-bgp.
	NewSpeaker func(log *slog.Logger) bgp.Speaker
	// Masters returns the VRRP instances that are MASTER, by name.
	Masters func() map[string]bool
	// Quorums returns the virtual servers whose quorum is up, by the
	// name keepalived gives them ("[10.0.0.1]:tcp:80").
	//
	// Whoever changes what Masters answers calls Wake, and the checker
	// loop tells each change of a quorum by SetQuorum: the loop asks
	// them otherwise once a second.
	Quorums func() map[string]bool
}

// AnnouncementStatus is the state of one bgp_announce block.
type AnnouncementStatus struct {
	Name      string
	Prefix    netip.Prefix
	Announced bool
}

// Loop is the BGP loop.
type Loop struct {
	opts Options
	wake chan struct{}

	mu        sync.Mutex
	cfg       *config.Config // the configuration to apply
	speaker   bgp.Speaker    // nil until Run starts it
	announced map[string]bool
	prefixes  map[netip.Prefix]bgp.Attrs // announced
	bfdUp     map[string]bool            // by bfd_instance, as last told
	bfdDown   map[string]bool            // bfd_instances gone Down since the loop last looked
	// quorums are the virtual servers' quorums as last asked of the
	// checkers and told since by SetQuorum; quorumGen counts what
	// SetQuorum told; repoll asks the checkers on the next pass.
	quorums   map[string]bool
	quorumGen uint64
	repoll    bool
	// drainUntil, when set, is the director's drain: every announcement
	// carries GRACEFUL_SHUTDOWN until then, and is withdrawn after.
	drainUntil time.Time
}

// SetDrained drains the director or undrains it: drained, every
// bgp_announce is announced with GRACEFUL_SHUTDOWN for grace (Drain when
// zero), so that routers move the traffic to other paths first, then
// withdrawn, as at a stop; undrained, the announcements follow their
// health again. Draining a drained director changes nothing.
func (l *Loop) SetDrained(drained bool, grace time.Duration) {
	if grace <= 0 {
		grace = Drain
	}
	l.mu.Lock()
	switch {
	case !drained:
		l.drainUntil = time.Time{}
	case l.drainUntil.IsZero():
		l.drainUntil = time.Now().Add(grace)
	}
	l.mu.Unlock()
	l.Wake()
}

// draining reports whether a drain's grace is running: the loop then
// looks at its announcements at every tick, to withdraw them on time.
func (l *Loop) draining() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.drainUntil.IsZero() && !time.Now().After(l.drainUntil.Add(drainTick))
}

// New returns the loop for cfg; Run starts it.
func New(cfg *config.Config, opts Options) (*Loop, error) {
	if cfg.BGPSpeaker == nil {
		return nil, fmt.Errorf("bgp: no bgp_speaker")
	}
	if opts.NewSpeaker == nil {
		opts.NewSpeaker = func(log *slog.Logger) bgp.Speaker {
			return bgp.NewProcess("", log, sessionLogger(opts.Log))
		}
	}
	if opts.Masters == nil {
		opts.Masters = func() map[string]bool { return nil }
	}
	if opts.Quorums == nil {
		opts.Quorums = func() map[string]bool { return nil }
	}
	return &Loop{opts: opts, wake: make(chan struct{}, 1), cfg: cfg, announced: make(map[string]bool),
		bfdUp: make(map[string]bool), bfdDown: make(map[string]bool)}, nil
}

// sessionLogger logs each session coming up and going down; the states
// a session passes through while it tries to connect are not worth a
// line every retry.
func sessionLogger(log logrus.FieldLogger) func(bgp.PeerStatus) {
	var mu sync.Mutex
	up := make(map[netip.Addr]bool)
	return func(p bgp.PeerStatus) {
		mu.Lock()
		defer mu.Unlock()
		switch is := p.State == bgp.Established; {
		case is && !up[p.Addr]:
			log.Infof("BGP neighbor %s AS %d: session Established", p.Addr, p.ASN)
		case !is && up[p.Addr]:
			log.Warnf("BGP neighbor %s AS %d: session down (%s)", p.Addr, p.ASN, p.State)
		}
		up[p.Addr] = p.State == bgp.Established
	}
}

// Wake makes the loop look at the health of what it tracks now, asking
// VRRP and the checkers again. It never blocks, so that the VRRP and
// checker loops may call it as their state changes, under their locks.
func (l *Loop) Wake() {
	l.mu.Lock()
	l.repoll = true
	l.mu.Unlock()
	l.signal()
}

// SetQuorum tells the loop that the quorum of the virtual server named
// name (as ServerName names it) went up or down. The loop acts on it
// at once, without asking the checkers, whose answer would wait for the
// end of the change that made the quorum's. It never blocks.
func (l *Loop) SetQuorum(name string, up bool) {
	l.mu.Lock()
	if l.quorums == nil {
		// Nothing known yet: the loop asks for everything.
		l.repoll = true
	} else {
		l.quorums[name] = up
	}
	l.quorumGen++
	l.mu.Unlock()
	l.signal()
}

func (l *Loop) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// quorumState returns the virtual servers' quorums: asked of the
// checkers when poll is set, after a Wake, or while none is known; else
// as they were last asked and told since by SetQuorum.
func (l *Loop) quorumState(poll bool) map[string]bool {
	l.mu.Lock()
	gen := l.quorumGen
	poll = poll || l.repoll || l.quorums == nil
	l.repoll = false
	if !poll {
		defer l.mu.Unlock()
		return maps.Clone(l.quorums)
	}
	l.mu.Unlock()
	asked := l.opts.Quorums()
	if asked == nil {
		asked = make(map[string]bool)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A quorum told while the checkers answered is newer than their
	// answer: keep what was known and told, and ask again next time.
	if l.quorumGen != gen && l.quorums != nil {
		l.repoll = true
		return maps.Clone(l.quorums)
	}
	l.quorums = asked
	return maps.Clone(asked)
}

// SetBFD tells the loop the state of the BFD session of bfd_instance
// name. When a session it knew Up goes Down, the loop drops the sessions
// of the neighbors that name it and dials them again, rather than wait
// for their hold time: the neighbor may be gone while the TCP connection
// still looks open.
func (l *Loop) SetBFD(name string, up bool) {
	l.mu.Lock()
	if l.bfdUp[name] && !up {
		l.bfdDown[name] = true
	}
	l.bfdUp[name] = up
	l.mu.Unlock()
	if !up {
		l.Wake()
	}
}

// Reload switches to cfg: sessions to neighbors it keeps stay up, and
// announcements follow its blocks.
func (l *Loop) Reload(_ context.Context, cfg *config.Config) error {
	l.mu.Lock()
	l.cfg = cfg
	l.mu.Unlock()
	l.Wake()
	return nil
}

// Run runs the speaker until ctx ends, then announces its routes with
// GRACEFUL_SHUTDOWN, withdraws them and closes the sessions.
func (l *Loop) Run(ctx context.Context) error {
	var (
		sp      bgp.Speaker
		global  bgp.Global
		applied []config.BGPNeighbor
		sent    = make(map[netip.Addr]bgp.Neighbor)
	)
	defer func() {
		if sp == nil {
			return
		}
		l.mu.Lock()
		l.speaker = nil
		clear(l.announced)
		l.prefixes = nil
		l.mu.Unlock()
		stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), Drain+2*time.Second)
		defer cancel()
		if err := sp.Stop(stop, Drain); err != nil {
			l.opts.Log.Errorf("BGP: %v", err)
		}
		l.opts.Log.Info("BGP speaker stopped")
	}()
	t := time.NewTimer(0)
	defer t.Stop()
	var checked time.Time
	// With graceful restart, the neighbors of a restarted director hold
	// its routes, stale, until its End-of-RIB, which follows whatever it
	// announces as the session comes up: the speaker dials them only
	// once every announcement is healthy, or once what it tracks has had
	// the time to become so, so that it does not withdraw, by its
	// End-of-RIB, a route a moment before announcing it again.
	started := time.Now()
	var holdUntil time.Time
	if s := l.cfg.BGPSpeaker; s != nil && s.GracefulRestart {
		holdUntil = started.Add(restartHold(l.cfg))
	}
	for woken := true; ; {
		l.mu.Lock()
		cfg := l.cfg
		l.mu.Unlock()
		if cfg.BGPSpeaker != nil && (woken || l.draining() || time.Since(checked) >= recheckInterval) {
			checked = time.Now()
			g := bgp.Global{RouterID: cfg.BGPSpeaker.RouterID, ASN: cfg.BGPSpeaker.LocalAS}
			if sp != nil && g != global {
				// A new identity needs new sessions.
				if err := sp.Stop(ctx, 0); err != nil {
					l.opts.Log.Errorf("BGP: %v", err)
				}
				sp, applied = nil, nil
				l.mu.Lock()
				l.speaker = nil
				clear(l.announced)
				l.prefixes = nil
				l.mu.Unlock()
			}
			if sp == nil {
				s := l.opts.NewSpeaker(slog.New(logHandler{l.opts.Log}))
				if err := s.Start(ctx, g); err != nil {
					return err
				}
				sp, global = s, g
				l.mu.Lock()
				l.speaker = sp
				l.mu.Unlock()
				l.opts.Log.Infof("BGP speaker %s AS %d started", g.RouterID, g.ASN)
			}
			// The routes first: a neighbor gets them, then the
			// End-of-RIB, as its session comes up.
			l.applyAnnouncements(ctx, sp, cfg, !woken)
			holding := !holdUntil.IsZero() && time.Now().Before(holdUntil) && !l.allAnnounced(cfg)
			if !holding {
				if !holdUntil.IsZero() {
					holdUntil = time.Time{}
					l.opts.Log.Infof("BGP speaker dialling its neighbors %v after its start", time.Since(started).Round(time.Millisecond))
				}
				applied = l.resetBFDNeighbors(ctx, sp, applied)
				applied = l.applyNeighbors(ctx, sp, cfg.BGPSpeaker, applied, sent)
			}
		}
		next := recheckInterval
		switch {
		case l.draining():
			next = drainTick
		case !holdUntil.IsZero():
			next = min(next, max(0, time.Until(holdUntil)))
		}
		t.Reset(next)
		select {
		case <-ctx.Done():
			return nil
		case <-l.wake:
			woken = true
		case <-t.C:
			woken = false
		}
	}
}

// applyNeighbors adds the neighbors of s and removes those gone since
// applied; a neighbor whose block, and what bgp_speaker gives every
// neighbor, did not change keeps its session. sent holds what the
// speaker was given of each neighbor.
func (l *Loop) applyNeighbors(ctx context.Context, sp bgp.Speaker, s *config.BGPSpeaker, applied []config.BGPNeighbor, sent map[netip.Addr]bgp.Neighbor) []config.BGPNeighbor {
	for _, old := range applied {
		if !slices.ContainsFunc(s.Neighbors, func(n config.BGPNeighbor) bool { return n.Addr == old.Addr }) {
			if err := sp.RemovePeer(ctx, old.Addr); err != nil {
				l.opts.Log.Errorf("BGP: %v", err)
			}
		}
	}
	out := make([]config.BGPNeighbor, 0, len(s.Neighbors))
	for _, n := range s.Neighbors {
		i := slices.IndexFunc(applied, func(o config.BGPNeighbor) bool { return o.Addr == n.Addr })
		n.Pos = config.Pos{}
		// bfd is the loop's, not the speaker's: a change of it alone
		// keeps the session.
		nb := speakerNeighbor(s, n)
		if i >= 0 {
			if o := applied[i]; func() bool { o.BFD = n.BFD; return o == n }() && sent[n.Addr] == nb {
				out = append(out, n)
				continue
			}
		}
		err := sp.AddPeer(ctx, nb)
		if err != nil {
			l.opts.Log.Errorf("BGP: %v", err)
			continue
		}
		sent[n.Addr] = nb
		out = append(out, n)
	}
	return out
}

// restartHold is how long a speaker with graceful restart waits at start
// for its announcements' health before it dials its neighbors: the
// longest master down interval of the VRRP instances they track, after
// which an instance that is not MASTER does not become one by itself,
// and startSettle for the loops to start; at most half the restart time,
// so that the neighbors get the End-of-RIB well before they give up.
func restartHold(cfg *config.Config) time.Duration {
	tracked := make(map[string]bool)
	for _, a := range cfg.BGPAnnounces {
		for _, name := range a.TrackInstances {
			tracked[name] = true
		}
	}
	var hold time.Duration
	for _, in := range cfg.Instances {
		if !tracked[in.Name] {
			continue
		}
		// RFC 5798 6.1: 3 advertisement intervals and the skew time.
		down := 3*in.AdvertInt + time.Duration(256-in.Priority)*in.AdvertInt/256
		hold = max(hold, down)
	}
	return min(hold+startSettle, cfg.BGPSpeaker.RestartTime/2)
}

// startSettle is how long the daemon's loops take to start and report
// their first states.
const startSettle = time.Second

// allAnnounced reports whether every bgp_announce block of cfg is
// announced.
func (l *Loop) allAnnounced(cfg *config.Config) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range cfg.BGPAnnounces {
		if !l.announced[a.Name] {
			return false
		}
	}
	return true
}

// speakerNeighbor is the speaker's configuration of neighbor n of s.
func speakerNeighbor(s *config.BGPSpeaker, n config.BGPNeighbor) bgp.Neighbor {
	nb := bgp.Neighbor{Addr: n.Addr, ASN: n.RemoteAS, Password: n.Password,
		Multihop: n.Multihop, Source: n.SourceIP, HoldTime: s.HoldTime}
	if s.GracefulRestart {
		nb.RestartTime = s.RestartTime
	}
	return nb
}

// resetBFDNeighbors removes the neighbors of applied whose BFD session
// went Down, and returns applied without them, so that applyNeighbors
// adds them again: their sessions start over.
func (l *Loop) resetBFDNeighbors(ctx context.Context, sp bgp.Speaker, applied []config.BGPNeighbor) []config.BGPNeighbor {
	l.mu.Lock()
	down := l.bfdDown
	l.bfdDown = make(map[string]bool)
	l.mu.Unlock()
	if len(down) == 0 {
		return applied
	}
	return slices.DeleteFunc(applied, func(n config.BGPNeighbor) bool {
		if n.BFD == "" || !down[n.BFD] {
			return false
		}
		// The line comes once the session is gone, so that whoever
		// reads it and then asks for the sessions finds it gone.
		if err := sp.RemovePeer(ctx, n.Addr); err != nil {
			l.opts.Log.Errorf("BGP: %v", err)
		}
		l.opts.Log.Warnf("BGP neighbor %s AS %d: BFD session %s Down, resetting the session", n.Addr, n.RemoteAS, n.BFD)
		return true
	})
}

// Healthy reports whether everything a tracks is up: every instance it
// tracks among masters, every virtual server among quorums.
func Healthy(a *config.BGPAnnounce, masters, quorums map[string]bool) bool {
	for _, name := range a.TrackInstances {
		if !masters[name] {
			return false
		}
	}
	for _, s := range a.TrackVirtualServers {
		if !quorums[ServerName(s)] {
			return false
		}
	}
	return true
}

// ServerName is keepalived's name of a tracked virtual server, as the
// checker loop names it: config.Protocol and notify.Protocol are both the
// IP protocol number.
func ServerName(s config.BGPTrackedServer) string {
	return notify.VirtualServer{Addr: s.Addr, Protocol: notify.Protocol(s.Protocol)}.String()
}

// applyAnnouncements announces what is healthy and withdraws the rest,
// asking the checkers for their quorums if poll is set. Several blocks
// may share a prefix: it is announced while any of them is healthy, with
// the attributes of the first healthy one.
func (l *Loop) applyAnnouncements(ctx context.Context, sp bgp.Speaker, cfg *config.Config, poll bool) {
	want := make(map[netip.Prefix]bgp.Attrs)
	healthy := make(map[string]bool, len(cfg.BGPAnnounces))
	// One snapshot of each per pass, and none that nothing tracks.
	var masters, quorums map[string]bool
	for _, a := range cfg.BGPAnnounces {
		if len(a.TrackInstances) > 0 && masters == nil {
			masters = l.opts.Masters()
		}
		if len(a.TrackVirtualServers) > 0 && quorums == nil {
			quorums = l.quorumState(poll)
		}
	}
	for i := range cfg.BGPAnnounces {
		a := &cfg.BGPAnnounces[i]
		if !Healthy(a, masters, quorums) {
			continue
		}
		healthy[a.Name] = true
		if _, ok := want[a.Prefix]; ok {
			continue
		}
		want[a.Prefix] = blockAttrs(a)
	}
	l.mu.Lock()
	was, until := l.announced, l.drainUntil
	l.mu.Unlock()
	switch {
	case until.IsZero():
	case time.Now().Before(until):
		for p, attrs := range want {
			if !slices.Contains(attrs.Communities, bgp.GracefulShutdown) {
				attrs.Communities = append(attrs.Communities, bgp.GracefulShutdown)
			}
			want[p] = attrs
		}
	default:
		clear(want)
		clear(healthy)
	}
	now := make(map[string]bool, len(healthy))
	for i := range cfg.BGPAnnounces {
		a := &cfg.BGPAnnounces[i]
		if healthy[a.Name] != was[a.Name] {
			verb := "withdrawing"
			if healthy[a.Name] {
				verb = "announcing"
			}
			l.opts.Log.Infof("BGP announcement %s: %s %s", a.Name, verb, a.Prefix)
		}
		now[a.Name] = healthy[a.Name]
	}
	l.mu.Lock()
	prev := l.prefixes
	l.prefixes = want
	l.announced = now
	l.mu.Unlock()
	for p, attrs := range want {
		if old, ok := prev[p]; ok && old.Equal(attrs) {
			continue
		}
		if err := sp.Announce(ctx, p, attrs); err != nil {
			l.opts.Log.Errorf("BGP: %v", err)
		}
	}
	for p := range prev {
		if _, ok := want[p]; !ok {
			if err := sp.Withdraw(ctx, p); err != nil {
				l.opts.Log.Errorf("BGP: %v", err)
			}
		}
	}
}

// blockAttrs are the attributes bgp_announce block a gives its prefix.
func blockAttrs(a *config.BGPAnnounce) bgp.Attrs {
	attrs := bgp.Attrs{NextHop: a.NextHop}
	for _, c := range a.Communities {
		attrs.Communities = append(attrs.Communities, bgp.Community(c))
	}
	for _, c := range a.LargeCommunities {
		attrs.LargeCommunities = append(attrs.LargeCommunities, bgp.LargeCommunity{ASN: c[0], Local1: c[1], Local2: c[2]})
	}
	if a.MED != nil {
		attrs.MED, attrs.HasMED = *a.MED, true
	}
	return attrs
}

// Announcements returns each bgp_announce block's state.
func (l *Loop) Announcements() []AnnouncementStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]AnnouncementStatus, 0, len(l.cfg.BGPAnnounces))
	for _, a := range l.cfg.BGPAnnounces {
		out = append(out, AnnouncementStatus{Name: a.Name, Prefix: a.Prefix, Announced: l.announced[a.Name]})
	}
	return out
}

// Peers returns the sessions' states, none before the speaker runs.
func (l *Loop) Peers(ctx context.Context) []bgp.PeerStatus {
	l.mu.Lock()
	sp := l.speaker
	l.mu.Unlock()
	if sp == nil {
		return nil
	}
	ps, err := sp.Peers(ctx)
	if err != nil {
		return nil
	}
	return ps
}

// peersTimeout bounds a question to the speaker about its sessions.
const peersTimeout = time.Second

// Status returns the sessions and announcements as the control socket
// shows them.
func (l *Loop) Status() ([]control.BGPPeer, []control.BGPAnnouncement) {
	ctx, cancel := context.WithTimeout(context.Background(), peersTimeout)
	defer cancel()
	var peers []control.BGPPeer
	for _, p := range l.Peers(ctx) {
		peers = append(peers, control.BGPPeer{Neighbor: p.Addr.String(), RemoteAS: p.ASN, State: p.State.String()})
	}
	var anns []control.BGPAnnouncement
	for _, a := range l.Announcements() {
		anns = append(anns, control.BGPAnnouncement{Name: a.Name, Prefix: a.Prefix.String(), Announced: a.Announced})
	}
	return peers, anns
}

// Dump writes the loop's part of the data file: the speaker, each
// neighbor with its session's state, each announcement with its state and
// the attributes it is announced with, in the layout of keepalived's
// sections, under a title of its own.
func (l *Loop) Dump(w io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), peersTimeout)
	defer cancel()
	states := make(map[netip.Addr]bgp.SessionState)
	for _, p := range l.Peers(ctx) {
		states[p.Addr] = p.State
	}
	l.mu.Lock()
	cfg, announced, prefixes, until := l.cfg, maps.Clone(l.announced), maps.Clone(l.prefixes), l.drainUntil
	l.mu.Unlock()
	s := cfg.BGPSpeaker
	if s == nil {
		return
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, "   "+format+"\n", a...) }
	fmt.Fprintln(w, "------< BGP >------")
	fmt.Fprintf(w, " BGP speaker = %s\n", s.RouterID)
	p("Local AS = %d", s.LocalAS)
	p("Hold time = %d sec", s.HoldTime/time.Second)
	if s.GracefulRestart {
		p("Graceful restart = Yes, restart time %d sec", s.RestartTime/time.Second)
	} else {
		p("Graceful restart = No")
	}
	if !until.IsZero() {
		p("Drained = Yes")
	}
	for _, n := range s.Neighbors {
		fmt.Fprintf(w, " BGP neighbor = %s\n", n.Addr)
		p("Remote AS = %d", n.RemoteAS)
		p("State = %s", states[n.Addr])
		if n.SourceIP.IsValid() {
			p("Source IP = %s", n.SourceIP)
		}
		if n.Multihop != 0 {
			p("Multihop TTL = %d", n.Multihop)
		}
		if n.Password != "" {
			p("TCP MD5 signature = Yes")
		}
		if n.BFD != "" {
			p("BFD instance = %s", n.BFD)
		}
	}
	for _, a := range cfg.BGPAnnounces {
		fmt.Fprintf(w, " BGP announcement = %s\n", a.Name)
		p("Prefix = %s", a.Prefix)
		state := "withdrawn"
		if announced[a.Name] {
			state = "announced"
		}
		p("State = %s", state)
		for _, name := range a.TrackInstances {
			p("Tracked instance = %s", name)
		}
		for _, vs := range a.TrackVirtualServers {
			p("Tracked virtual server = %s", ServerName(vs))
		}
		// The attributes on the wire while announced, else those
		// the block gives.
		attrs, ok := prefixes[a.Prefix]
		if !ok || !announced[a.Name] {
			attrs = blockAttrs(&a)
		}
		if attrs.NextHop.IsValid() {
			p("Next hop = %s", attrs.NextHop)
		} else {
			p("Next hop = self")
		}
		if len(attrs.Communities) > 0 {
			p("Communities = %s", joinStrings(attrs.Communities))
		}
		if len(attrs.LargeCommunities) > 0 {
			p("Large communities = %s", joinStrings(attrs.LargeCommunities))
		}
		if attrs.HasMED {
			p("MED = %d", attrs.MED)
		}
	}
}

// joinStrings formats vs separated by spaces.
func joinStrings[T fmt.Stringer](vs []T) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = v.String()
	}
	return strings.Join(ss, " ")
}

// logHandler passes GoBGP's messages to the daemon's logger: its
// warnings and errors as such, the rest at debug level, so that the
// library stays quiet in the daemon's log.
type logHandler struct {
	log logrus.FieldLogger
}

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("BGP: ")
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		h.log.Error(b.String())
	case r.Level >= slog.LevelWarn:
		h.log.Warn(b.String())
	default:
		h.log.Debug(b.String())
	}
	return nil
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	fields := logrus.Fields{}
	for _, a := range as {
		fields[a.Key] = a.Value.String()
	}
	return logHandler{h.log.WithFields(fields)}
}

func (h logHandler) WithGroup(string) slog.Handler { return h }
