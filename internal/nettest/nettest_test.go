package nettest

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

func TestLabPingAndPartition(t *testing.T) {
	l := NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24", "fd00:99::2/64")
	a.Run("ping", "-c1", "-W2", "10.99.0.2")
	if got := a.Neighbor("10.99.0.2"); got.String() != b.MAC.String() {
		t.Fatalf("a's neighbour entry for b = %v, want %v", got, b.MAC)
	}
	if !b.HasAddr("fd00:99::2") || b.HasAddr("10.99.0.1") {
		t.Fatal("HasAddr does not reflect b's addresses")
	}
	l.Isolate(b)
	if err := a.Exec("ping", "-c1", "-W1", "10.99.0.2").Run(); err == nil {
		t.Fatal("ping crossed a partition")
	}
	l.Heal(b)
	a.Run("ping", "-c1", "-W2", "10.99.0.2")
	ns := a.NS
	l.Close()
	if err := exec.Command("ip", "netns", "exec", ns, "true").Run(); err == nil {
		t.Fatalf("namespace %s still exists after Close", ns)
	}
}

// TestKeepalivedFailover checks the harness against the reference peer: two
// real keepalived routers elect a master, which owns the VIP, and the
// backup takes over when the master is killed.
func TestKeepalivedFailover(t *testing.T) {
	l := NewLab(t)
	const vip = "10.99.0.100"
	conf := func(prio int) string {
		return fmt.Sprintf(`vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int 1
  virtual_ipaddress {
    %s/24
  }
}
`, prio, vip)
	}
	m := l.AddHost("m", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24")
	km := m.StartKeepalived(t, conf(150), "-P")
	b.StartKeepalived(t, conf(100), "-P")
	if _, ok := Eventually(10*time.Second, func() bool { return m.HasAddr(vip) }); !ok {
		t.Fatalf("master never took the VIP:\n%s", km.Output())
	}
	km.Kill()
	took, ok := Eventually(10*time.Second, func() bool { return b.HasAddr(vip) })
	if !ok {
		t.Fatal("backup never took the VIP")
	}
	t.Logf("backup took the VIP %v after the master was killed", took)
}
