package config

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// Limits that keep a hostile or mistaken configuration from exhausting
// memory or time. keepalived itself has none of these; they are far above
// anything a real configuration needs (keepalived.conf(5)'s own biggest
// ~SEQ example expands to 65024 instances of 18 lines).
const (
	defaultMaxLines   = 4 << 20 // logical lines after expansion
	maxLineLen        = 64 << 10
	maxIncludeDepth   = 32
	maxExpandDepth    = 64   // nested definitions, ~SEQ, ~LST
	maxReplacements   = 1024 // definition replacements on one line
	maxDefinitionSize = 1 << 20
)

// files is where included configuration comes from: the file system,
// or nothing at all when fuzzing.
type files interface {
	// Glob returns the names matching pattern, sorted, as glob(3) does.
	Glob(pattern string) ([]string, error)
	// IsFile reports whether name is a file rather than a directory.
	IsFile(name string) bool
	// Exists reports whether name exists, as lstat(2) sees it.
	Exists(name string) bool
	// ReadFile returns a file's contents, or errNotRegular for anything
	// but a regular, non-executable file.
	ReadFile(name string) ([]byte, error)
}

var errNotRegular = errors.New("not a regular non-executable file")

// osFiles reads includes from the file system.
type osFiles struct{}

func (osFiles) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

func (osFiles) Exists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

func (osFiles) IsFile(name string) bool {
	st, err := os.Stat(name)
	return err == nil && !st.IsDir()
}

func (osFiles) ReadFile(name string) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Mode()&0o111 != 0 {
		return nil, errNotRegular
	}
	return os.ReadFile(name)
}

// A line is one logical line of configuration: its words, with quotes
// removed, and where it started.
type line struct {
	pos   Pos
	words []string
}

// A definition is a $NAME=value parameter. A multiline value keeps its
// lines separated by '\n'.
type definition struct {
	value     string
	multiline bool
	builtin   func(params string) string
	maxParams int
}

// preprocessor turns configuration files into logical lines the way
// keepalived's lib/parser.c read_line does.
type preprocessor struct {
	files    files
	d        *diags
	configID string
	maxLines int

	defs    map[string]*definition
	lines   lineList
	yield   func()   // hands full chunks of lines to the parser, if set
	reading []string // absolute paths of the files being read, outermost first
	depth   int      // nesting of expansions, to bound recursion
	braces  int      // open '{' not yet closed
	full    bool     // maxLines reached; everything after is dropped
	curDir  string   // directory of the file being read, for ${_PWD}
	slab    []string // room for the words of lines still to come
	work    int      // logical lines handled, expanded ones included
	copied  int      // bytes copied by parameter substitution
}

func newPreprocessor(d *diags, configID string) *preprocessor {
	p := &preprocessor{
		files:    osFiles{},
		d:        d,
		configID: configID,
		maxLines: defaultMaxLines,
		defs:     make(map[string]*definition),
	}
	p.defs["_PWD"] = &definition{builtin: func(string) string { return p.curDir }}
	p.defs["_INSTANCE"] = &definition{builtin: func(string) string { return p.configID }}
	p.defs["_RANDOM"] = &definition{builtin: random, maxParams: 2}
	p.defs["_HASH"] = &definition{value: "#"}
	p.defs["_BANG"] = &definition{value: "!"}
	return p
}

