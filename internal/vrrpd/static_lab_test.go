package vrrpd_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The lab tests below run keepalived and then gokeepalived on one lab host
// with static_ipaddress, static_routes, static_rules, virtual_routes and
// virtual_rules, and compare what each leaves in the kernel: as MASTER,
// and after SIGTERM.

// staticInstance is a VRRP instance that becomes MASTER at once: its
// state says so and it hears no other router. more goes in its block.
func staticInstance(more string) string {
	return `vrrp_instance VI_1 {
	state MASTER
	interface eth0
	virtual_router_id 61
	priority 150
	advert_int 1
	virtual_ipaddress {
		10.80.0.100/24
	}
	` + more + `
}
`
}

// kernelEntries is the host's addresses, routes of every table and rules,
// both families, as ip -j lists them, one line of sorted keys each, with
// the fields that depend on interface numbering or on time left out.
func kernelEntries(t *testing.T, h *nettest.Host) []string {
	t.Helper()
	var out []string
	list := func(kind string, args ...string) []map[string]any {
		b, err := h.Exec("ip", append([]string{"-j"}, args...)...).Output()
		if err != nil {
			t.Fatalf("ip -j %s in %s: %v", strings.Join(args, " "), h.NS, err)
		}
		var v []map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("ip -j %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return v
	}
	for _, link := range list("addr", "addr") {
		infos, _ := link["addr_info"].([]any)
		for _, ai := range infos {
			a, _ := ai.(map[string]any)
			for _, k := range []string{"valid_life_time", "preferred_life_time"} {
				// A lifetime counting down is the kernel's clock, not
				// configuration: forever and zero are kept.
				if v, ok := a[k].(float64); ok && v != 0 && v != 4294967295 {
					a[k] = "counting"
				}
			}
			a["dev"] = link["ifname"]
			out = append(out, "addr "+line(a))
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		for _, r := range list("route", fam, "route", "show", "table", "all") {
			delete(r, "expires")
			out = append(out, "route"+fam+" "+line(r))
		}
		for _, r := range list("rule", fam, "rule") {
			out = append(out, "rule"+fam+" "+line(r))
		}
	}
	sort.Strings(out)
	return out
}

// line writes m with its keys sorted.
func line(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		fmt.Fprintf(&b, "%s=%s ", k, v)
	}
	return strings.TrimSpace(b.String())
}

// diffLines returns the lines of a that b lacks.
func diffLines(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}

// checkAsBefore fails the test if the host's entries, after who stopped,
// are not those of baseline, before it started.
func checkAsBefore(t *testing.T, who string, h *nettest.Host, baseline []string) {
	t.Helper()
	left := kernelEntries(t, h)
	if extra, gone := diffLines(left, baseline), diffLines(baseline, left); len(extra) > 0 || len(gone) > 0 {
		t.Errorf("%s: after SIGTERM, left:\n%s\nremoved:\n%s", who, strings.Join(extra, "\n"), strings.Join(gone, "\n"))
	}
}

// checkSame fails the test if the entries each daemon left, by its name,
// differ.
func checkSame(t *testing.T, when string, entries map[string][]string) {
	t.Helper()
	if ka, ours := entries["keepalived"], entries["gokeepalived"]; !slices.Equal(ka, ours) {
		t.Errorf("%s, keepalived only:\n%s\ngokeepalived only:\n%s", when,
			strings.Join(diffLines(ka, ours), "\n"), strings.Join(diffLines(ours, ka), "\n"))
	}
}

// settled returns the kernel's entries once two reads in a row agree and
// every marker is among them.
func settled(t *testing.T, h *nettest.Host, markers []string) []string {
	t.Helper()
	var last []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(300 * time.Millisecond)
		now := kernelEntries(t, h)
		all := strings.Join(now, "\n")
		ok := slices.Equal(now, last)
		for _, m := range markers {
			ok = ok && strings.Contains(all, m)
		}
		if ok {
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("kernel state did not settle with %q:\n%s", markers, all)
		}
		last = now
	}
}

