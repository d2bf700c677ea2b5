// Package soak runs a director pair for minutes under real-server churn and
// checks that the daemon neither leaks nor drifts: two gokeepalived daemons
// in network namespaces on one bridge, 50 VRRP instances and 500 checked
// real servers (TCP_CHECK and HTTP_GET, delay_loop 1 and 2) whose listeners
// the test stops and restarts on a seeded random schedule.
//
// Every ten seconds the test samples each daemon's resident memory, open
// file descriptors, goroutines and VRRP transitions; every two seconds it
// reads each daemon's status from its control socket and compares the
// checkers' view of every real server with the listener's state. At the
// end it requires flat memory, goroutines and descriptors over the second
// half of the run, no VRRP transition after the initial election, every
// flap seen by both daemons and no stale view.
//
// The checkers need IPVS. When the kernel running the test has none, as on
// hosts without the ip_vs module, TestSoak boots the guest of test/vm and
// runs itself there. Under qemu's emulation (TCG) a check costs the guest
// far more CPU than on hardware, so the guest checks at delay_loop 4 and 8
// instead of 1 and 2 (guestTiming); the real servers, the flaps and the
// assertions are the same.
//
// The emulated guest needs the machine's CPUs to itself: on a host busy
// with other guests, a backup director joining a master that already ran
// its checkers timed out on adverts the master did send, and a director
// paused by the host for a second or two read a few real servers late.
// make test therefore runs the soak last, alone, for six minutes; make
// soak runs it for longer. On hardware with IPVS it has not run yet.
//
// Environment: SOAK_DURATION (default and least 5m) is how long the real servers
// flap; SOAK_SEED (default random, printed) fixes the flap schedule;
// SOAK_DELAY_LOOP=LOW,HIGH sets the two delay_loop values. The whole test
// takes one to two minutes more than SOAK_DURATION; give go test a
// -timeout to match, for instance -timeout 30m for SOAK_DURATION=20m.
package soak

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

const (
	defaultDuration = 5 * time.Minute
	// minDuration is the shortest run whose slopes mean anything: a
	// 1-minute run applied no flap and fitted its goroutine slope over
	// 30 seconds of start-up noise. Every run that passed was 5 minutes
	// or longer.
	minDuration = 5 * time.Minute
	// setupTypical is what the test usually needs besides flapping:
	// building, booting the guest, the two directors settling and the
	// final checks. setupMax allows for the settling at its slowest
	// (90 s for each director).
	setupTypical = 2 * time.Minute
	setupMax     = 5 * time.Minute
)

// TestSoak is the soak test. Outside the kernel guest and without IPVS it
// builds the daemon and this test binary, boots the guest and runs itself
// there.
func TestSoak(t *testing.T) {
	dur, seed := settings(t)
	if vm.InGuest() {
		soak(t, filepath.Join(mustGetwd(t), "gokeepalived"), dur, seed, pace(t, guestTiming))
		return
	}
	nettest.RequireRoot(t)
	if deadline, ok := t.Deadline(); ok && time.Until(deadline) < dur+setupTypical {
		t.Fatalf("SOAK_DURATION=%s needs a test timeout of at least %s; run go test with -timeout %s",
			dur, dur+setupTypical, dur+setupMax+time.Minute)
	}
	if hasIPVS() {
		bin := filepath.Join(t.TempDir(), "gokeepalived")
		vm.Build(t, t.Context(), "build", "-o", bin, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
		soak(t, bin, dur, seed, pace(t, nativeTiming))
		return
	}
	inGuest(t, dur, seed)
}

// settings reads SOAK_DURATION and SOAK_SEED.
func settings(t *testing.T) (time.Duration, uint64) {
	t.Helper()
	dur := defaultDuration
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < minDuration {
			t.Fatalf("SOAK_DURATION=%q: want a duration of at least %v", s, minDuration)
		}
		dur = d
	}
	seed := rand.Uint64() >> 1
	if s := os.Getenv("SOAK_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SOAK_SEED=%q: %v", s, err)
		}
		seed = v
	}
	return dur, seed
}

// pace returns the checkers' timing: SOAK_DELAY_LOOP's delay loops with
// base's connect_timeout, or base.
func pace(t *testing.T, base timing) timing {
	t.Helper()
	s := os.Getenv("SOAK_DELAY_LOOP")
	if s == "" {
		return base
	}
	tm, err := parseTiming(s, base)
	if err != nil {
		t.Fatalf("SOAK_DELAY_LOOP: %v", err)
	}
	return tm
}

// hasIPVS reports whether the running kernel offers IPVS to the checkers.
func hasIPVS() bool {
	_, err := netlink.GenlFamilyGet("IPVS")
	return err == nil
}

// inGuest boots the kernel guest with two vCPUs (the daemons and the real
// servers run at once) and runs TestSoak there with the same settings.
func inGuest(t *testing.T, dur time.Duration, seed uint64) {
	vm.Require(t)
	ctx, cancel := vm.Context(t)
	defer cancel()
	for k, v := range map[string]string{"VMRUN_SMP": "2", "VMRUN_MEM": "2048"} {
		if os.Getenv(k) == "" {
			t.Setenv(k, v)
		}
	}
	dir := t.TempDir()
	vm.Build(t, ctx, "build", "-o", filepath.Join(dir, "gokeepalived"), "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	if err := vm.StaticTestBinary(ctx, filepath.Join(dir, "soak.test")); err != nil {
		t.Fatal(err)
	}
	guestTimeout := dur + setupMax
	if deadline, ok := ctx.Deadline(); ok {
		// The guest must report before the host gives up on it.
		guestTimeout = min(guestTimeout, time.Until(deadline)-30*time.Second)
	}
	env := ""
	if s := os.Getenv("SOAK_DELAY_LOOP"); s != "" {
		tm := pace(t, guestTiming) // fails here on a bad value
		env = fmt.Sprintf("SOAK_DELAY_LOOP=%d,%d ", tm.delays[0], tm.delays[1])
	}
	command := fmt.Sprintf("%sSOAK_DURATION=%s SOAK_SEED=%d ./soak.test -test.v -test.count=1 -test.run '^TestSoak$' -test.timeout=%s",
		env, dur, seed, guestTimeout.Round(time.Second))
	vm.RunCommand(t, ctx, dir, command)
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
