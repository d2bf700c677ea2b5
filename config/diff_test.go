package config_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/config"
)

// diffConfigID is the config id both checkers run with, so that @id lines
// do not depend on the host name.
const diffConfigID = "director1"

// TestDiffKeepalived runs keepalived -t and config.Load on every corpus file,
// every example and every sample keepalived ships, and requires the same
// verdict and, for every message keepalived prints with a position, an error
// diagnostic with the same text at the same file and line; a message printed
// without a position needs a diagnostic with its text anywhere. FINDINGS.md in testdata/diff describes what -t does.
func TestDiffKeepalived(t *testing.T) {
	keepalived := requireKeepalived(t)
	ns := newDiffNetns(t, "t")

	corpus := diffCorpus(t)
	verdicts := runKeepalivedAll(t, keepalived, ns, corpus)

	ran, agree := 0, 0
	for i, c := range corpus {
		kv := verdicts[i]
		t.Run(c.name, func(t *testing.T) {
			ran++
			defer func() {
				if !t.Failed() {
					agree++
				}
			}()
			if kv.err != nil {
				t.Fatalf("keepalived -t -f %s: %v\n%s", c.path, kv.err, msgList(kv.msgs))
			}
			c.checkExpectation(t, kv)

			var (
				diags config.Diagnostics
				err   error
			)
			inNetns(t, ns, func() {
				_, diags, err = config.Load(c.path, config.Options{ConfigID: diffConfigID, CheckSystem: true})
			})
			compareVerdicts(t, c, kv, diags, err)
		})
	}
	t.Logf("differential against keepalived -t: %d configs, %d agree", ran, agree)
}

// diffCase is one configuration file of the differential test.
type diffCase struct {
	name string // subtest name
	path string // absolute path of the main file
	// want is keepalived's verdict the file's name promises: "valid" or
	// "invalid" for the corpus, "valid" for the examples, "" for samples.
	want string
}

// checkExpectation fails when keepalived's verdict is not the one the file
// is named for: a corpus entry that no longer tests what it says is a
// defect of the corpus, whatever gokeepalived does with it.
func (c diffCase) checkExpectation(t *testing.T, kv keepalivedVerdict) {
	t.Helper()
	switch {
	case c.want == "valid" && !kv.ok:
		t.Errorf("corpus: keepalived -t refuses %s, which is named as valid:\n%s", c.path, msgList(kv.msgs))
	case c.want == "invalid" && kv.ok:
		t.Errorf("corpus: keepalived -t accepts %s, which is named as invalid:\n%s", c.path, msgList(kv.msgs))
	}
}

// diffCorpus lists the corpus, the examples and keepalived's samples, and
// guards against a glob that silently matches nothing.
func diffCorpus(t *testing.T) []diffCase {
	t.Helper()
	var cases []diffCase
	add := func(prefix, pattern string, want func(base string) string) int {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatalf("listing %s: %v", pattern, err)
		}
		for _, p := range paths {
			abs, err := filepath.Abs(p)
			if err != nil {
				t.Fatalf("resolving %s: %v", p, err)
			}
			base := filepath.Base(p)
			cases = append(cases, diffCase{name: prefix + base, path: abs, want: want(base)})
		}
		return len(paths)
	}

	invalid := 0
	n := add("", filepath.Join("testdata", "diff", "*.conf"), func(base string) string {
		switch {
		case strings.HasPrefix(base, "valid-"):
			return "valid"
		case strings.HasPrefix(base, "invalid-"):
			invalid++
			return "invalid"
		}
		t.Errorf("corpus file %s is named neither valid-* nor invalid-*", base)
		return ""
	})
	if n < 60 || invalid < 30 {
		t.Fatalf("corpus has %d files, %d of them invalid; want at least 60 and 30", n, invalid)
	}
	if n := add("examples/", filepath.Join("..", "examples", "*.conf"), func(string) string { return "valid" }); n == 0 {
		t.Fatal("no examples in ../examples")
	}
	// The samples are optional: distributions that package keepalived without
	// its documentation still run the corpus.
	add("samples/", "/usr/share/doc/keepalived/samples/keepalived.conf.*", func(string) string { return "" })
	return cases
}

