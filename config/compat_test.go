package config

import (
	"bufio"
	"flag"
	"fmt"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateCompat = flag.Bool("update-compat", false, "rewrite docs/compatibility.md")

const compatDoc = "../docs/compatibility.md"

// keepalivedKeywords reads testdata/keepalived-keywords.txt, in its order.
func keepalivedKeywords(t *testing.T) []keywordAt {
	t.Helper()
	f, err := os.Open("testdata/keepalived-keywords.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []keywordAt
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		w := strings.Fields(l)
		if len(w) != 2 {
			t.Fatalf("keyword list: bad line %q", l)
		}
		out = append(out, keywordAt{w[0], w[1]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 450 {
		t.Fatalf("keyword list has %d keywords; keepalived 2.2.7 has about 500", len(out))
	}
	return out
}

// snippet writes kw inside its block, opening every enclosing block with
// the arguments it needs, and closing them.
func snippet(at keywordAt, value string) string {
	heads := map[string]string{
		"vrrp_instance": "vrrp_instance VI_1", "vrrp_script": "vrrp_script chk",
		"vrrp_sync_group": "vrrp_sync_group G", "track_file": "track_file tf",
		"vrrp_track_file": "vrrp_track_file tf", "vrrp_track_process": "vrrp_track_process tp",
		"bfd_instance": "bfd_instance b", "garp_group": "garp_group", "track_group": "track_group tg",
		"virtual_server": "virtual_server 10.0.0.1 80", "real_server": "real_server 10.0.0.2 80",
	}
	var b strings.Builder
	var parts []string
	if at.block != "top" {
		parts = strings.Split(at.block, "/")
	}
	for _, p := range parts {
		h, ok := heads[p]
		if !ok {
			h = p
		}
		b.WriteString(h + " {\n")
	}
	b.WriteString(strings.TrimSpace(at.keyword+" "+value) + "\n")
	b.WriteString(strings.Repeat("}\n", len(parts)))
	return b.String()
}

// TestKeywordListKnown writes every keyword keepalived 2.2.7 accepts into
// its block and requires the parser to know it: an "Unknown keyword"
// there would refuse a configuration keepalived runs.
func TestKeywordListKnown(t *testing.T) {
	for _, at := range keepalivedKeywords(t) {
		if strings.HasPrefix(at.keyword, "include") && at.block == "top" {
			continue // preprocessor directives, tested with the preprocessor
		}
		src := snippet(at, "1")
		_, ds := parse("k.conf", src, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
		for _, d := range ds {
			if d.Msg == "Unknown keyword '"+at.keyword+"'" {
				t.Errorf("%s %s: %s\n%s", at.block, at.keyword, d, src)
			}
		}
	}
}

// TestImplementedKeywordsExist fails on an implemented or not applicable
// keyword that keepalived does not have where the table puts it.
func TestImplementedKeywordsExist(t *testing.T) {
	known := make(map[keywordAt]bool)
	for _, at := range keepalivedKeywords(t) {
		known[at] = true
	}
	seen := make(map[keywordAt]bool)
	for _, e := range implementedEntries() {
		if !known[e.at] {
			t.Errorf("implemented %s %s: keepalived 2.2.7 has no such keyword there", e.at.block, e.at.keyword)
		}
		if seen[e.at] {
			t.Errorf("implemented %s %s: listed twice", e.at.block, e.at.keyword)
		}
		seen[e.at] = true
	}
	for _, at := range unproven() {
		if !known[at] || seen[at] {
			t.Errorf("unproven %s %s: not a keepalived keyword there, or implemented", at.block, at.keyword)
		}
	}
	for at := range notApplicable() {
		if !known[at] {
			t.Errorf("not applicable %s %s: keepalived 2.2.7 has no such keyword there", at.block, at.keyword)
		}
		if seen[at] {
			t.Errorf("%s %s: both implemented and not applicable", at.block, at.keyword)
		}
	}
}

// TestImplementedKeywordsAreRead holds every implemented keyword to its
// claim: code outside this package reads at least one of its fields, and
// the test named as proof exists in the file named.
func TestImplementedKeywordsAreRead(t *testing.T) {
	uses := scanModelUses(t)
	fields := make(map[string]bool)
	for name := range modelFields(t) {
		fields[name] = true
	}
	funcs := make(map[string]map[string]string) // file -> test name -> its source
	for _, e := range append(implementedEntries(), extensionEntries()...) {
		read := false
		for _, f := range e.fields {
			if !fields[f] {
				t.Errorf("%s %s: the model has no field %s", e.at.block, e.at.keyword, f)
			}
			read = read || len(uses[f]) > 0
		}
		if !read {
			t.Errorf("%s %s is marked implemented, but nothing outside config reads %s",
				e.at.block, e.at.keyword, strings.Join(e.fields, " or "))
		}
		names, ok := funcs[e.file]
		if !ok {
			names = testFuncs(t, filepath.Join("..", e.file))
			funcs[e.file] = names
		}
		if _, ok := names[e.test]; !ok {
			t.Errorf("%s %s: no %s in %s", e.at.block, e.at.keyword, e.test, e.file)
			continue
		}
		// The test, or the helpers and configurations beside it in its
		// file, must name what it proves.
		if src, _ := os.ReadFile(filepath.Join("..", e.file)); !mentions(string(src), e) {
			t.Errorf("%s %s: %s names neither the keyword nor %s", e.at.block, e.at.keyword, e.file, strings.Join(e.fields, " nor "))
		}
	}
	if _, ok := testFuncs(t, "preprocess_test.go")["TestIncludeVariants"]; !ok {
		t.Errorf("the include directives' proof, TestIncludeVariants, is not in config/preprocess_test.go")
	}
}

// TestOtherIsNotRead fails when code outside this package reads a raw
// keyword list (the Other fields): what it finds there is a keyword that
// has an effect and needs a typed field and a line in implementedTable.
func TestOtherIsNotRead(t *testing.T) {
	for field, at := range scanModelUses(t) {
		if strings.HasSuffix(field, ".Other") {
			for _, p := range at {
				t.Errorf("%s reads %s; give the keyword a typed field instead", p, field)
			}
		}
	}
}

// modelFields lists the exported fields of the model's struct types, as
// "Type.Field".
func modelFields(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	out := make(map[string]bool)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if st, ok := ts.Type.(*ast.StructType); ok {
				for _, fl := range st.Fields.List {
					for _, id := range fl.Names {
						if id.IsExported() {
							out[ts.Name.Name+"."+id.Name] = true
						}
					}
				}
			}
			return false
		})
	}
	return out
}

// testFuncs maps the Test functions a file declares to their source.
func testFuncs(t *testing.T, path string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("reading the proof: %v", err)
		return nil
	}
	fset := token.NewFileSet()
	f, err := goparser.ParseFile(fset, path, src, 0)
	if err != nil {
		t.Errorf("reading the proof: %v", err)
		return nil
	}
	out := make(map[string]string)
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") {
			out[fd.Name.Name] = string(src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset])
		}
	}
	return out
}

