package notify

import (
	"errors"
	"reflect"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  error
	}{
		{in: "/bin/true", want: []string{"/bin/true"}},
		{in: "  /bin/x  a\tb  ", want: []string{"/bin/x", "a", "b"}},
		{in: `/x "a b" 'c d'`, want: []string{"/x", "a b", "c d"}},
		{in: `/x a"b c"d`, want: []string{"/x", "ab cd"}},
		{in: `/x "it's" 'say "hi"'`, want: []string{"/x", "it's", `say "hi"`}},
		{in: `/x a\ b`, want: []string{"/x", "a b"}},
		{in: `/x "a\"b"`, want: []string{"/x", `a"b`}},
		{in: `/x 'a\'b'`, want: []string{"/x", "a'b"}},
		{in: `/x ""`, want: []string{"/x", ""}},
		{in: `/x \t\n\E`, want: []string{"/x", "\t\n\x1b"}},
		{in: `/x \x41\x4a\x4B`, want: []string{"/x", "AJK"}},
		{in: `/x \101\0`, want: []string{"/x", "A\x00"}},
		{in: `/x \cA\q`, want: []string{"/x", "\x01q"}},
		{in: "", want: nil},
		{in: `/x "a b`, err: errUnmatchedQuote},
		{in: `/x 'a b`, err: errUnmatchedQuote},
		{in: `/x a\`, err: errTrailingEscape},
	}
	for _, tt := range tests {
		got, err := SplitWords(tt.in)
		if !errors.Is(err, tt.err) {
			t.Errorf("SplitWords(%q) error = %v, want %v", tt.in, err, tt.err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseScriptLine(t *testing.T) {
	def := &Credential{UID: 1234, GID: 5678}
	tests := []struct {
		line string
		args []string
		cred Credential
		ok   bool
	}{
		{line: "notify_master /etc/ka/master.sh", args: []string{"/etc/ka/master.sh"}, cred: *def, ok: true},
		// The command word is split a second time, so quotes and escapes
		// inside it apply again: this is how keepalived 2.2.7 passes
		// `"x y"` and `z\ w` (checked against it by TestKeepalivedVRRP).
		{line: `notify_master "/rec master \"x y\" z\\ w"`, args: []string{"/rec", "master", "x y", "z w"}, cred: *def, ok: true},
		{line: `notify "/rec gmaster 'a b'" root`, args: []string{"/rec", "gmaster", "a b"}, cred: Credential{}, ok: true},
		{line: `notify "/rec" root root`, args: []string{"/rec"}, cred: Credential{}, ok: true},
		{line: `notify "/rec" no-such-user-xyzzy`},
		{line: `notify "/rec" root no-such-group-xyzzy`},
		{line: `notify "/rec 'a"`},
		{line: `notify`},
	}
	for _, tt := range tests {
		s, err := ParseScriptLine(tt.line, def)
		if (err == nil) != tt.ok {
			t.Errorf("ParseScriptLine(%q) error = %v, want ok=%v", tt.line, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if !reflect.DeepEqual(s.Args, tt.args) || s.Cred != tt.cred {
			t.Errorf("ParseScriptLine(%q) = %q as %v, want %q as %v", tt.line, s.Args, s.Cred, tt.args, tt.cred)
		}
	}
}

func TestNewScriptWithoutDefaultUser(t *testing.T) {
	_, err := NewScript("notify_master", "/bin/true", "", "", nil)
	want := "Failed to set default user for notify_master script /bin/true - ignoring"
	if err == nil || err.Error() != want {
		t.Fatalf("NewScript without a default user: error %v, want %q", err, want)
	}
	if _, err := NewScript("notify_master", "/bin/true", "root", "", nil); err != nil {
		t.Fatalf("NewScript with an explicit user and no default: %v", err)
	}
}

func TestScriptCommandAndString(t *testing.T) {
	s := &Script{Args: []string{"/rec", "a b"}}
	got := s.Command("INSTANCE", "VI_1", "MASTER", "100")
	want := []string{"/rec", "a b", "INSTANCE", "VI_1", "MASTER", "100"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Command = %q, want %q", got, want)
	}
	if len(s.Args) != 2 {
		t.Errorf("Command changed the script's words: %q", s.Args)
	}
	if got, want := s.String(), `'/rec' 'a b'`; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	shell := &Script{Args: []string{"</dev/tcp/127.0.0.1/80"}}
	if got, want := shell.String(), "</dev/tcp/127.0.0.1/80"; got != want || !shell.usesShell() {
		t.Errorf("redirection script: String = %s (want %s), usesShell = %v", got, want, shell.usesShell())
	}
	if s.usesShell() {
		t.Error("a plain script is run through a shell")
	}
}
