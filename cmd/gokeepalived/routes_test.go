package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// routeTypesConf uses every route type keepalived 2.2.7 accepts, tables by
// name and number, and named and numeric address and route scopes. The
// kernel refuses nat and xresolve routes.
const routeTypesConf = `global_defs {
    router_id routes
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 80
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.80.0.100/24 dev eth0 scope 200 brd 10.80.0.255
        10.80.0.101/24 dev eth0 scope link
        10.80.0.102 dev eth0 scope 0x0
        10.80.0.103/24 dev eth0 brd +
    }
    virtual_routes {
        10.81.0.0/16 via 10.80.0.254 dev eth0
        unicast 10.82.0.0/16 via 10.80.0.254 dev eth0 table default scope 0
        local 10.83.0.1/32 dev eth0 table local scope 254
        broadcast 10.84.0.255/32 dev eth0 table local scope link
        brd 10.85.0.255/32 dev eth0 table 255 scope 253
        anycast 10.86.0.0/32 dev eth0 table local
        multicast 224.87.0.0/16 dev eth0 table 254
        blackhole 10.88.0.0/16
        unreachable 10.89.0.0/16 table 4000000000
        prohibit 10.90.0.0/16
        throw 10.91.0.0/16 table 1000
        nat 10.92.0.0/16 dev eth0
        xresolve 10.93.0.0/16 dev eth0
        6 10.94.0.0/16
        10.95.0.0/16 dev eth0 scope link
    }
}
`

// kernelState is the addresses and routes of eth0's test ranges, as ip
// prints them, sorted.
func kernelState(h *nettest.Host) []string {
	var out []string
	for _, l := range strings.Split(h.Run("ip", "-4", "addr", "show", "dev", "eth0"), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "inet 10.80.0.1") && !strings.HasPrefix(l, "inet 10.80.0.1/") {
			out = append(out, l)
		}
	}
	for _, l := range strings.Split(h.Run("ip", "-4", "-d", "route", "show", "table", "all"), "\n") {
		if strings.Contains(l, "10.8") || strings.Contains(l, "10.9") || strings.Contains(l, "224.87.") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	slices.Sort(out)
	return out
}

// TestDaemonRouteTypes runs a configuration with every route type and
// scope form keepalived accepts under keepalived and under gokeepalived in
// the same namespace: as master, both leave the same addresses and routes
// in the kernel (nat and xresolve refused by the kernel, the instance
// master all the same), and after SIGTERM none of them.
func TestDaemonRouteTypes(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.80.0.1/24")
	states := map[bool][]string{}
	baseline := strings.Join(kernelState(m), "\n") // the host's own address and its routes
	for _, ours := range []bool{false, true} {
		var d *nettest.Daemon
		if ours {
			dir := t.TempDir()
			conf := filepath.Join(dir, "keepalived.conf")
			if err := os.WriteFile(conf, []byte(routeTypesConf), 0o644); err != nil {
				t.Fatal(err)
			}
			d = m.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"),
				"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "--control-socket", filepath.Join(dir, "ctl.sock"))
		} else {
			d = m.StartKeepalived(t, routeTypesConf, "-P")
		}
		waitFor(t, "master", 15*time.Second, func() bool { return strings.Contains(d.Output(), "Entering MASTER STATE") })
		// Routes follow the addresses: the state is read once it holds
		// still.
		var last string
		waitFor(t, "routes", 5*time.Second, func() bool {
			time.Sleep(300 * time.Millisecond)
			now := strings.Join(kernelState(m), "\n")
			settled := now == last && strings.Contains(now, "10.95.0.0/16")
			last = now
			return settled
		})
		states[ours] = kernelState(m)
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if left := strings.Join(kernelState(m), "\n"); left != baseline {
			t.Errorf("ours=%v: after SIGTERM:\n%s\nbefore start:\n%s", ours, left, baseline)
		}
		if ours && strings.Contains(d.Output(), "Entering FAULT") {
			t.Errorf("the instance went to FAULT:\n%s", d.Output())
		}
	}
	if got, want := strings.Join(states[true], "\n"), strings.Join(states[false], "\n"); got != want {
		t.Errorf("kernel state as master:\n%s\nkeepalived's:\n%s", got, want)
	}
	if len(states[false]) < 15+len(strings.Split(baseline, "\n")) {
		t.Errorf("keepalived left only %d addresses and routes:\n%s", len(states[false]), strings.Join(states[false], "\n"))
	}
}
