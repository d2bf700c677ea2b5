package config

// lineChunk is how many logical lines one chunk of a lineList holds.
const lineChunk = 4096

// A lineList holds the logical lines of a configuration in chunks, so
// that the parser, which reads them in order, can let go of those it has
// passed: on a large configuration the lines and their words weigh more
// than the Config made of them.
type lineList struct {
	chunks [][]line
	n      int // lines appended
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
		l.chunks = append(l.chunks, make([]line, 0, lineChunk))
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

// release lets go of the chunks that hold only lines before line i.
func (l *lineList) release(i int) {
	for c := i/lineChunk - 1; c >= 0 && l.chunks[c] != nil; c-- {
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
