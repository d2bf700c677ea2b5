package config

import (
	"slices"
	"strings"
	"testing"
)

// TestLVSSloppy reads lvs_sloppy_tcp and lvs_sloppy_sctp, bare and with
// a value, with a notice naming the extension for each, and reads back
// what WriteText makes of them.
func TestLVSSloppy(t *testing.T) {
	for _, tc := range []struct {
		lines     string
		tcp, sctp bool
	}{
		{"lvs_sloppy_tcp", true, false},
		{"lvs_sloppy_sctp", false, true},
		{"lvs_sloppy_tcp on\n    lvs_sloppy_sctp yes", true, true},
		{"lvs_sloppy_tcp\n    lvs_sloppy_tcp off", false, false},
		{"lvs_sloppy_sctp false", false, false},
	} {
		conf := "global_defs {\n    " + tc.lines + "\n}\n"
		cfg, ds := parse("t.conf", conf, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
		if ds.HasErrors() || len(ds.Keepalived()) != 0 {
			t.Errorf("%q: diagnostics %v", tc.lines, ds)
			continue
		}
		var notices []string
		for _, d := range ds {
			if d.Severity == Extension {
				notices = append(notices, d.String())
			}
		}
		var want []string
		for i, l := range strings.Split(tc.lines, "\n") {
			kw := strings.Fields(l)[0]
			want = append(want, "t.conf:"+string(rune('2'+i))+": "+kw+": "+sloppyExtension)
		}
		if !slices.Equal(notices, want) {
			t.Errorf("%q: notices %q, want %q", tc.lines, notices, want)
		}
		g := cfg.Global
		if g.LVSSloppyTCP != tc.tcp || g.LVSSloppySCTP != tc.sctp {
			t.Errorf("%q: tcp %v sctp %v, want %v %v", tc.lines, g.LVSSloppyTCP, g.LVSSloppySCTP, tc.tcp, tc.sctp)
		}
		var text strings.Builder
		if err := cfg.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		again, ds := parse("c.conf", text.String(), Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
		if ds.HasErrors() || again.Global.LVSSloppyTCP != tc.tcp || again.Global.LVSSloppySCTP != tc.sctp {
			t.Errorf("%q: read back tcp %v sctp %v (%v) from:\n%s", tc.lines,
				again.Global.LVSSloppyTCP, again.Global.LVSSloppySCTP, ds, text.String())
		}
	}
}

// TestLVSSloppyErrors holds each mistake to its message and leaves the
// setting as it was.
func TestLVSSloppyErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"lvs_sloppy_tcp maybe", "t.conf:2: Invalid value 'maybe' for global lvs_sloppy_tcp specified"},
		{"lvs_sloppy_sctp on off", "t.conf:2: lvs_sloppy_sctp takes at most one value, on or off"},
	} {
		cfg, ds := parse("t.conf", "global_defs {\n    "+tc.line+"\n}\n", Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
		found := false
		for _, d := range ds.Errors() {
			found = found || d.String() == tc.want
		}
		if !found {
			t.Errorf("%q: got %v, want %q", tc.line, ds, tc.want)
		}
		if cfg.Global.LVSSloppyTCP || cfg.Global.LVSSloppySCTP {
			t.Errorf("%q: set the keyword", tc.line)
		}
	}
}