// compareVerdicts holds gokeepalived's diagnostics against keepalived's
// messages for one file.
func compareVerdicts(t *testing.T, c diffCase, kv keepalivedVerdict, diags config.Diagnostics, loadErr error) {
	t.Helper()
	goFails := loadErr != nil || diags.HasErrors()
	if goFails == kv.ok {
		t.Errorf("verdicts differ: keepalived -t %s, gokeepalived %s\nkeepalived:\n%s\ngokeepalived:\n%s",
			verdictWord(kv.ok), verdictWord(!goFails), msgList(kv.msgs), diagList(diags, loadErr))
		return
	}

	dir := filepath.Dir(c.path)
	for _, m := range kv.msgs {
		if m.line == 0 {
			// Printed after parsing, with no position: gokeepalived's
			// diagnostics carry the block's position, so only the words
			// can be compared.
			if !saysAnywhere(diags, m.text) {
				t.Errorf("keepalived -t says %s\nbut gokeepalived does not say so anywhere; it says:\n%s", m, diagList(diags, loadErr))
			}
			continue
		}
		wantErr := !kv.ok && !m.nonFatal()
		if !namesLine(diags, dir, m, wantErr) {
			want := "error"
			if !wantErr {
				want = "diagnostic"
			}
			t.Errorf("keepalived -t says %s\nbut gokeepalived reports no %s in those words on that line; it says:\n%s",
				m, want, diagList(diags, loadErr))
		}
	}
}

// saysAnywhere reports whether diags has a diagnostic in the words text.
func saysAnywhere(diags config.Diagnostics, text string) bool {
	for _, d := range diags {
		if d.Msg == text {
			return true
		}
	}
	return false
}

// namesLine reports whether diags has a diagnostic (an error, if wantErr) at
// the file and line of m, in m's words.
func namesLine(diags config.Diagnostics, dir string, m keepalivedMsg, wantErr bool) bool {
	for _, d := range diags {
		// Unimplemented is gokeepalived's own word, never one of
		// keepalived's messages.
		if wantErr && d.Severity != config.Error || d.Severity == config.Unimplemented {
			continue
		}
		if d.Pos.Line == m.line && sameFile(dir, m.file, d.Pos.File) && d.Msg == m.text {
			return true
		}
	}
	return false
}

// sameFile reports whether keepalived's file name k and a diagnostic's file
// name g denote one file. keepalived prints an include's path as written,
// relative to the including file; the corpus includes only from the main
// file's directory, so dir resolves it. An empty k comes from keepalived's
// first pass, which prints "(Line N)" without a file: any file matches.
func sameFile(dir, k, g string) bool {
	if k == "" {
		return true
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(dir, p)
	}
	if abs(k) == abs(g) {
		return true
	}
	return !filepath.IsAbs(k) && strings.HasSuffix(filepath.Clean(g), string(filepath.Separator)+filepath.Clean(k))
}

func verdictWord(ok bool) string {
	if ok {
		return "accepts it"
	}
	return "refuses it"
}

// msgList lists keepalived's messages without their repeats: an include
// loop alone prints tens of thousands of lines.
func msgList(msgs []keepalivedMsg) string {
	if len(msgs) == 0 {
		return "\t(nothing)\n"
	}
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "\t%s\n", m)
	}
	return b.String()
}

func diagList(diags config.Diagnostics, err error) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\t%s: %s\n", d.Severity, d)
	}
	if err != nil {
		fmt.Fprintf(&b, "\tLoad: %v\n", err)
	}
	if b.Len() == 0 {
		return "\t(nothing)\n"
	}
	return b.String()
}

// keepalivedVerdict is what keepalived -t said about one file.
type keepalivedVerdict struct {
	ok   bool            // exit status 0
	msgs []keepalivedMsg // deduplicated, in first-seen order
	err  error           // keepalived could not give a verdict
}

// keepalivedMsg is one line keepalived -t printed.
type keepalivedMsg struct {
	file string // as printed; empty for "(Line N)" and unpositioned messages
	line int    // 0 when unpositioned
	text string
}

