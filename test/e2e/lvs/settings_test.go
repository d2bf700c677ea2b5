package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A reloadStep is a configuration a daemon reloads and the setting it
// must then show.
type reloadStep struct {
	conf string
	want string // what the setting's lines must contain
}

// runReloadSteps starts each daemon on the first step's configuration
// and reloads the others in turn. After each, read must show the step's
// setting within limit, the same for every daemon; settle is left to
// each reload first, for a step that changes nothing to wait for.
func runReloadSteps(t *testing.T, ds []*daemon, steps []reloadStep, read func(*daemon) []string, settle, limit time.Duration) {
	t.Helper()
	for i, step := range steps {
		if i > 0 {
			for _, d := range ds {
				d.load(t, step.conf)
				d.signal(t, syscall.SIGHUP)
			}
			time.Sleep(settle)
		}
		took := waitLines(t, step.conf, limit, read, func(_ *daemon, got []string) bool {
			return len(got) == 1 && strings.Contains(got[0], step.want)
		}, ds...)
		ka, ours := read(ds[0]), read(ds[1])
		if !slices.Equal(ka, ours) {
			t.Errorf("%s: keepalived has %q, gokeepalived %q", step.conf, ka, ours)
		}
		t.Logf("%s: %q in %s", step.conf, ours, sideBySide(ds, took))
	}
	stop(t, ds...)
}

// TestGuestReloadTimeouts reloads lvs_timeouts under both daemons: set,
// narrowed to one timeout, dropped, set again. After each reload the
// kernel's timeouts must be keepalived's, and the kernel's own must be
// back once the daemons stop.
func TestGuestReloadTimeouts(t *testing.T) {
	requireGuest(t)
	const kernel = "Timeout (tcp tcpfin udp): 900 120 300"
	var ds []*daemon
	for _, kind := range daemons() {
		l := newLab(t, kind)
		if got := l.timeouts(t); got != kernel {
			t.Fatalf("%s: a fresh namespace has %q, want the kernel's %q", kind, got, kernel)
		}
		ds = append(ds, startDaemon(t, l, kind, "testdata/timeouts/set.conf"))
	}
	runReloadSteps(t, ds, []reloadStep{
		{"testdata/timeouts/set.conf", ": 100 20 30"},
		// keepalived gives the timeouts it no longer sets their values
		// from before it started.
		{"testdata/timeouts/udp.conf", ": 900 120 50"},
		{"testdata/timeouts/none.conf", ": 900 120 300"},
		{"testdata/timeouts/tcp.conf", ": 200 120 300"},
	}, func(d *daemon) []string { return []string{d.lab.timeouts(t)} }, 0, 10*time.Second)
	for _, d := range ds {
		if got := d.lab.timeouts(t); got != kernel {
			t.Errorf("%s left %q, want the kernel's %q", d.kind, got, kernel)
		}
	}
}

// timeouts is the lab's `ipvsadm -L --timeout`.
func (l *lab) timeouts(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(l.run(t, "ipvsadm", "-L", "--timeout"))
}

// TestGuestReloadSyncDaemon reloads lvs_sync_daemon under both daemons,
// whole, each the master of a VRRP instance alone on a veth link: a
// changed sync id or port restarts the sync daemon with it, a dropped
// keyword leaves it running. After each reload `ipvsadm -L --daemon`
// must be keepalived's.
func TestGuestReloadSyncDaemon(t *testing.T) {
	requireGuest(t)
	ds := startSyncLabs(t, "testdata/syncd/id51.conf")
	runReloadSteps(t, ds, []reloadStep{
		{"testdata/syncd/id51.conf", "master sync daemon (mcast=ve0, syncid=51,"},
		{"testdata/syncd/id52.conf", "master sync daemon (mcast=ve0, syncid=52,"},
		{"testdata/syncd/none.conf", "master sync daemon (mcast=ve0, syncid=52,"},
		{"testdata/syncd/id53.conf", "syncid=53, maxlen=1472, group=224.0.0.81, port=8850,"},
	}, syncDaemons(t), 2*time.Second, electionMax+margin)
	for _, d := range ds {
		if left := syncDaemons(t)(d); len(left) != 0 {
			t.Errorf("%s left sync daemons after SIGTERM: %q", d.kind, left)
		}
	}
}

