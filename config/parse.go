package config

import (
	"fmt"
	"iter"
	"math"
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options changes how a configuration is read.
type Options struct {
	// ConfigID is matched against @id and @^id line prefixes; "" means
	// the short host name, as keepalived's default.
	ConfigID string
	// CheckSystem also checks what depends on this machine, such as
	// whether the interfaces named exist.
	CheckSystem bool
}

// Load reads the configuration file at path, and the files it includes.
// The error is only for a main file that cannot be read at all; every
// problem in the configuration is a Diagnostic.
func Load(path string, opt Options) (*Config, Diagnostics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading configuration %s: %w", path, err)
	}
	defer f.Close()
	// The file is read a block at a time as the parser goes: a large
	// configuration is never held whole beside the Config made of it.
	src := &blockLines{r: f}
	cfg, ds := parseLines(path, src.next, opt, osFiles{}, defaultMaxLines)
	if src.err != nil {
		return nil, nil, fmt.Errorf("reading configuration %s: %w", path, src.err)
	}
	return cfg, ds, nil
}

// Parse reads configuration text. name is the file name diagnostics use;
// include patterns are resolved relative to its directory.
func Parse(name string, src []byte, opt Options) (*Config, Diagnostics) {
	return parse(name, string(src), opt, osFiles{}, defaultMaxLines)
}

// parse is Parse with the source of included files and the limit on
// expanded lines made explicit, for fuzzing.
func parse(name, src string, opt Options, fsys files, maxLines int) (*Config, Diagnostics) {
	return parseLines(name, linesOf(src), opt, fsys, maxLines)
}

// parseLines is parse with the main file's lines coming from src, which
// returns them in order.
func parseLines(name string, src func() (string, bool), opt Options, fsys files, maxLines int) (*Config, Diagnostics) {
	id := opt.ConfigID
	if id == "" {
		id = shortHostname()
	}
	d := &diags{}
	pp := newPreprocessor(d, id)
	pp.maxLines = maxLines
	pp.files = fsys
	// The preprocessor runs as a coroutine a chunk of lines ahead of the
	// parser, which releases the chunks it has read: only a few thousand
	// logical lines are held at once, however long the configuration.
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		pp.yield = func() { yield(struct{}{}) }
		pp.file(name, src)
		pp.finish()
	})
	defer stop()
	pp.lines.fill = func() bool { _, ok := next(); return ok }

	p := &parser{
		d:              d,
		cfg:            &Config{},
		kw:             newKeywords(),
		implemented:    implemented(),
		lines:          &pp.lines,
		rt:             &rtFiles{},
		globalSeen:     make(map[string]bool),
		instanceNames:  make(map[string]bool),
		syncGroupNames: make(map[string]bool),
	}
	decodeBlock(p, p.cfg, p.kw.top)
	p.lines.drain()
	p.resolve()
	p.validate()
	p.resolveCheckers()
	if opt.CheckSystem {
		p.checkSystem()
	}
	return p.cfg, d.list
}

// implemented is implementedKeywords, made once: the table is the same
// for every configuration read and the parser only looks it up.
var implemented = sync.OnceValue(implementedKeywords)

func shortHostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// A node is one keyword line and its words.
type node struct {
	pos   Pos
	words []string
}

