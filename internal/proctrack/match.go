// Package proctrack counts the running processes that match
// keepalived's vrrp_track_process definitions and reports when a count
// enters or leaves its quorum, as keepalived 2.2.7 does: one scan of /proc
// at start, then the kernel's process connector (exec, comm, fork and
// exit events), with a new scan after the connector overflows. Where the
// connector refuses (a network namespace other than the initial one), it
// watches /proc instead: new processes by polling, the exits of counted
// ones through pidfds.
package proctrack

import (
	"bytes"
	"strings"
	"time"
)

// ParamMatch is how a process's arguments are compared with those of its
// definition.
type ParamMatch int

// The param_match modes. With ParamMatchNone the arguments do not count.
const (
	ParamMatchNone    ParamMatch = iota
	ParamMatchExact              // the same arguments, no more
	ParamMatchPartial            // the given arguments first, maybe more after
	ParamMatchInitial            // as partial, the last one only a prefix
)

// A Spec is a vrrp_track_process block.
type Spec struct {
	Name    string
	Process string // process: the comm name, or argv[0] with FullCommand
	// Params are the words following the name on the process line.
	Params      []string
	ParamMatch  ParamMatch
	FullCommand bool // full_command: match the command line, not comm
	// Quorum and QuorumMax bound the number of matching processes for
	// the process to count as up; QuorumMax 0 with Quorum 0 means the
	// process must not run.
	Quorum, QuorumMax uint32
	// TerminateDelay holds a loss of quorum through exits that long
	// before it counts; ForkDelay a gain through forks.
	TerminateDelay, ForkDelay time.Duration
}

// A Proc is what the matching needs of one process.
type Proc struct {
	PID, PPID int
	Comm      string // as in /proc/PID/comm
	// Cmdline is the start of /proc/PID/cmdline: the arguments, each
	// ending in a NUL byte, as long as the longest definition needs.
	Cmdline []byte
	Start   uint64 // the start time, telling a reused PID from its first
}

// params is the definition's arguments as they appear in a command line,
// each ending in a NUL byte.
func (s *Spec) params() []byte {
	if len(s.Params) == 0 {
		return nil
	}
	return []byte(strings.Join(s.Params, "\x00") + "\x00")
}

// cmdlineLen is how much of a command line matching s needs: keepalived
// reads no more, so as not to page in a process's memory for nothing,
// and one byte more tells a longer command line.
func (s *Spec) cmdlineLen() int {
	return len(s.Process) + 1 + len(s.params()) + 1
}

// Match reports whether p is one of s's processes. comm alone is checked
// when cmdline is false: a comm event says nothing of the command line.
func (s *Spec) Match(p *Proc, cmdline bool) bool {
	if s.FullCommand && !cmdline {
		return false
	}
	if !s.FullCommand {
		// With arguments to compare, FullCommand is set.
		return p.Comm == s.Process
	}
	name := p.Cmdline
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	if string(name) != s.Process {
		return false
	}
	if s.ParamMatch == ParamMatchNone {
		return true
	}
	// No NUL after the name (a process that rewrote its command line):
	// keepalived's length underflows, so that only a loose match of no
	// arguments passes.
	if len(p.Cmdline) == len(name) {
		return len(s.Params) == 0 && s.ParamMatch != ParamMatchExact
	}
	return s.checkParams(p.Cmdline[len(name)+1:])
}

// checkParams compares a command line's arguments with s's, as
// keepalived's check_params does.
func (s *Spec) checkParams(have []byte) bool {
	want := s.params()
	switch {
	case s.ParamMatch == ParamMatchExact:
		return bytes.Equal(have, want)
	case len(have) < len(want):
		return false
	case want == nil:
		return true
	case s.ParamMatch == ParamMatchPartial:
		return bytes.HasPrefix(have, want)
	}
	// Initial: the last argument given may be the start of the
	// process's.
	return bytes.HasPrefix(have, want[:len(want)-1])
}

// inQuorum reports whether n processes make a quorum for s.
func (s *Spec) inQuorum(n uint32) bool {
	return n >= s.Quorum && n <= s.QuorumMax
}