// random implements ${_RANDOM [MIN [MAX]]}.
func random(params string) string {
	lo, hi := uint64(0), uint64(32767)
	f := strings.Fields(params)
	if len(f) > 0 {
		lo, _ = strconv.ParseUint(f[0], 10, 32)
	}
	if len(f) > 1 {
		hi, _ = strconv.ParseUint(f[1], 10, 32)
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	return strconv.FormatUint(lo+rand.Uint64N(hi-lo+1), 10)
}

// file reads one configuration file, whose lines next returns in order
// without their '\n'. name is how diagnostics call it.
func (p *preprocessor) file(name string, next func() (string, bool)) {
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = filepath.Clean(name)
	}
	prevDir := p.curDir
	p.curDir = filepath.Dir(abs)
	p.reading = append(p.reading, abs)
	defer func() {
		p.reading = p.reading[:len(p.reading)-1]
		p.curDir = prevDir
	}()

	// A multiline definition being read, and its value so far.
	var (
		collecting *definition
		body       strings.Builder
	)
	finish := func() {
		if collecting != nil {
			collecting.value = strings.TrimSuffix(body.String(), "\n")
			collecting = nil
			body.Reset()
		}
	}
	defer finish()

	lineNo := 0
	// Lines and words are substrings of what next returns.
	for !p.full {
		raw, ok := next()
		if !ok {
			break
		}
		lineNo++
		raw = strings.TrimRight(raw, "\r")
		pos := Pos{File: name, Line: lineNo}

		if collecting != nil {
			if len(raw) == 0 {
				finish()
				continue
			}
			text, more := p.decomment(pos, raw)
			if more {
				text = trimBlanksRight(text) + "\n"
			}
			if body.Len()+len(text) > maxDefinitionSize {
				p.d.errorf(pos, "Multiline definition too long")
				finish()
				continue
			}
			if len(text) >= 2 || (len(text) > 0 && !more) {
				body.WriteString(text)
			}
			if !more {
				finish()
			}
			continue
		}

		text, more := p.decomment(pos, raw)
		if more {
			def := text
			if strings.HasPrefix(def, "@") {
				def, _ = p.conditional(def)
			}
			if _, _, ok := parseDefinition(def); ok {
				collecting = p.define(def, true)
				body.WriteString(collecting.value)
				continue
			}
			// Only definitions continue onto the next line; elsewhere
			// keepalived keeps the backslash as part of the last word.
			text += "\\"
		}
		if text == "" {
			continue
		}
		p.logical(pos, text)
	}
}

// decomment removes comments and leading and trailing blanks as
// keepalived's decomment() does. A '!' or '#' after a backslash, outside
// quotes, is kept literally. more reports a trailing '\': the line
// continues on the next one.
func (p *preprocessor) decomment(pos Pos, s string) (text string, more bool) {
	s = trimBlanksLeft(s)
	var b []byte // allocated only when an escape is removed
	quote := false
	cut := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			if cut < 0 {
				quote = !quote
			}
		case '\\':
			if i+1 == len(s) {
				more = true
				if cut < 0 {
					cut = i
				}
				break
			}
			if !quote && cut < 0 && (s[i+1] == '#' || s[i+1] == '!') {
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				b = append(b, s[i+1])
				i++
				continue
			}
			if b != nil {
				b = append(b, c, s[i+1])
			}
			i++
			continue
		case '!', '#':
			if !quote && cut < 0 {
				cut = i
			}
		}
		if b != nil && cut < 0 {
			b = append(b, s[i])
		}
	}
	if quote {
		p.d.errorf(pos, "Unterminated quote '%s'", s)
	}
	if b != nil {
		text = string(b)
	} else if cut >= 0 {
		text = s[:cut]
	} else {
		text = s
	}
	// strings.TrimRight(text, " \t\f\v"), without building a cutset for
	// every line.
	i := len(text)
	for i > 0 && (text[i-1] == ' ' || text[i-1] == '\t' || text[i-1] == '\f' || text[i-1] == '\v') {
		i--
	}
	return text[:i], more
}

// parseDefinition splits "$NAME=value" as keepalived's check_definition
// does: no blank may come before the '='.
func parseDefinition(s string) (name, value string, ok bool) {
	if len(s) < 3 || s[0] != '$' || !(isAlpha(s[1]) || s[1] == '_') {
		return "", "", false
	}
	i := 2
	for i < len(s) && s[i] != '=' {
		if !isAlnum(s[i]) && s[i] != '_' {
			return "", "", false
		}
		i++
	}
	if i == len(s) {
		return "", "", false
	}
	return s[1:i], trimBlanksLeft(s[i+1:]), true
}

// define stores a definition line. A multiline definition is returned so
// that the following lines can be added to it.
func (p *preprocessor) define(text string, multiline bool) *definition {
	name, value, _ := parseDefinition(text)
	def := &definition{value: value, multiline: multiline}
	if multiline {
		def.value = trimBlanksRight(def.value)
		if def.value != "" {
			def.value += "\n"
		}
	}
	p.defs[name] = def
	return def
}

