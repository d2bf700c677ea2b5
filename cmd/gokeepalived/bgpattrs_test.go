package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// bgpAttrsRouterConf is BIRD's configuration on the router: one session
// over IPv4 and one over IPv6 to director 1, their routes in the kernel
// table as they come.
const bgpAttrsRouterConf = `router id 10.99.0.254;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; }
protocol kernel { ipv6 { import none; export all; }; }
protocol bgp d1 {
    local 10.99.0.254 as 65000;
    neighbor 10.99.0.11 as 65001;
    ipv4 { import all; export none; };
}
protocol bgp d1v6 {
    local fd99::254 as 65000;
    neighbor fd99::11 as 65001;
    ipv6 { import all; export none; };
}
`

// bgpAttrsDirectorConf announces, while VI_1 is MASTER, an IPv4 and an
// IPv6 VIP with large communities and director 2's addresses as their
// next hops, and a third VIP with its own address as next hop; a fourth
// follows VI_2, which a track_file keeps in FAULT.
func bgpAttrsDirectorConf(dir string) string {
	return fmt.Sprintf(`track_file DOWN {
    file %s/down
    weight 0
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 41
    priority 200
    advert_int 0.1
    virtual_ipaddress {
        10.10.10.10/32
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 42
    priority 200
    advert_int 0.1
    track_file {
        DOWN
    }
    virtual_ipaddress {
        10.10.10.30/32
    }
}
bgp_speaker {
    router_id 10.99.0.11
    local_as 65001
    hold_time 9
    neighbor 10.99.0.254 {
        remote_as 65000
        source_ip 10.99.0.11
    }
    neighbor fd99::254 {
        remote_as 65000
        source_ip fd99::11
    }
}
bgp_announce WEB {
    prefix 10.10.10.10/32
    track_instance VI_1
    community 65001:100
    large_community 65001:7:42 65001:8:43
    large_community 4200000000:1:2
    med 10
    next_hop 10.99.0.12
}
bgp_announce WEB6 {
    prefix 2001:db8:10::10/128
    track_instance VI_1
    large_community 65001:6:6
    next_hop fd99::12
}
bgp_announce SELF {
    prefix 10.10.10.20/32
    track_instance VI_1
    next_hop self
}
bgp_announce DOWN {
    prefix 10.10.10.30/32
    track_instance VI_2
}
`, dir)
}

// routeGateways follows the router's kernel routes to dsts and returns,
// once each has a gateway or the timeout passes, the gateway of each.
func routeGateways(t *testing.T, h *nettest.Host, timeout time.Duration, dsts ...string) map[string]string {
	t.Helper()
	nh := h.Netlink()
	got := make(map[string]string)
	nettest.Eventually(timeout, func() bool {
		for _, dst := range dsts {
			_, n, err := net.ParseCIDR(dst)
			if err != nil {
				t.Fatal(err)
			}
			family := netlink.FAMILY_V4
			if n.IP.To4() == nil {
				family = netlink.FAMILY_V6
			}
			rs, err := nh.RouteListFiltered(family, &netlink.Route{Dst: n}, netlink.RT_FILTER_DST)
			if err != nil || len(rs) != 1 || rs[0].Gw == nil {
				return false
			}
			got[dst] = rs[0].Gw.String()
		}
		return true
	})
	return got
}

