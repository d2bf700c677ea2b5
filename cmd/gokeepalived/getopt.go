package main

import (
	"fmt"
	"strings"
)

// argKind says whether an option takes an argument, as getopt_long's
// no_argument, required_argument and optional_argument do.
type argKind int

const (
	noArg argKind = iota
	requiredArg
	optionalArg
)

// An option is one entry of the command line's option table.
type option struct {
	short rune // 0 when the option has only a long form
	long  string
	arg   argKind
}

// A parsedOption is one option found on a command line, with its argument.
type parsedOption struct {
	opt    *option
	value  string
	hasArg bool
}

// getopt parses args the way glibc's getopt_long does for keepalived:
// clustered short options (-nlD), attached or separate arguments (-fFILE,
// -f FILE), --long=value, --long value, unambiguous abbreviations of long
// options, optional arguments only when attached, and "--" ending the
// options. Operators' unit files and scripts rely on all of these forms.
func getopt(table []option, args []string) (opts []parsedOption, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return opts, append(rest, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, err := lookupLong(table, name)
			if err != nil {
				return nil, nil, err
			}
			p := parsedOption{opt: o}
			switch o.arg {
			case noArg:
				if hasVal {
					return nil, nil, fmt.Errorf("option '--%s' doesn't allow an argument", o.long)
				}
			case requiredArg:
				if !hasVal {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("option '--%s' requires an argument", o.long)
					}
					i++
					val = args[i]
				}
				p.value, p.hasArg = val, true
			case optionalArg:
				p.value, p.hasArg = val, hasVal
			}
			opts = append(opts, p)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				o := lookupShort(table, rune(a[j]))
				if o == nil {
					return nil, nil, fmt.Errorf("invalid option -- '%c'", a[j])
				}
				p := parsedOption{opt: o}
				if o.arg != noArg && j+1 < len(a) {
					p.value, p.hasArg = a[j+1:], true
					opts = append(opts, p)
					break
				}
				if o.arg == requiredArg {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("option requires an argument -- '%c'", o.short)
					}
					i++
					p.value, p.hasArg = args[i], true
				}
				opts = append(opts, p)
			}
		default:
			rest = append(rest, a)
		}
	}
	return opts, rest, nil
}

func lookupShort(table []option, c rune) *option {
	for i := range table {
		if table[i].short == c {
			return &table[i]
		}
	}
	return nil
}

func lookupLong(table []option, name string) (*option, error) {
	var found *option
	for i := range table {
		o := &table[i]
		if o.long == name {
			return o, nil
		}
		if strings.HasPrefix(o.long, name) && name != "" {
			if found != nil {
				return nil, fmt.Errorf("option '--%s' is ambiguous", name)
			}
			found = o
		}
	}
	if found == nil {
		return nil, fmt.Errorf("unrecognized option '--%s'", name)
	}
	return found, nil
}