func (m keepalivedMsg) String() string {
	switch {
	case m.line == 0:
		return m.text
	case m.file == "":
		return "(Line " + strconv.Itoa(m.line) + ") " + m.text
	}
	return "(" + m.file + ": Line " + strconv.Itoa(m.line) + ") " + m.text
}

// nonFatal reports whether keepalived may print m without failing -t: the
// reports of file_config_error(), which are raised at CONFIG_OK unless -e,
// include_check or the include directive (includer, includem, ...) checks
// for what was found. Which of the two it was, the text does not say.
func (m keepalivedMsg) nonFatal() bool {
	return strings.HasPrefix(m.text, "Config files missing '") ||
		strings.HasPrefix(m.text, "Some config files missing: ") ||
		strings.HasPrefix(m.text, "Configuration file '") && (strings.HasSuffix(m.text, ") - skipping") ||
			strings.HasSuffix(m.text, "' is a directory - skipping") ||
			strings.HasSuffix(m.text, "' is not a regular non-executable file - skipping"))
}

// parseKeepalivedOutput splits keepalived -t's stderr into messages.
// keepalived reads the configuration once per process it would start, so one
// fault may be printed up to four times, the first time as "(Line N)"
// without a file; the copies are dropped.
func parseKeepalivedOutput(stderr string) []keepalivedMsg {
	var all []keepalivedMsg
	seen := make(map[keepalivedMsg]bool)
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		m := parseKeepalivedLine(sc.Text())
		if m.text == "" || seen[m] {
			continue
		}
		seen[m] = true
		all = append(all, m)
	}

	withFile := make(map[keepalivedMsg]bool)
	for _, m := range all {
		if m.file != "" {
			withFile[keepalivedMsg{line: m.line, text: m.text}] = true
		}
	}
	msgs := all[:0]
	for _, m := range all {
		if m.file == "" && m.line != 0 && withFile[m] {
			continue
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// parseKeepalivedLine reads "(FILE: Line N) text", "(Line N) text" or a bare
// "text".
func parseKeepalivedLine(s string) keepalivedMsg {
	s = strings.TrimRight(s, " \t")
	if !strings.HasPrefix(s, "(") {
		return keepalivedMsg{text: s}
	}
	end := strings.Index(s, ") ")
	if end < 0 {
		return keepalivedMsg{text: s}
	}
	head, text := s[1:end], s[end+2:]
	var file, num string
	if rest, ok := strings.CutPrefix(head, "Line "); ok {
		num = rest
	} else if i := strings.LastIndex(head, ": Line "); i >= 0 {
		file, num = head[:i], head[i+len(": Line "):]
	} else {
		// "(VI_1) the virtual router id must be set": an instance name, not a
		// position.
		return keepalivedMsg{text: s}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return keepalivedMsg{text: s}
	}
	return keepalivedMsg{file: file, line: n, text: text}
}

// runKeepalivedAll runs keepalived -t on every case, two at a time: the
// machine has two cores and each run is a short single-threaded parse.
func runKeepalivedAll(t *testing.T, keepalived, ns string, cases []diffCase) []keepalivedVerdict {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	pidDir := t.TempDir()
	verdicts := make([]keepalivedVerdict, len(cases))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				verdicts[i] = runKeepalived(ctx, keepalived, ns, cases[i].path, pidDir)
			}
		}()
	}
	for i := range cases {
		work <- i
	}
	close(work)
	wg.Wait()
	return verdicts
}

// runKeepalived runs keepalived -t on path inside the namespace ns. -t writes
// no pid files, but pidDir keeps keepalived from even looking at the
// system's in /run.
func runKeepalived(ctx context.Context, keepalived, ns, path, pidDir string) keepalivedVerdict {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns,
		keepalived, "-t", "-i", diffConfigID, "-f", path,
		"-p", filepath.Join(pidDir, "keepalived.pid"),
		"-r", filepath.Join(pidDir, "vrrp.pid"),
		"-c", filepath.Join(pidDir, "checkers.pid"))
	cmd.Dir = filepath.Dir(path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()

	v := keepalivedVerdict{msgs: parseKeepalivedOutput(stderr.String())}
	var exit *exec.ExitError
	switch {
	case err == nil:
		v.ok = true
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		// Any non-zero status is a refusal: 5 for configuration errors, 6 for
		// script security, others for fatal ones (see FINDINGS.md).
	default:
		// Killed by a signal or never started: no verdict. keepalived 2.2.7
		// kills itself with SIGTERM under -t when script_user is not root.
		v.err = fmt.Errorf("running keepalived -t: %w", err)
	}
	return v
}

