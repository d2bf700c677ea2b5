package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestDaemonTrackSrcIPBesideKeepalived removes the mcast_src_ip of an
// instance with track_src_ip from its interface, and adds it back, under
// keepalived and then gokeepalived. keepalived 2.2.7 compares the removed
// address with the start of the instance's source socket address rather
// than with its address, so the instance never goes to FAULT: both stay
// MASTER throughout, and notify nothing between MASTER and STOP.
func TestDaemonTrackSrcIPBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	lab.AddHost("o", "10.77.0.2/24")
	bin := gokeepalivedBinary(t)
	const want = "INSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\nINSTANCE VI_1 STOP 150\n"
	for _, ours := range []bool{false, true} {
		who := map[bool]string{false: "keepalived", true: "gokeepalived"}[ours]
		dir := t.TempDir()
		notifyScript(t, dir)
		conf := "global_defs {\n    enable_script_security\n    script_user root\n}\n" +
			strings.Replace(wireInstance("    track_src_ip\n    mcast_src_ip 10.77.0.1\n    notify "+filepath.Join(dir, "notify.sh")+"\n"),
				"10.77.0.120/24", "10.77.1.120/24", 1)
		d := startEither(t, m, bin, ours, dir, conf)
		waitFor(t, who+" MASTER", 10*time.Second, func() bool { return m.HasAddr("10.77.1.120") })
		m.Run("ip", "addr", "del", "10.77.0.1/24", "dev", "eth0")
		// Past a master down interval (3.4 s): FAULT would have
		// removed the VIP and been notified by now.
		time.Sleep(4 * time.Second)
		if !m.HasAddr("10.77.1.120") {
			t.Errorf("%s: the VIP went with the source address", who)
		}
		m.Run("ip", "addr", "add", "10.77.0.1/24", "dev", "eth0")
		time.Sleep(time.Second)
		if err := d.Stop(t, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "calls"))
		if string(b) != want {
			t.Errorf("%s notified:\n%s\nwant:\n%s", who, b, want)
		}
	}
}
