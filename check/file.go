package check

import (
	"context"
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// ipvsWeightFault is the weight at or below which a tracked file puts its
// real server in fault, as keepalived's IPVS_WEIGHT_FAULT.
const ipvsWeightFault = math.MinInt32

// FileCheck is keepalived's FILE_CHECK: the number in a tracked file
// (track_file) decides the real server's state. With a zero Weight, a
// non-zero number is a fault (with Reverse, zero is). Otherwise the number
// times Weight (negated by Reverse) is a weight adjustment, applied when
// Dynamic, and a fault at or below keepalived's IPVS_WEIGHT_FAULT.
//
// keepalived watches the file with inotify; here the file is read once per
// attempt, so changes take effect within delay_loop.
type FileCheck struct {
	Path    string
	Weight  int
	Reverse bool
	Dynamic bool
	// Logf, when set, receives keepalived's message for a number it
	// ignores.
	Logf func(format string, args ...any)
}

// Check reads the file and ignores any weight it sets.
func (c *FileCheck) Check(ctx context.Context) error {
	_, _, err := c.CheckWeight(ctx, 0)
	return err
}

// maxTrackFileRead is what keepalived's process_track_file reads of the
// file: a buffer of 128 bytes less its terminating NUL.
const maxTrackFileRead = 127

// CheckWeight reads the file as keepalived's process_track_file
// (trackers/track_file.c) does: opened non-blocking, so that a FIFO at
// the path never blocks, and only its first 127 bytes read, so that a huge
// file costs nothing. The number is read with strtol's rules: leading
// white space, then decimal, octal or hexadecimal, anything after it
// ignored; a file that is missing, empty or holds no number reads as 0. A
// number outside the 32-bit range is ignored, leaving the previous
// verdict in place, as keepalived ignores it.
func (c *FileCheck) CheckWeight(_ context.Context, _ int) (delta int, changed bool, err error) {
	v, ok := readTrackFile(c.Path)
	if !ok {
		if c.Logf != nil {
			c.Logf("Invalid number %d read from %s - ignoring", v, c.Path)
		}
		return 0, false, nil
	}
	return c.verdict(v)
}

func (c *FileCheck) verdict(v int64) (delta int, changed bool, err error) {
	if c.Weight == 0 {
		if (v != 0) != c.Reverse {
			return 0, true, fmt.Errorf("track_file %s is %d: fault", c.Path, v)
		}
		return 0, true, nil
	}
	w := v * int64(c.Weight)
	if c.Reverse {
		w = -w
	}
	w = max(min(w, math.MaxInt32), math.MinInt32)
	if w <= ipvsWeightFault {
		return 0, true, fmt.Errorf("track_file %s is %d: weight %d is fault", c.Path, v, w)
	}
	if !c.Dynamic {
		return 0, true, nil
	}
	return int(w), true, nil
}

// readTrackFile returns the number in the file at path and whether it is
// in keepalived's range, INT32_MIN to INT32_MAX+1.
func readTrackFile(path string) (int64, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, true
	}
	var buf [maxTrackFileRead]byte
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return 0, true
	}
	v, overflow := strtol(buf[:n])
	if overflow || v < math.MinInt32 || v > math.MaxInt32+1 {
		return v, false
	}
	return v, true
}

// strtol reads a number from b as C's strtol(b, NULL, 0) does, stopping
// at the first byte that cannot continue it (a NUL among them). overflow
// is its ERANGE, with the value clamped as strtol clamps it.
func strtol(b []byte) (v int64, overflow bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	base := uint64(10)
	switch {
	case i+2 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') && digitVal(b[i+2]) < 16:
		base = 16
		i += 2
	case i < len(b) && b[i] == '0':
		base = 8
	}
	var u uint64
	for ; i < len(b); i++ {
		d := uint64(digitVal(b[i]))
		if d >= base {
			break
		}
		if u > (math.MaxUint64-d)/base {
			overflow = true
			continue
		}
		u = u*base + d
	}
	switch {
	case !neg && (overflow || u > math.MaxInt64):
		return math.MaxInt64, true
	case neg && (overflow || u > 1<<63):
		return math.MinInt64, true
	case neg:
		return -int64(u), false
	}
	return int64(u), false
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
