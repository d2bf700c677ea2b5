package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// guestNetemDuration is how long TestChaosNetemGuest applies netem
// faults; CHAOS_NETEM_DURATION overrides it.
const guestNetemDuration = 60 * time.Second

// TestChaosNetemGuest runs TestChaos's netem fault (delay, jitter and loss
// on a director's link) where this kernel has no sch_netem: in the kernel
// guest of test/vm, whose Debian kernel has it, with the netem fault
// alone, the same seed and advert_int 1 s, for the margin an emulated CPU
// needs. On a kernel with sch_netem TestChaos applies it itself and this
// test skips.
func TestChaosNetemGuest(t *testing.T) {
	if vm.InGuest() {
		t.Skip("TestChaos is the test inside the guest")
	}
	nettest.RequireRoot(t)
	if kernelHasNetem(t) {
		t.Skip("this kernel has sch_netem: TestChaos applies the netem fault")
	}
	vm.Require(t)
	duration := guestNetemDuration
	if s := os.Getenv("CHAOS_NETEM_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("CHAOS_NETEM_DURATION=%q: want a positive duration", s)
		}
		duration = d
	}
	seed, _, _, _, err := settings()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := vm.Context(t)
	defer cancel()
	// The guest has no tc, test(1) of chk_health or the lab's modules by
	// default (nettest's netlink handles open the xfrm and netfilter
	// families); three directors and a client want two vCPUs.
	guestEnv := map[string]string{
		"VMRUN_EXTRA_BINS":    "tc /usr/bin/test",
		"VMRUN_EXTRA_MODULES": "sch_netem cls_u32 cls_bpf act_mirred sch_ingress veth bridge xfrm_user nfnetlink",
		"VMRUN_SMP":           "2",
		"VMRUN_MEM":           "1024",
	}
	for k, v := range guestEnv {
		if os.Getenv(k) == "" {
			t.Setenv(k, v)
		}
	}
	dir := t.TempDir()
	vm.Build(t, ctx, "build", "-o", filepath.Join(dir, "gokeepalived"), "github.com/gokeepalived/gokeepalived/cmd/gokeepalived")
	if err := vm.StaticTestBinary(ctx, filepath.Join(dir, "chaos.test")); err != nil {
		t.Fatal(err)
	}
	// CI=true: should the guest fail to attach a netem qdisc, TestChaos
	// fails instead of leaving the fault out.
	command := fmt.Sprintf("CI=true %s=netem %s=%s %s=%d %s=1s %s=/work/gokeepalived ./chaos.test -test.v -test.count=1 -test.run '^TestChaos$' -test.timeout=%s",
		envFaults, envDuration, duration, envSeed, seed, envAdvert, envBin, (duration + 5*time.Minute).Round(time.Second))
	vm.RunCommand(t, ctx, dir, command)
}

// kernelHasNetem reports whether a netem qdisc can be attached here, on
// the loopback link of a namespace of its own.
func kernelHasNetem(t *testing.T) bool {
	t.Helper()
	exec.Command("modprobe", "-q", "sch_netem").Run()
	ns := fmt.Sprintf("chaos-netem-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	return exec.Command("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").Run() == nil
}
