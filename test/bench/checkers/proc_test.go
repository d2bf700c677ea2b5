package checkers

import (
	"github.com/gokeepalived/gokeepalived/internal/benchproc"

	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"
)

// userHZ is the unit of the times in /proc/PID/stat: USER_HZ, which the
// kernel fixes at 100 for user space whatever its own tick rate.
const userHZ = 100

// A procStat is what the benchmark reads of /proc/PID/stat.
type procStat struct {
	pid, ppid int
	// cpu is utime+stime+cutime+cstime: the process's own time, all its
	// threads, and that of the children it has waited for.
	cpu time.Duration
}

// parseStat reads a /proc/PID/stat line. The command name is in
// parentheses and may hold spaces and parentheses itself, so the fields
// are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return procStat{}, fmt.Errorf("parsing /proc stat %q: no (comm)", b)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return procStat{}, fmt.Errorf("parsing /proc stat %q: pid: %w", b, err)
	}
	// f[0] is field 3 of proc(5), state.
	f := bytes.Fields(b[end+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("parsing /proc stat of %d: %d fields after comm, want at least 15", pid, len(f))
	}
	ps := procStat{pid: pid}
	if ps.ppid, err = strconv.Atoi(string(f[1])); err != nil {
		return procStat{}, fmt.Errorf("parsing /proc stat of %d: ppid: %w", pid, err)
	}
	var ticks uint64
	for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
		n, err := strconv.ParseUint(string(f[i]), 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("parsing /proc stat of %d: field %d: %w", pid, i+3, err)
		}
		ticks += n
	}
	ps.cpu = time.Duration(ticks) * time.Second / userHZ
	return ps, nil
}

// parseHWM returns VmHWM, the peak resident set size, from a
// /proc/PID/status file, in bytes.
func parseHWM(status []byte) (uint64, error) {
	for line := range bytes.Lines(status) {
		v, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(v)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("parsing VmHWM %q", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing VmHWM %q: %w", bytes.TrimSpace(line), err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("parsing /proc status: no VmHWM")
}

// A usage is what a process tree has used so far.
type usage struct {
	procs int
	cpu   time.Duration
	// hwm is the sum of the processes' VmHWM: keepalived's work is split
	// between a parent and its checker child, and both are resident.
	hwm uint64
}

// treeUsage sums the usage of root and its descendants, read from proc,
// a procfs. Processes that exit while it reads are left out.
func treeUsage(proc fs.FS, root int) (usage, error) {
	stats, err := readStats(proc)
	if err != nil {
		return usage{}, err
	}
	children := make(map[int][]int)
	for _, ps := range stats {
		children[ps.ppid] = append(children[ps.ppid], ps.pid)
	}
	if _, ok := stats[root]; !ok {
		return usage{}, fmt.Errorf("reading usage of process %d: no such process", root)
	}
	var u usage
	for todo := []int{root}; len(todo) > 0; {
		pid := todo[len(todo)-1]
		todo = append(todo[:len(todo)-1], children[pid]...)
		b, err := fs.ReadFile(proc, strconv.Itoa(pid)+"/status")
		if err != nil {
			if pid == root {
				return usage{}, fmt.Errorf("reading usage of process %d: %w", root, err)
			}
			continue
		}
		hwm, err := parseHWM(b)
		if err != nil {
			return usage{}, fmt.Errorf("reading usage of process %d: %w", pid, err)
		}
		u.procs++
		u.cpu += stats[pid].cpu
		u.hwm += hwm
	}
	return u, nil
}

// schedUsage is the usage of root and its descendants as package
// benchproc reads it: CPU time from the scheduler's count of every
// thread (schedstat), in nanoseconds, rather than clock ticks.
func schedUsage(proc fs.FS, root int) (usage, error) {
	u, err := benchproc.Tree(proc, root)
	if err != nil {
		return usage{}, err
	}
	return usage{procs: u.Procs, cpu: u.CPU, hwm: u.HWM}, nil
}

// readStats reads /proc/PID/stat of every process of proc, a procfs.
// Processes that exit while it reads are left out.
func readStats(proc fs.FS) (map[int]procStat, error) {
	ents, err := fs.ReadDir(proc, ".")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	stats := make(map[int]procStat)
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || !e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(proc, e.Name()+"/stat")
		if err != nil {
			continue // gone since the listing
		}
		ps, err := parseStat(b)
		if err != nil {
			return nil, err
		}
		stats[ps.pid] = ps
	}
	return stats, nil
}

// kthreadd is the PID of the kernel's thread that starts all the others.
const kthreadd = 2

// kernelThreads returns the CPU time so far of each kernel thread of
// proc, by PID. Among them is ksoftirqd, which takes over the network's
// softirqs (the far end of a loopback handshake, say) when they pile up
// faster than the interrupted tasks finish them: that work is the checks'
// but is charged to no daemon.
func kernelThreads(proc fs.FS) (map[int]time.Duration, error) {
	stats, err := readStats(proc)
	if err != nil {
		return nil, err
	}
	kt := make(map[int]time.Duration)
	for _, ps := range stats {
		if ps.pid == kthreadd || ps.ppid == kthreadd {
			kt[ps.pid] = ps.cpu
		}
	}
	return kt, nil
}

// cpuSince returns the CPU time the threads of now used since then: all
// of it for a thread started since. A thread that ended in between is
// lost, with its time.
func cpuSince(then, now map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, cpu := range now {
		if was, ok := then[pid]; ok && was <= cpu {
			cpu -= was
		} // else a new thread, or a new one under an old PID
		d += cpu
	}
	return d
}

// A cpuTimes is a line of /proc/stat: the time one CPU, or all of them,
// spent busy and idle (idle and iowait) since boot.
type cpuTimes struct {
	busy, idle time.Duration
}

// parseCPUTimes reads the line of /proc/stat named cpu: "cpu" for all
// CPUs, "cpu0" for the first. guest and guest_nice are left out: user
// already counts them.
func parseCPUTimes(b []byte, cpu string) (cpuTimes, error) {
	var f [][]byte
	for line := range bytes.Lines(b) {
		if g := bytes.Fields(line); len(g) > 0 && string(g[0]) == cpu {
			f = g
			break
		}
	}
	if len(f) < 9 {
		return cpuTimes{}, fmt.Errorf("parsing /proc/stat: no line of 8 times for %s", cpu)
	}
	var ct cpuTimes
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("parsing /proc/stat %q: %w", bytes.Join(f, []byte(" ")), err)
		}
		d := time.Duration(n) * time.Second / userHZ
		if i == 3 || i == 4 {
			ct.idle += d
		} else {
			ct.busy += d
		}
	}
	return ct, nil
}

