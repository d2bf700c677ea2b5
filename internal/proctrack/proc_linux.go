package proctrack

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// procfs is the Table of a /proc file system.
type procfs struct {
	root string // "/proc"
}

// Lookup implements Table: the name, parent, state and start time from
// /proc/PID/stat, then as much of /proc/PID/cmdline as asked.
func (fs procfs) Lookup(pid, cmdlineLen int) (Proc, bool) {
	dir := filepath.Join(fs.root, strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, false
	}
	p, ok := parseStat(b)
	if !ok || p.PID != pid {
		return Proc{}, false
	}
	if cmdlineLen > 0 {
		f, err := os.Open(filepath.Join(dir, "cmdline"))
		if err != nil {
			return Proc{}, false
		}
		buf := make([]byte, cmdlineLen)
		n, err := io.ReadFull(f, buf)
		f.Close()
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return Proc{}, false
		}
		p.Cmdline = buf[:n]
	}
	return p, true
}

// List implements Table.
func (fs procfs) List(cmdlineLen int) ([]Proc, error) {
	pids, err := fs.pids()
	if err != nil {
		return nil, err
	}
	procs := make([]Proc, 0, len(pids))
	for _, pid := range pids {
		// One that went meanwhile is simply not there.
		if p, ok := fs.Lookup(pid, cmdlineLen); ok {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// pids lists the processes (not the threads, which /proc lists only
// under task).
func (fs procfs) pids() ([]int, error) {
	d, err := os.Open(fs.root)
	if err != nil {
		return nil, fmt.Errorf("reading processes: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("reading processes in %s: %w", fs.root, err)
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n == "" || n[0] < '1' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// parseStat reads the fields of /proc/PID/stat the matching needs; ok is
// false for a zombie, which keepalived does not count. The name is
// between the first '(' and the last ')': it may hold either.
func parseStat(b []byte) (p Proc, ok bool) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return Proc{}, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return Proc{}, false
	}
	p.PID, p.Comm = pid, string(b[open+1:end])
	// From the state on: state ppid pgrp session tty_nr tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime priority
	// nice num_threads itrealvalue starttime.
	f := bytes.Fields(b[end+1:])
	if len(f) < 20 {
		return Proc{}, false
	}
	if s := f[0]; len(s) != 1 || s[0] == 'Z' || s[0] == 'X' {
		return Proc{}, false
	}
	p.PPID, _ = strconv.Atoi(string(f[1]))
	p.Start, _ = strconv.ParseUint(string(f[19]), 10, 64)
	return p, true
}
