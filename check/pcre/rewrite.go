package pcre

import "strings"

// rewrite turns PCRE2 syntax regexp2 spells otherwise into regexp2's:
// Python's named groups "(?P<name>...)" and references "(?P=name)". It
// also carries ungreedy and dollar_endonly, which regexp2 has no options
// for, into the pattern itself: under ungreedy each quantifier's
// greediness is inverted ("a*" becomes "a*?", "a*?" becomes "a*"), and
// under dollar_endonly without multiline "$" becomes "\z", the very end
// of the subject. Escapes, \Q...\E quotes, character classes and
// comments are copied as they are.
func rewrite(expr string, opts Option) string {
	ungreedy := opts&Ungreedy != 0
	endOnly := opts&DollarEndonly != 0 && opts&Multiline == 0
	extended := opts&Extended != 0
	r := []rune(expr)
	var b strings.Builder
	b.Grow(len(expr) + 8)
	// copyTo copies r[i:j] and returns j.
	copyTo := func(i, j int) int {
		j = min(j, len(r))
		b.WriteString(string(r[i:j]))
		return j
	}
	// through returns the index after the first s at or after i, or
	// len(r).
	through := func(i int, s string) int {
		if k := strings.Index(string(r[i:]), s); k >= 0 {
			return i + len([]rune(string(r[i:])[:k])) + len([]rune(s))
		}
		return len(r)
	}
	for i := 0; i < len(r); {
		c := r[i]
		quantified := false
		switch {
		case c == '\\' && i+1 < len(r):
			switch e := r[i+1]; {
			case e == 'Q':
				i = copyTo(i, through(i+2, `\E`))
				continue
			case e == 'c' && i+2 < len(r):
				i = copyTo(i, i+3)
			case strings.ContainsRune("xopPkgN", e) && i+2 < len(r) && (r[i+2] == '{' || r[i+2] == '<' || r[i+2] == '\''):
				close := map[rune]string{'{': "}", '<': ">", '\'': "'"}[r[i+2]]
				i = copyTo(i, through(i+3, close))
			default:
				i = copyTo(i, i+2)
			}
		case c == '[':
			i = copyTo(i, classEnd(r, i))
		case c == '(' && i+2 < len(r) && r[i+1] == '?' && r[i+2] == '#':
			i = copyTo(i, through(i, ")"))
			continue
		case c == '(' && strings.HasPrefix(string(r[i:min(i+4, len(r))]), "(?P<"):
			b.WriteString("(?<")
			i += 4
			continue
		case c == '(' && strings.HasPrefix(string(r[i:min(i+4, len(r))]), "(?P="):
			end := through(i, ")")
			b.WriteString(`\k<` + string(r[i+4:end-1]) + ">")
			i = end
		case c == '(' && i+1 < len(r) && (r[i+1] == '?' || r[i+1] == '*'):
			if r[i+1] == '*' {
				i = copyTo(i, through(i, ")"))
				continue
			}
			i = copyTo(i, i+2)
			continue
		case c == '#' && extended:
			i = copyTo(i, through(i, "\n"))
			continue
		case c == '$' && endOnly:
			b.WriteString(`\z`)
			i++
		case c == '*' || c == '+' || c == '?':
			i = copyTo(i, i+1)
			quantified = true
		case c == '{':
			if j := braceQuantifier(r, i); j > i {
				i = copyTo(i, j)
				quantified = true
			} else {
				i = copyTo(i, i+1)
			}
		default:
			i = copyTo(i, i+1)
		}
		if !quantified || !ungreedy {
			continue
		}
		switch {
		case i < len(r) && r[i] == '+':
			i = copyTo(i, i+1) // possessive: neither greedy nor lazy
		case i < len(r) && r[i] == '?':
			i++ // lazy becomes greedy
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// classEnd returns the index after the character class opening at r[i].
func classEnd(r []rune, i int) int {
	j := i + 1
	if j < len(r) && r[j] == '^' {
		j++
	}
	if j < len(r) && r[j] == ']' {
		j++ // a leading ']' is literal
	}
	for j < len(r) {
		switch {
		case r[j] == '\\':
			j += 2
			continue
		case r[j] == '[' && j+1 < len(r) && r[j+1] == ':':
			if k := strings.Index(string(r[j:]), ":]"); k >= 0 {
				j += len([]rune(string(r[j:])[:k])) + 2
				continue
			}
		case r[j] == ']':
			return j + 1
		}
		j++
	}
	return len(r)
}

// braceQuantifier returns the index after a {n}, {n,} or {n,m} quantifier
// at r[i], or i when the brace is a literal one.
func braceQuantifier(r []rune, i int) int {
	j := i + 1
	digits := func() int {
		k := j
		for j < len(r) && r[j] >= '0' && r[j] <= '9' {
			j++
		}
		return j - k
	}
	if digits() == 0 {
		return i
	}
	if j < len(r) && r[j] == ',' {
		j++
		digits()
	}
	if j < len(r) && r[j] == '}' {
		return j + 1
	}
	return i
}