// parser turns the logical lines into a Config. Like keepalived's
// process_stream it reads them in order, and a keyword's handler decides
// whether a block follows: a '{' after a keyword that has no block, or
// after an unknown one, is reported and its lines are read as if it were
// not there, with the same consequences as in keepalived.
type parser struct {
	d     *diags
	cfg   *Config
	kw    *keywords
	lines *lineList
	next  int // index in lines of the next line to read
	level int // blocks open
	// blocks names each open block, outermost first, by the keywords that
	// opened it and its enclosing blocks joined by '/', as the keyword list
	// names blocks: "virtual_server/real_server/HTTP_GET".
	blocks []string
	// implemented holds every keyword gokeepalived acts on or that does not
	// apply to it; any other keyword read is reported as unimplemented.
	implemented map[keywordAt]bool

	globalSeen     map[string]bool // global_defs keywords written
	rulePriority   int             // the next rule preference keepalived assigns
	rt             *rtFiles        // the iproute2 names files read so far
	instanceNames  map[string]bool
	syncGroupNames map[string]bool
	instance       string            // the vrrp_instance whose authentication block is read
	realServers    []RealServer      // scratch for the virtual server being read
	kept           map[string]string // the copies keep made, by value
	blockNames     []openName        // by depth, the last name openBlock made
	// defaultUser is what became of the default script user, which
	// keepalived resolves once, when the first script needs it.
	defaultUser defaultUserState
	// bfdNeighbour says keepalived's BFD messages spell neighbour.
	bfdNeighbour bool
	// bfdChecker and bfdVRRP are the bfd_instance names keepalived's
	// checker and VRRP processes keep: those BFD_CHECK and track_bfd may
	// name.
	bfdChecker, bfdVRRP map[string]bool
}

// An openName is a block's name, as parser.blocks holds it, made from
// its enclosing block's and its keyword.
type openName struct{ parent, word, name string }

// defaultUserState is how far the default script user is resolved.
type defaultUserState int

const (
	defaultUserUnresolved defaultUserState = iota
	defaultUserResolved
	defaultUserFailed
)

// defaultScriptUser resolves the default script user for a script at pos
// as keepalived's get_default_script_user does: script_user if set, else
// keepalived_script, else the daemon's own user unless
// enable_script_security (so far) forbids it. It reports false when there
// is no usable default.
func (p *parser) defaultScriptUser(pos Pos) bool {
	if p.defaultUser == defaultUserUnresolved {
		p.defaultUser = defaultUserResolved
		g := &p.cfg.Global
		if _, err := user.Lookup("keepalived_script"); err != nil && g.ScriptUser == "" && g.EnableScriptSecurity {
			p.errorf(pos, "Unable to set default user keepalived_script for script")
			p.defaultUser = defaultUserFailed
		}
	}
	return p.defaultUser == defaultUserResolved
}

// errorf reports an Error: everything the parser reports, keepalived -t
// reports as a configuration error too.
func (p *parser) errorf(pos Pos, format string, args ...any) { p.d.errorf(pos, format, args...) }

// warnf reports a Warning: something keepalived accepts that gokeepalived
// cannot do as keepalived would.
func (p *parser) warnf(pos Pos, format string, args ...any) { p.d.warnf(pos, format, args...) }

// handlers maps the keywords valid in one kind of block to what they do.
type handlers[T any] map[string]func(p *parser, obj *T, n *node)

// decodeBlock reads the lines of a block, up to its '}', and runs the
// handler of each. Several keywords on one line, as in
// "authentication { auth_type PASS auth_pass 1111 }", are taken one by one.
func decodeBlock[T any](p *parser, obj *T, h handlers[T]) (end Pos) {
	// One node serves each line of the block in turn: a handler uses its
	// line's node only while it runs, and a block it opens has its own.
	n := new(node)
	for p.lines.has(p.next) {
		l := p.lines.at(p.next)
		p.next++
		p.lines.release(p.next - 1)
		end = l.pos
		*n = node(l)
		switch {
		case isBrace(l, "}"):
			if p.level > 0 {
				return end
			}
			p.errorf(n.pos, "Unknown keyword '}'")
			continue
		case isBrace(l, "{"):
			p.errorf(n.pos, "Unexpected '{' - ignoring")
			continue
		}
		if parts := p.splitKeywords(n, func(w string) bool { _, ok := h[w]; return ok }); parts != nil {
			for _, n := range parts {
				handle(p, obj, h, n)
			}
		} else {
			handle(p, obj, h, n)
		}
	}
	return end
}

// handle runs the handler of keyword line n.
func handle[T any](p *parser, obj *T, h handlers[T], n *node) {
	f, ok := h[n.words[0]]
	if !ok {
		p.errorf(n.pos, "Unknown keyword '%s'", n.words[0])
		return
	}
	p.noteKeyword(n)
	f(p, obj, n)
}

