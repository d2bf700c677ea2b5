package reaper

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		line  string
		state byte
		ppid  int
		ok    bool
	}{
		{"123 (sleep) Z 77 123 1 0", 'Z', 77, true},
		{"123 (a) b) c) S 1 2", 'S', 1, true},
		{"123 (x", 0, 0, false},
		{"123 (x) R", 0, 0, false},
	} {
		state, ppid, ok := parseStat([]byte(tc.line))
		if state != tc.state || ppid != tc.ppid || ok != tc.ok {
			t.Errorf("parseStat(%q) = %c %d %v", tc.line, state, ppid, ok)
		}
	}
}

// stateOf returns a process's state letter, or 0 once it is gone.
func stateOf(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s, _, ok := parseStat(b)
	if !ok {
		return 0
	}
	return s
}

// TestReaper: a script that double-forks leaves an orphan that becomes
// this process's child and is reaped once it exits, while children
// started with os/exec, exiting at the same time, still get their exit
// status from Wait, even one waited for a while after it exited.
func TestReaper(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := logrus.New()
	log.SetLevel(logrus.DebugLevel)
	log.Out = os.Stderr
	if err := Start(ctx, log); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	var orphans []int
	for i := range 5 {
		pidFile := filepath.Join(dir, "orphan"+strconv.Itoa(i))
		// The subshell's sleep is orphaned when sh exits.
		cmd := exec.Command("/bin/sh", "-c", "(sleep 0.2; exit 3) & echo $! >"+pidFile)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		// As subreaper, this process is its parent now, not init.
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if _, ppid, ok := parseStat(b); ok && ppid != os.Getpid() {
				t.Errorf("orphan %d has parent %d, not this process", pid, ppid)
			}
		}
		orphans = append(orphans, pid)
	}

	// Meanwhile, children of ours exit with a status Wait must see.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("/bin/sh", "-c", "exit "+strconv.Itoa(i%5))
			if err := cmd.Start(); err != nil {
				errs <- err
				return
			}
			if i%10 == 0 {
				// Exited and not yet waited for: a zombie for a while.
				time.Sleep(500 * time.Millisecond)
			}
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != i%5 {
				errs <- &os.SyscallError{Syscall: "wait " + strconv.Itoa(i) + " exit " + strconv.Itoa(code), Err: err}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("an exec child lost its status: %v", err)
	}

	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range orphans {
		for stateOf(pid) != 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if s := stateOf(pid); s != 0 {
			t.Errorf("orphan %d is still there, state %c", pid, s)
		}
	}
}
