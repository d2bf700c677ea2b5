package checkers

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

// pinEnv tells the test binary, run again by TestPinProcess, to pin
// itself to the CPU it names.
const pinEnv = "GOKEEPALIVED_BENCH_PIN"

// TestPinProcess runs TestPinProcessHelper in a process of its own, since
// pinProcess moves every thread of the process that calls it.
func TestPinProcess(t *testing.T) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	if set.Count() < 2 {
		t.Skip("the test may run on one CPU only: pinning would change nothing")
	}
	cpu := -1
	for i := range 1024 {
		if set.IsSet(i) {
			cpu = i
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run", "^TestPinProcessHelper$", "-test.v")
	cmd.Env = append(os.Environ(), pinEnv+"="+strconv.Itoa(cpu))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestPinProcessHelper") {
		t.Errorf("pinning a process to CPU %d: %v\n%s", cpu, err, out)
	}
}

// TestPinProcessHelper pins its process, then checks that every thread,
// including those the runtime starts afterwards, and a child run on CPU
// pinEnv alone.
func TestPinProcessHelper(t *testing.T) {
	spec := os.Getenv(pinEnv)
	if spec == "" {
		t.Skip("run by TestPinProcess")
	}
	cpu, err := strconv.Atoi(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := pinProcess(cpu); err != nil {
		t.Fatal(err)
	}
	// Goroutines locked to threads of their own make the runtime start
	// new ones, which must inherit the pin.
	release := make(chan struct{})
	var started sync.WaitGroup
	for range 4 {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			<-release
		}()
	}
	started.Wait()
	defer close(release)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) < 5 {
		t.Errorf("%d threads, want at least 5", len(tasks))
	}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			t.Fatalf("thread %d: %v", tid, err)
		}
		if set.Count() != 1 || !set.IsSet(cpu) {
			t.Errorf("thread %d may run on %d CPUs, want CPU %d alone", tid, set.Count(), cpu)
		}
	}
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		child.Process.Kill()
		child.Wait()
	}()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(child.Process.Pid, &set); err != nil {
		t.Fatal(err)
	}
	if set.Count() != 1 || !set.IsSet(cpu) {
		t.Errorf("child may run on %d CPUs, want CPU %d alone", set.Count(), cpu)
	}
}
