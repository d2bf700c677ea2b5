package notify

import (
	"errors"
	"fmt"
	"strings"
)

// A Script is a configured notify script: the argument vector keepalived
// executes (without a shell) and the user and group it runs as.
type Script struct {
	// Args is the command split into words; Args[0] is the program.
	Args []string
	// Cred is the user and group the script runs as.
	Cred Credential
}

// NewScript builds a script from a configuration keyword's values: cmd is
// the command (a bare path, or a quoted string holding a path and
// arguments), user and group are the optional words after it. When user is
// empty the script runs as def, the default script user; a nil def means
// there is no usable default (see DefaultUser), and the script is refused
// as keepalived refuses it. keyword names the script in errors.
func NewScript(keyword, cmd, user, group string, def *Credential) (*Script, error) {
	args, err := SplitWords(cmd)
	if err != nil || len(args) == 0 {
		return nil, fmt.Errorf("Unable to parse script '%s' - ignoring", cmd)
	}
	s := &Script{Args: args}
	switch {
	case user != "":
		c, err := LookupCredential(user, group)
		if err != nil {
			return nil, fmt.Errorf("Invalid user/group for %s script %s - ignoring: %w", keyword, args[0], err)
		}
		s.Cred = c
	case def == nil:
		return nil, fmt.Errorf("Failed to set default user for %s script %s - ignoring", keyword, args[0])
	default:
		s.Cred = *def
	}
	return s, nil
}

// ParseScriptLine parses a whole configuration line such as
//
//	notify_master "/etc/keepalived/master.sh VI_1 'two words'" nobody
//
// the way keepalived does: the line is split into words, and the command
// word is split again, so quotes and escapes inside the command apply a
// second time.
func ParseScriptLine(line string, def *Credential) (*Script, error) {
	words, err := SplitWords(line)
	if err != nil {
		return nil, err
	}
	if len(words) < 2 {
		return nil, fmt.Errorf("%s: no script specified", strings.Join(words, " "))
	}
	var user, group string
	if len(words) > 2 {
		user = words[2]
	}
	if len(words) > 3 {
		group = words[3]
	}
	return NewScript(words[0], words[1], user, group, def)
}

// Command returns the argument vector for one run of the script: its
// configured words followed by extra.
func (s *Script) Command(extra ...string) []string {
	argv := make([]string, 0, len(s.Args)+len(extra))
	return append(append(argv, s.Args...), extra...)
}

// String returns the command as keepalived prints it in its logs: each
// word in single quotes, except a leading redirection.
func (s *Script) String() string {
	var b strings.Builder
	for i, a := range s.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		// keepalived leaves "</dev/tcp/..." unquoted so that the shell
		// still sees a redirection.
		if i == 0 && (strings.HasPrefix(a, "<") || strings.HasPrefix(a, ">")) {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + a + "'")
	}
	return b.String()
}

// shellCommand is the command line /bin/sh runs for argv, as keepalived's
// cmd_str builds it (each word in single quotes but a leading
// redirection) except that a single quote inside a word closes the
// quoting, is escaped with a backslash and reopens it, so that it cannot
// end the word: keepalived's unescaped quote would let an argument run
// commands.
func shellCommand(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 && (strings.HasPrefix(a, "<") || strings.HasPrefix(a, ">")) {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

// usesShell reports whether keepalived hands the command to /bin/sh
// rather than executing it: the form "</path" only tests that a file can
// be opened.
func (s *Script) usesShell() bool {
	a := s.Args[0]
	return strings.HasPrefix(a, "<") && strings.HasPrefix(strings.TrimLeft(a[1:], " \t"), "/")
}

var (
	errUnmatchedQuote = errors.New("missing terminating quote")
	errTrailingEscape = errors.New("missing escape char at end")
)

// SplitWords splits s into words the way keepalived splits script
// commands: words are separated by blanks; single and double quotes group
// blanks into a word and may be mixed within one word; a backslash escapes
// the next character, both inside and outside quotes, and knows the C
// escapes \a \b \E \f \n \r \t \v, octal \NNN, hex \xHH and control \cX.
func SplitWords(s string) ([]string, error) {
	var (
		words []string
		word  []byte
		quote byte
		in    bool // inside a word
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i == len(s) {
				return nil, fmt.Errorf("splitting %q: %w", s, errTrailingEscape)
			}
			b, n := unescape(s[i:])
			word = append(word, b)
			i += n - 1
			in = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				word = append(word, c)
			}
		case c == '"' || c == '\'':
			quote = c
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			if in {
				words = append(words, string(word))
				word, in = word[:0], false
			}
		default:
			word = append(word, c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("splitting %q: %w %c", s, errUnmatchedQuote, quote)
	}
	if in {
		words = append(words, string(word))
	}
	return words, nil
}

// unescape decodes the escape sequence at the start of s (after the
// backslash) and returns the byte and how many bytes of s it used.
func unescape(s string) (byte, int) {
	switch c := s[0]; {
	case c == 'x' && len(s) > 1 && isHex(s[1]):
		var v byte
		n := 1
		// keepalived reads every following hex digit, keeping the low
		// byte.
		for n < len(s) && isHex(s[n]) {
			v = v<<4 | hexVal(s[n])
			n++
		}
		return v, n
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case c >= '0' && c <= '7':
		v, n := c-'0', 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v<<3 + s[n] - '0'
			n++
		}
		return v, n
	default:
		return simpleEscape(c), 1
	}
}

func simpleEscape(c byte) byte {
	switch c {
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	case 'E':
		return 0x1b
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'v':
		return '\v'
	}
	// \" \' \\ and any other character stand for themselves.
	return c
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
