package vrrpd_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The lab tests below run real keepalived and a gokeepalived binary in
// turn, or side by side, with vrrp_strict, and compare the nftables
// firewalls they make in their namespaces.

// daemon is keepalived or gokeepalived, started on a host with a config.
type daemon struct {
	name  string
	start func(t *testing.T, h *nettest.Host, conf string) *nettest.Daemon
}

var daemons = []daemon{
	{"keepalived", func(t *testing.T, h *nettest.Host, conf string) *nettest.Daemon {
		return h.StartKeepalived(t, conf, "-P")
	}},
	{"gokeepalived", startGokeepalived},
}

func startGokeepalived(t *testing.T, h *nettest.Host, conf string) *nettest.Daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := h.Start(t, nettest.BuildGokeepalived(t), "-n", "-l", "-P", "-f", path,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"--control-socket", filepath.Join(dir, "ctl.sock"))
	d.Dir = dir // where keepalived.conf is, as StartKeepalived's
	return d
}

// strictConf has two instances on eth0: VI_1, master, with IPv4 VIPs and
// excluded IPv4, IPv6 and link-local IPv6 ones, and VI_2 whose accept
// strict mode resets. global is what global_defs holds; vi1 is more of
// VI_1.
func strictConf(global, vi1 string) string {
	return `global_defs {
	` + global + `
}
vrrp_instance VI_1 {
	state MASTER
	interface eth0
	virtual_router_id 51
	priority 150
	advert_int 1
	` + vi1 + `
	virtual_ipaddress {
		10.66.0.100/24
		10.66.0.101/24
	}
	virtual_ipaddress_excluded {
		10.66.0.102/24
		fe80::1234/64
		2001:db8::100/64
	}
}
vrrp_instance VI_2 {
	state BACKUP
	interface eth0
	virtual_router_id 52
	priority 140
	advert_int 1
	accept
	virtual_ipaddress {
		10.66.0.110/24
	}
}
`
}

