package config

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// preprocessFiles writes files into a temporary directory, preprocesses
// main.conf and returns its lines as "line: word|word" and its
// diagnostics as "file:line: severity: msg", with the directory removed.
func preprocessFiles(t *testing.T, files map[string]string, id string) (lines, reports []string) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := &diags{}
	p := newPreprocessor(d, id)
	main := filepath.Join(dir, "main.conf")
	p.file(main, linesOf(files["main.conf"]))
	p.finish()
	for _, l := range p.lines.all() {
		name := strings.TrimPrefix(l.pos.File, dir+"/")
		prefix := strconv.Itoa(l.pos.Line)
		if name != "main.conf" {
			prefix = name + ":" + prefix
		}
		lines = append(lines, prefix+": "+strings.Join(l.words, "|"))
	}
	for _, x := range d.list {
		s := x.Severity.String() + ": " + x.Msg
		if !x.Pos.IsZero() {
			s = strings.TrimPrefix(x.Pos.String(), dir+"/") + ": " + s
		}
		reports = append(reports, strings.ReplaceAll(s, dir+"/", ""))
	}
	return lines, reports
}

func TestPreprocess(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		id    string
		lines []string
		diags []string
	}{
		{
			name:  "comments",
			files: map[string]string{"main.conf": "! a comment\n# another\nrouter_id r1 # trailing\nrouter_id r2! trailing\n  \n"},
			lines: []string{"3: router_id|r1", "4: router_id|r2"},
		},
		{
			name:  "comment characters in quotes and escaped",
			files: map[string]string{"main.conf": "script \"/bin/check #1 !x\"\nemail a\\#b\\!c\n"},
			lines: []string{"1: script|/bin/check #1 !x", "2: email|a#b!c"},
		},
		{
			name:  "quoted words",
			files: map[string]string{"main.conf": "notify_master \"/bin/notify master\" root\nx \"\" y\n"},
			lines: []string{"1: notify_master|/bin/notify master|root", "2: x||y"},
		},
		{
			name:  "unterminated quote",
			files: map[string]string{"main.conf": "a\nscript \"/bin/x\n"},
			lines: []string{"1: a", "2: script"},
			diags: []string{
				"main.conf:2: error: Unterminated quote 'script \"/bin/x'",
				"main.conf:2: error: Unmatched quote: 'script \"/bin/x'",
			},
		},
		{
			name: "braces are lines of their own",
			files: map[string]string{"main.conf": "vrrp_instance VI_1 {\n" +
				"  authentication { auth_type PASS auth_pass 1111 }\n" +
				"  virtual_ipaddress\n  {\n    10.0.0.1\n  }\n}\n"},
			lines: []string{
				"1: vrrp_instance|VI_1", "1: {",
				"2: authentication", "2: {", "2: auth_type|PASS|auth_pass|1111", "2: }",
				"3: virtual_ipaddress", "4: {", "5: 10.0.0.1", "6: }", "7: }",
			},
		},
		{
			name:  "brace inside quotes",
			files: map[string]string{"main.conf": "misc_path \"/bin/x {a}\" {\n}\n"},
			lines: []string{"1: misc_path|/bin/x {a}", "1: {", "2: }"},
		},
		{
			name:  "extra and missing braces",
			files: map[string]string{"main.conf": "a {\n}\n}\nb {\n"},
			lines: []string{"1: a", "1: {", "2: }", "3: }", "4: b", "4: {"},
			diags: []string{"main.conf:3: error: Extra '}' found", "main.conf:4: error: There are 1 missing '}'s or extra '{'s"},
		},
		{
			name:  "trailing backslash stays a word",
			files: map[string]string{"main.conf": "interface eth0 \\\n# note \\\n"},
			lines: []string{"1: interface|eth0\\", "2: \\"},
		},
		{
			name:  "conditional lines",
			files: map[string]string{"main.conf": "@main router_id main\n@backup router_id backup\n@^main a\n@^backup b\n@main\n"},
			id:    "main",
			lines: []string{"1: router_id|main", "4: b"},
		},
		{
			name: "definitions",
			files: map[string]string{"main.conf": "$IF=eth0\n$PRIO =5\ninterface $IF\ndev ${IF}.10\nx $IF/1 $IFX ${UNDEF} $UNDEF\n" +
				"$BASE=10.2.${SUB}\n$SUB=0\n${BASE}.100/32\n$SUB=10\n${BASE}.100/32\n$EMPTY=\na $EMPTY b\n"},
			lines: []string{
				"2: $PRIO|=5", "3: interface|eth0", "4: dev|eth0.10", "5: x|$IF/1|$IFX|$", "5: {", "5: UNDEF", "5: }", "5: $UNDEF",
				"8: 10.2.0.100/32", "10: 10.2.10.100/32", "12: a|b",
			},
		},
		{
			name:  "conditional definition",
			files: map[string]string{"main.conf": "@main $P=240\n@backup $P=200\npriority $P\n$IF_MAIN=@main\n$IF_MAIN weight 3\n"},
			id:    "main",
			lines: []string{"3: priority|240", "5: weight|3"},
		},
		{
			name: "multiline definition",
			files: map[string]string{"main.conf": "$RS= \\\nreal_server 10.0.0.${N} 80 { \\\n  weight ${N} \\\n}\n" +
				"$N=1\n$RS\n$N=2\n$RS\n"},
			lines: []string{
				"6: real_server|10.0.0.1|80", "6: {", "6: weight|1", "6: }",
				"8: real_server|10.0.0.2|80", "8: {", "8: weight|2", "8: }",
			},
		},
		{
			name:  "conditional multiline definition",
			files: map[string]string{"main.conf": "@main $A= \\\na1 \\\na2\n@other $B= \\\nb1\n$A\n"},
			lines: []string{"5: b1", "6: a1", "6: a2"},
		},
		{
			name:  "builtin definitions",
			files: map[string]string{"main.conf": "a ${_INSTANCE} x${_HASH}y ${_BANG}\n"},
			id:    "dir1",
			lines: []string{"1: a|dir1|x#y|!"},
		},
		{
			name: "sequences",
			files: map[string]string{"main.conf": "~SEQ(N, 3) a$N\n~SEQ(N, 5, 4) b$N\n~SEQ(N, 0, 5, 10) c$N\n" +
				"~SEQx(N, 0x9, 0x10, 0x2a) d$N\n~SEQ(N, -2) e$N\n"},
			lines: []string{
				"1: a1", "1: a2", "1: a3", "2: b5", "2: b4", "3: c0", "3: c5", "3: c10",
				"4: d9", "4: d19", "4: d29", "5: e-1", "5: e-2",
			},
		},
		{
			name:  "nested sequences",
			files: map[string]string{"main.conf": "~SEQ(A, 1, 2) ~SEQ(B, 1, 2) ${A}.${B}\n"},
			lines: []string{"1: 1.1", "1: 1.2", "1: 2.1", "1: 2.2"},
		},
		{
			name:  "bad sequences",
			files: map[string]string{"main.conf": "a\n~SEQ(Y, a, 3) x\n~SEQ(Y, 1, -1, 5) x\n~SEQx(Y, -3) x\n"},
			lines: []string{"1: a"},
			diags: []string{
				"main.conf:2: error: Invalid ~SEQ definition '~SEQ(Y, a, 3) x'",
				"main.conf:2: error: Invalid ~SEQ specification '~SEQ(Y, a, 3) x'",
				"main.conf:3: error: Invalid ~SEQ values '~SEQ(Y, 1, -1, 5) x'",
				"main.conf:3: error: Invalid ~SEQ specification '~SEQ(Y, 1, -1, 5) x'",
				"main.conf:4: error: ~SEQx is only valid for positive numbers '~SEQx(Y, -3) x'",
				"main.conf:4: error: Invalid ~SEQ specification '~SEQx(Y, -3) x'",
			},
		},
		{
			name:  "huge sequence is refused",
			files: map[string]string{"main.conf": "~SEQ(N, 1, 99999999999) x\n"},
			diags: []string{"main.conf:1: error: ~SEQ would produce 99999999999 lines, more than the limit of 4194304 '~SEQ(N, 1, 99999999999) x'"},
		},
		{
			name: "lists",
			files: map[string]string{"main.conf": "~LST(IP, 1, 2) ~LST(IP1, 5,6) ${IP}.${IP1}\n" +
				"~LST({A, B}, {10,1},{20,4}) ${A}-${B}\n~LST(X, 1\n"},
			lines: []string{"1: 1.5", "1: 1.6", "1: 2.5", "1: 2.6", "2: 10-1", "2: 20-4"},
			diags: []string{"main.conf:3: error: Invalid ~LST specification '~LST(X, 1'"},
		},
		{
			name: "include glob relative to the including file",
			files: map[string]string{
				"main.conf":     "a\ninclude conf.d/*.conf\nb\n",
				"conf.d/1.conf": "c\ninclude ../sub/x.conf\n",
				"conf.d/2.conf": "d\n",
				"sub/x.conf":    "e {\n}\n",
			},
			lines: []string{"1: a", "conf.d/1.conf:1: c", "sub/x.conf:1: e", "sub/x.conf:1: {", "sub/x.conf:2: }", "conf.d/2.conf:1: d", "3: b"},
		},
		{
			name:  "missing include",
			files: map[string]string{"main.conf": "a\ninclude nothing/*.conf\nb\n"},
			lines: []string{"1: a", "3: b"},
			diags: []string{"main.conf:2: warning: Config files missing 'nothing/*.conf'."},
		},
		{
			name: "include loop",
			files: map[string]string{
				"main.conf":  "a\ninclude other.conf\n",
				"other.conf": "b\ninclude main.conf\n",
			},
			// Read twice, as keepalived reads a loop over and over.
			lines: []string{"1: a", "other.conf:1: b", "1: a", "other.conf:1: b"},
			diags: []string{"other.conf:2: warning: Configuration file 'main.conf' open problem (Too many open files) - skipping"},
		},
		{
			name:  "definitions do not recurse forever",
			files: map[string]string{"main.conf": "$A=x$A\na $A\n"},
			diags: []string{"main.conf:2: error: Parameter substitution on line 'a $A' recurses without end"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id == "" {
				id = "main"
			}
			lines, diags := preprocessFiles(t, tt.files, id)
			if !slices.Equal(lines, tt.lines) {
				t.Errorf("lines:\n got %q\nwant %q", lines, tt.lines)
			}
			if !slices.Equal(diags, tt.diags) {
				t.Errorf("diagnostics:\n got %q\nwant %q", diags, tt.diags)
			}
		})
	}
}

