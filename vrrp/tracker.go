package vrrp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// A scriptTracker runs one vrrp_script for every instance tracking it.
// Its state belongs to the Router's lock.
type scriptTracker struct {
	script *TrackScript
	state  scriptState
	stop   context.CancelFunc // nil until started
}

func newScriptTracker(s *TrackScript) *scriptTracker {
	return &scriptTracker{script: s, state: newScriptState(s.Rise, s.Fall, s.InitFail)}
}

// start runs the script every interval, at once first, until ctx ends or
// close, reporting each outcome, in a goroutine counted by wg; a run
// still going when the next is due makes that one skipped, as keepalived
// does.
func (t *scriptTracker) start(ctx context.Context, wg *sync.WaitGroup, runner ScriptRunner, g *guard, report func(status int, err error)) {
	log := g.log
	what := "track script " + t.script.Name
	ctx, t.stop = context.WithCancel(ctx)
	interval := t.script.Interval
	if interval <= 0 {
		interval = time.Second
	}
	timeout := t.script.Timeout
	if timeout <= 0 {
		timeout = interval
	}
	type outcome struct {
		status int
		err    error
		none   bool // the runner panicked: no result
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		results := make(chan outcome, 1)
		running := false
		run := func() {
			running = true
			go func() {
				o := outcome{none: true}
				g.run(what, func() {
					rctx, cancel := context.WithTimeout(ctx, timeout)
					defer cancel()
					status, err := runner.RunScript(rctx, t.script)
					if err != nil && rctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
						err = context.DeadlineExceeded
					}
					o = outcome{status: status, err: err}
				})
				results <- o
			}()
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		run()
		for {
			select {
			case <-ctx.Done():
				if running {
					<-results
				}
				return
			case <-tick.C:
				if running {
					log.Infof("Track script %s is already running, expect idle - skipping run", t.script.Name)
					continue
				}
				run()
			case o := <-results:
				running = false
				if ctx.Err() == nil && !o.none {
					g.run(what, func() { report(o.status, o.err) })
				}
			}
		}
	}()
}

// close stops the script, killing a run under way, without waiting.
func (t *scriptTracker) close() {
	if t.stop != nil {
		t.stop()
	}
}

// record logs and applies one outcome as keepalived's
// vrrp_script_child_thread does, and reports whether the script changed
// state.
func (t *scriptTracker) record(status int, err error, log logrus.FieldLogger) bool {
	name := t.script.Name
	var why string
	timedOut := false
	var ee *exec.ExitError
	switch {
	case err == nil:
		if !t.state.statusSet || status != t.state.lastStatus {
			log.Infof("Script `%s` now returning %d", name, status)
		}
		t.state.lastStatus, t.state.statusSet = status, true
		if status != 0 {
			why = fmt.Sprintf(" (exited with status %d)", status)
		}
	case errors.Is(err, context.DeadlineExceeded):
		timedOut = true
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			why = fmt.Sprintf(" (due to signal %d)", int(ws.Signal()))
		}
	default:
		why = fmt.Sprintf(" (%v)", err)
	}
	success := err == nil && status == 0
	if !t.state.record(success) {
		return false
	}
	switch {
	case success:
		log.Infof("VRRP_Script(%s) succeeded", name)
	case timedOut:
		log.Infof("VRRP_Script(%s) timed_out", name)
	default:
		log.Infof("VRRP_Script(%s) failed%s", name, why)
	}
	return true
}

// A fileTracker follows one track_file with inotify. Its value belongs
// to the Router's lock.
type fileTracker struct {
	file  *TrackFile
	path  string // absolute
	value int
	f     *os.File // the inotify descriptor; nil until started
}

func newFileTracker(tf *TrackFile) (*fileTracker, error) {
	path, err := filepath.Abs(tf.Path)
	if err != nil {
		return nil, fmt.Errorf("track file %s: %w", tf.Name, err)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("Track file directory for %s does not exist", tf.Name)
	}
	return &fileTracker{file: tf, path: path}, nil
}

// close stops watching, without waiting.
func (t *fileTracker) close() {
	if t.f != nil {
		t.f.Close()
	}
}
