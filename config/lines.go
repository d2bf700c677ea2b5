package config

import (
	"io"
	"strings"
	"unsafe"
)

// lineChunk is how many logical lines one chunk of a lineList holds.
const lineChunk = 4096

// A lineList holds the logical lines of a configuration in chunks, so
// that the parser, which reads them in order, can let go of those it has
// passed: on a large configuration the lines and their words weigh more
// than the Config made of them.
type lineList struct {
	chunks [][]line
	free   [][]line // released chunks, for the lines to come
	n      int      // lines appended
	// fill, when set, makes more lines and reports whether it could:
	// false once every line has been appended.
	fill func() bool
}

// has reports whether line i exists, making lines until it does or
// until there are no more.
func (l *lineList) has(i int) bool {
	for i >= l.n && l.fill != nil {
		if !l.fill() {
			l.fill = nil
		}
	}
	return i < l.n
}

// drain makes every line still to come.
func (l *lineList) drain() {
	for l.fill != nil {
		l.has(l.n)
	}
}

func (l *lineList) append(x line) {
	if l.n%lineChunk == 0 {
		var c []line
		if k := len(l.free); k > 0 {
			// The old lines are overwritten as new ones come; until
			// then they hold at most one chunk's words.
			c, l.free = l.free[k-1][:0], l.free[:k-1]
		} else {
			c = make([]line, 0, lineChunk)
		}
		l.chunks = append(l.chunks, c)
	}
	c := len(l.chunks) - 1
	l.chunks[c] = append(l.chunks[c], x)
	l.n++
}

// len returns the number of lines appended, released ones included.
func (l *lineList) len() int { return l.n }

// at returns line i, which must not have been released.
func (l *lineList) at(i int) line { return l.chunks[i/lineChunk][i%lineChunk] }

// last returns the last line; the zero line when there is none.
func (l *lineList) last() line {
	if l.n == 0 {
		return line{}
	}
	return l.at(l.n - 1)
}

// release lets go of the chunks that hold only lines before line i,
// which hold the lines to come: the preprocessor runs a chunk or two
// ahead of the parser, so two or three chunks serve a whole file.
func (l *lineList) release(i int) {
	for c := i/lineChunk - 1; c >= 0 && l.chunks[c] != nil; c-- {
		l.free = append(l.free, l.chunks[c])
		l.chunks[c] = nil
	}
}

// all returns every line, for tests; none may have been released.
func (l *lineList) all() []line {
	out := make([]line, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

// linesOf returns the lines of src one by one, without their '\n': a
// line source for a file read whole. A last line without '\n'
// is a line; an empty src has none.
func linesOf(src string) func() (string, bool) {
	return func() (string, bool) {
		if src == "" {
			return "", false
		}
		l := src
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			l, src = src[:i], src[i+1:]
		} else {
			src = ""
		}
		return l, true
	}
}

// readBlock is how many bytes a blockLines reads at a time.
const readBlock = 64 << 10

// blockLines reads the lines of a file a block at a time, as linesOf
// splits a whole one. The lines, and the words the preprocessor cuts from
// them, share a block's bytes; the strings the Config keeps are copies
// (parser.keep), so that each block is garbage once its lines are parsed
// and the whole file is never held at once.
type blockLines struct {
	r    io.Reader
	rest string // unread part of the current block
	eof  bool
	err  error // the read error that ended the file early, if any
}

// next returns the next line; false at the end of the file or at a read
// error, which err then holds.
func (b *blockLines) next() (string, bool) {
	for {
		if i := strings.IndexByte(b.rest, '\n'); i >= 0 {
			l := b.rest[:i]
			b.rest = b.rest[i+1:]
			return l, true
		}
		if b.eof {
			l := b.rest
			b.rest = ""
			return l, l != ""
		}
		// A new block starts with the partial line left of the last one;
		// a line longer than a block doubles the next.
		buf := make([]byte, len(b.rest), len(b.rest)+max(readBlock, len(b.rest)))
		copy(buf, b.rest)
		n, err := io.ReadFull(b.r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			b.eof = true
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				b.err = err
			}
		}
		// The block is never written again.
		b.rest = unsafe.String(unsafe.SliceData(buf), len(buf))
	}
}

// trimBlanksLeft is strings.TrimLeft(s, " \t"), which the preprocessor
// calls on every line: this loop is several times faster than the
// cutset's.
func trimBlanksLeft(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[i:]
}

// trimBlanksRight is strings.TrimRight(s, " \t").
func trimBlanksRight(s string) string {
	i := len(s)
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		i--
	}
	return s[:i]
}

// trimBlanks is strings.Trim(s, " \t").
func trimBlanks(s string) string { return trimBlanksRight(trimBlanksLeft(s)) }