// logical handles one line after comments are gone: conditionals,
// definitions, sequences, lists, substitution and includes, and finally
// splits it into lines at '{' and '}'.
func (p *preprocessor) logical(pos Pos, text string) {
	if p.full {
		return
	}
	if p.work++; p.work > 4*p.maxLines {
		p.d.errorf(pos, "Configuration expands to more than %d lines", 4*p.maxLines)
		p.full = true
		return
	}
	if p.depth >= maxExpandDepth {
		p.d.errorf(pos, "Definitions, ~SEQ and ~LST nested more than %d deep", maxExpandDepth)
		return
	}
	p.depth++
	defer func() { p.depth-- }()

	var rest []string // further lines from a multiline definition
	for range maxReplacements {
		if text[0] == '@' {
			var ok bool
			if text, ok = p.conditional(text); !ok {
				return
			}
		}
		if text[0] == '$' {
			if _, _, ok := parseDefinition(text); ok {
				p.define(text, false)
				return
			}
		}
		if strings.HasPrefix(text, "~SEQ") {
			p.sequence(pos, text)
			return
		}
		if strings.HasPrefix(text, "~LST") {
			p.list(pos, text)
			return
		}
		if text[0] == '~' || strings.IndexByte(text, '$') < 0 {
			break
		}
		expanded, more, changed, ok := p.substitute(pos, text)
		if !ok {
			return
		}
		if !changed {
			break
		}
		rest = append(more, rest...)
		text = trimBlanksLeft(expanded)
		if text == "" {
			break
		}
		if text[0] != '@' && strings.IndexByte(text, '$') < 0 {
			break
		}
	}
	if text != "" && !p.include(pos, text) {
		p.split(pos, text)
	}
	for _, r := range rest {
		r = trimBlanks(r)
		if r != "" {
			p.logical(pos, r)
		}
	}
}

// conditional applies an "@id" or "@^id" prefix.
func (p *preprocessor) conditional(text string) (string, bool) {
	negate := strings.HasPrefix(text, "@^")
	id := text[1:]
	if negate {
		id = text[2:]
	}
	end := strings.IndexAny(id, " \t")
	if end < 0 {
		return "", false
	}
	if (id[:end] == p.configID) == negate {
		return "", false
	}
	return trimBlanksLeft(id[end:]), true
}

// substitute replaces $NAME and ${NAME} references as keepalived's
// replace_param does. A reference to a multiline definition takes the
// definition's first line in place and returns the others in more.
// ok is false when the line cannot be expanded and must be dropped.
func (p *preprocessor) substitute(pos Pos, text string) (out string, more []string, changed, ok bool) {
	buf := []byte(text)
	for i, n := 0, 0; i < len(buf)-1; {
		if buf[i] != '$' {
			i++
			continue
		}
		def, refLen, params := p.reference(buf[i+1:])
		if def == nil {
			i++
			continue
		}
		if n++; n > maxReplacements {
			p.d.errorf(pos, "Parameter substitution on line '%s' recurses without end", text)
			return "", nil, changed, false
		}
		changed = true
		value := def.value
		if def.builtin != nil {
			value = def.builtin(params)
		}
		if def.multiline {
			first, others, _ := strings.Cut(value, "\n")
			if others != "" {
				more = strings.Split(others, "\n")
			}
			value = first
		}
		if len(buf)-refLen-1+len(value) > maxLineLen {
			p.d.errorf(pos, "Parameter substitution on line '%s' would exceed maximum line length", text)
			return "", nil, changed, false
		}
		if p.copied += len(buf) + len(value); p.copied > 64*p.maxLines {
			p.d.errorf(pos, "Parameter substitution produces more than %d bytes", 64*p.maxLines)
			p.full = true
			return "", nil, changed, false
		}
		buf = append(buf[:i], append([]byte(value), buf[i+1+refLen:]...)...)
		if v := trimBlanksLeft(value); v != "" && v[0] == '~' {
			break
		}
	}
	return string(buf), more, changed, true
}

