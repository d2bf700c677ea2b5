package vrrp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A TrackScript is a vrrp_script: a command run every interval whose exit
// status, filtered by rise and fall, moves the priority of the instances
// tracking it or puts them in FAULT.
type TrackScript struct {
	Name string
	// Args is the script split into words, as keepalived executes it:
	// without a shell.
	Args     []string
	Interval time.Duration // interval; zero: one second
	Timeout  time.Duration // timeout; zero: the interval
	Rise     int           // rise; zero: 1
	Fall     int           // fall; zero: 1
	InitFail bool          // init_fail: failed until it first succeeds
	// Credential is the user and group (user) the script runs as; nil:
	// the daemon's.
	Credential *syscall.Credential
}

// A TrackedScript is a track_script entry of an instance. Weight is the
// entry's own or, when it has none, the vrrp_script's; with weight 0 the
// instance is in FAULT while the script fails. A positive weight is added
// to the priority while the script succeeds, a negative one while it
// fails; Reverse subtracts instead. The daemon sets weights to 0 in sync
// groups, as keepalived does unless sync_group_tracking_weight is set.
type TrackedScript struct {
	Script  *TrackScript
	Weight  int
	Reverse bool
}

// A TrackFile is a track_file block: a file holding a number that,
// multiplied by the tracking weight, moves the priority of the instances
// tracking it. It is read again whenever it is written, moved or deleted
// (inotify); a missing or unreadable file counts as 0.
type TrackFile struct {
	Name string
	Path string
}

// A TrackedFile is a track_file entry of an instance. With weight 0 a
// non-zero value puts the instance in FAULT; otherwise the value times
// the weight (negated when Reverse) is added to the priority, and a
// result below -253 means FAULT.
type TrackedFile struct {
	File    *TrackFile
	Weight  int
	Reverse bool
}

// A ScriptRunner runs track scripts. The daemon may give the Router one
// sharing its notify scripts' runner and script security; ExecRunner is
// the default.
type ScriptRunner interface {
	// RunScript runs s and returns its exit status with a nil error
	// once it exits. When ctx ends first it kills the script and what it
	// started and returns ctx's error; any other error means the script
	// did not start or died of a signal. It must not outlive ctx by more
	// than the few seconds a kill takes.
	RunScript(ctx context.Context, s *TrackScript) (status int, err error)
}

// ExecRunner runs track scripts with os/exec, each in a process group of
// its own that is sent SIGTERM when the script overruns its timeout and
// SIGKILL two seconds later, as keepalived does.
type ExecRunner struct{}

// killGrace is how long a timed-out script has between SIGTERM and
// SIGKILL.
const killGrace = 2 * time.Second

// RunScript implements ScriptRunner.
func (ExecRunner) RunScript(ctx context.Context, s *TrackScript) (int, error) {
	if len(s.Args) == 0 {
		return -1, fmt.Errorf("running track script %s: no command", s.Name)
	}
	cmd := exec.Command(s.Args[0], s.Args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.Credential}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("running track script %s: %w", s.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, nil
		case errors.As(err, &ee) && ee.Exited():
			return ee.ExitCode(), nil
		}
		return -1, fmt.Errorf("running track script %s: %w", s.Name, err)
	case <-ctx.Done():
	}
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
		// Its children may outlive it: they are in its group.
		syscall.Kill(-pgid, syscall.SIGKILL)
	case <-time.After(killGrace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	return -1, ctx.Err()
}

// scriptState is keepalived's reading of a script's results: result
// counts from 0 (failed) up to rise+fall-1 (succeeding), the script being
// good from rise on, so that rise successes or fall failures in a row
// change its state.
type scriptState struct {
	rise, fall int
	result     int
	init       bool // no result yet, and not init_fail
	lastStatus int
	statusSet  bool
	ran        bool // a first result came: keepalived's init_state DONE
}