// TestIncludeVariants checks what each include directive reads and
// reports, as keepalived 2.2.7's lib/parser.c does: the variants differ
// in which of their findings are errors (plain include makes none), in
// whether a pattern matching nothing is reported (includew, includea)
// and in whether a brace pattern with a missing alternative is read at
// all (includeb, includea).
func TestIncludeVariants(t *testing.T) {
	files := map[string]string{
		"d/a.conf":     "a\nb\n",
		"d/b.conf":     "c\n",
		"d/sub.conf/x": "x\n",
		"empty/.keep":  "",
	}
	tests := []struct {
		line  string
		lines []string
		diags []string
	}{
		{"include d/*.conf", []string{"d/a.conf:1: a", "d/a.conf:2: b", "d/b.conf:1: c"},
			[]string{"d/b.conf:1: warning: Configuration file 'd/sub.conf/' is a directory - skipping"}},
		{"includer d/b.conf", []string{"d/b.conf:1: c"}, nil},
		{"includea d/b.conf", []string{"d/b.conf:1: c"}, nil},
		{"include d/sub.conf", nil, []string{"main.conf:1: warning: Configuration file 'd/sub.conf/' is a directory - skipping"}},
		{"include empty/*.conf", nil, nil},
		{"includem empty/*.conf", nil, nil},
		{"includew empty/*.conf", nil, []string{"main.conf:1: error: No config files matched 'empty/*.conf'."}},
		{"includea empty/*.conf", nil, []string{"main.conf:1: error: No config files matched 'empty/*.conf'."}},
		{"includem nosuch.conf", nil, []string{"main.conf:1: error: Config files missing 'nosuch.conf'."}},
		{"includeb nodir/*.conf", nil, []string{"main.conf:1: warning: Config files missing 'nodir/*.conf'."}},
		{"includer d", nil, []string{"main.conf:1: error: Configuration file 'd/' is a directory - skipping"}},
		{"include d/{b,zz}.conf", []string{"d/b.conf:1: c"}, []string{`main.conf:1: warning: Some config files missing: "d/{b,zz}.conf".`}},
		{"includew d/{b,zz}.conf", []string{"d/b.conf:1: c"}, []string{`main.conf:1: warning: Some config files missing: "d/{b,zz}.conf".`}},
		{"includeb d/{b,zz}.conf", nil, []string{`main.conf:1: error: Some config files missing: "d/{b,zz}.conf".`}},
		{"includea d/{b,zz}.conf", nil, []string{`main.conf:1: error: Some config files missing: "d/{b,zz}.conf".`}},
		{"includeb d/{a,b}.conf", []string{"d/a.conf:1: a", "d/a.conf:2: b", "d/b.conf:1: c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			fs := maps.Clone(files)
			fs["main.conf"] = tt.line + "\n"
			lines, diags := preprocessFiles(t, fs, "main")
			if !slices.Equal(lines, tt.lines) {
				t.Errorf("lines:\n got %q\nwant %q", lines, tt.lines)
			}
			if !slices.Equal(diags, tt.diags) {
				t.Errorf("diagnostics:\n got %q\nwant %q", diags, tt.diags)
			}
		})
	}
}
