package check

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultMiscMaxOutput caps the output kept from a MISC_CHECK script.
const DefaultMiscMaxOutput = 4096

// miscKillGrace is how long a timed-out script's process group has between
// SIGTERM and SIGKILL, as keepalived allows its scripts.
const miscKillGrace = 2 * time.Second

// MiscCheck is keepalived's MISC_CHECK: a program run once per attempt.
// Exit status 0 is up and 1 is down; with Dynamic, 2 to 255 is up with the
// real server's weight set to the status minus 2. Without Dynamic any
// non-zero status is down. The attempt's deadline is misc_timeout: the
// program's whole process group is then sent SIGTERM, and SIGKILL two
// seconds later.
type MiscCheck struct {
	// Args is misc_path split into words; Args[0] is the program.
	Args []string
	// Dynamic is misc_dynamic.
	Dynamic bool
	// Credential runs the program as another user (user USERNAME
	// [GROUPNAME]); nil runs it as this process.
	Credential *syscall.Credential
	// Env is the program's environment; nil means this process's.
	Env []string
	// MaxOutput caps the stdout and stderr kept for the error message;
	// zero means DefaultMiscMaxOutput. The rest is read and dropped.
	MaxOutput int
}

// Check runs the program and ignores any weight it sets.
func (c *MiscCheck) Check(ctx context.Context) error {
	_, _, err := c.CheckWeight(ctx, 0)
	return err
}

// CheckWeight runs the program. With Dynamic, a status of 2 to 255 sets the
// weight to status-2, so the adjustment is that minus configured; status 0
// leaves the weight alone.
func (c *MiscCheck) CheckWeight(ctx context.Context, configured int) (delta int, changed bool, err error) {
	if len(c.Args) == 0 {
		return 0, false, errors.New("MISC_CHECK has no misc_path")
	}
	maxOut := c.MaxOutput
	if maxOut <= 0 {
		maxOut = DefaultMiscMaxOutput
	}
	out := &capWriter{max: maxOut}
	cmd := exec.Command(c.Args[0], c.Args[1:]...)
	cmd.Env = c.Env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Credential}
	// Children that outlive the script must not hold Wait on the output
	// pipes.
	cmd.WaitDelay = 100 * time.Millisecond
	if err := cmd.Start(); err != nil {
		return 0, false, fmt.Errorf("running MISC_CHECK %s: %w", c.Args[0], err)
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(miscKillGrace):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		return 0, false, fmt.Errorf("MISC_CHECK %s timed out: %w", c.Args[0], ctx.Err())
	}

	if errors.Is(waitErr, exec.ErrWaitDelay) {
		// The program exited, but its output pipes stayed open past
		// WaitDelay: a child it left holds them, or a loaded system did
		// not run the copy in time. Its exit status stands, as
		// keepalived takes it from the exit alone.
		waitErr = nil
		if st := cmd.ProcessState; st != nil && !st.Success() {
			waitErr = &exec.ExitError{ProcessState: st}
		}
	}
	status := 0
	if waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return 0, false, fmt.Errorf("running MISC_CHECK %s: %w", c.Args[0], waitErr)
		}
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return 0, false, fmt.Errorf("MISC_CHECK %s killed by %v%s", c.Args[0], ws.Signal(), out.suffix())
		}
		status = ee.ExitCode()
	}
	switch {
	case status == 0:
		return 0, false, nil
	case c.Dynamic && status >= 2:
		return status - 2 - configured, true, nil
	}
	return 0, false, fmt.Errorf("MISC_CHECK %s exited with status %d%s", c.Args[0], status, out.suffix())
}

// capWriter keeps the first max bytes written to it and counts the rest.
type capWriter struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := min(len(p), w.max-len(w.buf))
	w.buf = append(w.buf, p[:keep]...)
	w.dropped += int64(len(p) - keep)
	return len(p), nil
}

func (w *capWriter) suffix() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return ""
	}
	if w.dropped > 0 {
		return fmt.Sprintf(": %q (%d more bytes)", w.buf, w.dropped)
	}
	return fmt.Sprintf(": %q", w.buf)
}