func newScriptState(rise, fall int, initFail bool) scriptState {
	s := scriptState{rise: max(rise, 1), fall: max(fall, 1)}
	if !initFail {
		// One success is enough to start good.
		s.init, s.result = true, s.rise-1
	}
	return s
}

func (s *scriptState) good() bool { return s.result >= s.rise }

// carry takes over old's state, counted with s's rise and fall.
func (s *scriptState) carry(old *scriptState) {
	s.init, s.lastStatus, s.statusSet, s.ran = old.init, old.lastStatus, old.statusSet, old.ran
	switch {
	case old.init:
		s.result = s.rise - 1
	case old.good():
		s.result = s.rise + s.fall - 1
	default:
		s.result = 0
	}
}

// record applies one run's outcome and reports whether the script
// changed state, leaving init included.
func (s *scriptState) record(success bool) bool {
	wasInit := s.init
	s.init, s.ran = false, true
	if success {
		switch {
		case s.result < s.rise-1:
			s.result++
			return false
		case s.result == s.rise+s.fall-1:
			return false
		}
		changed := s.result < s.rise
		s.result = s.rise + s.fall - 1
		return changed
	}
	if s.result > s.rise {
		s.result--
		return false
	}
	changed := s.result == s.rise || wasInit
	s.result = 0
	return changed
}

// effect is what a script in state s does to an instance tracking it
// with weight and reverse: FAULT, or an offset to its priority.
func (s *scriptState) effect(weight int, reverse bool) (fault bool, offset int) {
	if s.init {
		// keepalived holds the instance until the script's first
		// result, and moves no priority before it.
		return weight == 0, 0
	}
	good := s.good()
	if weight == 0 {
		return good == reverse, 0
	}
	sign := 1
	if reverse {
		sign = -1
	}
	if good == (weight > 0) {
		return false, weight * sign
	}
	return false, 0
}

// fileEffect is what a track file holding value does to an instance
// tracking it with weight and reverse.
func fileEffect(value, weight int, reverse bool) (fault bool, offset int) {
	if weight == 0 {
		return (value != 0) != reverse, 0
	}
	if reverse {
		weight = -weight
	}
	status := min(max(value*weight, -254), 253)
	if status == -254 {
		return true, 0
	}
	return false, status
}

// readTrackFile reads the number in a track file as keepalived does, with
// strtol: decimal, 0x hexadecimal or 0 octal, leading blanks and trailing
// text ignored, 0 when there is none or the file cannot be read, and
// limited to ±254.
func readTrackFile(path string) int {
	// Non-blocking, as keepalived opens it: a FIFO put at the path
	// would otherwise block the open until a writer came.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 127)
	n, _ := f.Read(buf)
	return min(max(parseStrtol(string(buf[:n])), -254), 254)
}

func parseStrtol(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digit(s[2], 16) >= 0:
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	v := 0
	for k := 0; k < len(s); k++ {
		d := digit(s[k], base)
		if d < 0 {
			break
		}
		// Saturate: the value is clamped anyway.
		v = min(v*base+d, 1<<20)
	}
	if neg {
		v = -v
	}
	return v
}

func digit(c byte, base int) int {
	d := -1
	switch {
	case c >= '0' && c <= '9':
		d = int(c - '0')
	case c >= 'a' && c <= 'f':
		d = int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = int(c-'A') + 10
	}
	if d >= base {
		return -1
	}
	return d
}

// sameScript reports whether a and b run the same way, so that a reload
// keeps the script's state.
func sameScript(a, b *TrackScript) bool {
	return a.Name == b.Name && slices.Equal(a.Args, b.Args) && a.Interval == b.Interval &&
		a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall && a.InitFail == b.InitFail &&
		sameCredential(a.Credential, b.Credential)
}

func sameCredential(a, b *syscall.Credential) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Uid == b.Uid && a.Gid == b.Gid && slices.Equal(a.Groups, b.Groups) && a.NoSetGroups == b.NoSetGroups
}