// requireKeepalived returns keepalived's path. The test needs root for the
// network namespace; without keepalived or root it skips, except under
// CI=true, where a skipped differential test would hide every disagreement.
func requireKeepalived(tb testing.TB) string {
	tb.Helper()
	path, why := keepalivedAvailable()
	if why == "" {
		return path
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(why)
	}
	tb.Skip(why)
	return ""
}

// keepalivedAvailable returns keepalived's path, or why keepalived -t cannot
// be run the way the differential test runs it.
func keepalivedAvailable() (path, why string) {
	path, err := exec.LookPath("keepalived")
	if err != nil {
		// Debian installs it in /usr/sbin, which a user's PATH may lack.
		path = "/usr/sbin/keepalived"
		if _, err := os.Stat(path); err != nil {
			return "", "keepalived is not installed"
		}
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "", "iproute2 is not installed"
	}
	if os.Geteuid() != 0 {
		return "", "creating a network namespace needs root"
	}
	return path, ""
}

// newDiffNetns creates a network namespace holding the interfaces the
// corpus, the examples and keepalived's samples name, and removes it when the
// test ends. keepalived -t looks every interface up in its own
// namespace and refuses missing ones, so without this the verdicts would
// depend on the machine. The links are bridges because some kernels lack
// the dummy and vlan link types; -t only needs them to exist and not be
// loopback.
func newDiffNetns(tb testing.TB, suffix string) string {
	tb.Helper()
	name := fmt.Sprintf("gkcfgdiff-%d-%s", os.Getpid(), suffix)
	ip := func(args ...string) {
		tb.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", name)
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("removing network namespace %s: %v: %s", name, err, out)
		}
	})
	ip("-n", name, "link", "set", "lo", "up")
	for _, l := range []string{"eth0", "eth1", "eth2", "eth3", "eth0.1"} {
		ip("-n", name, "link", "add", l, "type", "bridge")
		ip("-n", name, "link", "set", l, "up")
	}
	return name
}

