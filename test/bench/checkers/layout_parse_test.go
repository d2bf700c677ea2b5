package checkers

import (
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStartOn starts a child on the last CPU the test may use, and checks
// that the child is pinned to it alone and that the starting thread got
// its own affinity back.
func TestStartOn(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := range 1024 {
		if before.IsSet(i) {
			cpu = i
		}
	}
	if cpu < 0 {
		t.Fatal("the test's affinity holds no CPU")
	}
	cmd := exec.Command("sleep", "30")
	if err := startOn(cmd, cpu); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var child, after unix.CPUSet
	if err := unix.SchedGetaffinity(cmd.Process.Pid, &child); err != nil {
		t.Fatal(err)
	}
	if child.Count() != 1 || !child.IsSet(cpu) {
		t.Errorf("child's affinity has %d CPUs, want CPU %d alone", child.Count(), cpu)
	}
	if err := unix.SchedGetaffinity(0, &after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the starting thread's affinity is %d CPUs after, %d before", after.Count(), before.Count())
	}
}
