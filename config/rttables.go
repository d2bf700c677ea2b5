package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// iproute2Dir is where keepalived reads the names of routing tables,
// scopes and protocols, as ip(8) does.
var iproute2Dir = "/etc/iproute2"

// rtName is one entry of an iproute2 names file, or of keepalived's
// built-in defaults for one.
type rtName struct {
	id   uint32
	name string
}

// rtFiles holds the iproute2 names files a parse has read; keepalived
// reads each once, the first time it needs it. A nil *rtFiles reads none.
type rtFiles struct {
	lists map[string][]rtName
}

// list returns the entries of file, with no id above max.
func (f *rtFiles) list(file string, max uint32) []rtName {
	if f == nil {
		return nil
	}
	if l, ok := f.lists[file]; ok {
		return l
	}
	if f.lists == nil {
		f.lists = make(map[string][]rtName)
	}
	l := readRTNames(filepath.Join(iproute2Dir, file), max)
	f.lists[file] = l
	return l
}

// readRTNames reads "ID NAME" lines as keepalived's read_file does:
// comments go, a line of other than two words is skipped, and so is one
// whose id is not a number to max.
func readRTNames(path string, max uint32) []rtName {
	b, err := os.ReadFile(path)
	if err != nil {
		// keepalived goes on with its defaults when the file is missing.
		return nil
	}
	var l []rtName
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexAny(line, "#!"); i >= 0 {
			line = line[:i]
		}
		w := strings.Fields(line)
		if len(w) != 2 || strings.HasPrefix(w[0], "-") {
			continue
		}
		id, ok := strtoul(w[0])
		if !ok || id > uint64(max) {
			continue
		}
		l = append(l, rtName{uint32(id), w[1]})
	}
	return l
}

// findRTEntry is keepalived's find_entry: a number to max, or a name of
// the file's entries or of the defaults whose ids the file does not use.
func findRTEntry(w string, file, defaults []rtName, max uint32) (uint32, bool) {
	if v, ok := strtoul(w); ok {
		return uint32(v), v <= uint64(max)
	}
	for _, e := range file {
		if e.name == w {
			return e.id, true
		}
	}
	for _, d := range defaults {
		if d.name != w {
			continue
		}
		for _, e := range file {
			if e.id == d.id {
				return 0, false
			}
		}
		return d.id, true
	}
	return 0, false
}

// rtNameOf is the default name of id, or id in decimal.
func rtNameOf(defaults []rtName, id uint32) string {
	for _, d := range defaults {
		if d.id == id {
			return d.name
		}
	}
	return strconv.FormatUint(uint64(id), 10)
}

// strtoul reads a whole word as C's strtoul with base 0 does: decimal,
// 0x hex or 0 octal, after optional blanks and a sign. A negative number
// wraps, as in C, so only -0 stays small.
func strtoul(w string) (uint64, bool) {
	s := strings.TrimLeft(w, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false
	}
	if neg && v != 0 {
		return ^uint64(0), true
	}
	return v, true
}
