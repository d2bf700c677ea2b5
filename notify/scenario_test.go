package notify

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from live keepalived")

// The scenario that TestKeepalivedVRRP drives real keepalived through and
// that the Notifier is fed: VI_1 alone and VI_2 in sync group G1 start as
// BACKUP, become MASTER, yield to a peer with a higher priority, lose
// their link, get it back, and stop.
var scenario = []State{Backup, Master, Backup, Fault, Backup, Stop}

const (
	prio1 = 100
	prio2 = 90
)

// scriptLines are the notify keywords of the scenario's configuration,
// with REC standing for the recording script. They mix bare and quoted
// commands, arguments with blanks, quotes and escapes, and users.
var scriptLines = map[string][]string{
	"VI_1": {
		`notify_master "REC master \"x y\" z\\ w"`,
		`notify_backup REC`,
		`notify_fault "REC fault" root`,
		`notify_stop "REC stop 'it''s' \\x41"`,
		`notify "REC notify"`,
	},
	"VI_2": {
		`notify "REC notify2" root root`,
	},
	"G1": {
		`notify_master "REC gmaster 'a b'"`,
		`notify_backup "REC gbackup"`,
		`notify_fault "REC gfault"`,
		`notify_stop "REC gstop"`,
		`notify "REC gnotify"`,
	},
	"global_defs": {
		`vrrp_notify_fifo_script "REC fifo_script"`,
	},
}

// writeRecorder writes the script every notify runs: it appends its
// arguments, tab-separated, as one line of dir/argv.
func writeRecorder(t *testing.T, dir string) string {
	t.Helper()
	return writeScript(t, dir, "rec", `(IFS=$(printf '\t'); printf '%s\n' "$*") >>`+filepath.Join(dir, "argv")+"\n")
}

func linesWith(key, rec string) []string {
	var out []string
	for _, l := range scriptLines[key] {
		out = append(out, strings.ReplaceAll(l, "REC", rec))
	}
	return out
}

