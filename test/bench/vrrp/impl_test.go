package vrrp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// An impl starts one VRRP implementation in a host with a configuration.
type impl struct {
	name string
	ours bool
	// start runs the daemon; extra arguments are gokeepalived's own
	// (keepalived has no equivalent and ignores them).
	start func(t *testing.T, h *nettest.Host, conf string, extra ...string) *nettest.Daemon
}

// gokeepalived runs bin with keepalived's own command line.
func gokeepalived(bin string) impl {
	return impl{name: "gokeepalived", ours: true, start: func(t *testing.T, h *nettest.Host, conf string, extra ...string) *nettest.Daemon {
		t.Helper()
		dir := writeConf(t, conf)
		args := append(daemonArgs(dir), "--control-socket", filepath.Join(dir, "ctl.sock"))
		return h.Start(t, bin, append(args, extra...)...)
	}}
}

// keepalived runs the installed keepalived with the same arguments as
// gokeepalived, so that neither logs or forks more than the other.
func keepalived(t *testing.T) impl {
	t.Helper()
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed (CI=true)")
		}
		t.Skip("keepalived is not installed")
	}
	return impl{name: "keepalived", start: func(t *testing.T, h *nettest.Host, conf string, _ ...string) *nettest.Daemon {
		t.Helper()
		return h.Start(t, bin, daemonArgs(writeConf(t, conf))...)
	}}
}

func daemonArgs(dir string) []string {
	return []string{"-P", "-n", "-l", "-G", "-f", filepath.Join(dir, "keepalived.conf"),
		"-p", filepath.Join(dir, "keepalived.pid"),
		"-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid")}
}

func writeConf(t *testing.T, conf string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// An instance is the part of a vrrp_instance block that the scenarios
// vary.
type instance struct {
	version  int // 2 or 3
	advert   time.Duration
	master   bool // state MASTER, else BACKUP
	priority int
	vrid     int
	vip      string // CIDR
}

// makeConf renders a keepalived.conf with the given instances on eth0.
func makeConf(routerID string, ins ...instance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n", routerID)
	for _, in := range ins {
		state := "BACKUP"
		if in.master {
			state = "MASTER"
		}
		fmt.Fprintf(&b, `vrrp_instance VI_%[1]d {
    state %[2]s
    interface eth0
    version %[3]d
    virtual_router_id %[1]d
    priority %[4]d
    advert_int %[5]s
    virtual_ipaddress {
        %[6]s
    }
}
`, in.vrid, state, in.version, in.priority, strconv.FormatFloat(in.advert.Seconds(), 'f', -1, 64), in.vip)
	}
	return b.String()
}

// A scenario is one way of taking the master of one or more virtual
// routers away.
type scenario struct {
	version int
	advert  time.Duration
	kill    bool // SIGKILL of the master's process group, else SIGTERM
	// routers is the number of virtual routers both daemons run, VRIDs
	// 77 and up, one VIP each; 0 is one router whose VIP the client
	// also follows in its neighbour table.
	routers int
	// slack is how far above the bound a takeover may come: the bound
	// leaves out the time to receive the last advert and add the
	// address.
	slack time.Duration
}

var scenarios = []scenario{
	{version: 2, advert: time.Second, kill: true, slack: 20 * time.Millisecond},
	{version: 3, advert: 100 * time.Millisecond, kill: true, slack: 20 * time.Millisecond},
	{version: 2, advert: time.Second, slack: 20 * time.Millisecond},
	{version: 3, advert: 100 * time.Millisecond, slack: 20 * time.Millisecond},
}

// centisecond is the failover of the centisecond set: 20 routers at
// keepalived's smallest interval.
var centisecond = scenario{version: 3, advert: 10 * time.Millisecond, kill: true, routers: centiRouters, slack: 5 * time.Millisecond}

// Priorities of the pair; the bound depends on the backup's.
const (
	masterPriority = 150
	backupPriority = 100
)

func (sc scenario) name() string {
	how := "sigterm"
	if sc.kill {
		how = "sigkill"
	}
	s := fmt.Sprintf("%s-v%d-%v", how, sc.version, sc.advert)
	if sc.routers > 0 {
		s += fmt.Sprintf("-x%d", sc.routers)
	}
	return s
}

// instances returns the master's or the backup's instances.
func (sc scenario) instances(master bool) []instance {
	prio := backupPriority
	if master {
		prio = masterPriority
	}
	if sc.routers == 0 {
		return []instance{{version: sc.version, advert: sc.advert, master: master, priority: prio, vrid: 77, vip: vipCIDR}}
	}
	ins := make([]instance, sc.routers)
	for i := range ins {
		ins[i] = instance{version: sc.version, advert: sc.advert, master: master, priority: prio,
			vrid: 77 + i, vip: fmt.Sprintf("10.77.1.%d/32", i+1)}
	}
	return ins
}

// skew is Skew_Time for a backup of priority prio: RFC 3768 section 6.1
// counts it in seconds, (256-prio)/256, since VRRPv2's advertisement
// interval is whole seconds; RFC 5798 section 6.1 scales it by the
// interval, (256-prio)*interval/256. With advert_int 1 the two agree.
func (sc scenario) skew(prio int) time.Duration {
	if sc.version == 2 {
		return time.Duration(256-prio) * time.Second / 256
	}
	return time.Duration(256-prio) * sc.advert / 256
}

// bound is the time the protocol allows the backup to take over:
// Master_Down_Interval (3 x interval + Skew_Time) when the master dies, and
// Skew_Time when it announces priority 0.
func (sc scenario) bound() time.Duration {
	if sc.kill {
		return 3*sc.advert + sc.skew(backupPriority)
	}
	return sc.skew(backupPriority)
}