// noteKeyword reports keyword line n as unimplemented unless
// gokeepalived acts on it where it stands.
func (p *parser) noteKeyword(n *node) {
	if !p.implemented[keywordAt{p.blockName(), n.words[0]}] {
		p.d.unimplemented(n.pos, n.words[0])
	}
}

// block names the innermost open block; "top" is the top level.
func (p *parser) blockName() string {
	if len(p.blocks) == 0 {
		return "top"
	}
	return p.blocks[len(p.blocks)-1]
}

func isBrace(l line, b string) bool { return len(l.words) == 1 && l.words[0] == b }

// peekBrace reports whether the next line is a lone '{'.
func (p *parser) peekBrace() bool {
	return p.lines.has(p.next) && isBrace(p.lines.at(p.next), "{")
}

// splitKeywords cuts a line before each later word that is a keyword of
// the block. A keyword's first argument is never taken as another
// keyword, and a line followed by a '{' is left whole, as keepalived
// gives that '{' to the line's first keyword. A line left whole is nil.
func (p *parser) splitKeywords(n *node, known func(string) bool) []*node {
	if len(n.words) < 3 || p.peekBrace() {
		return nil
	}
	var out []*node
	start := 0
	for i := 2; i < len(n.words); i++ {
		if i-start >= 2 && known(n.words[i]) {
			out = append(out, &node{pos: n.pos, words: n.words[start:i]})
			start = i
			// keepalived gives the whole line to its first keyword,
			// which ignores the words it does not expect; a peer
			// running keepalived with this line does not apply the rest.
			p.d.warnf(n.pos, "keepalived ignores '%s' after '%s' on the same line", n.words[i], n.words[0])
		}
	}
	if start == 0 {
		return nil
	}
	return append(out, &node{pos: n.pos, words: n.words[start:]})
}

// openBlock enters the block of a keyword that has sub-keywords, the
// caller then reads it with decodeBlock and closes it with closeBlock.
func (p *parser) openBlock(n *node) {
	if p.peekBrace() {
		p.next++
	} else {
		p.errorf(n.pos, "Missing '{' at beginning of configuration block")
	}
	p.level++
	name := n.words[0]
	if d := len(p.blocks); d == 0 {
		name = p.keep(name)
	} else {
		// The same blocks open again and again, as in every real
		// server's HTTP_GET: the last name made at each depth is reused.
		parent := p.blocks[d-1]
		for len(p.blockNames) <= d {
			p.blockNames = append(p.blockNames, openName{})
		}
		if m := &p.blockNames[d]; m.parent == parent && m.word == name {
			name = m.name
		} else {
			word := name
			name = parent + "/" + word
			*m = openName{parent: parent, word: strings.Clone(word), name: name}
		}
	}
	p.blocks = append(p.blocks, name)
}

func (p *parser) closeBlock() {
	p.level--
	p.blocks = p.blocks[:len(p.blocks)-1]
}

// block reads the block of keyword line n with the handlers h into obj.
// It returns the position of the block's '}'.
func block[T any](p *parser, n *node, obj *T, h handlers[T]) Pos {
	p.openBlock(n)
	defer p.closeBlock()
	return decodeBlock(p, obj, h)
}

// values reads the lines of a block of values, such as
// virtual_ipaddress, as keepalived's alloc_value_block does. args is how
// many words the keyword line itself has (the keyword and its name).
func (p *parser) values(n *node, args int) []*node {
	if len(n.words) > args {
		p.errorf(n.pos, "Block %s has extra parameters %s ...", n.words[0], n.words[args])
	}
	if p.peekBrace() {
		p.next++
	}
	var out []*node
	for p.lines.has(p.next) {
		l := p.lines.at(p.next)
		p.next++
		p.lines.release(p.next - 1)
		if isBrace(l, "}") {
			break
		}
		out = append(out, &node{pos: l.pos, words: l.words})
	}
	return out
}

// skipBlock passes over the block of a keyword keepalived drops, such as
// a virtual_server with an invalid address.
func (p *parser) skipBlock() {
	if p.peekBrace() {
		p.rawBlock()
	}
}

