package checkers

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchproc"
)

// straceEnv, a duration, makes each daemon's first window follow a count
// of its system calls (`strace -c -f`) over that long, taken once the
// checks have settled (past the start-up's first round of verdicts), and
// another settling time: the window itself runs untraced. The log gives
// the calls per check beside the counts, for comparing the two daemons'
// system call mix under the same load. The host copies strace into the
// guest for it.
const straceEnv = "GOKEEPALIVED_BENCH_STRACE"

// straceDuration reads straceEnv: zero when unset.
func straceDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration", straceEnv, v)
	}
	return d, nil
}

// A syscallCount is one line of strace's summary.
type syscallCount struct {
	name   string
	calls  uint64
	errors uint64
}

// parseStraceSummary reads the table `strace -c` writes: a header, a
// dashed line, one line per system call ("% time, seconds, usecs/call,
// calls, errors, syscall", errors left blank when there were none), a
// dashed line and the total, which is left out. The calls come sorted by
// count, most first.
func parseStraceSummary(text string) ([]syscallCount, error) {
	var out []syscallCount
	dashes := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "------") {
			dashes++
			continue
		}
		if dashes != 1 || line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 5 && len(f) != 6 {
			return nil, fmt.Errorf("parsing strace summary line %q: want 5 or 6 fields", line)
		}
		calls, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing strace summary line %q: %w", line, err)
		}
		c := syscallCount{name: f[len(f)-1], calls: calls}
		if len(f) == 6 {
			if c.errors, err = strconv.ParseUint(f[4], 10, 64); err != nil {
				return nil, fmt.Errorf("parsing strace summary line %q: %w", line, err)
			}
		}
		out = append(out, c)
	}
	if dashes < 2 {
		return nil, fmt.Errorf("parsing strace summary: no table in %q", text)
	}
	slices.SortStableFunc(out, func(a, b syscallCount) int { return cmp.Compare(b.calls, a.calls) })
	return out, nil
}

// perCheck words counts as calls per check, most first, and the total.
func perCheck(counts []syscallCount, checks uint64) string {
	if checks == 0 {
		return "no checks"
	}
	var b strings.Builder
	var total uint64
	for _, c := range counts {
		total += c.calls
	}
	fmt.Fprintf(&b, "%.2f calls per check in all", float64(total)/float64(checks))
	for _, c := range counts {
		fmt.Fprintf(&b, "; %s %.3f", c.name, float64(c.calls)/float64(checks))
		if c.errors > 0 {
			fmt.Fprintf(&b, " (%.3f failed)", float64(c.errors)/float64(checks))
		}
	}
	return b.String()
}

// straceDaemon counts the system calls of the daemon whose process is
// pid, and of its children, for d, and logs them with the checks the
// real servers saw meanwhile.
func straceDaemon(t *testing.T, name string, pid int, lst *listeners, d time.Duration) {
	t.Helper()
	pids, err := benchproc.Descendants(os.DirFS("/proc"), pid)
	if err != nil {
		t.Errorf("strace of %s: %v", name, err)
		return
	}
	out := filepath.Join(t.TempDir(), "strace.txt")
	args := []string{"-c", "-f", "-o", out}
	for _, p := range pids {
		args = append(args, "-p", strconv.Itoa(p))
	}
	cmd := exec.Command("strace", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	tcp0, http0, err := lst.counts()
	if err != nil {
		t.Errorf("strace of %s: %v", name, err)
		return
	}
	if err := cmd.Start(); err != nil {
		t.Errorf("strace of %s: %v", name, err)
		return
	}
	time.Sleep(d)
	tcp1, http1, err := lst.counts()
	cmd.Process.Signal(os.Interrupt)
	werr := cmd.Wait()
	if err != nil {
		t.Errorf("strace of %s: %v", name, err)
		return
	}
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Errorf("strace of %s: %v (%v) %s", name, rerr, werr, stderr.String())
		return
	}
	counts, err := parseStraceSummary(string(b))
	if err != nil {
		t.Errorf("strace of %s: %v (%v) %s", name, err, werr, stderr.String())
		return
	}
	checks := (tcp1 - tcp0) + (http1 - http0)
	t.Logf("strace -c -f of %s (processes %v) over %v: %d TCP and %d HTTP checks; %s\n%s",
		name, pids, d, tcp1-tcp0, http1-http0, perCheck(counts, checks), b)
}