// keepalivedConf is the scenario's configuration for a router with the
// given priorities; rec empty leaves the scripts and FIFOs out.
func keepalivedConf(dir, rec string, p1, p2 int) string {
	var b strings.Builder
	indent := func(lines []string) string { return "  " + strings.Join(lines, "\n  ") + "\n" }
	b.WriteString("global_defs {\n  enable_script_security\n  script_user root\n")
	if rec != "" {
		fmt.Fprintf(&b, "  notify_fifo %s\n  vrrp_notify_fifo %s\n", filepath.Join(dir, "global.fifo"), filepath.Join(dir, "vrrp.fifo"))
		b.WriteString(indent(linesWith("global_defs", rec)))
	}
	b.WriteString("}\nvrrp_sync_group G1 {\n  group {\n    VI_2\n  }\n")
	if rec != "" {
		b.WriteString(indent(linesWith("G1", rec)))
	}
	b.WriteString("}\n")
	for _, vi := range []struct {
		name     string
		vrid, p  int
		vip      string
		hasLines bool
	}{{"VI_1", 61, p1, "10.231.0.100/24", true}, {"VI_2", 62, p2, "10.231.0.101/24", true}} {
		fmt.Fprintf(&b, "vrrp_instance %s {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  advert_int 1\n  virtual_ipaddress {\n    %s\n  }\n",
			vi.name, vi.vrid, vi.p, vi.vip)
		if rec != "" {
			b.WriteString(indent(linesWith(vi.name, rec)))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// scenarioScripts parses the scenario's script lines as keepalived would.
func scenarioScripts(t *testing.T, rec string) (vi1, vi2 *Instance, g1 *SyncGroup, fifoScript *Script) {
	t.Helper()
	def, err := DefaultUser("root", "", true)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(key string) map[string]*Script {
		m := map[string]*Script{}
		for _, l := range linesWith(key, rec) {
			s, err := ParseScriptLine(l, &def)
			if err != nil {
				t.Fatal(err)
			}
			m[strings.Fields(l)[0]] = s
		}
		return m
	}
	m1, m2, mg := parse("VI_1"), parse("VI_2"), parse("G1")
	vi1 = &Instance{Name: "VI_1", Master: m1["notify_master"], Backup: m1["notify_backup"], Fault: m1["notify_fault"],
		Stop: m1["notify_stop"], Notify: m1["notify"]}
	vi2 = &Instance{Name: "VI_2", Notify: m2["notify"]}
	g1 = &SyncGroup{Name: "G1", Master: mg["notify_master"], Backup: mg["notify_backup"], Fault: mg["notify_fault"],
		Stop: mg["notify_stop"], Notify: mg["notify"]}
	return vi1, vi2, g1, parse("global_defs")["vrrp_notify_fifo_script"]
}

// recording is what one run of the scenario produced.
type recording struct {
	Argv       []string // the scripts' arguments, one run a line
	GlobalFIFO []string // notify_fifo
	FIFO       []string // vrrp_notify_fifo or lvs_notify_fifo
}

// normalize puts runs of different scripts, and lines about different
// objects, in a fixed order. keepalived starts the scripts of one event
// together and reports independent instances as their timers fire, so
// only the order for each script and each object is defined.
func (r recording) normalize(dir string) recording {
	byKey := func(lines []string, key func(string) string) []string {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = strings.ReplaceAll(l, dir, "$DIR")
		}
		sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
		return out
	}
	// A script is known by its first two words: the recorder's tag and
	// the object it reports on.
	script := func(l string) string {
		f := strings.SplitN(l, "\t", 3)
		return strings.Join(f[:min(2, len(f))], "\t")
	}
	object := func(l string) string {
		f := strings.Fields(l)
		if len(f) < 2 {
			return l
		}
		return f[0] + " " + f[1]
	}
	return recording{
		Argv:       byKey(r.Argv, script),
		GlobalFIFO: byKey(r.GlobalFIFO, object),
		FIFO:       byKey(r.FIFO, object),
	}
}

// fifoReader collects the lines written to a FIFO from when it is opened
// until its writers close it.
type fifoReader struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func readFIFO(t *testing.T, name string) *fifoReader {
	t.Helper()
	r := &fifoReader{done: make(chan struct{})}
	f, err := os.Open(name) // waits for a writer
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *fifoReader) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// Count returns how many lines equal line.
func (r *fifoReader) Count(line string) int {
	n := 0
	for _, l := range r.Lines() {
		if l == line {
			n++
		}
	}
	return n
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// runScenario feeds the scenario to a Notifier with the scenario's scripts
// and FIFOs in dir, and returns what the scripts and FIFOs received.
func runScenario(t *testing.T, dir string) recording {
	t.Helper()
	rec := writeRecorder(t, dir)
	vi1, vi2, g1, fifoScript := scenarioScripts(t, rec)
	log, _ := test.NewNullLogger()
	runner := NewRunner(log, RunnerConfig{})
	n := &Notifier{Runner: runner, Log: log}
	var err error
	if n.Global, err = OpenFIFO(filepath.Join(dir, "global.fifo"), ourCred()); err != nil {
		t.Fatal(err)
	}
	if n.VRRP, err = OpenFIFO(filepath.Join(dir, "vrrp.fifo"), ourCred()); err != nil {
		t.Fatal(err)
	}
	if err := runner.StartFIFOScript(fifoScript, n.VRRP.Name()); err != nil {
		t.Fatal(err)
	}
	global, vrrp := readFIFO(t, n.Global.Name()), readFIFO(t, n.VRRP.Name())

	for _, s := range scenario {
		n.InstanceState(vi1, s, prio1)
		n.InstanceState(vi2, s, prio2)
		n.GroupState(g1, s)
	}

	// The FIFO script runs until Close ends it; let it record first.
	argv := filepath.Join(dir, "argv")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(strings.Join(readLines(t, argv), "\n"), "fifo_script") {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n.Global.Close()
	n.VRRP.Close()
	<-global.done
	<-vrrp.done
	return recording{Argv: readLines(t, argv), GlobalFIFO: global.Lines(), FIFO: vrrp.Lines()}
}

const (
	goldenArgv = "testdata/keepalived-vrrp-scripts.golden"
	goldenFIFO = "testdata/keepalived-vrrp-fifo.golden"
)

func readGolden(t *testing.T) (argv, fifo []string) {
	t.Helper()
	return readLines(t, goldenArgv), readLines(t, goldenFIFO)
}

func writeGolden(t *testing.T, r recording) {
	t.Helper()
	for name, lines := range map[string][]string{goldenArgv: r.Argv, goldenFIFO: r.FIFO} {
		if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// diffLines reports the first difference between two line lists.
func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("%s differ at line %d: got %q, want %q\ngot:\n%s\nwant:\n%s", what, i+1, g, w,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
			return
		}
	}
}
