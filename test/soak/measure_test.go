package soak

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// procRSS returns the resident set size of pid in KiB, as VmRSS says.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the RSS of %d: %w", pid, err)
	}
	return parseVmRSS(string(b))
}

func parseVmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parsing %q: want VmRSS: N kB", strings.TrimSpace(line))
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no VmRSS line in the process status")
}

// procFDs counts the open file descriptors of pid.
func procFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("counting the descriptors of %d: %w", pid, err)
	}
	return len(ents), nil
}

// procCPU returns the CPU time pid has used, user and system, in clock
// ticks (USER_HZ, 100 on Linux).
func procCPU(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime + stime from a /proc/PID/stat line. The command
// name, in parentheses, may contain spaces: fields are counted after its
// closing parenthesis.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc stat %q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parsing /proc stat %q: too few fields", stat)
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing utime in /proc stat: %w", err)
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing stime in /proc stat: %w", err)
	}
	return u + s, nil
}

// parseMetrics reads the Prometheus text format: each sample keyed by its
// name and labels as written, comments skipped.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space outside the labels; label
		// values may contain spaces, so look after the closing brace.
		from := 0
		if j := strings.LastIndexByte(line, '}'); j >= 0 {
			from = j
		}
		k := strings.IndexByte(line[from:], ' ')
		if k < 0 {
			return nil, fmt.Errorf("parsing metrics line %q: no value", line)
		}
		key, rest := line[:from+k], strings.Fields(line[from+k:])
		if len(rest) == 0 {
			return nil, fmt.Errorf("parsing metrics line %q: no value", line)
		}
		v, err := strconv.ParseFloat(rest[0], 64)
		if err != nil {
			return nil, fmt.Errorf("parsing metrics line %q: %w", line, err)
		}
		m[key] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	return m, nil
}

// sumMetric adds every sample of the metric called name, whatever its
// labels; found says whether there was any.
func sumMetric(m map[string]float64, name string) (sum float64, found bool) {
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			sum += v
			found = true
		}
	}
	return sum, found
}

// theilSen is the Theil-Sen slope of y over x: the median of the slopes
// between every two points with distinct x. A few outliers, such as a
// burst of checks in flight at one sample, do not move it; a steady rise
// moves every pair. 0 for fewer than two distinct x.
func theilSen(x, y []float64) float64 {
	var ss []float64
	for i := range x {
		for j := i + 1; j < len(x) && j < len(y); j++ {
			if x[j] != x[i] {
				ss = append(ss, (y[j]-y[i])/(x[j]-x[i]))
			}
		}
	}
	if len(ss) == 0 {
		return 0
	}
	slices.Sort(ss)
	n := len(ss)
	if n%2 == 1 {
		return ss[n/2]
	}
	return (ss[n/2-1] + ss[n/2]) / 2
}

// slope is the least-squares slope of y over x; 0 for fewer than two
// distinct x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	if len(x) < 2 || len(x) != len(y) {
		return 0
	}
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var num, den float64
	for i := range x {
		num += (x[i] - mx) * (y[i] - my)
		den += (x[i] - mx) * (x[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}
