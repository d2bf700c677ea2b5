// Package pcre matches HTTP_GET and SSL_GET url regexes as keepalived's
// PCRE2 does: Perl syntax with lookaround and backreferences, keepalived's
// regex_options, and its start and end offsets.
//
// The engine is regexp2, a backtracking engine with Perl and PCRE syntax.
// Without the utf option PCRE2 sees bytes: pattern and subject are then
// taken a byte to a character (Latin-1), so that "." matches one byte and
// a body that is not UTF-8 still matches. Where the engines part, it is
// on bytes above 0x7f: regexp2's \w, \d, \s, \b and caseless matching
// classify them by Unicode, PCRE2's (without ucp) by ASCII alone.
package pcre

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// Option is a set of keepalived's regex_options, each a PCRE2 compile
// option.
type Option uint32

// The regex_options keepalived 2.2.7 accepts (check_http.c's
// regex_options), in its order.
const (
	AllowEmptyClass Option = 1 << iota
	AltBsux
	AutoCallout
	Caseless
	DollarEndonly
	Dotall
	Dupnames
	Extended
	Firstline
	MatchUnsetBackref
	Multiline
	NeverUCP
	NeverUTF
	NoAutoCapture
	NoAutoPossess
	NoDotstarAnchor
	NoStartOptimize
	UCP
	Ungreedy
	UTF
	NeverBackslashC
	AltCircumflex
	AltVerbnames
	UseOffsetLimit
)

var optionNames = [...]string{
	"allow_empty_class", "alt_bsux", "auto_callout", "caseless", "dollar_endonly", "dotall",
	"dupnames", "extended", "firstline", "match_unset_backref", "multiline", "never_ucp",
	"never_utf", "no_auto_capture", "no_auto_possess", "no_dotstar_anchor", "no_start_optimize",
	"ucp", "ungreedy", "utf", "never_backslash_c", "alt_circumflex", "alt_verbnames", "use_offset_limit",
}

