package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/lvs"
)

// margin is what the guest, under TCG, may add to a daemon's own timers:
// process start-up, netlink round trips, the test's polling.
const margin = time.Second

// TestGuestTamper changes the table behind gokeepalived's back: every
// change must be undone by the next resync, within one delay_loop or
// lvs.MinResyncInterval, whichever is longer.
func TestGuestTamper(t *testing.T) {
	requireGuest(t)
	d := startDaemon(t, newLab(t, gokeepalived), gokeepalived, "testdata/01-nat-tcp-check.conf")
	want := converge(t, d)[0]
	limit := max(delayLoop, lvs.MinResyncInterval) + margin
	for _, tamper := range [][]string{
		{"-C"},
		{"-d", "-t", "192.0.2.1:80", "-r", "192.168.200.1:8080"},
		{"-e", "-t", "192.0.2.1:80", "-r", "192.168.200.2:8080", "-m", "-w", "9"},
	} {
		what := "ipvsadm " + strings.Join(tamper, " ")
		d.lab.run(t, "ipvsadm", tamper...)
		took := waitTables(t, what+" undone", limit, func(_ *daemon, cur []string) bool { return slices.Equal(cur, want) }, d)
		t.Logf("%s: undone in %v (limit %v)", what, took[0].Round(time.Millisecond), limit)
	}
	stop(t, d)
}

// TestGuestReload edits the configuration under each daemon and sends
// SIGHUP: exactly the entries the edit touches may change, and
// gokeepalived must not touch the real server that stayed the same.
func TestGuestReload(t *testing.T) {
	requireGuest(t)
	wantBefore := []string{
		"-A -t 192.0.2.20:80 -s wrr",
		"-A -t 192.0.2.21:80 -s rr",
		"-a -t 192.0.2.20:80 -r 192.168.200.1:8080 -m -w 1",
		"-a -t 192.0.2.20:80 -r 192.168.200.2:8080 -m -w 2",
		"-a -t 192.0.2.21:80 -r 192.168.200.1:8080 -m -w 1",
	}
	wantGone := []string{
		"-A -t 192.0.2.21:80 -s rr",
		"-a -t 192.0.2.20:80 -r 192.168.200.2:8080 -m -w 2",
		"-a -t 192.0.2.21:80 -r 192.168.200.1:8080 -m -w 1",
	}
	wantNew := []string{
		"-a -t 192.0.2.20:80 -r 192.168.200.2:8080 -m -w 5",
		"-a -t 192.0.2.20:80 -r 192.168.200.3:8080 -m -w 1",
	}
	slices.Sort(wantBefore)
	slices.Sort(wantGone)
	slices.Sort(wantNew)
	wantAfter := slices.Sorted(slices.Values(append(slices.DeleteFunc(slices.Clone(wantBefore), func(l string) bool {
		return slices.Contains(wantGone, l)
	}), wantNew...)))

	var ds []*daemon
	for _, kind := range daemons() {
		ds = append(ds, startDaemon(t, newLab(t, kind), kind, "testdata/reload/before.conf"))
	}
	before := converge(t, ds...)
	for i, d := range ds {
		if !slices.Equal(before[i], wantBefore) {
			t.Fatalf("%s before the reload:\n  %s\nwant:\n  %s", d.kind, strings.Join(before[i], "\n  "), strings.Join(wantBefore, "\n  "))
		}
	}
	logged := make([]int, len(ds))
	for i, d := range ds {
		d.load(t, "testdata/reload/after.conf")
		logged[i] = len(d.log.String())
		d.signal(t, syscall.SIGHUP)
	}
	took := waitTables(t, "reload", 2*delayLoop+margin, func(_ *daemon, cur []string) bool { return slices.Equal(cur, wantAfter) }, ds...)
	t.Logf("reload applied in: %s", sideBySide(ds, took))
	// The table must stay there, not pass through it.
	for i, after := range converge(t, ds...) {
		gone, added := diffLines(before[i], after)
		if !slices.Equal(gone, wantGone) || !slices.Equal(added, wantNew) {
			t.Errorf("%s: the reload removed\n  %s\nand added\n  %s\nwant removed\n  %s\nand added\n  %s", ds[i].kind,
				strings.Join(gone, "\n  "), strings.Join(added, "\n  "), strings.Join(wantGone, "\n  "), strings.Join(wantNew, "\n  "))
		}
	}
	checkUntouched(t, ds[1].log.String()[logged[1]:])
	stop(t, ds...)
}

