package vrrp

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestRouterSocketFailure closes a master's VRRP socket under it: the
// router opens it again at once, the master keeps its VIP and its adverts
// without a transition (its backup does not take over), and it still
// hears a router of higher priority and yields to it.
func TestRouterSocketFailure(t *testing.T) {
	t.Parallel()
	l := nettest.NewLab(t)
	a := l.AddHost("a", "10.99.0.1/24")
	b := l.AddHost("b", "10.99.0.2/24")
	c := l.AddHost("c", "10.99.0.3/24")
	da := startHelper(t, a, helperSpec{BreakSockets: true}, ourSpec(150))
	db := startOurs(t, b, ourSpec(100))
	waitVIP(t, a, labVIP, 10*time.Second, da, db)
	oneMaster(t, labVIP, time.Second, a, b)

	if err := da.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !da.WaitOutput("VRRP socket on eth0 opened again", 5*time.Second) {
		t.Fatalf("the socket was not opened again:\n%s", da.Output())
	}
	// Longer than the backup's master down interval (3.6 s).
	time.Sleep(4 * time.Second)
	if got := oneMaster(t, labVIP, time.Second, a, b); got != a {
		t.Fatalf("master is %s after the socket failure, want a", got.Name)
	}

	dc := startOurs(t, c, ourSpec(200))
	waitVIP(t, c, labVIP, 10*time.Second, dc)
	if got := oneMaster(t, labVIP, 2*time.Second, a, b, c); got != c {
		t.Fatalf("master is %s, want c", got.Name)
	}
	rep := stopOursReport(t, da)
	if rep.SocketErrors == 0 {
		t.Error("no socket error counted")
	}
	if st := rep.Instances[0]; st.Stats.BecameMaster != 1 {
		t.Errorf("a became master %d times, want once", st.Stats.BecameMaster)
	}
	if strings.Contains(db.Output(), "Entering MASTER STATE") {
		t.Errorf("the backup took over during the socket failure:\n%s", db.Output())
	}
}