// ruleset is the namespace's ruleset as nft -j lists it, without the
// handles, which number the kernel's objects, and the metainfo.
func ruleset(t *testing.T, h *nettest.Host) []map[string]any {
	t.Helper()
	out, err := h.Exec("nft", "-j", "list", "ruleset").Output()
	if err != nil {
		t.Fatalf("nft -j list ruleset in %s: %v", h.NS, err)
	}
	var doc struct {
		Nftables []map[string]map[string]any `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j list ruleset in %s: %v\n%s", h.NS, err, out)
	}
	var objs []map[string]any
	for _, o := range doc.Nftables {
		for kind, v := range o {
			if kind == "metainfo" {
				continue
			}
			delete(v, "handle")
			zeroCounters(v)
			objs = append(objs, map[string]any{kind: v})
		}
	}
	return objs
}

// hasElement reports whether the ruleset has a set of the name with an
// element that mentions addr.
func hasElement(objs []map[string]any, name, addr string) bool {
	for _, o := range objs {
		set, ok := o["set"].(map[string]any)
		if !ok || set["name"] != name {
			continue
		}
		b, _ := json.Marshal(set["elem"])
		if strings.Contains(string(b), addr) {
			return true
		}
	}
	return false
}

// zeroCounters sets the packets and bytes of the counters in v to 0:
// they count the test's own traffic.
func zeroCounters(v any) {
	switch x := v.(type) {
	case map[string]any:
		if c, ok := x["counter"].(map[string]any); ok {
			c["packets"], c["bytes"] = 0, 0
		}
		for _, e := range x {
			zeroCounters(e)
		}
	case []any:
		for _, e := range x {
			zeroCounters(e)
		}
	}
}

// vipSet is the elements of table ip keepalived's vips set, nil when
// there is no such set.
func vipSet(h *nettest.Host) []string { return vipSetOf(h, "keepalived") }

// vipSetOf is the elements of the vips set of table ip table.
func vipSetOf(h *nettest.Host, table string) []string {
	out, err := h.Exec("nft", "-j", "list", "set", "ip", table, "vips").Output()
	if err != nil {
		return nil
	}
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if json.Unmarshal(out, &doc) != nil {
		return nil
	}
	elems := []string{}
	for _, o := range doc.Nftables {
		var s struct {
			Elem []any `json:"elem"`
		}
		if raw, ok := o["set"]; ok && json.Unmarshal(raw, &s) == nil {
			for _, e := range s.Elem {
				elems = append(elems, fmt.Sprint(e))
			}
		}
	}
	return elems
}

func wait(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if _, ok := nettest.Eventually(timeout, cond); !ok {
		t.Fatalf("%s: not within %v", what, timeout)
	}
}

// answers reports whether addr answers a ping from h.
func answers(h *nettest.Host, addr string) bool {
	return h.Exec("ping", "-c", "1", "-W", "1", addr).Run() == nil
}

var allVIPs = []string{"10.66.0.100", "10.66.0.101", "10.66.0.102", "10.66.0.110"}

// TestStrictFirewallEqualsKeepalived runs keepalived, then gokeepalived,
// with the same vrrp_strict config on one host and checks, while both
// instances are MASTER, that the rulesets are equal, that the VIPs do
// not answer a peer's ping, and that SIGTERM leaves no table; with the
// default firewall, and with nftables, nftables_priority,
// nftables_counters and nftables_ifindex, with and without
// dont_track_primary, which keys link-local VIPs by interface name. And
// without strict mode, the VIPs answer under both.
func TestStrictFirewallEqualsKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.66.0.1/24")
	peer := lab.AddHost("p", "10.66.0.9/24")
	if !answers(peer, "10.66.0.1") {
		t.Fatal("the peer cannot ping the host's own address")
	}
	variants := []struct {
		name, global, table, vi1 string
		llSet                    string // the set of fe80::1234
	}{
		{"default", "vrrp_strict", "keepalived", "", "vips_link_local"},
		{"named", "vrrp_strict\n\tnftables gk_fw\n\tnftables_priority -5\n\tnftables_counters", "gk_fw", "dont_track_primary", "vips_link_local_name"},
		{"ifindex", "vrrp_strict\n\tnftables_ifindex\n\tnftables_priority 7", "keepalived", "dont_track_primary", "vips_link_local"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			rulesets := make(map[string][]map[string]any)
			for _, d := range daemons {
				t.Run(d.name, func(t *testing.T) {
					p := d.start(t, a, strictConf(v.global, v.vi1))
					wait(t, d.name+" masters with every VIP firewalled", 15*time.Second, func() bool {
						return a.HasAddr("10.66.0.110") && len(vipSetOf(a, v.table)) == len(allVIPs)
					})
					if got := vipSetOf(a, v.table); !reflect.DeepEqual(got, allVIPs) {
						t.Errorf("vips set %q, want %q", got, allVIPs)
					}
					rulesets[d.name] = ruleset(t, a)
					if !hasElement(rulesets[d.name], v.llSet, "fe80::1234") {
						t.Errorf("no set %s holding fe80::1234 under %s", v.llSet, d.name)
					}
					for _, vip := range []string{"10.66.0.100", "10.66.0.110"} {
						if answers(peer, vip) {
							t.Errorf("%s answers a ping under %s in strict mode", vip, d.name)
						}
					}
					if !answers(peer, "10.66.0.1") {
						t.Error("the host's own address does not answer a ping")
					}
					const using = "use_vmac or no_accept/strict specified, but no firewall configured - using nftables"
					if want := !strings.Contains(v.global, "nftables "); strings.Contains(p.Output(), using) != want {
						t.Errorf("%s logged %q: %v, want %v", d.name, using, !want, want)
					}
					if err := p.Stop(t, 10*time.Second); err != nil {
						t.Errorf("%s exited with %v", d.name, err)
					}
					if rs := ruleset(t, a); len(rs) != 0 {
						t.Errorf("after SIGTERM %s left %v", d.name, rs)
					}
				})
			}
			ka, ours := rulesets["keepalived"], rulesets["gokeepalived"]
			if ka == nil || ours == nil {
				t.Fatal("a daemon's ruleset is missing")
			}
			if !reflect.DeepEqual(ka, ours) {
				kj, _ := json.MarshalIndent(ka, "", " ")
				oj, _ := json.MarshalIndent(ours, "", " ")
				t.Errorf("rulesets differ\nkeepalived:\n%s\ngokeepalived:\n%s", kj, oj)
			}
		})
	}

	for _, d := range daemons {
		t.Run(d.name+"/not strict", func(t *testing.T) {
			p := d.start(t, a, strictConf("", ""))
			wait(t, d.name+" masters", 15*time.Second, func() bool { return a.HasAddr("10.66.0.110") })
			for _, vip := range []string{"10.66.0.100", "10.66.0.110"} {
				if !answers(peer, vip) {
					t.Errorf("%s does not answer a ping under %s without strict mode", vip, d.name)
				}
			}
			if rs := ruleset(t, a); len(rs) != 0 {
				t.Errorf("%s without strict mode made %v", d.name, rs)
			}
			p.Stop(t, 10*time.Second)
		})
	}
}

// TestStrictFirewallLeftoverReplaced kills gokeepalived with SIGKILL,
// which leaves its tables, marks the leftover set, and checks that the
// next run replaces the tables when it adds its VIPs, as keepalived
// does, and removes them at SIGTERM.
func TestStrictFirewallLeftoverReplaced(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.66.0.1/24")
	conf := strictConf("vrrp_strict", "")
	p := startGokeepalived(t, a, conf)
	wait(t, "first run masters", 15*time.Second, func() bool { return len(vipSet(a)) == len(allVIPs) })
	p.Kill()
	if len(vipSet(a)) != len(allVIPs) {
		t.Fatalf("after kill -9 the vips set is %q", vipSet(a))
	}
	// A marker only a leftover holds.
	a.Run("nft", "add", "element", "ip", "keepalived", "vips", "{ 10.66.0.250 }")
	// The killed run's VIPs are still on eth0; the new run removes them
	// as it starts in BACKUP.
	p = startGokeepalived(t, a, conf)
	wait(t, "second run masters", 20*time.Second, func() bool {
		return strings.Contains(p.Output(), "Deleting old ip6 keepalived table") && a.HasAddr("10.66.0.110") && len(vipSet(a)) == len(allVIPs)
	})
	if got := vipSet(a); !reflect.DeepEqual(got, allVIPs) {
		t.Errorf("vips set after the restart %q, want %q", got, allVIPs)
	}
	if !strings.Contains(p.Output(), "Deleting old ip keepalived table") {
		t.Error("the restart did not log the leftover ip table's deletion")
	}
	p.Stop(t, 10*time.Second)
	if rs := ruleset(t, a); len(rs) != 0 {
		t.Errorf("after SIGTERM the restart left %v", rs)
	}
}

// pairConf is one strict instance with PASS authentication, which strict
// mode drops, as keepalived does.
func pairConf(prio int) string {
	return fmt.Sprintf(`global_defs {
	vrrp_strict
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 61
	priority %d
	advert_int 1
	authentication {
		auth_type PASS
		auth_pass secret
	}
	virtual_ipaddress {
		10.66.0.200/24
	}
}
`, prio)
}

// TestStrictMixedPair runs keepalived and gokeepalived on two hosts, both
// in strict mode with PASS authentication configured, each way round:
// one master is elected, its VIP firewalled, and when it stops the other
// takes over.
func TestStrictMixedPair(t *testing.T) {
	const vip = "10.66.0.200"
	for _, first := range []int{0, 1} {
		hi, lo := daemons[first], daemons[1-first]
		t.Run(hi.name+" master", func(t *testing.T) {
			lab := nettest.NewLab(t)
			a := lab.AddHost("a", "10.66.0.1/24")
			b := lab.AddHost("b", "10.66.0.2/24")
			peer := lab.AddHost("p", "10.66.0.9/24")
			pa := hi.start(t, a, pairConf(150))
			pb := lo.start(t, b, pairConf(100))
			wait(t, hi.name+" masters", 15*time.Second, func() bool { return a.HasAddr(vip) })
			// One master: the backup holds neither the VIP nor a table
			// for it, for several advert intervals.
			for range 4 {
				if b.HasAddr(vip) {
					t.Fatalf("%s holds the VIP too", lo.name)
				}
				time.Sleep(time.Second)
			}
			if got := vipSet(a); !reflect.DeepEqual(got, []string{vip}) {
				t.Errorf("%s's vips set %q", hi.name, got)
			}
			if got := vipSet(b); len(got) != 0 {
				t.Errorf("backup %s's vips set %q", lo.name, got)
			}
			if answers(peer, vip) {
				t.Errorf("the VIP answers a ping under %s in strict mode", hi.name)
			}
			for _, p := range []*nettest.Daemon{pa, pb} {
				if !strings.Contains(p.Output(), "Strict mode does not support authentication. Ignoring.") {
					t.Errorf("no authentication warning in\n%s", p.Output())
				}
			}
			pa.Stop(t, 10*time.Second)
			wait(t, lo.name+" takes over", 10*time.Second, func() bool { return b.HasAddr(vip) })
			if a.HasAddr(vip) {
				t.Errorf("%s kept the VIP after stopping", hi.name)
			}
			if rs := ruleset(t, a); len(rs) != 0 {
				t.Errorf("%s left %v", hi.name, rs)
			}
			if got := vipSet(b); !reflect.DeepEqual(got, []string{vip}) {
				t.Errorf("%s's vips set after taking over %q", lo.name, got)
			}
			pb.Stop(t, 10*time.Second)
			if rs := ruleset(t, b); len(rs) != 0 {
				t.Errorf("%s left %v", lo.name, rs)
			}
		})
	}
}

// reloadConf is VI_1 alone, with acceptMode (no_accept or accept) and
// vips.
func reloadConf(acceptMode string, vips ...string) string {
	return `vrrp_instance VI_1 {
	state MASTER
	interface eth0
	virtual_router_id 51
	priority 150
	advert_int 1
	` + acceptMode + `
	virtual_ipaddress {
		` + strings.Join(vips, "\n\t\t") + `
	}
}
`
}

// TestFirewallReloadEqualsKeepalived reloads a master without accept
// mode with a VIP replaced under keepalived and gokeepalived in turn:
// the set follows the VIPs, and the rulesets after each step are equal.
// gokeepalived is then reloaded with accept mode: its set empties and
// the VIPs answer. keepalived 2.2.7 (measured) keeps the elements then,
// since the reloaded config no longer names a firewall, and for the same
// reason leaves its table at SIGTERM; gokeepalived does not copy that.
func TestFirewallReloadEqualsKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.66.0.1/24")
	peer := lab.AddHost("p", "10.66.0.9/24")
	steps := []struct {
		conf string
		set  []string
	}{
		{reloadConf("no_accept", "10.66.0.100/24", "10.66.0.101/24"), []string{"10.66.0.100", "10.66.0.101"}},
		{reloadConf("no_accept", "10.66.0.100/24", "10.66.0.103/24"), []string{"10.66.0.100", "10.66.0.103"}},
	}
	reload := func(t *testing.T, p *nettest.Daemon, conf string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(p.Dir, "keepalived.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		p.Signal(syscall.SIGHUP)
	}
	rulesets := make(map[string][][]map[string]any)
	for _, d := range daemons {
		t.Run(d.name, func(t *testing.T) {
			p := d.start(t, a, steps[0].conf)
			for i, st := range steps {
				if i > 0 {
					reload(t, p, st.conf)
				}
				wait(t, fmt.Sprintf("%s step %d: the vips set is %q", d.name, i, st.set), 15*time.Second, func() bool {
					return a.HasAddr("10.66.0.100") && reflect.DeepEqual(vipSet(a), st.set)
				})
				rulesets[d.name] = append(rulesets[d.name], ruleset(t, a))
			}
			if answers(peer, "10.66.0.103") {
				t.Errorf("without accept mode under %s the VIP answers a ping", d.name)
			}
			if d.name == "gokeepalived" {
				reload(t, p, reloadConf("accept", "10.66.0.100/24", "10.66.0.103/24"))
				wait(t, "accept mode empties the set", 15*time.Second, func() bool {
					s := vipSet(a)
					return s != nil && len(s) == 0
				})
				if !answers(peer, "10.66.0.103") {
					t.Error("in accept mode the VIP does not answer a ping")
				}
			}
			p.Stop(t, 10*time.Second)
			if rs := ruleset(t, a); len(rs) != 0 {
				t.Errorf("after SIGTERM %s left %v", d.name, rs)
			}
		})
	}
	if ka, ours := rulesets["keepalived"], rulesets["gokeepalived"]; !reflect.DeepEqual(ka, ours) {
		kj, _ := json.MarshalIndent(ka, "", " ")
		oj, _ := json.MarshalIndent(ours, "", " ")
		t.Errorf("rulesets differ\nkeepalived:\n%s\ngokeepalived:\n%s", kj, oj)
	}
}