// A staticCase is a configuration run under both daemons.
type staticCase struct {
	name string
	conf string
	// setup prepares the host: interfaces the configuration names
	// (a veth pair: the lab's kernel may lack dummy interfaces).
	setup [][]string
	// markers are substrings of kernelEntries lines that show the
	// configuration installed.
	markers []string
	// differ lists the entries that differ as MASTER, each a substring
	// of the lines that only one daemon leaves, with why.
	differ map[string]string
}

var staticCases = []staticCase{
	{
		name: "default_interface",
		conf: `global_defs {
	default_interface dum0
}
static_ipaddress {
	10.80.6.1/24
	10.80.7.1/24 dev eth0
}
` + staticInstance(""),
		setup: [][]string{{"ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1"},
			{"ip", "link", "set", "dum0", "up"}, {"ip", "link", "set", "dum1", "up"}},
		markers: []string{`dev="dum0" family="inet" label="dum0" local="10.80.6.1"`, `local="10.80.7.1"`},
	},
	{
		name: "static addresses with options",
		conf: `static_ipaddress {
	10.80.1.1/24 dev eth0 brd 10.80.1.255 scope link label eth0:st
	10.80.2.1/32 dev dum0
	10.80.3.1/24 dev eth0 brd + no_track
	192.0.2.7/28 scope host dev dum0
	2001:db8:80::1/64 dev eth0
}
` + staticInstance(""),
		setup: [][]string{{"ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1"},
			{"ip", "link", "set", "dum0", "up"}, {"ip", "link", "set", "dum1", "up"}},
		markers: []string{`local="10.80.1.1"`, `local="10.80.2.1"`, `local="10.80.3.1"`, `local="192.0.2.7"`, `local="2001:db8:80::1"`},
	},
	{
		name: "static IPv6 host address",
		conf: `static_ipaddress {
	2001:db8:81::5/128 dev eth0
}
` + staticInstance(""),
		// Deprecated (preferred_lft 0) under both, as keepalived
		// makes a /128 given no preferred_lft.
		markers: []string{`local="2001:db8:81::5"`, `preferred_life_time=0 `},
	},
	{
		name: "static routes in tables",
		conf: `static_routes {
	10.81.0.0/16 via 10.80.0.254 dev eth0 table 100
	10.82.0.0/16 dev eth0 table 200 metric 10 scope link
	blackhole 10.83.0.0/16 table 100 no_track
	default via 10.80.0.254 dev eth0 table 300
	unreachable 10.84.0.0/16 table 4000000000 no_track
	throw 10.85.0.0/16 table 100 no_track
	local 10.86.0.1/32 dev eth0 table local scope host
}
` + staticInstance(""),
		markers: []string{`dst="10.81.0.0/16"`, `dst="10.82.0.0/16"`, `dst="10.83.0.0/16"`, `table="300"`,
			`dst="10.84.0.0/16"`, `dst="10.85.0.0/16"`, `dst="10.86.0.1"`},
	},
	{
		name: "routes with proto metric onlink src",
		conf: `static_ipaddress {
	2001:db8:82::1/64 dev eth0
}
static_routes {
	10.87.0.0/16 via 192.0.2.1 dev eth0 onlink metric 50
	10.88.0.0/16 dev eth0 src 10.80.0.1 metric 7 protocol 4 no_track
	10.89.0.0/16 via 10.80.0.254 dev eth0 protocol static metric 3 no_track
	2001:db8:89::/48 via 2001:db8:82::fe dev eth0 metric 1024
	2001:db8:8a::/48 dev eth0 metric 5 protocol 99 no_track
}
` + staticInstance(`virtual_routes {
		10.90.0.0/16 via 10.80.0.254 dev eth0 metric 9
		10.91.0.0/16 dev eth0 src 10.80.0.100 protocol 5 no_track
		10.92.0.0/16 via 192.0.2.9 dev eth0 onlink
	}`),
		markers: []string{`dst="10.87.0.0/16"`, `dst="10.88.0.0/16"`, `dst="10.89.0.0/16"`, `dst="2001:db8:89::/48"`,
			`dst="2001:db8:8a::/48"`, `dst="10.90.0.0/16"`, `dst="10.91.0.0/16"`, `dst="10.92.0.0/16"`},
	},
	{
		name: "routes with metrics, tos, realms and nexthops",
		conf: `static_ipaddress {
	2001:db8:83::1/64 dev eth0
}
static_routes {
	10.100.0.0/16 via 10.80.0.254 dev eth0 mtu lock 1400 advmss 1300 hoplimit 9 window 7000 initcwnd 12 initrwnd 13
	10.101.0.0/16 dev eth0 rtt 300ms rttvar 2s rto_min lock 250ms cwnd 20 ssthresh 30 reordering 5 no_track
	10.102.0.0/16 dev eth0 tos 0x10 realms 3/7 features ecn quickack 1 fastopen_no_cookie 1 congctl cubic no_track
	10.103.0.0/16 table 100 nexthop via 10.80.0.253 dev eth0 weight 2 nexthop via 10.80.0.254 dev eth0 weight 5
	10.104.0.0/16 via 10.80.0.252 or 10.80.0.251 no_track
	2001:db8:94::/48 dev eth0 mtu 1300 rtt 1600 hoplimit 3
	10.105.0.0/16 table 100 nexthop via 192.0.2.1 dev eth0 onlink nexthop via 192.0.2.2 dev eth0 onlink weight 256
}
` + staticInstance(`virtual_routes {
		10.106.0.0/16 dev eth0 mtu 1280 realms 9 table 100
		10.107.0.0/16 nexthop via 10.80.0.241 dev eth0 nexthop via 10.80.0.242 dev eth0
	}`),
		markers: []string{`dst="10.100.0.0/16"`, `dst="10.101.0.0/16"`, `dst="10.102.0.0/16"`, `dst="10.103.0.0/16"`,
			`dst="10.104.0.0/16"`, `dst="2001:db8:94::/48"`, `dst="10.105.0.0/16"`, `dst="10.106.0.0/16"`, `dst="10.107.0.0/16"`},
	},
	{
		name: "rules with priorities fwmark iif",
		conf: `static_rules {
	from 10.80.0.0/24 table 100 priority 100
	fwmark 0x10/0xff table 200 priority 101
	iif eth0 table 100 priority 102
	to 10.93.0.0/16 prohibit priority 103
	not from 10.94.0.0/16 table 100 priority 104 no_track
	oif eth0 lookup main priority 105
	fwmark 7 goto 110 priority 107
	from 10.95.0.0/16 blackhole priority 108
	to 10.96.0.0/16 unreachable priority 109
	from all nop priority 110
	from 2001:db8:80::/64 table 100 priority 106
	inet6 inet6 fwmark 0x3 table 300 priority 111
}
` + staticInstance(""),
		markers: []string{`priority=100 `, `priority=101 `, `priority=102 `, `priority=103 `, `priority=104 `,
			`priority=105 `, `priority=106 `, `priority=107 `, `priority=108 `, `priority=109 `, `priority=110 `, `priority=111 `},
	},
	{
		name: "rules with tos, realms, suppressors, ranges and ipproto",
		conf: `static_rules {
	from 10.80.0.0/24 table 100 priority 120 tos 0x10
	from 10.80.1.0/24 table 100 priority 121 realms 3/4
	from 10.80.2.0/24 table 100 priority 122 suppress_prefixlength 0 suppress_ifgroup 3
	from 10.80.3.0/24 table 100 priority 123 uidrange 1000-2000 no_track
	from 10.80.4.0/24 table 100 priority 124 ipproto tcp sport 1000-2000 dport 80-80
	from 2001:db8:80::/64 table 100 priority 125 ipproto 17 no_track
}
` + staticInstance(`virtual_rules {
		to 10.108.0.0/16 table 100 priority 210 realms 9 dsfield 0x08
		from 10.80.0.100 table 100 priority 211 ipproto udp dport 53-53
	}`),
		markers: []string{`priority=120 `, `priority=121 `, `priority=122 `, `priority=123 `, `priority=124 `, `priority=125 `,
			`priority=210 `, `priority=211 `},
	},
	{
		name: "virtual rules with a master",
		conf: staticInstance(`virtual_routes {
		10.97.0.0/16 via 10.80.0.254 dev eth0 table 100
	}
	virtual_rules {
		from 10.80.0.100 table 100 priority 200
		to 10.97.0.0/16 fwmark 3 table 100 priority 201
		iif eth0 oif eth0 lookup 100 priority 202 no_track
		from 2001:db8:80::/64 lookup 100 priority 203
	}`),
		markers: []string{`priority=200 `, `priority=201 `, `priority=202 `, `priority=203 `, `dst="10.97.0.0/16"`},
	},
	{
		name: "static and virtual together",
		conf: `static_ipaddress {
	10.80.5.1/24 dev eth0
}
static_routes {
	10.98.0.0/16 via 10.80.5.254 dev eth0 table 150
}
static_rules {
	from 10.80.5.0/24 table 150 priority 300
}
` + staticInstance(`virtual_routes {
		10.99.0.0/16 via 10.80.0.254 dev eth0 table 150
	}
	virtual_rules {
		from 10.80.0.100 table 150 priority 301
	}`),
		markers: []string{`local="10.80.5.1"`, `dst="10.98.0.0/16"`, `dst="10.99.0.0/16"`, `priority=300 `, `priority=301 `},
	},
	{
		name: "IPv6 routes and rules",
		conf: `static_ipaddress {
	2001:db8:90::1/64 dev eth0
	fd00:90::1/64 dev eth0 no_track
}
static_routes {
	2001:db8:91::/48 via 2001:db8:90::fe dev eth0 table 100
	blackhole 2001:db8:92::/48 table 100 no_track
	2001:db8:93::/48 dev eth0 table 100 metric 77
}
static_rules {
	from 2001:db8:90::/64 table 100 priority 400
	to 2001:db8:93::/48 table 100 priority 401 no_track
}
` + staticInstance(""),
		markers: []string{`local="2001:db8:90::1"`, `local="fd00:90::1"`, `dst="2001:db8:91::/48"`, `dst="2001:db8:92::/48"`,
			`dst="2001:db8:93::/48"`, `priority=400 `, `priority=401 `},
	},
}

