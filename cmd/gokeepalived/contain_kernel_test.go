package main

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/checkerd"
	"github.com/gokeepalived/gokeepalived/internal/notifyhub"
)

// TestGuestCheckerLoopTakesOver runs the checker loop under supervise in
// the kernel guest with lvs_flush, makes its Run panic, and checks that
// the Run the supervisor starts takes the table over: a service the loop
// does not own is not flushed, its own are untouched, and verdicts reach
// the table again. Close, with no Run after, releases the loop's entries.
func TestGuestCheckerLoopTakesOver(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	if out, err := exec.Command("ipvsadm", "-C").CombinedOutput(); err != nil {
		t.Fatalf("ipvsadm -C: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ipvsadm", "-C").Run() })
	rs := &toggleServer{addr: "127.0.0.1:18090"}
	rs.up(t)
	t.Cleanup(rs.down)

	path := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := `
global_defs {
	lvs_flush
}
virtual_server 192.0.2.1 80 {
	ha_suspend
	delay_loop 1
	lb_algo rr
	lb_kind NAT
	protocol TCP
	real_server 127.0.0.1 18090 {
		TCP_CHECK {
			connect_timeout 1
			retry 0
			warmup 0
		}
	}
}
`
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range hook.AllEntries() {
				t.Logf("log: %s", e.Message)
			}
		}
	})
	// ha_suspend asks VRRP whether the VIP is held here; the question
	// panics when armed, in the loop's Run.
	var armed atomic.Bool
	hub, err := notifyhub.New(&cfg.Global, log)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	loop, err := checkerd.New(cfg, checkerd.Options{Log: log, Notify: hub, VIPOwned: func(netip.Addr) bool {
		if armed.Load() {
			panic("injected")
		}
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var panics atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		supervise(ctx, log, "checker", &panics, loop.Run)
		loop.Close()
	}()
	stop := func() {
		cancel()
		<-done
	}
	defer stop()

	const (
		svc     = "-A -t 192.0.2.1:80 -s rr"
		dst     = "-a -t 192.0.2.1:80 -r 127.0.0.1:18090 -m -w 1"
		foreign = "-A -t 198.51.100.1:80 -s rr"
	)
	waitTable(t, "start", svc, dst)
	if out, err := exec.Command("ipvsadm", "-A", "-t", "198.51.100.1:80", "-s", "rr").CombinedOutput(); err != nil {
		t.Fatalf("ipvsadm -A: %v\n%s", err, out)
	}

	armed.Store(true)
	loop.VIPsChanged()
	waitFor(t, "the loop's panic", 20*time.Second, func() bool { return panics.Load() == 1 })
	armed.Store(false)
	waitFor(t, "the takeover", 20*time.Second, func() bool {
		for _, e := range hook.AllEntries() {
			if strings.Contains(e.Message, "Taking over the IPVS table") {
				return true
			}
		}
		return false
	})
	if got, want := savedTable(t), slices.Sorted(slices.Values([]string{svc, dst, foreign})); !slices.Equal(got, want) {
		t.Errorf("after the takeover: ipvsadm -Sn:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	rs.down()
	waitTable(t, "real server down", svc, foreign)
	rs.up(t)
	waitTable(t, "real server back", svc, dst, foreign)
	stop()
	waitTable(t, "after the loop stopped", foreign)
}

// savedTable is `ipvsadm -Sn`, lines sorted.
func savedTable(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ipvsadm", "-Sn").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -Sn: %v\n%s", err, out)
	}
	lines := slices.DeleteFunc(strings.Split(strings.TrimSpace(string(out)), "\n"), func(l string) bool { return l == "" })
	slices.Sort(lines)
	return lines
}

// waitTable waits for `ipvsadm -Sn` to show want.
func waitTable(t *testing.T, what string, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = savedTable(t); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("%s: ipvsadm -Sn:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
}