// checkUntouched fails t unless the log of gokeepalived's reload shows
// the edit and nothing more: the added real server's checker starts, the
// unchanged real server is neither added, removed nor reweighted, and the
// table sees only the four changes the edit calls for (at most: the
// removed service's destination may go with it).
func checkUntouched(t *testing.T, log string) {
	t.Helper()
	const (
		vs        = "[192.0.2.20]:tcp:80"
		unchanged = "[192.168.200.1]:tcp:8080"
		added     = "[192.168.200.3]:tcp:8080"
	)
	if !strings.Contains(log, "Reload") || !strings.Contains(log, added) {
		t.Fatalf("the log shows no reload adding %s:\n%s", added, log)
	}
	changes := 0
	for line := range strings.Lines(log) {
		if strings.Contains(line, "IPVS change") {
			changes++
		}
		if strings.Contains(line, unchanged) && strings.Contains(line, vs) &&
			(strings.Contains(line, "Adding") || strings.Contains(line, "Removing") || strings.Contains(line, "weight")) {
			t.Errorf("the reload touched the unchanged real server: %s", strings.TrimSpace(line))
		}
	}
	// Update 192.168.200.2's weight, add 192.168.200.3, delete the
	// service 192.0.2.21:80 and perhaps its destination first.
	if changes < 3 || changes > 4 {
		t.Errorf("the reload made %d IPVS changes, want 3 or 4:\n%s", changes, log)
	}
}

// TestGuestHealth stops a real server under each daemon: it must leave
// the table, or stay with weight 0 under inhibit_on_failure, within
// connect_timeout x (retry+1) + delay_before_retry x retry + delay_loop.
func TestGuestHealth(t *testing.T) {
	requireGuest(t)
	// The timers of testdata/health/*.conf.
	const (
		connectTimeout   = time.Second
		retry            = 1
		delayBeforeRetry = time.Second
	)
	limit := connectTimeout*(retry+1) + delayBeforeRetry*retry + delayLoop + margin
	labs := []*lab{newLab(t, keepalived), newLab(t, gokeepalived)}
	for _, tt := range []struct {
		conf  string
		alive string // the stopped real server's line while it answers
		down  func(d *daemon, table []string) bool
	}{
		{
			conf:  "testdata/health/remove.conf",
			alive: "-a -t 192.0.2.30:80 -r 192.168.200.9:8080 -m -w 1",
			down: func(_ *daemon, table []string) bool {
				return !slices.ContainsFunc(table, func(l string) bool { return strings.Contains(l, "192.168.200.9:8080") })
			},
		},
		{
			conf:  "testdata/health/inhibit.conf",
			alive: "-a -t 192.0.2.31:80 -r 192.168.200.9:8080 -m -w 4",
			down: func(_ *daemon, table []string) bool {
				return slices.Contains(table, "-a -t 192.0.2.31:80 -r 192.168.200.9:8080 -m -w 0")
			},
		},
	} {
		t.Run(strings.TrimSuffix(filepath.Base(tt.conf), ".conf"), func(t *testing.T) {
			var ds []*daemon
			var stopServers []func()
			for i, kind := range daemons() {
				stopServers = append(stopServers, labs[i].startHTTP(t, "192.168.200.9:8080"))
				ds = append(ds, startDaemon(t, labs[i], kind, tt.conf))
			}
			for i, table := range converge(t, ds...) {
				if !slices.Contains(table, tt.alive) {
					t.Fatalf("%s: %q missing while the real server answers:\n  %s", ds[i].kind, tt.alive, strings.Join(table, "\n  "))
				}
			}
			for _, stopServer := range stopServers {
				stopServer()
			}
			took := waitTables(t, "stopped real server out", limit, tt.down, ds...)
			t.Logf("real server stopped, table follows in: %s (limit %v)", sideBySide(ds, took), limit)
			stop(t, ds...)
		})
	}
}
