package config

import (
	"fmt"
	"strconv"
)

// Pos is the place in a configuration file a line came from.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// String returns "file:line".
func (p Pos) String() string {
	return p.File + ":" + strconv.Itoa(p.Line)
}

// IsZero reports whether p names no place.
func (p Pos) IsZero() bool { return p.File == "" && p.Line == 0 }

// Severity says whether a Diagnostic stops the configuration being used.
type Severity int

const (
	// Warning is a problem keepalived reports and then works around.
	Warning Severity = iota
	// Error is a problem that makes keepalived -t fail.
	Error
	// Unimplemented marks a keyword keepalived accepts and gokeepalived
	// parses but does not act on. keepalived has no such message, so it is
	// kept apart from the Warnings that mirror keepalived's own and, like
	// them, never fails a configuration test.
	Unimplemented
	// Extension marks a block of a gokeepalived extension, which
	// keepalived does not know: it never fails a configuration test, and
	// names the extension.
	Extension
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	case Unimplemented:
		return "unimplemented"
	case Extension:
		return "extension"
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText makes Severity read as a word in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// A Diagnostic is one problem found in a configuration.
type Diagnostic struct {
	Pos      Pos      `json:"pos,omitzero"`
	Severity Severity `json:"severity"`
	Msg      string   `json:"msg"`
}

// String returns "file:line: msg", or msg alone when the Diagnostic has no
// position.
func (d Diagnostic) String() string {
	if d.Pos.IsZero() {
		return d.Msg
	}
	return d.Pos.String() + ": " + d.Msg
}

// Diagnostics is every problem found in one load, in the order found.
type Diagnostics []Diagnostic

// HasErrors reports whether any Diagnostic is an Error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the Diagnostics that are errors.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Keepalived returns the Diagnostics keepalived itself has a counterpart
// of: all but the Unimplemented ones.
func (ds Diagnostics) Keepalived() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity != Unimplemented && d.Severity != Extension {
			out = append(out, d)
		}
	}
	return out
}

// diags collects Diagnostics; both stages of a load append to one.
type diags struct {
	list Diagnostics
}

func (d *diags) errorf(pos Pos, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

// unimplemented reports that keyword, at pos, has no effect.
func (d *diags) unimplemented(pos Pos, keyword string) {
	d.list = append(d.list, Diagnostic{Pos: pos, Severity: Unimplemented,
		Msg: keyword + ": gokeepalived does not implement this keyword; it has no effect"})
}

// extension reports that keyword, at pos, opens a block of a gokeepalived
// extension, which what names.
func (d *diags) extension(pos Pos, keyword, what string) {
	d.list = append(d.list, Diagnostic{Pos: pos, Severity: Extension, Msg: keyword + ": " + what})
}

func (d *diags) warnf(pos Pos, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: pos, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}
