package checkers

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// A daemonLog is a daemon's console. A run of 12,000 real servers logs
// tens of thousands of lines, so it keeps only its last max bytes and a
// count of each kind of line: the line with its numbers blotted out, so
// that "Check on service ... failed" for every server is one kind.
type daemonLog struct {
	mu    sync.Mutex
	max   int
	tail  []byte
	part  []byte // a line not yet ended
	kinds map[string]int
}

func newDaemonLog(max int) *daemonLog {
	return &daemonLog{max: max, kinds: make(map[string]int)}
}

func (l *daemonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = append(l.tail, p...)
	if over := len(l.tail) - l.max; over > 0 {
		l.tail = append(l.tail[:0], l.tail[over:]...)
	}
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.kinds[lineKind(l.part[:i])]++
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

// String returns the end of the log.
func (l *daemonLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.tail)
}

// Digest returns the n most frequent kinds of line, with their counts.
func (l *daemonLog) Digest(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	kinds := slices.SortedFunc(maps.Keys(l.kinds), func(a, b string) int {
		return cmp.Or(cmp.Compare(l.kinds[b], l.kinds[a]), strings.Compare(a, b))
	})
	var b strings.Builder
	for _, k := range kinds[:min(n, len(kinds))] {
		fmt.Fprintf(&b, "%8d  %s\n", l.kinds[k], k)
	}
	return b.String()
}

// lineKind blots out the numbers of a log line, and its time stamp,
// which is what comes before the first ": " when that holds a time of day.
func lineKind(line []byte) string {
	var b strings.Builder
	digits := false
	for _, c := range bytes.TrimSpace(line) {
		if '0' <= c && c <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteByte(c)
	}
	s := b.String()
	if stamp, rest, ok := strings.Cut(s, ": "); ok && strings.Contains(stamp, "#:#:#") {
		return rest
	}
	return s
}
