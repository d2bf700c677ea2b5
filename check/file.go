package check

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
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
}

// Check reads the file and ignores any weight it sets.
func (c *FileCheck) Check(ctx context.Context) error {
	_, _, err := c.CheckWeight(ctx, 0)
	return err
}

// CheckWeight reads the file. An empty file reads as 0, as keepalived's
// does; a file that holds no number is a fault.
func (c *FileCheck) CheckWeight(_ context.Context, _ int) (delta int, changed bool, err error) {
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return 0, true, fmt.Errorf("reading track_file: %w", err)
	}
	s := string(bytes.TrimSpace(b))
	var v int64
	if s != "" {
		v, err = strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, true, fmt.Errorf("track_file %s holds %q, not a number", c.Path, s)
		}
	}
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