// inNetns runs f on an OS thread switched into the network namespace ns, so
// that config.Load looks interfaces up where keepalived did. Goroutines f
// starts run elsewhere and see the host's namespace. A panic in f fails only
// the calling test, so one crashing input does not hide the rest of the
// corpus.
func inNetns(tb testing.TB, ns string, f func()) {
	tb.Helper()
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it leaves with this goroutine
		// rather than return to the scheduler in the wrong namespace.
		runtime.LockOSThread()
		defer func() {
			if r := recover(); r != nil {
				errc <- fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		fd, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("opening network namespace %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering network namespace %s: %w", ns, err)
			return
		}
		f()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
}

// TestParseKeepalivedOutput pins the reading of keepalived -t's stderr that
// the differential test relies on; it needs neither keepalived nor root.
func TestParseKeepalivedOutput(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   []string // keepalivedMsg.String of each message
		fatal  []bool
	}{
		{
			name: "passes are deduplicated",
			stderr: "(Line 13) Unknown keyword 'virtual_router'\n" +
				"(x.conf: Line 13) Unknown keyword 'virtual_router'\n" +
				"(x.conf: Line 13) Unknown keyword 'virtual_router'\n",
			want:  []string{"(x.conf: Line 13) Unknown keyword 'virtual_router'"},
			fatal: []bool{true},
		},
		{
			name:   "first pass only keeps its line",
			stderr: "(Line 6) Unknown keyword 'notification_mail'\n",
			want:   []string{"(Line 6) Unknown keyword 'notification_mail'"},
			fatal:  []bool{true},
		},
		{
			name: "instance names are not positions",
			stderr: "(/a/b.conf: Line 5) (VI_1): VRID '300' not valid - must be between 1 & 255\n" +
				"(VI_1) the virtual router id must be set\n" +
				"There are 1 missing '}'s or extra '{'s\n",
			want: []string{
				"(/a/b.conf: Line 5) (VI_1): VRID '300' not valid - must be between 1 & 255",
				"(VI_1) the virtual router id must be set",
				"There are 1 missing '}'s or extra '{'s",
			},
			fatal: []bool{true, true, true},
		},
		{
			name: "file problems do not fail -t",
			stderr: "(Line 3) Config files missing 'include/none.conf'.\n" +
				"(loop.conf: Line 4) Configuration file 'loop.conf' open problem (Too many open files) - skipping\n",
			want: []string{
				"(Line 3) Config files missing 'include/none.conf'.",
				"(loop.conf: Line 4) Configuration file 'loop.conf' open problem (Too many open files) - skipping",
			},
			fatal: []bool{false, false},
		},
		{
			name:   "trailing blanks",
			stderr: "(inc.d/a.conf: Line 11)         Please use global lvs_sync_daemon  \n\n",
			want:   []string{"(inc.d/a.conf: Line 11)         Please use global lvs_sync_daemon"},
			fatal:  []bool{true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := parseKeepalivedOutput(tt.stderr)
			var got []string
			var fatal []bool
			for _, m := range msgs {
				got = append(got, m.String())
				fatal = append(fatal, !m.nonFatal())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if fmt.Sprint(fatal) != fmt.Sprint(tt.fatal) {
				t.Errorf("fatal = %v, want %v", fatal, tt.fatal)
			}
		})
	}
}

// TestSameFile pins how keepalived's file names are matched to diagnostics.
func TestSameFile(t *testing.T) {
	tests := []struct {
		dir, k, g string
		want      bool
	}{
		{"/c", "/c/main.conf", "/c/main.conf", true},
		{"/c", "/c/main.conf", "/c/other.conf", false},
		{"/c", "include/a.conf", "/c/include/a.conf", true},
		{"/c", "include/a.conf", "include/a.conf", true},
		{"/c", "include/a.conf", "/elsewhere/include/a.conf", true},
		{"/c", "include/a.conf", "/c/include/b.conf", false},
		{"/c", "a.conf", "/c/xa.conf", false},
		{"/c", "", "/c/anything.conf", true},
	}
	for _, tt := range tests {
		if got := sameFile(tt.dir, tt.k, tt.g); got != tt.want {
			t.Errorf("sameFile(%q, %q, %q) = %v, want %v", tt.dir, tt.k, tt.g, got, tt.want)
		}
	}
}

// TestNamesLine pins the position rule: an error is needed where keepalived
// fails, any diagnostic where it only reports, and in keepalived's words.
func TestNamesLine(t *testing.T) {
	diags := config.Diagnostics{
		{Pos: config.Pos{File: "/c/x.conf", Line: 4}, Severity: config.Error, Msg: "e"},
		{Pos: config.Pos{File: "/c/x.conf", Line: 9}, Severity: config.Warning, Msg: "w"},
	}
	tests := []struct {
		m       keepalivedMsg
		wantErr bool
		want    bool
	}{
		{keepalivedMsg{file: "/c/x.conf", line: 4, text: "e"}, true, true},
		{keepalivedMsg{file: "/c/x.conf", line: 4, text: "other words"}, true, false},
		{keepalivedMsg{file: "/c/x.conf", line: 9, text: "w"}, true, false},
		{keepalivedMsg{file: "/c/x.conf", line: 9, text: "w"}, false, true},
		{keepalivedMsg{file: "/c/x.conf", line: 5, text: "e"}, false, false},
		{keepalivedMsg{line: 4, text: "e"}, true, true},
		{keepalivedMsg{file: "/c/y.conf", line: 4, text: "e"}, true, false},
	}
	for _, tt := range tests {
		if got := namesLine(diags, "/c", tt.m, tt.wantErr); got != tt.want {
			t.Errorf("namesLine(%v, wantErr %v) = %v, want %v", tt.m, tt.wantErr, got, tt.want)
		}
	}
}