// reference looks up the definition named at the start of s (just after
// a '$'). It returns the length of the reference text and, for
// ${_RANDOM 1 6}, the parameters.
func (p *preprocessor) reference(s []byte) (def *definition, n int, params string) {
	braces := s[0] == '{'
	name := s
	if braces {
		name = s[1:]
	}
	if len(name) == 0 || !(isAlpha(name[0]) || name[0] == '_') {
		return nil, 0, ""
	}
	l := 1
	for l < len(name) && (isAlnum(name[l]) || name[l] == '_') {
		l++
	}
	end := l // index in name of the character after the reference
	if braces {
		j := l
		for j < len(name) && (name[j] == ' ' || isDigit(name[j])) {
			j++
		}
		if j > l {
			params = strings.TrimSpace(string(name[l:j]))
			if name[j-1] == ' ' {
				return nil, 0, ""
			}
		}
		if j >= len(name) || name[j] != '}' {
			return nil, 0, ""
		}
		end = j + 1
	} else if l < len(name) {
		switch name[l] {
		case ' ', '\t', ',', ')':
		default:
			return nil, 0, ""
		}
	}
	def = p.defs[string(name[:l])]
	if def == nil {
		return nil, 0, ""
	}
	if def.multiline && end != len(name) {
		return nil, 0, ""
	}
	if params != "" && def.maxParams == 0 {
		return nil, 0, ""
	}
	if braces {
		end++
	}
	return def, end, params
}

// sequence expands "~SEQ(var, start, step, end) text" and its ~SEQx form.
func (p *preprocessor) sequence(pos Pos, text string) {
	bad := func(msg string) {
		p.d.errorf(pos, "%s '%s'", msg, text)
		p.d.errorf(pos, "Invalid ~SEQ specification '%s'", text)
	}
	s := text[len("~SEQ"):]
	hex := strings.HasPrefix(s, "x")
	if hex {
		s = s[1:]
	}
	s = trimBlanksLeft(s)
	if s == "" || s[0] != '(' {
		p.d.errorf(pos, "Invalid ~SEQ specification '%s'", text)
		return
	}
	closeAt := strings.IndexByte(s, ')')
	if closeAt < 0 {
		bad("Invalid ~SEQ definition")
		return
	}
	args := s[1:closeAt]
	body := trimBlanksLeft(s[closeAt+1:])
	varName, nums, ok := strings.Cut(args, ",")
	varName = strings.TrimSpace(varName)
	if !ok || varName == "" {
		bad("Invalid ~SEQ definition")
		return
	}
	if strings.IndexByte(nums, '$') >= 0 {
		expanded, more, _, ok := p.substitute(pos, nums)
		if !ok {
			return
		}
		if more != nil {
			bad("~SEQ parameter is multiline definition")
			return
		}
		nums = expanded
	}
	var v []int64
	for _, f := range strings.Split(nums, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 0, 64)
		if err != nil {
			bad("Invalid ~SEQ definition")
			return
		}
		v = append(v, n)
	}
	var start, step, end int64
	switch len(v) {
	case 1:
		end = v[0]
		start, step = 1, 1
		if end < 0 {
			start = -1
		}
		if end < 1 {
			step = -1
		}
	case 2:
		start, end = v[0], v[1]
		step = 1
		if start > end {
			step = -1
		}
	case 3:
		start, step, end = v[0], v[1], v[2]
		if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
			bad("Invalid ~SEQ values")
			return
		}
	default:
		bad("Invalid ~SEQ definition")
		return
	}
	if hex && (start < 0 || end < 0) {
		bad("~SEQx is only valid for positive numbers")
		return
	}
	if count := (end-start)/step + 1; count > int64(p.maxLines) || count < 0 {
		p.d.errorf(pos, "~SEQ would produce %d lines, more than the limit of %d '%s'", count, p.maxLines, text)
		return
	}
	if body == "" {
		return
	}
	for n := start; (step > 0 && n <= end) || (step < 0 && n >= end); n += step {
		if hex {
			p.defs[varName] = &definition{value: strconv.FormatInt(n, 16)}
		} else {
			p.defs[varName] = &definition{value: strconv.FormatInt(n, 10)}
		}
		p.logical(pos, body)
		if p.full || n > end-step && step > 0 || n < end-step && step < 0 {
			break
		}
	}
}