// mentions reports whether a test's source names the keyword, as a word
// of configuration text, or one of the fields it is parsed into: a proof
// that names neither cannot be about it.
func mentions(src string, e implementedEntry) bool {
	for _, w := range strings.FieldsFunc(src, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		if w == e.at.keyword {
			return true
		}
		for _, f := range e.fields {
			if _, name, _ := strings.Cut(f, "."); w == name {
				return true
			}
		}
	}
	return false
}

// TestUnimplementedWarnings requires one Unimplemented diagnostic, at its
// line, for every use of a keyword gokeepalived does not act on, and none
// for the keywords it implements; they leave the verdict alone.
func TestUnimplementedWarnings(t *testing.T) {
	src := `global_defs {
  router_id r1
  vrrp_no_swap
  vrrp_no_swap
  checker_no_swap
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  kernel_rx_buf_size 1024
  virtual_ipaddress {
    10.0.0.1/24
  }
}
`
	_, ds := parse("w.conf", src, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
	var got []string
	for _, d := range ds {
		if d.Severity == Unimplemented {
			got = append(got, d.String())
		}
	}
	want := []string{
		"w.conf:3: vrrp_no_swap: gokeepalived does not implement this keyword; it has no effect",
		"w.conf:4: vrrp_no_swap: gokeepalived does not implement this keyword; it has no effect",
		"w.conf:5: checker_no_swap: gokeepalived does not implement this keyword; it has no effect",
		"w.conf:11: kernel_rx_buf_size: gokeepalived does not implement this keyword; it has no effect",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unimplemented diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ds.HasErrors() {
		t.Errorf("errors: %v", ds.Errors())
	}
}

// TestCompatibilityDoc requires docs/compatibility.md to be what the
// tables make of the keyword list: every keepalived keyword, in a table
// per block, with its state and proof. go test -run TestCompatibilityDoc
// -update-compat rewrites it.
func TestCompatibilityDoc(t *testing.T) {
	list := keepalivedKeywords(t)
	doc := renderCompat(list)
	if *updateCompat {
		if err := os.WriteFile(compatDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(compatDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != doc {
		t.Errorf("%s is out of date; run go test ./config -run TestCompatibilityDoc -update-compat", compatDoc)
	}
	// Read back: each keyword of the list has its row under its block.
	rows := make(map[keywordAt]bool)
	block := ""
	for l := range strings.Lines(string(got)) {
		if b, ok := strings.CutPrefix(l, "## "); ok {
			block = strings.Trim(strings.TrimSpace(b), "`")
			continue
		}
		if c := strings.Split(l, "|"); len(c) > 3 && strings.HasPrefix(strings.TrimSpace(c[1]), "`") {
			rows[keywordAt{block, strings.Trim(strings.TrimSpace(c[1]), "`")}] = true
		}
	}
	for _, at := range list {
		if !rows[at] {
			t.Errorf("%s has no row for %s in block %s", compatDoc, at.keyword, at.block)
		}
	}
}

// renderCompat writes docs/compatibility.md.
func renderCompat(list []keywordAt) string {
	impl := make(map[keywordAt]implementedEntry)
	for _, e := range implementedEntries() {
		impl[e.at] = e
	}
	na := notApplicable()
	var b strings.Builder
	b.WriteString(`# Compatibility with keepalived 2.2.7

Every configuration keyword keepalived 2.2.7 accepts (as built by Debian 12,
listed in config/testdata/keepalived-keywords.txt), block by block, and what
gokeepalived does with it:

- **implemented**: the keyword has its effect; the proof is the test that
  shows it. A test in config checks that code outside the config package
  reads the field the keyword is parsed into, and that the test exists
  and names the keyword or the field.
- **warned**: gokeepalived accepts the keyword and checks it as keepalived
  does, but does not act on it. Every use is reported when the
  configuration is loaded, by the daemon and by ` + "`-t`" + `, as
  ` + "`file:line: keyword: gokeepalived does not implement this keyword; it has no effect`" + `;
  the exit code stays keepalived's.
- **not applicable**: there is nothing for gokeepalived to do.

Keywords inside a block whose opening keyword is warned are covered by
that block's warning.

This file is generated: ` + "`go test ./config -run TestCompatibilityDoc -update-compat`" + `.
`)
	counts := map[string]int{}
	block := ""
	for _, at := range list {
		if at.block != block {
			block = at.block
			fmt.Fprintf(&b, "\n## `%s`\n\n| keyword | state | proof |\n| --- | --- | --- |\n", block)
		}
		state, proof := "warned", warnedReason(at)
		if e, ok := impl[at]; ok {
			state = "implemented"
			proof = fmt.Sprintf("`%s` in %s (%s)", e.test, e.file, strings.Join(e.fields, ", "))
		} else if why, ok := na[at]; ok {
			state, proof = "not applicable", why
		} else if at.block == "top" && strings.HasPrefix(at.keyword, "include") {
			state, proof = "implemented", includeProof[at.keyword]
		}
		counts[state]++
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", at.keyword, state, proof)
	}
	fmt.Fprintf(&b, "\nIn all: %d implemented, %d warned, %d not applicable.\n",
		counts["implemented"], counts["warned"], counts["not applicable"])
	b.WriteString(`
# gokeepalived extensions

Blocks keepalived does not have. keepalived refuses a configuration that
has them; gokeepalived reads them, and reports each block opened, with
` + "`-t`" + ` too, as ` + "`file:line: keyword: gokeepalived extension (...)`" + `,
a notice that does not fail the test.
`)
	block = ""
	for _, e := range extensionEntries() {
		if e.at.block != block {
			block = e.at.block
			fmt.Fprintf(&b, "\n## extension `%s`\n\n| keyword | state | proof |\n| --- | --- | --- |\n", block)
		}
		fmt.Fprintf(&b, "| `%s` | extension | `%s` in %s (%s) |\n", e.at.keyword, e.test, e.file, strings.Join(e.fields, ", "))
	}
	return b.String()
}

// includeProof is the proof of the include directives, which the
// preprocessor reads before any keyword.
var includeProof = map[string]string{
	"include":  "`TestIncludeVariants` in config/preprocess_test.go",
	"includea": "`TestIncludeVariants` in config/preprocess_test.go",
	"includeb": "`TestIncludeVariants` in config/preprocess_test.go",
	"includem": "`TestIncludeVariants` in config/preprocess_test.go",
	"includer": "`TestIncludeVariants` in config/preprocess_test.go",
	"includew": "`TestIncludeVariants` in config/preprocess_test.go",
}

// unproven lists keywords gokeepalived reads, into fields code outside
// config uses, but that no test yet shows the effect of: until one does,
// they are reported as having none.
func unproven() []keywordAt {
	var out []keywordAt
	for _, l := range []string{} {
		block, kw, _ := strings.Cut(l, " ")
		out = append(out, keywordAt{block, kw})
	}
	return out
}

// warnedReason says why a keyword has no effect in gokeepalived.
func warnedReason(at keywordAt) string {
	k := at.keyword
	top := strings.SplitN(at.block, "/", 2)[0]
	switch {
	case slices.Contains(unproven(), at):
		return "gokeepalived reads it, but no test shows its effect yet"
	case at == keywordAt{"vrrp_instance", "state"}:
		return "gokeepalived starts every instance but an address owner as BACKUP and waits the full master down interval; keepalived's MASTER waits one advertisement"
	case strings.HasSuffix(at.block, "SMTP_CHECK/host") || strings.HasSuffix(at.block, "SMTP_CHECK") && k == "host":
		return "gokeepalived does not implement SMTP_CHECK host blocks"
	case top == "vrrp_track_process" || k == "vrrp_track_process" || k == "track_process":
		return "gokeepalived does not track processes"
	case top == "garp_group" || k == "garp_group" || k == "garp_extra_if" || k == "vrrp_garp_extra_if" || k == "vmac_garp_intvl" || k == "vrrp_vmac_garp_intvl":
		return "gokeepalived sends no gratuitous ARP beyond the instance's own"
	case top == "track_group" || k == "track_group" || k == "linkbeat_interfaces" || k == "linkbeat_use_polling" || k == "interface_up_down_delays":
		return "gokeepalived does not implement this interface tracking option"
	case strings.HasPrefix(k, "nftables") || k == "vrrp_iptables" || k == "no_accept":
		return "gokeepalived installs no firewall rules"
	case strings.Contains(k, "rcv_bufs") || strings.Contains(k, "rx_bufs") || k == "kernel_rx_buf_size":
		return "gokeepalived sizes its sockets itself"
	case strings.HasSuffix(k, "_priority") && top == "global_defs" && k != "max_auto_priority" || strings.HasSuffix(k, "_no_swap") ||
		strings.Contains(k, "rlimit") || strings.HasSuffix(k, "_cpu_affinity") || k == "max_auto_priority" || k == "min_auto_priority_delay":
		return "gokeepalived does not change its scheduling, memory locking or limits"
	case strings.Contains(k, "process_name"):
		return "gokeepalived runs as one process and does not rename it"
	case k == "net_namespace_ipvs":
		return "gokeepalived runs IPVS in the namespace the daemon runs in; another would need the IPVS generic netlink socket opened from a thread moved into that namespace, which the IPVS client does not do"
	case strings.Contains(k, "regex"):
		return "gokeepalived does not implement this regex option"
	case strings.HasPrefix(k, "reload_") || k == "config_save_dir" || k == "tmp_config_directory" || k == "data_use_instance":
		return "gokeepalived does not implement this reload or file option"
	}
	return "accepted and checked as keepalived does; gokeepalived does not act on it"
}

// TestParserKeywordsExist fails on a keyword the parser takes where
// keepalived 2.2.7 has no such keyword: keepalived refuses it as unknown.
func TestParserKeywordsExist(t *testing.T) {
	known := make(map[keywordAt]bool)
	for _, at := range keepalivedKeywords(t) {
		known[at] = true
	}
	kw := newKeywords()
	tables := map[string][]string{
		"top":                          slices.Collect(maps.Keys(kw.top)),
		"global_defs":                  slices.Collect(maps.Keys(kw.global)),
		"vrrp_script":                  slices.Collect(maps.Keys(kw.script)),
		"track_file":                   slices.Collect(maps.Keys(kw.trackFile)),
		"vrrp_track_file":              slices.Collect(maps.Keys(kw.trackFile)),
		"vrrp_sync_group":              slices.Collect(maps.Keys(kw.syncGroup)),
		"vrrp_instance":                slices.Collect(maps.Keys(kw.instance)),
		"vrrp_instance/authentication": slices.Collect(maps.Keys(kw.auth)),
		"virtual_server":               slices.Collect(maps.Keys(kw.vs)),
		"virtual_server/real_server":   slices.Collect(maps.Keys(kw.rs)),
		"SSL":                          slices.Collect(maps.Keys(kw.ssl)),
	}
	for kind, h := range kw.checker {
		tables["virtual_server/real_server/"+kind] = slices.Collect(maps.Keys(h))
		if kind == HTTPGet || kind == SSLGet {
			tables["virtual_server/real_server/"+kind+"/url"] = slices.Collect(maps.Keys(kw.url))
		}
	}
	for _, e := range extensionEntries() {
		if known[e.at] {
			t.Errorf("extension %s %s: keepalived 2.2.7 has this keyword", e.at.block, e.at.keyword)
		}
		known[e.at] = true
	}
	for block, names := range tables {
		for _, name := range names {
			if !known[keywordAt{block, name}] {
				t.Errorf("the parser takes %s in %s, where keepalived 2.2.7 has no such keyword", name, block)
			}
		}
	}
}