// rawBlock reads a block this model keeps uninterpreted, if one follows.
func (p *parser) rawBlock() []Raw {
	if !p.peekBrace() {
		return nil
	}
	p.next++
	var out []Raw
	for p.lines.has(p.next) {
		l := p.lines.at(p.next)
		p.next++
		p.lines.release(p.next - 1)
		if isBrace(l, "}") {
			break
		}
		out = append(out, Raw{Pos: l.pos, Words: p.keepAll(l.words), Block: p.rawBlock()})
	}
	return out
}

// raw keeps a keyword line, and its block if it has one, uninterpreted.
func (p *parser) raw(n *node) Raw {
	return Raw{Pos: n.pos, Words: p.keepAll(n.words), Block: p.rawBlock()}
}

// arg returns word i of a line, reporting a missing one as keepalived
// does. The word is a copy the Config may keep (see keep).
func (p *parser) arg(n *node, i int) (string, bool) {
	s, ok := p.word(n, i)
	return p.keep(s), ok
}

// keep returns a copy of s for the Config to hold: the words of lines
// share the bytes of the file, which are let go as the parser passes
// them, and should not stay reachable through the few words the Config
// keeps. Copies are shared, as a large configuration repeats its paths,
// names and values many times.
func (p *parser) keep(s string) string {
	if s == "" {
		return ""
	}
	if k, ok := p.kept[s]; ok {
		return k
	}
	if p.kept == nil {
		p.kept = make(map[string]string)
	}
	k := strings.Clone(s)
	p.kept[k] = k
	return k
}

// keepAll is keep for each of words, in a new slice.
func (p *parser) keepAll(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = p.keep(w)
	}
	return out
}

// word is arg for a word read and not kept, such as a number.
func (p *parser) word(n *node, i int) (string, bool) {
	if i < len(n.words) {
		return n.words[i], true
	}
	if i > 0 {
		p.errorf(n.pos, "*** Configuration line starting `%s` is missing a parameter after keyword `%s` at word position %d", n.words[0], n.words[i-1], i+1)
	} else {
		p.errorf(n.pos, "*** Configuration line starting `%s` is missing a parameter at word position %d", n.words[0], i+1)
	}
	return "", false
}

// uintArg reads word i as keepalived's read_unsigned_strvec does.
func (p *parser) uintArg(n *node, i int, lo, hi uint64) (uint64, bool) {
	s, ok := p.word(n, i)
	if !ok {
		return 0, false
	}
	return p.uintValue(n.pos, s, lo, hi)
}

func (p *parser) uintValue(pos Pos, s string, lo, hi uint64) (uint64, bool) {
	t := trimBlanksLeft(s)
	if strings.HasPrefix(t, "-") {
		p.errorf(pos, "negative number '%s'", s)
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(t, "+"), 10, 64)
	switch {
	case err != nil && isRangeErr(err):
		p.errorf(pos, "number '%s' outside unsigned integer range", s)
		return 0, false
	case err != nil:
		p.errorf(pos, "invalid number '%s'", s)
		return 0, false
	case v > math.MaxUint32:
		p.errorf(pos, "number '%s' outside unsigned integer range", s)
		return 0, false
	case v < lo || v > hi:
		p.errorf(pos, "number '%s' outside range [%d, %d]", s, lo, hi)
		return 0, false
	}
	return v, true
}

// intArg reads word i as keepalived's read_int_strvec does.
func (p *parser) intArg(n *node, i int, lo, hi int64) (int64, bool) {
	s, ok := p.word(n, i)
	if !ok {
		return 0, false
	}
	return p.intValue(n.pos, s, lo, hi)
}