// list expands "~LST(var, a, b, ...) text" and
// "~LST({v1, v2}, {a1, a2}, {b1, b2}) text".
func (p *preprocessor) list(pos Pos, text string) {
	bad := func() { p.d.errorf(pos, "Invalid ~LST specification '%s'", text) }
	s := trimBlanksLeft(text[len("~LST"):])
	if s == "" || s[0] != '(' {
		bad()
		return
	}
	// Split the top level of the parenthesised list into items, each
	// either a word or a {...} group.
	var items [][]string
	i := 1
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			bad()
			return
		}
		var item []string
		if s[i] == '{' {
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				bad()
				return
			}
			for _, f := range strings.Split(s[i+1:i+j], ",") {
				item = append(item, strings.TrimSpace(f))
			}
			i += j + 1
		} else {
			j := strings.IndexAny(s[i:], ",)")
			if j < 0 {
				bad()
				return
			}
			item = []string{strings.TrimSpace(s[i : i+j])}
			i += j
		}
		items = append(items, item)
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			bad()
			return
		}
		if s[i] == ')' {
			i++
			break
		}
		if s[i] != ',' {
			bad()
			return
		}
		i++
	}
	if len(items) < 2 {
		bad()
		return
	}
	vars := items[0]
	for _, v := range vars {
		if v == "" || !(isAlpha(v[0]) || v[0] == '_') {
			bad()
			return
		}
	}
	for _, vals := range items[1:] {
		if len(vals) != len(vars) {
			p.d.errorf(pos, "~LST values %v do not match variables %v '%s'", vals, vars, text)
			return
		}
	}
	body := trimBlanksLeft(s[i:])
	if body == "" {
		return
	}
	for _, vals := range items[1:] {
		for k, v := range vars {
			p.defs[v] = &definition{value: vals[k]}
		}
		p.logical(pos, body)
		if p.full {
			return
		}
	}
}

// includeFlags are the findings an include directive makes errors of,
// as keepalived's lib/parser.c include_t does; plain include makes none,
// and reports them as warnings.
type includeFlags uint8

const (
	includeR includeFlags = 1 << iota // a match that cannot be read
	includeM                          // a name without wildcards that does not exist
	includeW                          // a pattern that matches nothing
	includeB                          // a brace alternative that matches nothing
)

// includeDirective says whether word is an include directive and what it
// checks.
func includeDirective(word string) (includeFlags, bool) {
	switch word {
	case "include":
		return 0, true
	case "includer":
		return includeR, true
	case "includem":
		return includeR | includeM, true
	case "includeb":
		return includeR | includeB, true
	case "includew":
		return includeR | includeM | includeW, true
	case "includea":
		return includeR | includeM | includeB | includeW, true
	}
	return 0, false
}

