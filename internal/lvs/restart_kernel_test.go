package lvs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// TestGuestRunAfterPanic runs real checks against the kernel's IPVS, makes
// Run panic on a verdict, and checks that the next Run takes the table
// over untouched, then applies the verdict the panic lost, and only it.
func TestGuestRunAfterPanic(t *testing.T) {
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	guestRun(t, "ip", "link", "set", "lo", "up")
	guestRun(t, "ipvsadm", "-C")
	t.Cleanup(func() { exec.Command("ipvsadm", "-C").Run() })

	h, rs2, _ := startGuestServers(t)
	log, _ := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	table := ipvs.NewReconciler(h, ipvs.ReconcilerConfig{Log: log})
	l, err := New(parse(t, fmt.Sprintf(guestConf, "/bin/true")), Options{
		Table:      table,
		Checks:     check.NewScheduler(check.Options{Logger: log}),
		Log:        log,
		ScriptUser: &notify.Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())},
	})
	if err != nil {
		t.Fatal(err)
	}
	const (
		svc = "-A -t 192.0.2.1:80 -s rr"
		rsA = "-a -t 192.0.2.1:80 -r 127.0.0.2:8080 -m -w 1"
		rsB = "-a -t 192.0.2.1:80 -r 127.0.0.3:8080 -m -w 1"
	)
	var armed atomic.Bool
	l.testPanic = func(ev check.Event) {
		if armed.Load() && ev.Server == "[127.0.0.2]:tcp:8080" && !ev.Up {
			panic("injected on " + ev.Reason)
		}
	}

	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		l.Run(context.Background())
	}()
	waitSaved(t, "start", svc, rsA, rsB)
	armed.Store(true)
	rs2.stop()
	select {
	case v := <-panicked:
		if v == nil {
			t.Fatal("Run returned instead of panicking")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not panic on the failure")
	}
	// The verdict was lost with the panic: the table is as it was.
	if got, want := guestSaved(t), slices.Sorted(slices.Values([]string{svc, rsA, rsB})); !slices.Equal(got, want) {
		t.Errorf("after the panic: ipvsadm -Sn:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	armed.Store(false)
	ops := table.Stats().Ops

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-errc
	}
	t.Cleanup(func() { stop() })
	waitSaved(t, "after the takeover", svc, rsB)
	if n := table.Stats().Ops - ops; n != 1 {
		t.Errorf("the takeover made %d table changes, want 1: the lost removal", n)
	}
	rs2.start(t)
	waitSaved(t, "real server back", svc, rsA, rsB)
	stop()
	if left := guestSaved(t); len(left) != 0 {
		t.Errorf("entries left after shutdown:\n%s", strings.Join(left, "\n"))
	}
}
