package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestDaemonPromoteSecondariesBesideKeepalived runs an instance with
// promote_secondaries under keepalived and then gokeepalived, with the
// interface's promote_secondaries sysctl off and then on beforehand:
// both turn it on while they run and, where they turned it on, off again
// when they stop; one that was on stays on.
func TestDaemonPromoteSecondariesBesideKeepalived(t *testing.T) {
	t.Parallel() // its own namespaces and files; it mostly waits on VRRP's timers
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	bin := gokeepalivedBinary(t)
	conf := wireInstance("    promote_secondaries\n")
	sysctl := func() string {
		return strings.TrimSpace(m.Run("cat", "/proc/sys/net/ipv4/conf/eth0/promote_secondaries"))
	}
	seen := map[bool]string{}
	for _, ours := range []bool{false, true} {
		var got []string
		for _, before := range []string{"0", "1"} {
			m.Run("sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries="+before)
			d := startEither(t, m, bin, ours, t.TempDir(), conf)
			waitFor(t, "master", 10*time.Second, func() bool { return m.HasAddr("10.77.0.120") })
			during := sysctl()
			if err := d.Stop(t, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s->%s->%s", before, during, sysctl()))
		}
		seen[ours] = strings.Join(got, " ")
	}
	t.Logf("keepalived: %s", seen[false])
	if seen[false] != "0->1->0 1->1->1" {
		t.Errorf("keepalived's sysctl went %s: the case does not test what it says", seen[false])
	}
	if seen[true] != seen[false] {
		t.Errorf("sysctl went %s, under keepalived %s", seen[true], seen[false])
	}
}
