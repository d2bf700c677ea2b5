package main

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// A wireCase is a configuration whose effect shows in the adverts a
// master sends: their source, destination, TTL and priority.
type wireCase struct {
	name string
	// conf is the configuration, given the directory of its scripts.
	conf string
	// want is a part every advert line must have, to show the case
	// tests what it says.
	want string
	// settle is how long the master runs before the capture.
	settle time.Duration
}

func wireInstance(extra string) string {
	return `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 85
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.77.0.120/24
    }
` + extra + "}\n"
}

func wireCases() []wireCase {
	global := func(extra string) string {
		return "global_defs {\n    router_id wire\n    enable_script_security\n    script_user root\n" + extra + "}\n"
	}
	return []wireCase{
		{"mcast_src_ip", global("") + wireInstance("    mcast_src_ip 10.77.0.9\n"), "10.77.0.9 > 224.0.0.18", 0},
		{"mcast_dst_ip", global("") + wireInstance("    mcast_dst_ip 224.0.0.19\n"), "> 224.0.0.19", 0},
		{"vrrp_mcast_group4", global("    vrrp_mcast_group4 224.0.0.20\n") + wireInstance(""), "> 224.0.0.20", 0},
		{"vrrp_mcast_group6", global("    vrrp_mcast_group6 ff02::13\n") + strings.Replace(wireInstance(""), "10.77.0.120/24", "2001:db8::120/64", 1), "> ff02::13", 0},
		// The script overruns its timeout, fails, and lowers the
		// priority by its weight.
		{"vrrp_script timeout", global("") + `vrrp_script slow {
    script "/bin/sleep 3"
    interval 5
    timeout 1
    weight -20
}
` + wireInstance("    track_script {\n        slow\n    }\n"), "prio 130", 2500 * time.Millisecond},
	}
}

// advertLine keeps what a tcpdump -v line of a VRRP advert says about the
// advert: addresses, TTL, VRID, priority, interval and VIPs.
var advertNoise = regexp.MustCompile(`^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+ |, id [0-9]+|, offset [0-9]+|, flags \[[^]]*\]|, length [0-9]+|, flowlabel 0x[0-9a-f]+`)

// captureAdverts runs tcpdump on h for d and returns the VRRP adverts it
// saw, normalised, once each.
func captureAdverts(t *testing.T, h *nettest.Host, d time.Duration) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, _ := h.ExecContext(ctx, "tcpdump", "-l", "-n", "-v", "-i", "eth0", "ip proto 112 or ip6 proto 112").Output()
	var lines []string
	// tcpdump -v writes an IPv4 header on one line and the VRRP header,
	// indented, on the next.
	var head string
	for _, l := range strings.Split(string(out), "\n") {
		var line string
		switch {
		case strings.HasPrefix(l, " "):
			line = head + " | " + strings.TrimSpace(advertNoise.ReplaceAllString(strings.TrimSpace(l), ""))
		case strings.Contains(l, ": VRRP"):
			// IPv6: header and advert on one line.
			line = advertNoise.ReplaceAllString(l, "")
		default:
			head = advertNoise.ReplaceAllString(l, "")
			continue
		}
		if !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestDaemonAdvertsBesideKeepalived runs each wire case under keepalived
// and then gokeepalived on one host, with another host capturing the
// adverts once the master has settled: the same adverts, from the same
// source, to the same group, with the same TTL and priority.
func TestDaemonAdvertsBesideKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24", "10.77.0.9/24")
	o := lab.AddHost("o", "10.77.0.2/24")
	bin := gokeepalivedBinary(t)
	for _, c := range wireCases() {
		t.Run(c.name, func(t *testing.T) { compareAdverts(t, m, o, bin, c) })
	}
}

// compareAdverts runs c under keepalived and then gokeepalived on m, with
// o capturing the adverts once the master has settled, and fails unless
// they are the same and keepalived's show c.want.
func compareAdverts(t *testing.T, m, o *nettest.Host, bin string, c wireCase) {
	t.Helper()
	seen := map[bool][]string{}
	for _, ours := range []bool{false, true} {
		dir := t.TempDir()
		os.Chmod(dir, 0o755)
		d := startEither(t, m, bin, ours, dir, c.conf)
		waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr("10.77.0.120") || m.HasAddr("2001:db8::120") })
		time.Sleep(c.settle)
		seen[ours] = captureAdverts(t, o, 2500*time.Millisecond)
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the priority 0 advert out of the way
	}
	if len(seen[false]) == 0 || !strings.Contains(strings.Join(seen[false], "\n"), c.want) {
		t.Fatalf("keepalived's adverts %q lack %q", seen[false], c.want)
	}
	if !slices.Equal(seen[true], seen[false]) {
		t.Errorf("adverts:\n%s\nkeepalived's:\n%s", strings.Join(seen[true], "\n"), strings.Join(seen[false], "\n"))
	}
	t.Logf("%s", strings.Join(seen[false], "\n"))
}
