package vrrp

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat. The kernel
// exports USER_HZ, which is 100 on every architecture Go supports on
// Linux, whatever CONFIG_HZ is.
const userHZ = 100

// usage is what a daemon's processes have consumed.
type usage struct {
	cpu      time.Duration // user + system time
	rss, hwm int64         // bytes, summed over the processes
}

// groupUsage sums the usage of every process in process group pgrp:
// keepalived runs as a parent and a VRRP child, gokeepalived as one
// process, and both are started as the leaders of a group of their own.
// /proc/PID/stat already adds up the threads of a process.
func groupUsage(proc string, pgrp int) (usage, error) {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return usage{}, fmt.Errorf("listing processes: %w", err)
	}
	var u usage
	found := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if err != nil {
			continue // it exited
		}
		st, err := parseStat(stat)
		if err != nil {
			return usage{}, fmt.Errorf("reading process %d: %w", pid, err)
		}
		if st.pgrp != pgrp {
			continue
		}
		status, err := os.ReadFile(filepath.Join(proc, e.Name(), "status"))
		if err != nil {
			continue
		}
		if !bytes.Contains(status, []byte("\nVmRSS:")) {
			// A zombie, which has no memory left: another test
			// binary of the group that just ended, say.
			continue
		}
		rss, hwm, err := parseStatus(status)
		if err != nil {
			return usage{}, fmt.Errorf("reading process %d: %w", pid, err)
		}
		found = true
		u.cpu += st.cpu
		u.rss += rss
		u.hwm += hwm
	}
	if !found {
		return usage{}, fmt.Errorf("no process in group %d", pgrp)
	}
	return u, nil
}

type stat struct {
	pgrp int
	cpu  time.Duration
}

// parseStat reads the process group and utime+stime of a /proc/PID/stat
// line. The command name is in parentheses and may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("parsing stat %q: no command name", b)
	}
	// After the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return stat{}, fmt.Errorf("parsing stat %q: %d fields after the name", b, len(f))
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return stat{}, fmt.Errorf("parsing stat pgrp %q: %w", f[2], err)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return stat{}, fmt.Errorf("parsing stat CPU time %q: %w", s, err)
		}
		ticks += n
	}
	return stat{pgrp: pgrp, cpu: time.Duration(ticks) * time.Second / userHZ}, nil
}

// parseStatus reads VmRSS and VmHWM, in bytes, from /proc/PID/status.
func parseStatus(b []byte) (rss, hwm int64, err error) {
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("parsing status %s %q", key, val)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parsing status %s: %w", key, err)
		}
		if key == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
		seen++
	}
	if seen != 2 {
		return 0, 0, fmt.Errorf("parsing status: VmRSS or VmHWM missing")
	}
	return rss, hwm, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