// TestStaticEntriesMatchKeepalived runs each configuration under
// keepalived and then gokeepalived on one lab host: as MASTER both leave
// the same addresses, routes and rules in the kernel, but for the
// differences each case lists with its reason, and after SIGTERM both
// leave the host as it was.
func TestStaticEntriesMatchKeepalived(t *testing.T) {
	if len(staticCases) < 8 {
		t.Fatalf("only %d configurations", len(staticCases))
	}
	for _, tc := range staticCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own lab, and mostly waits on VRRP's timers
			lab := nettest.NewLab(t)
			h := lab.AddHost("m", "10.80.0.1/24")
			for _, c := range tc.setup {
				h.Run(c[0], c[1:]...)
			}
			baseline := kernelEntries(t, h)
			master := map[string][]string{}
			for _, dm := range daemons {
				d := dm.start(t, h, tc.conf)
				if !d.WaitOutput("Entering MASTER STATE", 15*time.Second) {
					t.Fatalf("%s: no MASTER:\n%s", dm.name, d.Output())
				}
				master[dm.name] = settled(t, h, tc.markers)
				if err := d.Stop(t, 10*time.Second); err != nil {
					t.Fatalf("%s: %v", dm.name, err)
				}
				checkAsBefore(t, dm.name, h, baseline)
				if dm.name == "gokeepalived" && strings.Contains(d.Output(), "static: ") {
					t.Errorf("gokeepalived failed on a static entry:\n%s", d.Output())
				}
			}
			onlyKA := diffLines(master["keepalived"], master["gokeepalived"])
			onlyGo := diffLines(master["gokeepalived"], master["keepalived"])
			seen := map[string]bool{}
			for _, l := range slices.Concat(onlyKA, onlyGo) {
				explained := false
				for s := range tc.differ {
					if strings.Contains(l, s) {
						explained, seen[s] = true, true
					}
				}
				if !explained {
					t.Errorf("as MASTER, unexplained difference:\n%s", l)
				}
			}
			for s, why := range tc.differ {
				if !seen[s] {
					t.Errorf("the difference %q (%s) is gone: drop it from the case", s, why)
				}
			}
			if t.Failed() {
				t.Logf("keepalived only:\n%s\ngokeepalived only:\n%s", strings.Join(onlyKA, "\n"), strings.Join(onlyGo, "\n"))
			}
		})
	}
}

