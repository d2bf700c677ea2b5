// Package reaper makes the daemon the child subreaper of the scripts it
// runs, as keepalived's start_keepalived does with
// prctl(PR_SET_CHILD_SUBREAPER), and reaps the orphans that then become
// its children: a script that double-forks leaves a grandchild that would
// otherwise stay a zombie for ever when the daemon is PID 1 in a
// container, or be lost to the init of the host.
//
// The daemon's own children are waited for by whoever started them (each
// os/exec.Cmd's Wait), and that Wait must get their exit status. A child
// is taken for an orphan only when it stays a zombie, with no Wait taking
// it, across two scans at least Grace apart: every part of the daemon
// waits for a child as soon as it starts it, so one of its own exited
// children is reaped within milliseconds. Each orphan is reaped with
// wait4 on its own pid, never with a wait for any child.
package reaper

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Defaults of a Reaper's timings.
const (
	// Grace is how long a zombie child must stay one before it is taken
	// for an orphan.
	Grace = 2 * time.Second
	// rescan bounds the time between scans when no SIGCHLD comes, as
	// signals of children exiting together are merged.
	rescan = 30 * time.Second
)

// Start makes the process a child subreaper and reaps orphaned zombies
// until ctx ends.
func Start(ctx context.Context, log logrus.FieldLogger) error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting the process as child subreaper: %w", err)
	}
	r := &reaper{log: log, pid: os.Getpid(), grace: Grace, seen: make(map[int]time.Time)}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	go func() {
		defer signal.Stop(sigs)
		r.run(ctx, sigs)
	}()
	return nil
}

type reaper struct {
	log   logrus.FieldLogger
	pid   int
	grace time.Duration
	// seen holds the zombie children of the last scan and when each was
	// first seen.
	seen map[int]time.Time
}

func (r *reaper) run(ctx context.Context, sigs <-chan os.Signal) {
	timer := time.NewTimer(rescan)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		case <-timer.C:
		}
		next := r.scan(time.Now())
		if next <= 0 {
			next = rescan
		}
		timer.Reset(next)
	}
}

// scan reaps the zombie children first seen at least grace ago and
// returns when to scan again: after grace when a zombie waits for its
// turn, otherwise 0.
func (r *reaper) scan(now time.Time) time.Duration {
	zombies := r.zombieChildren()
	seen := make(map[int]time.Time, len(zombies))
	var next time.Duration
	for _, pid := range zombies {
		first, ok := r.seen[pid]
		if !ok {
			first = now
		}
		if now.Sub(first) < r.grace {
			seen[pid] = first
			if wait := r.grace - now.Sub(first); next == 0 || wait < next {
				next = wait
			}
			continue
		}
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case err != nil:
			// Its owner took it meanwhile (ECHILD).
		case got == pid:
			r.log.Debugf("Reaped orphan process %d (%s)", pid, describe(ws))
		default:
			seen[pid] = first
		}
	}
	r.seen = seen
	return next
}

// zombieChildren lists the children of this process that are zombies.
func (r *reaper) zombieChildren() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + n + "/stat")
		if err != nil {
			continue
		}
		if state, ppid, ok := parseStat(b); ok && state == 'Z' && ppid == r.pid {
			out = append(out, pid)
		}
	}
	return out
}

// parseStat reads the state and the parent pid from a /proc/PID/stat
// line: "pid (comm) state ppid ...", where comm may hold anything,
// parentheses and spaces included.
func parseStat(b []byte) (state byte, ppid int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], ppid, true
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}