// include reads the files an include directive names ("include PATTERN",
// or includer, includem, includeb, includew, includea). It reports
// whether text was such a line.
func (p *preprocessor) include(pos Pos, text string) bool {
	if !strings.HasPrefix(text, "include") {
		return false
	}
	words := p.words(pos, text)
	flags, ok := includeDirective(words[0])
	if len(words) != 2 || !ok {
		return false
	}
	written := words[1]
	// shown is a matched name as keepalived prints it: as the pattern
	// was written, relative to the including file's directory.
	shown := func(m string) string {
		if filepath.IsAbs(written) {
			return m
		}
		r, err := filepath.Rel(p.curDir, m)
		if err != nil {
			return m
		}
		if strings.HasSuffix(m, "/") {
			r += "/"
		}
		return r
	}
	// report is keepalived's file_config_error: an error when the
	// directive checks for what was found, else a warning.
	report := func(pos Pos, found includeFlags, format string, args ...any) {
		if flags&found != 0 {
			p.d.errorf(pos, format, args...)
		} else {
			p.d.warnf(pos, format, args...)
		}
	}
	if len(p.reading) > maxIncludeDepth {
		p.d.warnf(pos, "Includes nested more than %d deep at '%s'", maxIncludeDepth, written)
		return true
	}
	g, err := globBraces(p.files, p.curDir, written)
	switch {
	case err != nil:
		report(pos, includeR, "Error reading config file(s): glob(\"%s\"): %v", written, err)
		return true
	case len(g.matches) == 0 && g.missing:
		missing := includeM
		if strings.Contains(written, "{") {
			missing = includeB
		}
		report(pos, missing, "Config files missing '%s'.", written)
		return true
	case len(g.matches) == 0:
		if g.wildcards && flags&includeW != 0 {
			report(pos, includeW, "No config files matched '%s'.", written)
		}
		return true
	case g.missing:
		report(pos, includeB, "Some config files missing: \"%s\".", written)
		if flags&includeB != 0 {
			return true
		}
	}
	// After the first file, keepalived blames what goes wrong with the
	// next one on the last line of the file it has just read.
	at := pos
	for _, m := range g.matches {
		if strings.HasSuffix(m, "/") {
			report(at, includeR, "Configuration file '%s' is a directory - skipping", shown(m))
			continue
		}
		abs, _ := filepath.Abs(m)
		// keepalived follows an include loop until it runs out of file
		// descriptors, so everything in the loop is read many times over.
		// Reading it a second time shows the same effects (blocks
		// "already defined") without the thousand repetitions, and the
		// message is the one keepalived ends with.
		if n := countOf(p.reading, abs); n >= 2 {
			report(at, includeR, "Configuration file '%s' open problem (Too many open files) - skipping", shown(m))
			continue
		}
		src, err := p.files.ReadFile(m)
		if errors.Is(err, errNotRegular) {
			report(at, includeR, "Configuration file '%s' is not a regular non-executable file - skipping", shown(m))
			continue
		}
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			report(at, includeR, "Configuration file '%s' open problem (%v) - skipping", shown(m), err)
			continue
		}
		text := string(src)
		if _, ok := p.files.(osFiles); ok {
			// The bytes were read for this alone and are never written.
			text = unsafe.String(unsafe.SliceData(src), len(src))
		}
		p.file(m, linesOf(text))
		at = Pos{File: m, Line: strings.Count(text, "\n")}
		if len(src) > 0 && src[len(src)-1] != '\n' {
			at.Line++
		}
	}
	return true
}

// globbed is what glob(3), with GLOB_BRACE and GLOB_MARK and the
// directory callbacks keepalived gives it, makes of a pattern.
type globbed struct {
	matches   []string // in order; directories end in '/'
	missing   bool     // a name without wildcards, or a directory to search, is absent
	wildcards bool     // a directory was searched for a wildcard
}

// globBraces expands the braces of pattern and globs each alternative,
// relative to base unless pattern is absolute: keepalived globs from the
// including file's directory, whose own name is never a pattern.
func globBraces(fsys files, base, pattern string) (globbed, error) {
	var g globbed
	join := func(name string) string {
		if filepath.IsAbs(name) {
			return name
		}
		return filepath.Join(base, name)
	}
	for _, alt := range expandBraces(pattern) {
		dir, file := filepath.Split(alt)
		switch {
		case !hasGlobMeta(alt):
			if !fsys.Exists(join(alt)) {
				g.missing = true
				continue
			}
			g.matches = append(g.matches, markDir(fsys, join(alt)))
			continue
		case !hasGlobMeta(dir) && hasGlobMeta(file):
			g.wildcards = true
			if d := join(filepath.Clean(dir)); !fsys.Exists(d) || fsys.IsFile(d) {
				g.missing = true
				continue
			}
		default:
			g.wildcards = true
		}
		escaped := alt
		if !filepath.IsAbs(alt) {
			escaped = filepath.Join(escapeGlob(base), alt)
		}
		ms, err := fsys.Glob(escaped)
		if err != nil {
			return g, err
		}
		for _, m := range ms {
			g.matches = append(g.matches, markDir(fsys, m))
		}
	}
	return g, nil
}