// TestBGPAttributesToBIRD announces from one director to BIRD 2, over
// an IPv4 and an IPv6 session: BIRD installs the IPv4 and the IPv6 VIP
// through director 2's addresses, the third-party next hops the
// announcements name, and the third VIP through director 1, next_hop
// self; it shows the large communities as sent. SIGUSR1 writes the BGP
// section of keepalived.data with the speaker, the sessions
// Established, and each announcement's state and attributes.
func TestBGPAttributesToBIRD(t *testing.T) {
	nettest.RequireRoot(t)
	requireBIRD(t)
	bin := gokeepalivedBinary(t)
	lab := nettest.NewLab(t)
	router := lab.AddHost("rt", "10.99.0.254/24", "fd99::254/64")
	d1 := lab.AddHost("d1", "10.99.0.11/24", "fd99::11/64")
	lab.AddHost("d2", "10.99.0.12/24", "fd99::12/64")

	bdir := t.TempDir()
	sock := filepath.Join(bdir, "bird.ctl")
	if err := os.WriteFile(filepath.Join(bdir, "bird.conf"), []byte(bgpAttrsRouterConf), 0o644); err != nil {
		t.Fatal(err)
	}
	router.Start(t, "bird", "-f", "-c", filepath.Join(bdir, "bird.conf"), "-s", sock, "-P", filepath.Join(bdir, "bird.pid"))
	birdc := func(args ...string) string {
		out, _ := router.Exec("birdc", append([]string{"-s", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	waitFor(t, "BIRD's control socket", 5*time.Second, func() bool { return strings.Contains(birdc("show", "status"), "Daemon is up") })

	ddir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ddir, "down"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startOursOn(t, d1, bin, ddir, bgpAttrsDirectorConf(ddir))
	t0 := time.Now()
	gws := routeGateways(t, router, 10*time.Second, "10.10.10.10/32", "2001:db8:10::10/128", "10.10.10.20/32")
	t.Logf("routes in the router's kernel table %v after the start: %v", time.Since(t0).Round(time.Millisecond), gws)
	for dst, want := range map[string]string{"10.10.10.10/32": "10.99.0.12", "2001:db8:10::10/128": "fd99::12", "10.10.10.20/32": "10.99.0.11"} {
		if gws[dst] != want {
			t.Errorf("the router's route to %s goes via %q, want %s", dst, gws[dst], want)
		}
	}
	for dst, wants := range map[string][]string{
		"10.10.10.10/32":      {"via 10.99.0.12", "BGP.next_hop: 10.99.0.12", "BGP.large_community: (65001, 7, 42) (65001, 8, 43) (4200000000, 1, 2)", "(65001,100)", "BGP.med: 10"},
		"2001:db8:10::10/128": {"via fd99::12", "BGP.next_hop: fd99::12", "BGP.large_community: (65001, 6, 6)"},
		"10.10.10.20/32":      {"via 10.99.0.11", "BGP.next_hop: 10.99.0.11"},
	} {
		all := birdc("show", "route", "all", dst)
		for _, want := range wants {
			if !strings.Contains(all, want) {
				t.Errorf("BIRD's route to %s lacks %q:\n%s", dst, want, all)
			}
		}
		if dst == "10.10.10.20/32" && strings.Contains(all, "large_community") {
			t.Errorf("BIRD's route to %s has large communities:\n%s", dst, all)
		}
	}
	if s := birdc("show", "route", "10.10.10.30/32"); strings.Contains(s, "10.10.10.30") {
		t.Errorf("BIRD has the route of VI_2, in FAULT:\n%s", s)
	}

	file := fetchData(t, dataFile, d.Pid())
	_, section, ok := strings.Cut(file, "------< BGP >------\n")
	if !ok {
		t.Fatalf("no BGP section in %s:\n%s", dataFile, file)
	}
	want := ` BGP speaker = 10.99.0.11
   Local AS = 65001
   Hold time = 9 sec
   Graceful restart = No
 BGP neighbor = 10.99.0.254
   Remote AS = 65000
   State = Established
   Source IP = 10.99.0.11
 BGP neighbor = fd99::254
   Remote AS = 65000
   State = Established
   Source IP = fd99::11
 BGP announcement = WEB
   Prefix = 10.10.10.10/32
   State = announced
   Tracked instance = VI_1
   Next hop = 10.99.0.12
   Communities = 65001:100
   Large communities = 65001:7:42 65001:8:43 4200000000:1:2
   MED = 10
 BGP announcement = WEB6
   Prefix = 2001:db8:10::10/128
   State = announced
   Tracked instance = VI_1
   Next hop = fd99::12
   Large communities = 65001:6:6
 BGP announcement = SELF
   Prefix = 10.10.10.20/32
   State = announced
   Tracked instance = VI_1
   Next hop = self
 BGP announcement = DOWN
   Prefix = 10.10.10.30/32
   State = withdrawn
   Tracked instance = VI_2
   Next hop = self
`
	if section != want {
		t.Errorf("the BGP section of %s:\n%s\nwant:\n%s", dataFile, section, want)
	}
	if !strings.HasPrefix(file, "------< Global definitions >------\n") || !strings.Contains(file, "------< VRRP Topology >------\n VRRP Instance = VI_1\n") {
		t.Errorf("%s lacks the global and VRRP sections before BGP's:\n%s", dataFile, file)
	}
	d.Signal(syscall.SIGTERM)
}
