package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// frrZebraConf keeps zebra's routes self-contained: their next hops in
// the route (RTA_MULTIPATH) rather than in kernel nexthop objects, as a
// route watcher reads them.
const frrZebraConf = `no zebra nexthop kernel enable
`

// frrBGPConf is FRR's bgpd on the router: an eBGP session to each
// director, which dials it, and their routes merged into ECMP routes by
// maximum-paths. The first director's session is signed with TCP MD5.
const frrBGPConf = `frr defaults traditional
router bgp 65000
 bgp router-id 10.99.0.254
 no bgp ebgp-requires-policy
 neighbor 10.99.0.11 remote-as 65001
 neighbor 10.99.0.11 password s3cret
 neighbor 10.99.0.11 passive
 neighbor 10.99.0.12 remote-as 65001
 neighbor 10.99.0.12 passive
 neighbor 10.99.0.13 remote-as 65001
 neighbor 10.99.0.13 passive
 address-family ipv4 unicast
  maximum-paths 8
 exit-address-family
!
`

// TestBGPAnnouncesToFRR runs three directors announcing one VIP to a
// router running FRR's zebra and bgpd, which installs it with a next hop
// per director: three within 3 s of the directors' start, two within
// 100 ms of one director losing its health, three again when it
// recovers.
func TestBGPAnnouncesToFRR(t *testing.T) {
	nettest.RequireRoot(t)
	for _, p := range []string{"/usr/lib/frr/zebra", "/usr/lib/frr/bgpd"} {
		if _, err := os.Stat(p); err != nil {
			nettest.SkipUnlessCI(t, "FRR (frr) is not installed")
			t.Fatal(err)
		}
	}
	t.Parallel()
	bin := gokeepalivedBinary(t)
	router, dirs := routerLab(t, 3)
	const vip = "10.10.10.10/32"
	route := watchRoute(t, router, vip)

	fdir := frrDir(t)
	for name, conf := range map[string]string{"zebra": frrZebraConf, "bgpd": frrBGPConf} {
		if err := os.WriteFile(filepath.Join(fdir, name+".conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startFRR(t, router, fdir, "zebra")
	waitFor(t, "zebra's socket", 5*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(fdir, "zserv.api"))
		return err == nil
	})
	startFRR(t, router, fdir, "bgpd", "-l", "10.99.0.254")
	vtysh := func(cmd string) string {
		out, _ := router.Exec("vtysh", "--vty_socket", fdir, "-c", cmd).CombinedOutput()
		return string(out)
	}
	waitFor(t, "bgpd's vty", 5*time.Second, func() bool { return strings.Contains(vtysh("show bgp summary"), "65000") })

	ddirs := make([]string, 3)
	t0 := time.Now()
	for i := range dirs {
		ddirs[i] = t.TempDir()
		if err := os.WriteFile(filepath.Join(ddirs[i], "health"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		startOursOn(t, dirs[i], bin, ddirs[i], bgpDirectorConf(i+1, ddirs[i]))
	}
	at := route.wait(3, 3*time.Second)
	t.Logf("3 next hops %v after the directors' start", at.Sub(t0).Round(time.Millisecond))
	all := vtysh("show ip bgp " + vip)
	for _, want := range []string{"10.99.0.11", "10.99.0.12", "10.99.0.13", "multipath", "metric 10", "65001:100"} {
		if !strings.Contains(all, want) {
			t.Errorf("FRR's route lacks %q:\n%s", want, all)
		}
	}

	// Director 2 loses its health: its VRRP instance goes to FAULT and
	// its announcement is withdrawn.
	t1 := time.Now()
	if err := os.WriteFile(filepath.Join(ddirs[1], "health"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at = route.wait(2, 2*time.Second)
	took := at.Sub(t1)
	t.Logf("2 next hops %v after director 2 lost its health", took.Round(time.Microsecond))
	if took > 100*time.Millisecond {
		t.Errorf("withdrawal took %v, want under 100ms", took)
	}
	if s := vtysh("show ip route " + vip); strings.Contains(s, "10.99.0.12") {
		t.Errorf("zebra still routes through director 2:\n%s", s)
	}
	t2 := time.Now()
	if err := os.WriteFile(filepath.Join(ddirs[1], "health"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at = route.wait(3, 3*time.Second)
	t.Logf("3 next hops %v after director 2 recovered", at.Sub(t2).Round(time.Millisecond))
}