// escapeGlob quotes the pattern characters of a literal name.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// markDir adds the '/' GLOB_MARK gives a directory.
func markDir(fsys files, name string) string {
	if fsys.Exists(name) && !fsys.IsFile(name) {
		return name + "/"
	}
	return name
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// expandBraces expands the first {a,b} group of pattern, recursively, as
// GLOB_BRACE does; a backslash escapes the next character.
func expandBraces(pattern string) []string {
	open, depth := -1, 0
	var commas []int
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '{':
			if depth == 0 {
				open = i
				commas = commas[:0]
			}
			depth++
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth > 0 {
				continue
			}
			prefix, suffix := pattern[:open], pattern[i+1:]
			var out []string
			from := open + 1
			for _, c := range append(commas, i) {
				out = append(out, expandBraces(prefix+pattern[from:c]+suffix)...)
				from = c + 1
			}
			return out
		}
	}
	return []string{pattern}
}

// split cuts a line at each '{' and '}' outside quotes, so that braces
// become lines of their own, and records the pieces.
func (p *preprocessor) split(pos Pos, text string) {
	for text != "" {
		at := -1
		if text[0] == '{' || text[0] == '}' {
			at = 0
		} else {
			inQuote := false
			for i := 0; i < len(text); i++ {
				c := text[i]
				if c == '"' {
					inQuote = !inQuote
				} else if !inQuote && (c == '{' || c == '}') {
					at = i
					break
				}
			}
		}
		var piece string
		switch {
		case at < 0:
			piece, text = text, ""
		case at == 0:
			piece, text = text[:1], trimBlanksLeft(text[1:])
		default:
			piece, text = text[:at], text[at:]
		}
		p.emit(pos, trimBlanksRight(piece))
	}
}

func (p *preprocessor) emit(pos Pos, text string) {
	switch text {
	case "{":
		p.braces++
	case "}":
		// An extra '}' is still passed on: keepalived then also reports
		// it as an unknown keyword.
		if p.braces < 1 {
			p.d.errorf(pos, "Extra '}' found")
		} else {
			p.braces--
		}
	}
	words := p.words(pos, text)
	if len(words) == 0 {
		return
	}
	if p.lines.len() >= p.maxLines {
		p.d.errorf(pos, "Configuration has more than %d lines", p.maxLines)
		p.full = true
		return
	}
	p.lines.append(line{pos: pos, words: words})
	if p.lines.len()%lineChunk == 0 && p.yield != nil {
		// A chunk is full: the parser reads it before more are made.
		p.yield()
	}
}

// words splits a line into words as keepalived's alloc_strvec does: a
// double-quoted string is one word without its quotes. The words share
// text's memory.
func (p *preprocessor) words(pos Pos, text string) []string {
	n := 0
	for i := 0; i < len(text); i++ {
		if !isSpace(text[i]) && (i == 0 || isSpace(text[i-1]) || text[i-1] == '"') {
			n++
		}
	}
	words := p.alloc(n)
	for i := 0; i < len(text); {
		if isSpace(text[i]) {
			i++
			continue
		}
		if text[i] == '"' {
			j := strings.IndexByte(text[i+1:], '"')
			if j < 0 {
				p.d.errorf(pos, "Unmatched quote: '%s'", text)
				break
			}
			words = append(words, text[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(text) && !isSpace(text[j]) && text[j] != '"' {
			j++
		}
		words = append(words, text[i:j])
		i = j
	}
	return words
}

// alloc returns an empty slice with room for n words, carved from a
// shared slab: one allocation for many lines instead of one per line.
func (p *preprocessor) alloc(n int) []string {
	if n > len(p.slab) {
		if n > 256 {
			return make([]string, 0, n)
		}
		p.slab = make([]string, 4096)
	}
	w := p.slab[:0:n]
	p.slab = p.slab[n:]
	return w
}

// finish reports unbalanced braces once everything has been read.
// keepalived gives the message no position; it is put at the last line.
func (p *preprocessor) finish() {
	if p.braces > 0 {
		p.d.errorf(p.lines.last().pos, "There are %d missing '}'s or extra '{'s", p.braces)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, e := range list {
		if e == s {
			n++
		}
	}
	return n
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