// restoreConf has static entries of both families, with and without
// no_track, and an instance whose tracked virtual route and rule are IPv4:
// keepalived then hears of IPv4 route and rule deletions only.
const restoreConf = `static_ipaddress {
	10.80.6.1/24 dev eth0
	10.80.7.1/24 dev eth0 no_track
	2001:db8:a0::1/64 dev eth0
}
static_routes {
	10.100.0.0/16 via 10.80.0.254 dev eth0 table 100
	10.101.0.0/16 via 10.80.0.254 dev eth0 table 100 no_track
	2001:db8:a1::/48 via 2001:db8:a0::fe dev eth0 table 100
}
static_rules {
	from 10.80.6.0/24 table 100 priority 500
	from 10.80.7.0/24 table 100 priority 501 no_track
	from 2001:db8:a0::/64 table 100 priority 502
}
vrrp_instance VI_1 {
	state MASTER
	interface eth0
	virtual_router_id 62
	priority 150
	advert_int 1
	virtual_ipaddress {
		10.80.0.100/24
	}
	virtual_routes {
		10.102.0.0/16 via 10.80.0.254 dev eth0 table 100
	}
	virtual_rules {
		from 10.80.0.100 table 100 priority 503
	}
}
`

// restoreProbes are the static entries deleted by hand: the command that
// deletes one and the substring of kernelEntries that shows it.
var restoreProbes = []struct {
	name string
	del  []string
	mark string
}{
	{"address", []string{"ip", "addr", "del", "10.80.6.1/24", "dev", "eth0"}, `local="10.80.6.1"`},
	{"no_track address", []string{"ip", "addr", "del", "10.80.7.1/24", "dev", "eth0"}, `local="10.80.7.1"`},
	{"IPv6 address", []string{"ip", "addr", "del", "2001:db8:a0::1/64", "dev", "eth0"}, `local="2001:db8:a0::1"`},
	{"route", []string{"ip", "route", "del", "10.100.0.0/16", "table", "100"}, `dst="10.100.0.0/16"`},
	{"no_track route", []string{"ip", "route", "del", "10.101.0.0/16", "table", "100"}, `dst="10.101.0.0/16"`},
	{"IPv6 route", []string{"ip", "-6", "route", "del", "2001:db8:a1::/48", "table", "100"}, `dst="2001:db8:a1::/48"`},
	{"rule", []string{"ip", "rule", "del", "priority", "500"}, `priority=500 `},
	{"no_track rule", []string{"ip", "rule", "del", "priority", "501"}, `priority=501 `},
	{"IPv6 rule", []string{"ip", "-6", "rule", "del", "priority", "502"}, `priority=502 `},
}

