// Package leftovers checks that gokeepalived leaves nothing of its own on
// a director: after SIGTERM no VIP, excluded VIP, virtual route or VMAC
// interface it created remains, and after kill -9 a restart removes what
// the killed run left. The IPVS half of the same check runs in the kernel
// guest (test/e2e/lvs).
package leftovers

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// conf has one instance of each thing the daemon adds to the network: VIPs
// with and without a label, an excluded VIP, a virtual route and a VMAC
// interface with a VIP of its own.
const conf = `global_defs {
    router_id director
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.61.0.100/24
        10.61.0.101/32 dev eth0 label eth0:vip
    }
    virtual_ipaddress_excluded {
        10.62.0.100/32
    }
    virtual_routes {
        10.63.0.0/24 via 10.61.0.254 dev eth0
    }
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    use_vmac vrrp.62
    virtual_router_id 62
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.61.0.102/24
    }
}
`

// peerConf makes keepalived on the peer master of both routers with a
// higher priority, so that a restarted director comes up as backup.
const peerConf = `global_defs {
    router_id peer
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.61.0.100/24
        10.61.0.101/32
    }
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 62
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.61.0.102/24
    }
}
`

// owned are the addresses, route and link the configuration creates.
var (
	ownedAddrs = []string{"10.61.0.100", "10.61.0.101", "10.62.0.100", "10.61.0.102"}
	ownedRoute = "10.63.0.0/24"
	ownedLink  = "vrrp.62"
)

func TestNothingLeftAfterStop(t *testing.T) {
	bin := build(t)
	lab := nettest.NewLab(t)
	d := lab.AddHost("d", "10.61.0.1/24")
	before := snapshot(t, d)
	gk := start(t, d, bin)
	waitOwned(t, d, gk)
	stopDaemon(t, gk)
	if after := snapshot(t, d); !slices.Equal(before, after) {
		t.Fatalf("after SIGTERM the director differs from before the start:\n%s", diff(before, after))
	}
}

func TestLeftoversCleanedAfterKill(t *testing.T) {
	bin := build(t)
	lab := nettest.NewLab(t)
	d := lab.AddHost("d", "10.61.0.1/24")
	p := lab.AddHost("p", "10.61.0.2/24")
	before := snapshot(t, d)
	gk := start(t, d, bin)
	waitOwned(t, d, gk)
	gk.Kill()
	// A killed daemon cannot release anything: this is what the restart
	// must clean.
	for _, a := range ownedAddrs {
		if !d.HasAddr(a) {
			t.Fatalf("%s gone after kill -9; the test would prove nothing", a)
		}
	}

	// The peer now owns the routers with a higher priority: the restarted
	// director must come up as backup and drop every leftover.
	peer := p.StartKeepalived(t, peerConf, "-P")
	if _, ok := nettest.Eventually(10*time.Second, func() bool { return p.HasAddr("10.61.0.100") && p.HasAddr("10.61.0.102") }); !ok {
		t.Fatalf("keepalived did not take the routers over\n%s", peer.Output())
	}
	gk = start(t, d, bin)
	took, ok := nettest.Eventually(10*time.Second, func() bool {
		s := strings.Join(snapshot(t, d), "\n")
		for _, a := range ownedAddrs {
			if strings.Contains(s, " "+a+"/") {
				return false
			}
		}
		return !strings.Contains(s, ownedRoute) && strings.Contains(gk.Output(), "(VI_2) Entering BACKUP STATE")
	})
	if !ok {
		t.Fatalf("leftovers still on the restarted backup after 10s:\n%s\n%s", strings.Join(snapshot(t, d), "\n"), gk.Output())
	}
	t.Logf("restarted as backup, leftovers removed within %v", took)
	// The VMAC interface is part of the instance in every state: there
	// must be exactly one, the one the restart found or made.
	if n := strings.Count(d.Run("ip", "-o", "link", "show"), ": "+ownedLink+"@"); n != 1 {
		t.Errorf("%d %s interfaces on the restarted backup, want 1", n, ownedLink)
	}
	stopDaemon(t, gk)
	if after := snapshot(t, d); !slices.Equal(before, after) {
		t.Fatalf("after kill -9, restart and SIGTERM the director differs from before:\n%s", diff(before, after))
	}
}

// build compiles the daemon once per test.
func build(t *testing.T) string {
	t.Helper()
	nettest.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "gokeepalived")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived").CombinedOutput()
	if err != nil {
		t.Fatalf("building gokeepalived: %v\n%s", err, out)
	}
	return bin
}

func start(t *testing.T, h *nettest.Host, bin string) *nettest.Daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return h.Start(t, bin, "-P", "-n", "-l", "-D", "-G", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "--control-socket", filepath.Join(dir, "ctl.sock"))
}

// waitOwned waits until the daemon has added everything it owns.
func waitOwned(t *testing.T, h *nettest.Host, gk *nettest.Daemon) {
	t.Helper()
	if _, ok := nettest.Eventually(10*time.Second, func() bool {
		s := strings.Join(snapshot(t, h), "\n")
		for _, a := range ownedAddrs {
			if !strings.Contains(s, " "+a+"/") {
				return false
			}
		}
		return strings.Contains(s, ownedRoute) && strings.Contains(s, ownedLink+"@")
	}); !ok {
		t.Fatalf("the daemon did not add its VIPs, route and VMAC in 10s:\n%s\n%s", strings.Join(snapshot(t, h), "\n"), gk.Output())
	}
}

func stopDaemon(t *testing.T, gk *nettest.Daemon) {
	t.Helper()
	if err := gk.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gk.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("gokeepalived still running 10s after SIGTERM\n%s", gk.Output())
	}
	if code := gk.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM\n%s", code, gk.Output())
	}
}

// volatile matches what changes on its own between two listings: counters,
// lifetimes, the kernel's per-link state words.
var volatile = regexp.MustCompile(`\s+(valid_lft|preferred_lft) \S+|\\\s+`)

// snapshot lists the host's links, addresses, routes (every table) and
// policy rules, one sorted line each, without link-local IPv6 and the
// kernel's own multicast and local routes that follow links.
func snapshot(t *testing.T, h *nettest.Host) []string {
	t.Helper()
	var lines []string
	for _, args := range [][]string{
		{"-o", "link", "show"},
		{"-o", "addr", "show"},
		{"route", "show", "table", "all"},
		{"-6", "route", "show", "table", "all"},
		{"rule", "show"},
		{"-6", "rule", "show"},
	} {
		out := h.Run("ip", args...)
		for _, l := range strings.Split(out, "\n") {
			l = strings.TrimSpace(volatile.ReplaceAllString(l, " "))
			if l == "" || strings.Contains(l, "fe80::") || strings.HasPrefix(l, "multicast ") {
				continue
			}
			// Link lines carry the state of the moment (queue lengths,
			// NO-CARRIER while a peer restarts): keep the name only.
			if args[1] == "link" {
				if f := strings.Fields(l); len(f) > 1 {
					l = "link " + f[1]
				}
			}
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

func diff(a, b []string) string {
	var s strings.Builder
	for _, l := range a {
		if !slices.Contains(b, l) {
			s.WriteString("- " + l + "\n")
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			s.WriteString("+ " + l + "\n")
		}
	}
	return s.String()
}
