package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestDaemonStartupDelayBesideKeepalived: with vrrp_startup_delay 3, a
// backup alone stands for master only after the delay and its down
// interval, under keepalived and gokeepalived alike, and both log
// keepalived's line.
func TestDaemonStartupDelayBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	conf := fmt.Sprintf(`global_defs {
    router_id delay
    vrrp_startup_delay 3
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 84
    priority 150
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
}
`, daemonVIP)
	took := map[bool]time.Duration{}
	for _, ours := range []bool{false, true} {
		began := time.Now()
		d := startEither(t, m, bin, ours, t.TempDir(), conf)
		waitFor(t, "master", 15*time.Second, func() bool { return m.HasAddr(daemonVIP) })
		took[ours] = time.Since(began)
		if !strings.Contains(d.Output(), "Delaying startup for 3 seconds") {
			t.Errorf("ours %v: no \"Delaying startup for 3 seconds\" in the log", ours)
		}
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("master after %v, keepalived after %v", took[true].Round(time.Millisecond), took[false].Round(time.Millisecond))
	// 3 s of delay and 3.4 s of down interval.
	if took[true] < 6*time.Second || took[true] > took[false]+500*time.Millisecond || took[false] < 6*time.Second {
		t.Errorf("master after %v, keepalived after %v; want both after the delay and the down interval", took[true], took[false])
	}
}