// TestStaticRestoredAsKeepalived deletes static entries by hand under
// keepalived and under gokeepalived: each daemon restores the same ones,
// those keepalived hears of and tracks, and logs that it does.
func TestStaticRestoredAsKeepalived(t *testing.T) {
	restored := map[string][]string{}
	for _, dm := range daemons {
		lab := nettest.NewLab(t)
		h := lab.AddHost("m", "10.80.0.1/24")
		d := dm.start(t, h, restoreConf)
		if !d.WaitOutput("Entering MASTER STATE", 15*time.Second) {
			t.Fatalf("%s: no MASTER:\n%s", dm.name, d.Output())
		}
		var marks []string
		for _, p := range restoreProbes {
			marks = append(marks, p.mark)
		}
		settled(t, h, marks)
		for _, p := range restoreProbes {
			h.Run(p.del[0], p.del[1:]...)
		}
		// keepalived restores at once, on the netlink message.
		time.Sleep(2 * time.Second)
		all := strings.Join(kernelEntries(t, h), "\n")
		for _, p := range restoreProbes {
			if strings.Contains(all, p.mark) {
				restored[dm.name] = append(restored[dm.name], p.name)
			}
		}
		for _, what := range []string{"address", "route", "rule"} {
			if n := strings.Count(d.Output(), "Restoring deleted static "+what); n == 0 && slices.Contains(restored[dm.name], what) {
				t.Errorf("%s restored a static %s without saying so:\n%s", dm.name, what, d.Output())
			}
		}
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatalf("%s: %v", dm.name, err)
		}
	}
	t.Logf("keepalived restores: %q", restored["keepalived"])
	if !slices.Contains(restored["keepalived"], "address") {
		t.Fatalf("keepalived restored no static address: %q", restored["keepalived"])
	}
	if got, want := restored["gokeepalived"], restored["keepalived"]; !slices.Equal(got, want) {
		t.Errorf("gokeepalived restores %q, keepalived %q", got, want)
	}
}