func (p *parser) intValue(pos Pos, s string, lo, hi int64) (int64, bool) {
	v, err := strconv.ParseInt(trimBlanksLeft(s), 10, 64)
	switch {
	case err != nil && isRangeErr(err), err == nil && (v < math.MinInt32 || v > math.MaxInt32):
		p.errorf(pos, "number '%s' outside integer range", s)
		return 0, false
	case err != nil:
		p.errorf(pos, "invalid number '%s'", s)
		return 0, false
	case v < lo || v > hi:
		p.errorf(pos, "number '%s' outside range [%d, %d]", s, lo, hi)
		return 0, false
	}
	return v, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// timerArg reads word i as seconds, fractions allowed, as keepalived's
// read_timer does. hi 0 means keepalived's maximum timer.
func (p *parser) timerArg(n *node, i int, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := p.word(n, i)
	if !ok {
		return 0, false
	}
	if hi == 0 {
		hi = maxTimer
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil && isRangeErr(err):
		p.errorf(n.pos, "number '%s' out of range", s)
		return 0, false
	case err != nil || strings.ContainsAny(s, "xXpP_"):
		p.errorf(n.pos, "invalid number '%s'", s)
		return 0, false
	case math.IsInf(v, 0):
		p.errorf(n.pos, "infinite number '%s'", s)
		return 0, false
	case math.IsNaN(v):
		p.errorf(n.pos, "not a number '%s'", s)
		return 0, false
	case v < lo.Seconds() || v > hi.Seconds():
		p.errorf(n.pos, "number '%s' outside range [%f, %f]", s, lo.Seconds(), hi.Seconds())
		return 0, false
	}
	return time.Duration(v * float64(time.Second)).Truncate(time.Microsecond), true
}

// maxTimer is the largest timer keepalived reads: its timers are
// microseconds in 32 bits.
const maxTimer = time.Duration(math.MaxUint32) * time.Microsecond

// boolArg reads an optional on/off word; a keyword alone means true.
func (p *parser) boolArg(n *node, what string) (bool, bool) {
	if len(n.words) < 2 {
		return true, true
	}
	v, ok := trueFalse(n.words[1])
	if !ok {
		p.errorf(n.pos, "Invalid %s parameter %s", what, n.words[1])
	}
	return v, ok
}

// trueFalse reads keepalived's boolean words.
func trueFalse(s string) (v, ok bool) {
	switch s {
	case "true", "on", "yes":
		return true, true
	case "false", "off", "no":
		return false, true
	}
	return false, false
}

// parseAddr parses an IP address word; zones are not accepted.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parsePrefix parses "addr[/len]"; without a length the address is a host.
func parsePrefix(s string) (netip.Prefix, bool) {
	addr, bits, hasBits := strings.Cut(s, "/")
	a, ok := parseAddr(addr)
	if !ok {
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		v, err := strconv.Atoi(bits)
		if err != nil || v < 0 || v > a.BitLen() {
			return netip.Prefix{}, false
		}
		n = v
	}
	return netip.PrefixFrom(a, n), true
}

// ipPrefix reads "addr[/len]" as keepalived's parse_ipaddress does, with
// its messages: a bad length is reported and the address taken as a
// host, a bad address is reported and refused.
func (p *parser) ipPrefix(pos Pos, s string) (netip.Prefix, bool) {
	addr, bits, hasBits := strings.Cut(s, "/")
	max := 32
	if strings.Contains(s, ":") {
		max = 128
	}
	n := max
	if hasBits {
		if v, ok := p.uintValue(pos, bits, 0, uint64(max)); ok {
			n = int(v)
		} else {
			p.errorf(pos, "Invalid address prefix len %s for address %s - using %d", bits, s, max)
		}
	}
	a, ok := parseAddr(addr)
	if !ok || a.BitLen() != max {
		p.errorf(pos, "VRRP parsed invalid IP %s. skipping IP...", s)
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, n), true
}

// notifyArg reads "keyword SCRIPT [user [group]]".
func (p *parser) notifyArg(n *node) *Notify {
	cmd, ok := p.arg(n, 1)
	if !ok {
		return nil
	}
	s := &Notify{Pos: n.pos, Cmd: cmd}
	if len(n.words) > 2 {
		s.User = p.keep(n.words[2])
	}
	if len(n.words) > 3 {
		s.Group = p.keep(n.words[3])
	}
	if len(n.words) > 4 {
		p.errorf(n.pos, "Too many parameters for %s", n.words[0])
	}
	return s
}

// portValue reads a port word; lo is 0 where "no port" is allowed.
func (p *parser) portValue(pos Pos, s string, lo uint64) (uint16, bool) {
	v, ok := p.uintValue(pos, s, lo, 65535)
	return uint16(v), ok
}
