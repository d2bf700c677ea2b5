package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestDaemonGarpExtraIfBesideKeepalived runs a master with two VIPs on
// another interface (ex0) and garp_extra_if 2 all (or vrrp_garp_extra_if
// 2 all, or their deprecated names vmac_garp_intvl and
// vrrp_vmac_garp_intvl) under keepalived and then gokeepalived, capturing on ex0's peer: both announce every VIP
// once on becoming master (garp_master_repeat 1), then the first VIP on
// ex0 alone every 2 s, at the advert that follows.
func TestDaemonGarpExtraIfBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	m.Run("ip", "link", "add", "ex0", "type", "veth", "peer", "name", "ex1")
	m.Run("ip", "link", "set", "ex1", "up")
	m.Run("ip", "link", "set", "ex0", "up")
	bin := gokeepalivedBinary(t)
	instance := func(extra string) string {
		return strings.Replace(wireInstance("    garp_master_repeat 1\n    garp_master_delay 10\n"+extra),
			"10.77.0.120/24", "10.77.0.120/24\n        10.88.0.120/24 dev ex0\n        10.88.0.121/24 dev ex0", 1)
	}
	for _, c := range []struct{ name, conf string }{
		{"garp_extra_if", instance("    garp_extra_if 2 all\n")},
		{"vrrp_garp_extra_if", "global_defs {\n    vrrp_garp_extra_if 2 all\n}\n" + instance("")},
		// The deprecated names, with their warnings.
		{"vmac_garp_intvl", instance("    vmac_garp_intvl 2 all\n")},
		{"vrrp_vmac_garp_intvl", "global_defs {\n    vrrp_vmac_garp_intvl 2 all\n}\n" + instance("")},
	} {
		t.Run(c.name, func(t *testing.T) { compareGarpExtra(t, m, bin, c.conf) })
	}
}

// compareGarpExtra runs conf under keepalived and then gokeepalived and
// compares the gratuitous ARPs on ex0.
func compareGarpExtra(t *testing.T, m *nettest.Host, bin, conf string) {
	t.Helper()
	seen := map[bool]string{}
	for _, ours := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan string, 1)
		cmd := m.ExecContext(ctx, "tcpdump", "-tt", "-l", "-n", "-i", "ex1", "arp")
		go func() {
			b, _ := cmd.Output()
			out <- string(b)
		}()
		time.Sleep(500 * time.Millisecond)
		d := startEither(t, m, bin, ours, t.TempDir(), conf)
		waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr("10.88.0.121") })
		time.Sleep(5 * time.Second)
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		cancel()
		var got []string
		first := 0.0
		for _, l := range strings.Split(<-out, "\n") {
			f := strings.Fields(l)
			if len(f) < 2 || !strings.Contains(l, "tell 10.88.0.12") {
				continue
			}
			ts, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				continue
			}
			if first == 0 {
				first = ts
			}
			_, addr, _ := strings.Cut(l, "tell ")
			got = append(got, fmt.Sprintf("%s@%gs", strings.TrimSuffix(strings.Fields(addr)[0], ","), math.Round(ts-first)))
		}
		seen[ours] = strings.Join(got, " ")
	}
	t.Logf("keepalived: %s", seen[false])
	if seen[false] != "10.88.0.120@0s 10.88.0.121@0s 10.88.0.120@2s 10.88.0.120@4s" {
		t.Errorf("keepalived announced %s: the case does not test what it says", seen[false])
	}
	if seen[true] != seen[false] {
		t.Errorf("announced %s, keepalived %s", seen[true], seen[false])
	}
}
