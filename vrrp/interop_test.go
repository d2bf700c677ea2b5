package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestInteropKeepalived runs one of our routers against real keepalived
// 2.2 on one segment. keepalived (priority 150) is master first; killed
// with SIGKILL, ours (100) takes over; keepalived comes back with priority
// 100 and stays backup, as a backup does for a master of equal priority;
// ours is killed and keepalived takes over; ours comes back with priority
// 150 and preempts. At each step exactly one router holds the VIP, and the
// two failovers, at equal priority, have the same skew time to compare.
func TestInteropKeepalived(t *testing.T) {
	t.Parallel()
	const (
		kAddr4 = "10.99.0.1"
		oAddr4 = "10.99.0.2"
	)
	tests := []struct {
		name    string
		version int
		vip     string // with prefix length
		auth    bool
		ah      bool
		unicast bool
	}{
		{name: "v2 multicast PASS", version: 2, vip: labVIP + "/24", auth: true},
		{name: "v3 multicast", version: 3, vip: labVIP + "/24"},
		{name: "v2 unicast PASS", version: 2, vip: labVIP + "/24", auth: true, unicast: true},
		{name: "v2 multicast AH", version: 2, vip: labVIP + "/24", ah: true},
		{name: "v2 unicast AH", version: 2, vip: labVIP + "/24", ah: true, unicast: true},
		{name: "v3 unicast", version: 3, vip: labVIP + "/24", unicast: true},
		{name: "v3 IPv6 multicast", version: 3, vip: "fd00:99::100/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := nettest.NewLab(t)
			kh := l.AddHost("k", kAddr4+"/24", "fd00:99::1/64")
			oh := l.AddHost("o", oAddr4+"/24", "fd00:99::2/64")
			vip, _, _ := strings.Cut(tt.vip, "/")
			var extra []string
			spec := ourSpec(100)
			spec.VIPs = []string{tt.vip}
			if tt.version == 3 {
				extra = append(extra, "version 3")
				spec.Version = 3
			}
			if tt.auth {
				extra = append(extra, "authentication {\n    auth_type PASS\n    auth_pass secret1\n  }")
				spec.AuthPass = "secret1"
			}
			if tt.ah {
				extra = append(extra, "authentication {\n    auth_type AH\n    auth_pass secret1\n  }")
				spec.AuthPass, spec.AuthAH = "secret1", true
			}
			if tt.unicast {
				extra = append(extra, fmt.Sprintf("unicast_src_ip %s\n  unicast_peer {\n    %s\n  }", kAddr4, oAddr4))
				spec.Peers = []netip.Addr{netip.MustParseAddr(kAddr4)}
			}

			kd := kh.StartKeepalived(t, keepalivedConf(150, tt.vip, extra...), "-P")
			od := startOurs(t, oh, spec)
			waitVIP(t, kh, vip, 10*time.Second, kd, od)
			if got := oneMaster(t, vip, 2*time.Second, kh, oh); got != kh {
				t.Fatalf("master is %s, want keepalived", got.Name)
			}

			kd.Kill()
			ours := waitVIP(t, oh, vip, 10*time.Second, od)
			// The killed router's VIP stays on its interface until it
			// starts again and removes it.
			kd = kh.StartKeepalived(t, keepalivedConf(100, tt.vip, extra...), "-P")
			if !kd.WaitOutput("Entering BACKUP STATE", 5*time.Second) {
				t.Fatalf("keepalived did not restart:\n%s", kd.Output())
			}
			if got := oneMaster(t, vip, 2*time.Second, kh, oh); got != oh {
				t.Fatalf("master is %s, want ours", got.Name)
			}

			od.Kill()
			theirs := waitVIP(t, kh, vip, 10*time.Second, kd)
			t.Logf("failover after SIGKILL of the master: ours took the VIP in %v, keepalived in %v", ours, theirs)
			spec.Priority = 150
			od = startOurs(t, oh, spec)
			if _, ok := nettest.Eventually(10*time.Second, func() bool { return !kh.HasAddr(vip) }); !ok {
				t.Fatalf("keepalived kept the VIP after ours came back:\n%s\n%s", kd.Output(), od.Output())
			}
			if got := oneMaster(t, vip, 2*time.Second, kh, oh); got != oh {
				t.Fatalf("master is %s, want ours", got.Name)
			}
		})
	}
}

// TestInteropSyncGroup runs our two instances, in a sync group and on one
// shared socket, against keepalived master of only the first VRID: ours
// must not take the second VRID alone while the first has a live master,
// and must take both once keepalived is killed. A third router with
// another VRID on the segment is counted as a socket-level drop.
func TestInteropSyncGroup(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	kh := l.AddHost("k", "10.99.0.1/24")
	oh := l.AddHost("o", "10.99.0.2/24")
	xh := l.AddHost("x", "10.99.0.3/24")
	xh.StartKeepalived(t, strings.Replace(keepalivedConf(100, "10.99.0.200/24"), "virtual_router_id 51", "virtual_router_id 60", 1), "-P")
	const vip2 = "10.99.0.101"
	ext, in := ourSpec(100), ourSpec(100)
	ext.Name = "VI_EXT"
	in.Name, in.VRID, in.VIPs = "VI_INT", 52, []string{vip2 + "/24"}
	kd := kh.StartKeepalived(t, keepalivedConf(200, labVIP+"/24"), "-P")
	waitVIP(t, kh, labVIP, 10*time.Second, kd)
	od := startOursGroup(t, oh, "VG_1", ext, in)
	if !od.WaitOutput("(VI_INT) Receive advertisement timeout", 5*time.Second) {
		t.Fatalf("VI_INT never timed out:\n%s", od.Output())
	}
	time.Sleep(time.Second)
	if oh.HasAddr(vip2) || oh.HasAddr(labVIP) {
		t.Fatalf("ours took a VIP while its group has a live master:\n%s", od.Output())
	}
	kd.Kill()
	waitVIP(t, oh, labVIP, 10*time.Second, od)
	waitVIP(t, oh, vip2, time.Second, od)
	if !strings.Contains(od.Output(), "VRRP_Group(VG_1) Syncing instances to MASTER state") {
		t.Fatalf("no group transition logged:\n%s", od.Output())
	}
	if _, ok := nettest.Eventually(5*time.Second, func() bool { return xh.HasAddr("10.99.0.200") }); !ok {
		t.Fatal("the third router never advertised")
	}
	rep := stopOursReport(t, od)
	if rep.SocketDrops[DropVRID] == 0 {
		t.Fatalf("no VRID drops counted for VRID 60: %+v", rep)
	}
	for _, st := range rep.Instances {
		if st.Stats.Drops[DropVRID] != 0 {
			t.Fatalf("instance %s saw another VRID's adverts: %+v", st.Name, st.Stats)
		}
	}
}
