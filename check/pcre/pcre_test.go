package pcre

import (
	"strings"
	"testing"
)

func TestParseOptionNames(t *testing.T) {
	for _, n := range optionNames {
		o, ok := ParseOption(n)
		if !ok || o.String() != n {
			t.Errorf("ParseOption(%q) = %v, %v", n, o, ok)
		}
	}
	if _, ok := ParseOption("anchored"); ok {
		t.Error("anchored is not one of keepalived's regex_options")
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		opts          Option
		subject       string
		min, max      int
		want          bool
	}{
		{"lookahead", `foo(?=bar)`, 0, "foobar", 0, -1, true},
		{"lookahead refused", `foo(?=bar)`, 0, "foobaz", 0, -1, false},
		{"negative lookahead", `foo(?!bar)`, 0, "foobar", 0, -1, false},
		{"lookbehind", `(?<=status: )ok`, 0, "status: ok", 0, -1, true},
		{"lookbehind refused", `(?<=status: )ok`, 0, "state: ok", 0, -1, false},
		{"backreference", `<(\w+)>.*</\1>`, 0, "<b>x</b>", 0, -1, true},
		{"backreference refused", `<(\w+)>.*</\1>`, 0, "<b>x</i>", 0, -1, false},
		{"named backreference", `(?P<q>['"]).*(?P=q)`, 0, `'a'`, 0, -1, true},
		{"case sensitive", `healthy`, 0, "HEALTHY", 0, -1, false},
		{"caseless", `healthy`, Caseless, "HEALTHY", 0, -1, true},
		{"no multiline", `^ok$`, 0, "state\nok\n", 0, -1, false},
		{"multiline", `^ok$`, Multiline, "state\nok\n", 0, -1, true},
		{"dollar before final newline", `ok$`, 0, "ok\n", 0, -1, true},
		{"dollar_endonly", `ok$`, DollarEndonly, "ok\n", 0, -1, false},
		{"no dotall", `a.b`, 0, "a\nb", 0, -1, false},
		{"dotall", `a.b`, Dotall, "a\nb", 0, -1, true},
		{"extended", `o k # comment`, Extended, "ok", 0, -1, true},
		{"ungreedy", `<.+>x`, Ungreedy, "<a><b>x", 0, -1, true},
		{"ungreedy lazy becomes greedy", `a+?$`, Ungreedy, "aaa", 0, -1, true},
		{"min offset", `ok`, 0, "ok ok", 1, -1, true},
		{"min offset past the only match", `ok`, 0, "ok..", 1, -1, false},
		{"lookbehind sees before min offset", `(?<=x)ok`, 0, "xok", 1, -1, true},
		{"max offset", `ok`, 0, "..ok", 0, 2, true},
		{"max offset before the match", `ok`, 0, "...ok", 0, 2, false},
		{"firstline", `ok`, Firstline, "a\nok", 0, -1, false},
		{"firstline first line", `ok`, Firstline, "aok\nb", 0, -1, true},
		{"bytes", `\xff`, 0, "a\xffb", 0, -1, true},
		{"dot is a byte", `^..$`, 0, "é", 0, -1, true},
		{"utf dot is a character", `^.$`, UTF, "é", 0, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re, err := Compile(tc.pattern, tc.opts, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := re.Match([]byte(tc.subject), tc.min, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%q (%v) on %q [%d,%d] = %v, want %v", tc.pattern, tc.opts, tc.subject, tc.min, tc.max, got, tc.want)
			}
		})
	}
}

func TestCompileRefusedWording(t *testing.T) {
	_, err := Compile(`a(b`, 0, 0)
	if err == nil || !strings.HasPrefix(err.Error(), "Invalid regex: 'a(b': ") {
		t.Fatalf("err = %v, want keepalived's \"Invalid regex: 'a(b': ...\"", err)
	}
}

// TestStackLimit: the stack an url's regex_stack sizes bounds the match,
// which fails when it runs out, as keepalived's JIT stack does.
func TestStackLimit(t *testing.T) {
	// Each repetition of the group is a backtracking point: a tiny
	// stack cannot hold them, a default one can.
	subject := []byte(strings.Repeat("ab", 5000) + "c")
	small, err := Compile(`(?:a|b)*c`, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := small.Match(subject, 0, -1); ok || err == nil {
		t.Errorf("64-byte stack: match %v, err %v; want a stack error", ok, err)
	}
	big, err := Compile(`(?:a|b)*c`, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := big.Match(subject, 0, -1); !ok || err != nil {
		t.Errorf("default stack: match %v, err %v", ok, err)
	}
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		in   string
		opts Option
		want string
	}{
		{`a*b+?c{2,3}d++[*+?]\*(?:x)?\Q*\E`, Ungreedy, `a*?b+c{2,3}?d++[*+?]\*(?:x)??\Q*\E`},
		{`a$[$]\$`, DollarEndonly, `a\z[$]\$`},
		{`a$`, DollarEndonly | Multiline, `a$`},
		{`x{a}\x{41}+`, Ungreedy, `x{a}\x{41}+?`},
	} {
		if got := rewrite(tc.in, tc.opts); got != tc.want {
			t.Errorf("rewrite(%q, %v) = %q, want %q", tc.in, tc.opts, got, tc.want)
		}
	}
}
