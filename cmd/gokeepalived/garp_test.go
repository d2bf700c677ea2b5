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

// announceTimes runs start under capture on o for span and returns the
// times of the gratuitous ARPs or unsolicited neighbour adverts that
// announce the VIPs whose text starts with vipPrefix, and what tcpdump
// says of each.
func announceTimes(t *testing.T, o *nettest.Host, filter, vipPrefix string, span time.Duration, start func()) ([]float64, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), span)
	defer cancel()
	out := make(chan string, 1)
	cmd := o.ExecContext(ctx, "tcpdump", "-tt", "-l", "-n", "-i", "eth0", filter)
	go func() {
		b, _ := cmd.Output()
		out <- string(b)
	}()
	time.Sleep(500 * time.Millisecond) // tcpdump listening
	start()
	var times []float64
	var addrs []string
	for _, l := range strings.Split(<-out, "\n") {
		f := strings.Fields(l)
		// ARP: "... who-has VIP tell VIP"; NA: "... tgt is VIP".
		if len(f) == 0 || !(strings.Contains(l, "tell "+vipPrefix) || strings.Contains(l, "tgt is "+vipPrefix)) {
			continue
		}
		if ts, err := strconv.ParseFloat(f[0], 64); err == nil {
			times = append(times, ts)
			addrs = append(addrs, strings.Join(f[1:], " "))
		}
	}
	return times, addrs
}

// gaps is the time between successive announcements, in milliseconds.
func gaps(times []float64) []int {
	var out []int
	for k := 1; k < len(times); k++ {
		out = append(out, int(math.Round((times[k]-times[k-1])*1000)))
	}
	return out
}

// TestDaemonGarpIntervalBesideKeepalived captures the announcements of a
// new master's two VIPs (garp_master_repeat 3) under keepalived and then
// gokeepalived: with vrrp_garp_interval 0.2 (and vrrp_gna_interval 0.3
// for IPv6), or a garp_group's garp_interval or gna_interval for the
// interface (by interface or in interfaces), they come one every interval, and an address waiting for its
// turn goes once whatever the repeat, so that there are three, under
// both.
func TestDaemonGarpIntervalBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24", "2001:db8::1/64")
	o := lab.AddHost("o", "10.77.0.2/24", "2001:db8::2/64")
	bin := gokeepalivedBinary(t)
	for _, c := range []struct {
		name, global, vips, filter, prefix string
		interval                           int // ms
	}{
		{"garp", "vrrp_garp_interval 0.2", "10.77.0.120/24\n        10.77.0.121/24", "arp", "10.77.0.12", 200},
		{"gna", "vrrp_gna_interval 0.3", "2001:db8::120/64\n        2001:db8::121/64", "icmp6 and ip6[40] == 136", "2001:db8::12", 300},
		// A garp_group sets the intervals of its interfaces, over the
		// global ones.
		{"garp_group interface", "vrrp_garp_interval 0.5\n}\ngarp_group {\n    garp_interval 0.25\n    interface eth0",
			"10.77.0.120/24\n        10.77.0.121/24", "arp", "10.77.0.12", 250},
		{"garp_group interfaces", "vrrp_gna_interval 0.5\n}\ngarp_group {\n    gna_interval 0.35\n    interfaces {\n        eth0\n    }",
			"2001:db8::120/64\n        2001:db8::121/64", "icmp6 and ip6[40] == 136", "2001:db8::12", 350},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := fmt.Sprintf("global_defs {\n    %s\n}\n", c.global) +
				strings.Replace(wireInstance("    garp_master_repeat 3\n"), "10.77.0.120/24", c.vips, 1)
			seen := map[bool][]int{}
			order := map[bool]string{}
			for _, ours := range []bool{false, true} {
				var d *nettest.Daemon
				// The master's refresh comes garp_master_delay (5 s)
				// after the first round: the capture ends before.
				times, addrs := announceTimes(t, o, c.filter, c.prefix, 7*time.Second, func() {
					d = startEither(t, m, bin, ours, t.TempDir(), conf)
				})
				if err := d.Stop(t, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				time.Sleep(500 * time.Millisecond)
				seen[ours] = gaps(times)
				order[ours] = strings.Join(addrs, "\n")
			}
			t.Logf("keepalived's gaps (ms): %v; gokeepalived's: %v", seen[false], seen[true])
			if order[true] != order[false] {
				t.Errorf("announced:\n%s\nkeepalived:\n%s", order[true], order[false])
			}
			t.Logf("keepalived's:\n%s", order[false])
			if len(seen[false]) != 2 {
				t.Fatalf("keepalived sent %d announcements, want 3", len(seen[false])+1)
			}
			if len(seen[true]) != len(seen[false]) {
				t.Errorf("%d announcements, keepalived %d", len(seen[true])+1, len(seen[false])+1)
			}
			for ours, g := range seen {
				for _, ms := range g {
					if ms < c.interval-40 || ms > c.interval+60 {
						t.Errorf("gap of %d ms (ours %v), want %d: %v", ms, ours, c.interval, g)
						break
					}
				}
			}
		})
	}
}