// startSyncLabs starts keepalived and gokeepalived, each in a lab of its
// own with the veth pair the sync daemon configurations use, on conf.
func startSyncLabs(t *testing.T, conf string) []*daemon {
	t.Helper()
	var ds []*daemon
	for _, kind := range daemons() {
		l := newLab(t, kind)
		run(t, "ip", "-n", l.ns, "link", "add", "ve0", "type", "veth", "peer", "name", "ve1")
		run(t, "ip", "-n", l.ns, "addr", "add", "10.9.0.1/24", "dev", "ve0")
		for _, link := range []string{"ve0", "ve1"} {
			run(t, "ip", "-n", l.ns, "link", "set", link, "up")
		}
		ds = append(ds, startWith(t, l, kind, conf))
	}
	return ds
}

// syncDaemons reads the sync daemons a daemon's lab runs.
func syncDaemons(t *testing.T) func(d *daemon) []string {
	return func(d *daemon) []string {
		var out []string
		for line := range strings.Lines(d.lab.run(t, "ipvsadm", "-L", "--daemon")) {
			if strings.Contains(line, "sync daemon") {
				out = append(out, strings.TrimSpace(line))
			}
		}
		slices.Sort(out)
		return out
	}
}

// TestGuestReloadAddsSyncDaemon: an lvs_sync_daemon first written by a
// reload starts, as keepalived's reload starts it, in the state of its
// instance (master here).
func TestGuestReloadAddsSyncDaemon(t *testing.T) {
	requireGuest(t)
	ds := startSyncLabs(t, "testdata/syncd/none.conf")
	read := syncDaemons(t)
	// The instance becomes master with no sync daemon to run.
	time.Sleep(electionMax + margin)
	for _, d := range ds {
		if got := read(d); len(got) != 0 {
			t.Fatalf("%s runs sync daemons with none configured: %q", d.kind, got)
		}
	}
	const conf, want = "testdata/syncd/id51.conf", "master sync daemon (mcast=ve0, syncid=51,"
	for _, d := range ds {
		d.load(t, conf)
		d.signal(t, syscall.SIGHUP)
	}
	took := waitLines(t, conf, electionMax+margin, read, func(_ *daemon, got []string) bool {
		return len(got) == 1 && strings.Contains(got[0], want)
	}, ds...)
	if ka, ours := read(ds[0]), read(ds[1]); !slices.Equal(ka, ours) {
		t.Errorf("%s: keepalived has %q, gokeepalived %q", conf, ka, ours)
	}
	t.Logf("%s: %q in %s", conf, read(ds[1]), sideBySide(ds, took))
	stop(t, ds...)
}

// TestGuestFlushOnStop stops both daemons with a service of someone
// else's in the table beside theirs: with lvs_flush_on_stop the whole
// table goes, as keepalived flushes it; with lvs_flush_onstop VS (the
// older spelling) only the daemon's own services go, and the other stays.
func TestGuestFlushOnStop(t *testing.T) {
	requireGuest(t)
	const foreign = "-A -t 198.51.100.7:25 -s wlc"
	for _, c := range []struct {
		conf string
		want []string // what is left after SIGTERM
	}{
		{"testdata/flush/flush.conf", nil},
		{"testdata/flush/vs.conf", []string{foreign}},
	} {
		t.Run(filepath.Base(c.conf), func(t *testing.T) {
			var ds []*daemon
			for _, kind := range daemons() {
				ds = append(ds, startDaemon(t, newLab(t, kind), kind, c.conf))
			}
			converge(t, ds...)
			for _, d := range ds {
				d.lab.run(t, "ipvsadm", "-A", "-t", "198.51.100.7:25", "-s", "wlc")
				d.signal(t, syscall.SIGTERM)
			}
			for _, d := range ds {
				select {
				case <-d.done:
				case <-time.After(10 * time.Second):
					t.Fatalf("%s still running 10s after SIGTERM\n%s", d.kind, d.log)
				}
				if left := d.lab.saved(t); !slices.Equal(left, c.want) {
					t.Errorf("%s left:\n  %s\nwant:\n  %s\n%s", d.kind, strings.Join(left, "\n  "), strings.Join(c.want, "\n  "), d.log)
				}
			}
		})
	}
}
