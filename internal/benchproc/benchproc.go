// Package benchproc reads what a process tree has used so far, from a
// procfs, for the project's benchmarks: CPU time in nanoseconds, summed
// over every thread of the process and of its descendants
// (/proc/PID/task/TID/schedstat: the scheduler's own count, not the
// clock ticks of /proc/PID/stat), and peak resident memory (the sum of
// VmHWM). keepalived runs as a parent and one child per loop, gokeepalived
// as one process: the tree is what compares like with like.
//
// CPU time of threads and processes that exited is not counted; the
// benchmarks' daemons keep their threads and children for their lifetime.
// For a process that has exited, use its rusage from wait4 instead
// (Rusage).
package benchproc

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Usage is what a process tree has used so far.
type Usage struct {
	Procs int           // processes in the tree
	CPU   time.Duration // on-CPU time of all their threads
	HWM   uint64        // sum of their peak resident set sizes, bytes
	RSS   uint64        // sum of their resident set sizes now, bytes
}

// Tree returns the usage of root and its descendants, read from proc
// (os.DirFS("/proc") on the machine). Processes that exit while it
// reads are left out; root itself must be there.
func Tree(proc fs.FS, root int) (Usage, error) {
	pids, err := Descendants(proc, root)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	for _, pid := range pids {
		cpu, err := CPU(proc, pid)
		if err != nil {
			if pid == root {
				return Usage{}, err
			}
			continue
		}
		b, err := fs.ReadFile(proc, strconv.Itoa(pid)+"/status")
		if err != nil {
			if pid == root {
				return Usage{}, fmt.Errorf("reading usage of process %d: %w", pid, err)
			}
			continue
		}
		hwm, err := statusKB(b, "VmHWM:")
		if err != nil {
			return Usage{}, fmt.Errorf("reading usage of process %d: %w", pid, err)
		}
		rss, err := statusKB(b, "VmRSS:")
		if err != nil {
			return Usage{}, fmt.Errorf("reading usage of process %d: %w", pid, err)
		}
		u.Procs++
		u.CPU += cpu
		u.HWM += hwm
		u.RSS += rss
	}
	return u, nil
}

// Self returns the usage of the process tree rooted at pid on this
// machine's /proc.
func Self(pid int) (Usage, error) { return Tree(os.DirFS("/proc"), pid) }

// CPU returns the on-CPU time of every thread of process pid: the sum
// of the first field of /proc/PID/task/*/schedstat.
func CPU(proc fs.FS, pid int) (time.Duration, error) {
	dir := strconv.Itoa(pid) + "/task"
	tasks, err := fs.ReadDir(proc, dir)
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of process %d: %w", pid, err)
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := fs.ReadFile(proc, dir+"/"+t.Name()+"/schedstat")
		if err != nil {
			continue // the thread exited
		}
		ns, err := parseSchedstat(b)
		if err != nil {
			return 0, fmt.Errorf("reading CPU time of process %d thread %s: %w", pid, t.Name(), err)
		}
		sum += ns
	}
	return sum, nil
}

// parseSchedstat returns the on-CPU time of a schedstat line: "run_ns
// wait_ns timeslices".
func parseSchedstat(b []byte) (time.Duration, error) {
	f := bytes.Fields(b)
	if len(f) != 3 {
		return 0, fmt.Errorf("parsing schedstat %q: want 3 fields", bytes.TrimSpace(b))
	}
	ns, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing schedstat %q: %w", bytes.TrimSpace(b), err)
	}
	return time.Duration(ns), nil
}

// statusKB returns the value in bytes of a "Name:  N kB" line of
// /proc/PID/status.
func statusKB(status []byte, name string) (uint64, error) {
	for line := range bytes.Lines(status) {
		v, ok := bytes.CutPrefix(line, []byte(name))
		if !ok {
			continue
		}
		f := bytes.Fields(v)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("parsing %s %q", strings.TrimSuffix(name, ":"), bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %s %q: %w", strings.TrimSuffix(name, ":"), bytes.TrimSpace(line), err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("parsing /proc status: no %s", strings.TrimSuffix(name, ":"))
}

// Descendants returns root and every process below it, root first, read
// from the ppid field of /proc/PID/stat of every process.
func Descendants(proc fs.FS, root int) ([]int, error) {
	ents, err := fs.ReadDir(proc, ".")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	children := make(map[int][]int)
	seen := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pid == root {
			seen = true
		}
		b, err := fs.ReadFile(proc, e.Name()+"/stat")
		if err != nil {
			continue
		}
		ppid, err := parsePPID(b)
		if err != nil {
			return nil, fmt.Errorf("reading process %d: %w", pid, err)
		}
		children[ppid] = append(children[ppid], pid)
	}
	if !seen {
		return nil, fmt.Errorf("reading usage of process %d: no such process", root)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// parsePPID returns the fourth field of /proc/PID/stat; the second, the
// command, is in parentheses and may hold spaces and parentheses itself.
func parsePPID(b []byte) (int, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing stat %q: no command", b)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("parsing stat %q: too short", b)
	}
	return strconv.Atoi(string(f[1]))
}

// Rusage is what an exited process and its waited-for descendants used,
// from the rusage wait4 returned (os.ProcessState.SysUsage).
type Rusage struct {
	CPU    time.Duration // user + system
	MaxRSS uint64        // the largest peak resident set size among them, bytes
}

// FromProcessState returns the rusage of an exited process.
func FromProcessState(ps *os.ProcessState) (Rusage, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return Rusage{}, fmt.Errorf("reading rusage of process %d: none", ps.Pid())
	}
	return Rusage{
		CPU:    ps.UserTime() + ps.SystemTime(),
		MaxRSS: uint64(ru.Maxrss) << 10, // kilobytes on Linux
	}, nil
}
