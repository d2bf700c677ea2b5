package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/bgp"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	bgppkt "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// bgpQuorumConf announces a virtual server's address while its quorum,
// one TCP_CHECKed real server, is up, to a BGP peer on 127.0.0.2. It
// forwards by DR: an announced NAT virtual server is refused.
const bgpQuorumConf = `virtual_server 192.0.2.20 %[1]d {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 127.0.0.1 %[1]d {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
bgp_speaker {
    router_id 10.0.0.1
    local_as 65001
    hold_time 9
    neighbor 127.0.0.2 {
        remote_as 65000
        source_ip 127.0.0.1
    }
}
bgp_announce WEB {
    prefix 192.0.2.20/32
    track_virtual_server 192.0.2.20 %[1]d TCP
    community 65001:7
}
`

// bgpReceiver is a BGP peer for the guest, which has no BIRD: GoBGP
// listening on 127.0.0.2, its routes read back.
type bgpReceiver struct {
	srv *server.BgpServer
	// withdrawn gets the time of each withdrawal of the best path to
	// a prefix.
	withdrawn chan time.Time
}

func startReceiver(t *testing.T) *bgpReceiver {
	t.Helper()
	srv := server.NewBgpServer(server.LoggerOption(slog.New(slog.DiscardHandler), new(slog.LevelVar)))
	go srv.Serve()
	ctx := context.Background()
	err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{Asn: 65000, RouterId: "10.0.0.254",
		ListenPort: 179, ListenAddresses: []string{"127.0.0.2"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	err = srv.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65001},
		Transport: &api.Transport{PassiveMode: true, LocalAddress: "127.0.0.2"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := &bgpReceiver{srv: srv, withdrawn: make(chan time.Time, 16)}
	err = srv.WatchEvent(t.Context(), server.WatchEventMessageCallbacks{
		OnBestPath: func(ps []*apiutil.Path, _ time.Time) {
			for _, p := range ps {
				if p.Withdrawal {
					select {
					case r.withdrawn <- time.Now():
					default:
					}
				}
			}
		},
	}, server.WatchBestPath(false))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// communities returns the communities of the route to prefix, and
// whether there is one.
func (r *bgpReceiver) communities(prefix string) ([]uint32, bool) {
	var cs []uint32
	found := false
	r.srv.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: bgppkt.RF_IPv4_UC},
		func(nlri bgppkt.NLRI, paths []*apiutil.Path) {
			if nlri.String() != prefix {
				return
			}
			for _, p := range paths {
				found = true
				for _, a := range p.Attrs {
					if c, ok := a.(*bgppkt.PathAttributeCommunities); ok {
						cs = append(cs, c.Value...)
					}
				}
			}
		})
	return cs, found
}

// TestGuestBGPFollowsQuorum runs gokeepalived's checkers on real IPVS
// with a bgp_announce tracking the virtual server: the route is announced
// while the quorum is up, withdrawn when the only real server fails its
// TCP_CHECK, announced again when it is back, and at SIGTERM carries
// GRACEFUL_SHUTDOWN before it is withdrawn.
func TestGuestBGPFollowsQuorum(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	const port = 18095
	rs := &toggleServer{addr: fmt.Sprintf("127.0.0.1:%d", port)}
	rs.up(t)
	t.Cleanup(rs.down)
	recv := startReceiver(t)
	const route = "192.0.2.20/32"
	present := func() bool { _, ok := recv.communities(route); return ok }

	// The daemon finds its speaker, this binary by another name, in
	// $PATH.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bindir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bindir, bgp.ProgramName)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bindir+string(os.PathListSeparator)+os.Getenv("PATH"))

	t0 := time.Now()
	d := startGuest(t, true, fmt.Sprintf(bgpQuorumConf, port), "-C")
	waitFor(t, "the route announced", 15*time.Second, present)
	t.Logf("announced %v after the start", time.Since(t0).Round(time.Millisecond))
	if cs, _ := recv.communities(route); !slices.Equal(cs, []uint32{65001<<16 | 7}) {
		t.Errorf("communities %x", cs)
	}

	t1 := time.Now()
	rs.down()
	// The check's detection dominates: the next TCP_CHECK within
	// delay_loop 1 s. The withdrawal itself follows the quorum's loss,
	// which the checkers push to the BGP loop: measured from the time
	// the daemon's "Lost quorum" line reached the test to the time its
	// withdrawal line did, and to the time the peer saw the withdrawal.
	var lost, acted, gone time.Time
	select {
	case gone = <-recv.withdrawn:
	case <-time.After(10 * time.Second):
		t.Fatal("the route not withdrawn within 10s of the real server's fall")
	}
	waitFor(t, "the daemon's lines", 2*time.Second, func() bool {
		var ok1, ok2 bool
		lost, ok1 = d.out.When(fmt.Sprintf("Lost quorum 1-0=1 > 0 for VS [192.0.2.20]:tcp:%d", port))
		acted, ok2 = d.out.When("BGP announcement WEB: withdrawing 192.0.2.20/32")
		return ok1 && ok2
	})
	if present() {
		t.Error("the route is still there after its withdrawal")
	}
	t.Logf("withdrawn %v after the real server went down (delay_loop 1); from the quorum's loss: the BGP loop's withdrawal %v, the peer's %v",
		gone.Sub(t1).Round(time.Millisecond), acted.Sub(lost).Round(100*time.Microsecond), gone.Sub(lost).Round(100*time.Microsecond))
	// The bound holds in the emulated guest on a loaded host; the
	// loop's own share is a small part of it.
	if late := gone.Sub(lost); late > 250*time.Millisecond {
		t.Errorf("the route was withdrawn %v after the quorum was lost, want under 250ms", late)
	}

	rs.up(t)
	waitFor(t, "the route announced again on quorum up", 10*time.Second, present)

	d.cmd.Process.Signal(syscall.SIGTERM)
	t2 := time.Now()
	waitFor(t, "GRACEFUL_SHUTDOWN", 3*time.Second, func() bool {
		cs, _ := recv.communities(route)
		return slices.Contains(cs, uint32(0xFFFF0000))
	})
	gshut := time.Since(t2)
	waitFor(t, "the withdrawal at stop", 5*time.Second, func() bool { return !present() })
	t.Logf("GRACEFUL_SHUTDOWN %v after SIGTERM, withdrawal %v after it", gshut.Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
}
