package notify

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// A StartStop is keepalived's startup_script or shutdown_script: a script
// the daemon runs, and waits for, before its loops start or after they
// stop.
type StartStop struct {
	// Kind is "startup" or "shutdown"; it names the script in the log as
	// keepalived does.
	Kind string
	// Script is what runs.
	Script *Script
	// Timeout bounds the run; then the script's process group gets
	// SIGTERM, and SIGKILL if it lingers.
	Timeout time.Duration
	// Detail logs the start and the success of the script, as
	// keepalived's -D does.
	Detail bool
	// Grace is how long each signal after the timeout is given before the
	// next; zero means keepalived's 2 seconds.
	Grace time.Duration
}

// Run runs the script and returns once it has exited or, after the
// timeout and two kills, has been given up on, as keepalived's
// system_call_script and startup_shutdown_script_completed do. Failures
// are logged with keepalived's wording and never stop the daemon.
func (ss *StartStop) Run(ctx context.Context, log logrus.FieldLogger) {
	name := ss.Kind + " script"
	argv0 := ss.Script.Args[0]
	if ss.Detail {
		log.Infof("Running %s %s", name, argv0)
	}
	cmd := scriptCmd(context.Background(), ss.Script, ss.Script.Command())
	if err := cmd.Start(); err != nil {
		log.Infof("Call of %s %s failed", name, argv0)
		log.Errorf("Error exec-ing command '%s', error %v", argv0, err)
		return
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	grace := ss.Grace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	// keepalived's handle_child_timeout: SIGTERM, then SIGKILL twice,
	// the last with longer to die, then it gives up.
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, grace}, {syscall.SIGKILL, grace}, {syscall.SIGKILL, 5 * grace}}
	timer := time.NewTimer(ss.Timeout)
	defer timer.Stop()
	sent := syscall.Signal(0)
	for step := 0; ; {
		select {
		case err := <-done:
			ss.report(log, name, pid, err, sent)
			return
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return
		case <-timer.C:
		}
		if step == len(steps) {
			return // keepalived gives up on the script
		}
		switch step {
		case 0:
			log.Infof("%s timed out", name)
		case 2:
			log.Infof("%s (PID %d) failed to terminate after kill", name, pid)
		}
		sent = steps[step].sig
		if err := syscall.Kill(-pid, sent); errors.Is(err, syscall.ESRCH) {
			log.Infof("%s (PID %d) lost", name, pid)
		}
		timer.Reset(steps[step].wait)
		step++
	}
}

// report logs how the script ended, as keepalived does.
func (ss *StartStop) report(log logrus.FieldLogger, name string, pid int, err error, sent syscall.Signal) {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		if ss.Detail {
			log.Infof("%s script succeeded", name)
		}
	case errors.As(err, &exitErr):
		ws, ok := exitErr.Sys().(syscall.WaitStatus)
		switch {
		case ok && ws.Exited():
			log.Infof("%s script failed, status %d", name, ws.ExitStatus())
		case ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM && sent == syscall.SIGTERM:
			// It ended on the SIGTERM of the timeout: whatever it
			// started must go too.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	default:
		log.Errorf("%s %s: %v", name, ss.Script.Args[0], err)
	}
}