// ParseOption returns the Option a regex_options word names. keepalived
// ignores words it does not know, silently; ok is false for them.
func ParseOption(name string) (o Option, ok bool) {
	for i, n := range optionNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// String lists the options by keepalived's names, space separated.
func (o Option) String() string {
	var names []string
	for i, n := range optionNames {
		if o&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, " ")
}

// Unsupported are the options this package cannot honour: each changes
// what a pattern matches in a way regexp2 has no equivalent for.
// allow_empty_class makes "[]" an empty class, alt_bsux and alt_circumflex
// change escapes and "^", match_unset_backref lets a reference to an unset
// group match the empty string.
//
// Those left out of Unsupported and of the engine options below change
// nothing a checker can see: auto_callout calls no callout without a
// callout function, which keepalived does not give; dupnames is regexp2's
// own behaviour; no_auto_possess, no_dotstar_anchor and no_start_optimize
// only turn off optimisations; never_ucp, never_utf, never_backslash_c and
// alt_verbnames restrict or reword syntax regexp2 does not have, and
// use_offset_limit only allows an offset limit keepalived never sets.
const Unsupported = AllowEmptyClass | AltBsux | AltCircumflex | MatchUnsetBackref

// DefaultStack is the backtracking stack, in bytes, a regex without
// regex_stack gets: regexp2's own default of 100,000 slots.
//
// regex_stack sizes PCRE2's JIT stack, the memory a match may use to
// backtrack; a match that needs more fails. Here it sizes regexp2's
// backtracking stack in the same bytes. keepalived makes one JIT stack
// for every url that names regex_stack, as large as the largest; here
// each url's maximum bounds its own matches.
const DefaultStack = 100000 * slotSize

// slotSize is the size in bytes of one of regexp2's backtracking stack
// slots, an int.
const slotSize = 8

// Regexp is a compiled url regex.
type Regexp struct {
	pattern string
	opts    Option
	re      *regexp2.Regexp
}

// Compile compiles pattern with opts. stack bounds the backtracking stack
// in bytes, as regex_stack's maximum bounds PCRE2's JIT stack; zero means
// DefaultStack. A match that would need more fails, as PCRE2's does when
// its JIT stack is exhausted. The error of a pattern regexp2 refuses
// words it as keepalived does: "Invalid regex: 'pattern': reason".
func Compile(pattern string, opts Option, stack int) (*Regexp, error) {
	if stack <= 0 {
		stack = DefaultStack
	}
	var ro regexp2.RegexOptions
	for _, m := range []struct {
		o Option
		r regexp2.RegexOptions
	}{
		{Caseless, regexp2.IgnoreCase},
		{Multiline, regexp2.Multiline},
		{Dotall, regexp2.Singleline},
		{Extended, regexp2.IgnorePatternWhitespace},
		{NoAutoCapture, regexp2.ExplicitCapture},
	} {
		if opts&m.o != 0 {
			ro |= m.r
		}
	}
	expr := pattern
	if opts&UTF == 0 {
		expr = latin1(pattern)
	} else if !utf8.ValidString(pattern) {
		return nil, &CompileError{Pattern: pattern, Reason: "UTF-8 error in the pattern"}
	}
	expr = rewrite(expr, opts)
	re, err := regexp2.Compile(expr, ro, regexp2.OptionMaxBacktrackingStackSize(max(1, stack/slotSize)))
	if err != nil {
		return nil, &CompileError{Pattern: pattern, Reason: strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
	}
	return &Regexp{pattern: pattern, opts: opts, re: re}, nil
}

// A CompileError is a pattern the engine refused.
type CompileError struct {
	Pattern string
	Reason  string
}

// Error words the refusal as keepalived logs PCRE2's: "Invalid regex:
// 'pattern': reason"; keepalived's also gives the offset, which regexp2
// does not tell.
func (e *CompileError) Error() string {
	return "Invalid regex: '" + e.Pattern + "': " + e.Reason
}

// Never returns a Regexp that matches nothing, for a pattern Compile
// refused: keepalived keeps checking a url whose regex failed to compile,
// and no match is ever found in it.
func Never(pattern string) *Regexp { return &Regexp{pattern: pattern} }

// String returns the pattern as configured.
func (r *Regexp) String() string { return r.pattern }

// Options returns the options r was compiled with.
func (r *Regexp) Options() Option { return r.opts }

// Match reports whether subject has a match that starts at or after byte
// min and at or before byte max, as keepalived matches with
// regex_min_offset and regex_max_offset: min is PCRE2's start offset, so
// lookbehind still sees the bytes before it, and a match found beyond
// max does not count. max < 0 means no limit. The error is PCRE2's
// reason for a match that did not run to its end: a subject that is not
// UTF-8 under the utf option, or an exhausted stack; keepalived counts
// such a match as none.
func (r *Regexp) Match(subject []byte, min, max int) (bool, error) {
	if r.re == nil || min > len(subject) {
		return false, nil
	}
	runes, offsets, err := r.decode(subject)
	if err != nil {
		return false, err
	}
	start := min
	if offsets != nil {
		// min in runes: the first rune at or after byte min.
		start = searchOffset(offsets, min)
	}
	m, err := r.re.FindRunesMatchStartingAt(runes, start)
	if err != nil || m == nil {
		return false, err
	}
	at := m.RuneIndex
	if offsets != nil {
		at = offsets[at]
	}
	if max >= 0 && at > max {
		return false, nil
	}
	if r.opts&Firstline != 0 {
		// The match must start in the first line after the start
		// offset; it may run on past the newline.
		if nl := indexByteFrom(subject, '\n', min); nl >= 0 && at > nl {
			return false, nil
		}
	}
	return true, nil
}

// decode turns subject into the engine's runes: a byte each without utf,
// UTF-8 with it, when offsets maps each rune (and the end) to its byte.
func (r *Regexp) decode(subject []byte) (runes []rune, offsets []int, err error) {
	if r.opts&UTF == 0 {
		runes = make([]rune, len(subject))
		for i, b := range subject {
			runes[i] = rune(b)
		}
		return runes, nil, nil
	}
	if !utf8.Valid(subject) {
		return nil, nil, errors.New("UTF-8 error in the subject")
	}
	runes = make([]rune, 0, len(subject))
	offsets = make([]int, 0, len(subject)+1)
	for i, c := range string(subject) {
		runes = append(runes, c)
		offsets = append(offsets, i)
	}
	return runes, append(offsets, len(subject)), nil
}

// searchOffset returns the index of the first offset at or after b.
func searchOffset(offsets []int, b int) int {
	for i, o := range offsets {
		if o >= b {
			return i
		}
	}
	return len(offsets) - 1
}

func indexByteFrom(b []byte, c byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// latin1 takes each byte of s as the character of the same code, as
// PCRE2 reads a pattern without utf.
func latin1(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}
