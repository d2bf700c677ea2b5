package bgpd

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/bgp"
)

// fakeSpeaker records what the loop asks of a speaker.
type fakeSpeaker struct {
	mu      sync.Mutex
	started int
	peers   []bgp.Neighbor
	adds    int // AddPeer calls
	routes  map[netip.Prefix]bgp.Attrs
	stopped bool
}

func (f *fakeSpeaker) Start(context.Context, bgp.Global) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started++
	f.routes = make(map[netip.Prefix]bgp.Attrs)
	return nil
}

func (f *fakeSpeaker) AddPeer(_ context.Context, n bgp.Neighbor) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds++
	f.peers = slices.DeleteFunc(f.peers, func(o bgp.Neighbor) bool { return o.Addr == n.Addr })
	f.peers = append(f.peers, n)
	return nil
}

func (f *fakeSpeaker) RemovePeer(_ context.Context, a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = slices.DeleteFunc(f.peers, func(o bgp.Neighbor) bool { return o.Addr == a })
	return nil
}

func (f *fakeSpeaker) Announce(_ context.Context, p netip.Prefix, a bgp.Attrs) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[p] = a
	return nil
}

func (f *fakeSpeaker) Withdraw(_ context.Context, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.routes, p)
	return nil
}

func (f *fakeSpeaker) Peers(context.Context) ([]bgp.PeerStatus, error) { return nil, nil }

func (f *fakeSpeaker) Stop(context.Context, time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	clear(f.routes)
	return nil
}

func (f *fakeSpeaker) announced(p netip.Prefix) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.routes[p]
	return ok
}

// health is the fake state of VRRP instances and virtual servers.
type health struct {
	mu      sync.Mutex
	masters map[string]bool
	quorums map[string]bool
}

func (h *health) snapshot(m map[string]bool) map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(m)
}
func (h *health) set(m map[string]bool, n string, v bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m[n] = v
}

const loopConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        10.10.10.10
    }
}
virtual_server 10.10.10.10 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
bgp_speaker {
    router_id 10.0.0.11
    local_as 65011
    neighbor 10.99.0.254 {
        remote_as 65000
    }
}
bgp_announce WEB {
    prefix 10.10.10.10/32
    track_virtual_server 10.10.10.10 80 TCP
    track_instance VI_1
    community 65000:100
    large_community 65000:1:2
    next_hop 10.99.0.12
}
bgp_announce VS {
    prefix 10.10.10.20/32
    track_virtual_server 10.10.10.10 80 TCP
}
`

func load(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, ds := config.Parse("l.conf", []byte(text), config.Options{ConfigID: "x"})
	if ds.HasErrors() {
		t.Fatalf("%v", ds.Errors())
	}
	return cfg
}

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// TestAnnouncementsFollowHealth runs the loop on a fake speaker and fake
// health: a prefix is announced while both the virtual server's quorum
// and the VRRP instance hold, a track_virtual_server alone follows the
// quorum, a reload that keeps the neighbor does not add it again, and
// the loop stops the speaker when it ends.
func TestAnnouncementsFollowHealth(t *testing.T) {
	cfg := load(t, loopConf)
	fs := &fakeSpeaker{}
	h := &health{masters: map[string]bool{}, quorums: map[string]bool{}}
	l, err := New(cfg, Options{Log: quiet(), NewSpeaker: func(*slog.Logger) bgp.Speaker { return fs },
		Masters: func() map[string]bool { return h.snapshot(h.masters) },
		Quorums: func() map[string]bool { return h.snapshot(h.quorums) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	web, vs := netip.MustParsePrefix("10.10.10.10/32"), netip.MustParsePrefix("10.10.10.20/32")
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 2s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	eventually("the neighbor added", func() bool { fs.mu.Lock(); defer fs.mu.Unlock(); return len(fs.peers) == 1 })
	if fs.announced(web) || fs.announced(vs) {
		t.Fatal("announced with nothing healthy")
	}
	h.set(h.quorums, "[10.10.10.10]:tcp:80", true)
	l.Wake()
	eventually("VS announced on quorum up", func() bool { return fs.announced(vs) })
	if fs.announced(web) {
		t.Error("WEB announced without its VRRP instance MASTER")
	}
	// The wake is what announces: the safety poll comes a second
	// later.
	h.set(h.masters, "VI_1", true)
	t0 := time.Now()
	l.Wake()
	eventually("WEB announced on MASTER", func() bool { return fs.announced(web) })
	if took := time.Since(t0); took > recheckInterval/2 {
		t.Errorf("announced %v after the wake", took)
	}
	fs.mu.Lock()
	want := bgp.Attrs{Communities: []bgp.Community{65000<<16 | 100},
		LargeCommunities: []bgp.LargeCommunity{{ASN: 65000, Local1: 1, Local2: 2}}, NextHop: netip.MustParseAddr("10.99.0.12")}
	if got := fs.routes[web]; !got.Equal(want) {
		t.Errorf("attributes %+v, want %+v", got, want)
	}
	fs.mu.Unlock()
	if got := l.Announcements(); len(got) != 2 || !got[0].Announced || !got[1].Announced {
		t.Errorf("announcements %+v", got)
	}
	// Quorum lost: both go; the safety poll finds it without a wake.
	h.set(h.quorums, "[10.10.10.10]:tcp:80", false)
	eventually("both withdrawn on quorum down", func() bool { return !fs.announced(web) && !fs.announced(vs) })

	// A reload keeping the neighbor keeps its session.
	fs.mu.Lock()
	adds := fs.adds
	fs.mu.Unlock()
	if err := l.Reload(ctx, load(t, loopConf)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	fs.mu.Lock()
	if fs.adds != adds || fs.started != 1 {
		t.Errorf("reload re-added the neighbor (%d→%d adds) or restarted the speaker (%d starts)", adds, fs.adds, fs.started)
	}
	fs.mu.Unlock()

	// A reload that turns graceful restart on adds the neighbor again,
	// with it: its session needs a new OPEN.
	if err := l.Reload(ctx, load(t, strings.Replace(loopConf, "local_as 65011\n", "local_as 65011\n    graceful_restart\n", 1))); err != nil {
		t.Fatal(err)
	}
	eventually("the neighbor added again with graceful restart", func() bool {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return fs.adds == adds+1 && len(fs.peers) == 1 && fs.peers[0].RestartTime == config.DefaultRestartTime
	})

	// A reload with another neighbor drops the old one's session and
	// adds the new; a new router_id restarts the speaker.
	other := strings.Replace(loopConf, "neighbor 10.99.0.254", "neighbor 10.99.0.253", 1)
	if err := l.Reload(ctx, load(t, other)); err != nil {
		t.Fatal(err)
	}
	eventually("the neighbor replaced", func() bool {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return len(fs.peers) == 1 && fs.peers[0].Addr == netip.MustParseAddr("10.99.0.253")
	})
	if err := l.Reload(ctx, load(t, strings.Replace(other, "router_id 10.0.0.11", "router_id 10.0.0.12", 1))); err != nil {
		t.Fatal(err)
	}
	eventually("the speaker restarted", func() bool { fs.mu.Lock(); defer fs.mu.Unlock(); return fs.started == 2 })

	cancel()
	<-done
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.stopped {
		t.Error("speaker not stopped")
	}
}

// TestServerName names virtual servers as the checker loop does.
func TestServerName(t *testing.T) {
	s := config.BGPTrackedServer{Addr: netip.MustParseAddrPort("[2001:db8::1]:443"), Protocol: config.ProtocolTCP}
	if got, want := ServerName(s), "[2001:db8::1]:tcp:443"; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

const bfdConf = `bfd_instance RT {
    neighbor_ip 10.99.0.254
}
bfd_instance OTHER {
    neighbor_ip 10.99.0.253
}
bgp_speaker {
    router_id 10.0.0.11
    local_as 65011
    neighbor 10.99.0.254 {
        remote_as 65000
        bfd RT
    }
    neighbor 10.99.0.253 {
        remote_as 65000
    }
}
`

// TestBFDDownResetsNeighbor runs the loop on a fake speaker: a neighbor
// that names a bfd_instance is removed and added again when its session
// goes from Up to Down, and not for a Down it never saw Up nor for
// another instance's; a neighbor that names none is left alone.
func TestBFDDownResetsNeighbor(t *testing.T) {
	cfg := load(t, bfdConf)
	fs := &fakeSpeaker{}
	l, err := New(cfg, Options{Log: quiet(), NewSpeaker: func(*slog.Logger) bgp.Speaker { return fs }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	adds := func() int { fs.mu.Lock(); defer fs.mu.Unlock(); return fs.adds }
	waitAdds := func(want int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for adds() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d AddPeer calls, want %d", adds(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitAdds(2)
	l.SetBFD("RT", false) // never Up: nothing to reset
	l.SetBFD("RT", true)
	l.SetBFD("OTHER", true)
	l.SetBFD("OTHER", false) // no neighbor names it
	time.Sleep(3 * drainTick)
	if n := adds(); n != 2 {
		t.Fatalf("%d AddPeer calls before RT went Down, want 2", n)
	}
	l.SetBFD("RT", false)
	waitAdds(3)
	fs.mu.Lock()
	last := fs.peers[len(fs.peers)-1].Addr
	fs.mu.Unlock()
	if last != netip.MustParseAddr("10.99.0.254") {
		t.Errorf("the neighbor added again is %s", last)
	}
	time.Sleep(3 * drainTick)
	if n := adds(); n != 3 {
		t.Errorf("%d AddPeer calls after one reset, want 3", n)
	}
	// A reload that drops bfd keeps the session, and the neighbor no
	// longer follows RT.
	cfg2 := load(t, strings.Replace(bfdConf, "        bfd RT\n", "", 1))
	if cfg2.BGPSpeaker.Neighbors[0].BFD != "" {
		t.Fatal("bfd still in the reloaded configuration")
	}
	l.Reload(ctx, cfg2)
	time.Sleep(3 * drainTick)
	l.SetBFD("RT", true)
	l.SetBFD("RT", false)
	time.Sleep(3 * drainTick)
	if n := adds(); n != 3 {
		t.Errorf("%d AddPeer calls after a reload without bfd and RT Down, want 3", n)
	}
}

// TestQuorumPushed: a quorum told by SetQuorum is acted on at once,
// while asking the checkers would wait for them (here, blocked), and a
// later Wake asks them again.
func TestQuorumPushed(t *testing.T) {
	cfg := load(t, loopConf)
	fs := &fakeSpeaker{}
	var (
		mu      sync.Mutex
		asked   int
		busy    = make(chan struct{})
		blocked bool
	)
	close(busy)
	l, err := New(cfg, Options{Log: quiet(), NewSpeaker: func(*slog.Logger) bgp.Speaker { return fs },
		Quorums: func() map[string]bool {
			mu.Lock()
			b := busy
			asked++
			mu.Unlock()
			<-b
			return map[string]bool{"[10.10.10.10]:tcp:80": true}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	vs := netip.MustParsePrefix("10.10.10.20/32")
	eventually := func(what string, cond func() bool) time.Duration {
		t.Helper()
		t0 := time.Now()
		for !cond() {
			if time.Since(t0) > 2*time.Second {
				t.Fatalf("%s: not within 2s", what)
			}
			time.Sleep(100 * time.Microsecond)
		}
		return time.Since(t0)
	}
	eventually("VS announced", func() bool { return fs.announced(vs) })
	// A Wake asks the checkers; the safety poll is a second away.
	mu.Lock()
	n := asked
	mu.Unlock()
	l.Wake()
	eventually("the checkers asked", func() bool { mu.Lock(); defer mu.Unlock(); return asked > n })
	time.Sleep(10 * time.Millisecond)
	mu.Lock()
	busy, blocked = make(chan struct{}), true
	n = asked
	mu.Unlock()
	defer func() {
		mu.Lock()
		if blocked {
			close(busy)
		}
		mu.Unlock()
	}()
	l.SetQuorum("[10.10.10.10]:tcp:80", false)
	took := eventually("VS withdrawn on the quorum told", func() bool { return !fs.announced(vs) })
	t.Logf("withdrawn %v after SetQuorum", took)
	mu.Lock()
	if asked != n {
		t.Errorf("the loop asked the checkers %d times to act on a quorum it was told", asked-n)
	}
	close(busy)
	blocked = false
	mu.Unlock()
	// A Wake asks again: the checkers say up.
	l.Wake()
	eventually("VS announced again on the checkers' answer", func() bool { return fs.announced(vs) })
}
