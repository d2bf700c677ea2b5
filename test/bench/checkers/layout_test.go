package checkers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// A layout places the lab on the guest's CPUs. With two or more, the
// daemon measured has the first CPU to itself, and the listeners and the
// test process (which reads the daemon's console and runs the
// check.Scheduler row) share the second. Real servers are other
// machines: on one shared vCPU, nearly every connection a daemon made
// woke a listener that preempted it, so the figures measured the
// interplay of the two processes under the kernel's scheduler as much as
// the daemon, and moved by a factor of two from one boot to the next.
// With one CPU everything shares it.
type layout struct {
	daemon, listeners int // a CPU, or -1 for any
}

// newLayout returns the layout for this guest and moves the test process
// to the listeners' CPU.
func newLayout() (layout, error) {
	if runtime.NumCPU() < 2 {
		return layout{daemon: -1, listeners: -1}, nil
	}
	l := layout{daemon: 0, listeners: 1}
	if err := pinProcess(l.listeners); err != nil {
		return layout{}, err
	}
	return l, nil
}

func (l layout) String() string {
	if l.daemon < 0 {
		return "daemon, listeners and test share the guest's CPU"
	}
	return fmt.Sprintf("daemon on CPU %d, listeners and test on CPU %d", l.daemon, l.listeners)
}

// statLine names the /proc/stat line of a CPU of a layout: all of them
// for -1.
func statLine(cpu int) string {
	if cpu < 0 {
		return "cpu"
	}
	return "cpu" + strconv.Itoa(cpu)
}

// pinProcess sets the CPU affinity of every thread of this process to
// cpu. Threads and processes inherit the affinity of the thread that
// starts them, so everything started later stays there too.
func pinProcess(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("pinning the test to CPU %d: %w", cpu, err)
	}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("pinning thread %d to CPU %d: %w", tid, cpu, err)
		}
	}
	return nil
}

// startOn starts cmd on cpu, or wherever the test runs when cpu < 0: the
// child inherits the affinity of the thread that forks it, which is
// this goroutine's while it is locked to it.
func startOn(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("reading the test's CPU affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("moving to CPU %d to start %s: %w", cpu, cmd.Path, err)
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		return fmt.Errorf("moving back from CPU %d: %w", cpu, rerr)
	}
	return err
}