// TestStaticLeftoversCleaned kills gokeepalived with SIGKILL, which leaves
// its static and virtual entries, and starts it again: SIGTERM then leaves
// the host as it was before the first start.
func TestStaticLeftoversCleaned(t *testing.T) {
	lab := nettest.NewLab(t)
	h := lab.AddHost("m", "10.80.0.1/24")
	baseline := kernelEntries(t, h)
	marks := []string{`local="10.80.6.1"`, `dst="10.100.0.0/16"`, `dst="10.102.0.0/16"`, `priority=500 `, `priority=503 `}
	d := startGokeepalived(t, h, restoreConf)
	if !d.WaitOutput("Entering MASTER STATE", 15*time.Second) {
		t.Fatalf("no MASTER:\n%s", d.Output())
	}
	installed := settled(t, h, marks)
	d.Kill()
	if left := kernelEntries(t, h); !slices.Equal(left, installed) {
		t.Fatalf("SIGKILL changed the kernel state:\n%s", strings.Join(diffLines(installed, left), "\n"))
	}
	d = startGokeepalived(t, h, restoreConf)
	if !d.WaitOutput("Entering MASTER STATE", 15*time.Second) {
		t.Fatalf("no MASTER after the restart:\n%s", d.Output())
	}
	if again := settled(t, h, marks); !slices.Equal(again, installed) {
		t.Errorf("after the restart:\n%s\nfirst run:\n%s", strings.Join(diffLines(again, installed), "\n"),
			strings.Join(diffLines(installed, again), "\n"))
	}
	if err := d.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	checkAsBefore(t, "gokeepalived", h, baseline)
}

// reloadConfs are a configuration and the one a reload brings: one static
// entry of each kind goes, one stays, one comes.
var reloadConfs = [2]string{`static_ipaddress {
	10.80.8.1/24 dev eth0
	10.80.9.1/24 dev eth0
}
static_routes {
	10.110.0.0/16 via 10.80.0.254 dev eth0 table 100
	10.111.0.0/16 via 10.80.0.254 dev eth0 table 100
}
static_rules {
	from 10.80.8.0/24 table 100 priority 600
	from 10.80.9.0/24 table 100 priority 601
}
` + staticInstance(""), `static_ipaddress {
	10.80.9.1/24 dev eth0
	10.80.10.1/24 dev eth0
}
static_routes {
	10.111.0.0/16 via 10.80.0.254 dev eth0 table 100
	10.112.0.0/16 via 10.80.0.254 dev eth0 table 100
}
static_rules {
	from 10.80.9.0/24 table 100 priority 601
	from 10.80.10.0/24 table 100 priority 602
}
` + staticInstance("")}

