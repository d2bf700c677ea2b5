package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/bgp"
	"github.com/gokeepalived/gokeepalived/internal/nettest"

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
	return &bgpReceiver{srv: srv}
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
	waitFor(t, "the route withdrawn on quorum down", 10*time.Second, func() bool { return !present() })
	took := time.Since(t1)
	// The check's detection dominates: the next TCP_CHECK within
	// delay_loop 1 s; the withdrawal itself follows the quorum within
	// the loop's 20 ms poll.
	t.Logf("withdrawn %v after the real server went down (delay_loop 1)", took.Round(time.Millisecond))
	// The line is written before the withdrawal, but reaches d.out
	// through a pipe the guest may drain a moment later.
	if _, ok := nettest.Eventually(2*time.Second, func() bool {
		return strings.Contains(d.out.String(), "BGP announcement WEB: withdrawing 192.0.2.20/32")
	}); !ok {
		t.Errorf("no withdrawal logged:\n%s", d.out.String())
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