// readCPUTimes reads the times of cpu ("cpu" for all) from /proc/stat of
// proc.
func readCPUTimes(proc fs.FS, cpu string) (cpuTimes, error) {
	b, err := fs.ReadFile(proc, "stat")
	if err != nil {
		return cpuTimes{}, fmt.Errorf("reading CPU times: %w", err)
	}
	return parseCPUTimes(b, cpu)
}

// busyFraction returns how much of the time from a to b the CPU, or CPUs,
// of a and b were busy.
func busyFraction(a, b cpuTimes) float64 {
	busy, all := b.busy-a.busy, b.busy-a.busy+b.idle-a.idle
	if all <= 0 {
		return 0
	}
	return float64(busy) / float64(all)
}

// parseTimeWait returns the TCP sockets in TIME_WAIT from a
// /proc/net/sockstat file ("TCP: inuse 5 orphan 0 tw 120 alloc 7 mem 1").
func parseTimeWait(b []byte) (int, error) {
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) == 0 || string(f[0]) != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if string(f[i]) == "tw" {
				n, err := strconv.Atoi(string(f[i+1]))
				if err != nil {
					return 0, fmt.Errorf("parsing /proc/net/sockstat %q: %w", bytes.TrimSpace(line), err)
				}
				return n, nil
			}
		}
	}
	return 0, errors.New("parsing /proc/net/sockstat: no TCP line with a tw count")
}

// drainTimeWait waits, up to limit, until fewer than floor TCP sockets
// are in TIME_WAIT, and returns how many were at first and how long it
// waited. keepalived
// closes its checks' connections with a FIN, which leaves the real
// servers' ends in TIME_WAIT for 60 s, and the kernel expires them in
// timer interrupts on the CPU that made them: the daemon's. Measured
// straight after keepalived, the next daemon would pay for them.
func drainTimeWait(proc fs.FS, floor int, limit time.Duration) (first int, waited time.Duration, err error) {
	start := time.Now()
	for i := 0; ; i++ {
		b, err := fs.ReadFile(proc, "net/sockstat")
		if err != nil {
			return first, time.Since(start), fmt.Errorf("reading TIME_WAIT sockets: %w", err)
		}
		n, err := parseTimeWait(b)
		if err != nil {
			return first, time.Since(start), err
		}
		if i == 0 {
			first = n
		}
		if waited = time.Since(start); n < floor || waited >= limit {
			return first, waited, nil
		}
		time.Sleep(time.Second)
	}
}