// TestStaticReloadAsKeepalived reloads a configuration whose static
// entries change under keepalived and under gokeepalived: both leave the
// same entries after the reload, and none after SIGTERM.
func TestStaticReloadAsKeepalived(t *testing.T) {
	gone := []string{`local="10.80.8.1"`, `dst="10.110.0.0/16"`, `priority=600 `}
	kept := []string{`local="10.80.9.1"`, `dst="10.111.0.0/16"`, `priority=601 `}
	added := []string{`local="10.80.10.1"`, `dst="10.112.0.0/16"`, `priority=602 `}
	after := map[string][]string{}
	lab := nettest.NewLab(t)
	h := lab.AddHost("m", "10.80.0.1/24")
	baseline := kernelEntries(t, h)
	for _, dm := range daemons {
		d := dm.start(t, h, reloadConfs[0])
		if !d.WaitOutput("Entering MASTER STATE", 15*time.Second) {
			t.Fatalf("%s: no MASTER:\n%s", dm.name, d.Output())
		}
		settled(t, h, slices.Concat(gone, kept))
		if err := os.WriteFile(filepath.Join(d.Dir, "keepalived.conf"), []byte(reloadConfs[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		now := settled(t, h, slices.Concat(kept, added))
		all := strings.Join(now, "\n")
		for _, m := range gone {
			if strings.Contains(all, m) {
				t.Errorf("%s: %s stays after the reload", dm.name, m)
			}
		}
		after[dm.name] = now
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatalf("%s: %v", dm.name, err)
		}
		checkAsBefore(t, dm.name, h, baseline)
	}
	checkSame(t, "after the reload", after)
}

// TestVirtualRulesLeaveWithMaster makes a master's instance BACKUP, a
// router of higher priority appearing, under keepalived and under
// gokeepalived: each removes the virtual rules and routes as it leaves
// MASTER, and leaves the static ones.
func TestVirtualRulesLeaveWithMaster(t *testing.T) {
	conf := `static_rules {
	from 10.80.11.0/24 table 100 priority 700
}
` + staticInstance(`virtual_routes {
		10.120.0.0/16 via 10.80.0.254 dev eth0 table 100
	}
	virtual_rules {
		from 10.80.0.100 table 100 priority 701
		to 10.120.0.0/16 fwmark 9 table 100 priority 702
	}`)
	higher := strings.Replace(staticInstance(""), "priority 150", "priority 200", 1)
	virtual := []string{`dst="10.120.0.0/16"`, `priority=701 `, `priority=702 `}
	backup := map[string][]string{}
	lab := nettest.NewLab(t)
	h := lab.AddHost("m", "10.80.0.1/24")
	other := lab.AddHost("o", "10.80.0.2/24")
	for _, dm := range daemons {
		d := dm.start(t, h, conf)
		if !d.WaitOutput("Entering MASTER STATE", 15*time.Second) {
			t.Fatalf("%s: no MASTER:\n%s", dm.name, d.Output())
		}
		settled(t, h, append(virtual, `priority=700 `))
		o := other.StartKeepalived(t, higher, "-P")
		// The first BACKUP is the one of start-up.
		if _, ok := nettest.Eventually(15*time.Second, func() bool {
			return strings.Count(d.Output(), "Entering BACKUP STATE") >= 2
		}); !ok {
			t.Fatalf("%s: stays MASTER beside a higher priority:\n%s", dm.name, d.Output())
		}
		now := settled(t, h, []string{`priority=700 `})
		all := strings.Join(now, "\n")
		for _, m := range virtual {
			if strings.Contains(all, m) {
				t.Errorf("%s: %s stays in BACKUP", dm.name, m)
			}
		}
		backup[dm.name] = now
		if err := o.Stop(t, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatalf("%s: %v", dm.name, err)
		}
	}
	checkSame(t, "in BACKUP", backup)
}
