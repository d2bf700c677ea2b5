package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestRealServerDR checks that `realserver start` makes a host a DR real
// server: the VIP is its own (on lo), yet it does not answer ARP for it, so
// clients keep reaching the director. Without the command the same host
// steals the VIP.
func TestRealServerDR(t *testing.T) {
	lab := nettest.NewLab(t)
	rs := lab.AddHost("rs", "10.78.0.10/24")
	c := lab.AddHost("c", "10.78.0.3/24")
	const vip = "10.78.0.100"
	bin := gokeepalivedBinary(t)
	sysctl := func(k string) string {
		b, _ := rs.Exec("cat", filepath.Join("/proc/sys/net/ipv4/conf", k)).Output()
		return strings.TrimSpace(string(b))
	}
	answersARP := func() bool {
		c.Exec("ip", "neigh", "flush", "all").Run()
		c.Exec("ping", "-c1", "-W1", vip).Run()
		return c.Neighbor(vip).String() == rs.MAC.String()
	}

	// The control: the VIP on lo alone is answered for.
	rs.Run("ip", "addr", "add", vip+"/32", "dev", "lo")
	if !answersARP() {
		t.Fatal("control failed: a host with the VIP on lo and default sysctls should answer ARP for it")
	}
	rs.Run("ip", "addr", "del", vip+"/32", "dev", "lo")

	for i := 0; i < 2; i++ { // the second run must change nothing and succeed
		if out, err := rs.Exec(bin, "realserver", "start", "--vip", vip).CombinedOutput(); err != nil {
			t.Fatalf("realserver start (run %d): %v\n%s", i+1, err, out)
		}
	}
	if !rs.HasAddr(vip) {
		t.Fatal("VIP not on the real server")
	}
	for k, want := range map[string]string{"all/arp_ignore": "1", "all/arp_announce": "2", "lo/arp_ignore": "1", "lo/arp_announce": "2"} {
		if got := sysctl(k); got != want {
			t.Errorf("%s = %q, want %s", k, got, want)
		}
	}
	if answersARP() {
		t.Fatal("the real server answers ARP for the VIP after realserver start")
	}

	if out, err := rs.Exec(bin, "realserver", "stop", "--vip", vip).CombinedOutput(); err != nil {
		t.Fatalf("realserver stop: %v\n%s", err, out)
	}
	if rs.HasAddr(vip) {
		t.Error("VIP still on the real server after stop")
	}
	if got := sysctl("all/arp_ignore"); got != "0" {
		t.Errorf("arp_ignore = %s after stop, want 0", got)
	}
	if out, err := rs.Exec(bin, "realserver", "stop", "--vip", vip).CombinedOutput(); err != nil {
		t.Errorf("a second stop failed: %v\n%s", err, out)
	}
}
