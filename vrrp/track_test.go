package vrrp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestScriptState feeds a script's outcomes, s for success and f for
// failure, and checks after each whether it is good, as keepalived's
// rise and fall counting has it: "-" before the first result.
func TestScriptState(t *testing.T) {
	tests := []struct {
		rise, fall int
		initFail   bool
		runs       string
		want       string // state after each run: G good, B bad
		changes    string // runs that changed the state: x
	}{
		{1, 1, false, "sfsf", "GBGB", "xxxx"},
		{1, 1, false, "fs", "BG", "xx"},
		{3, 1, false, "s", "G", "x"}, // one success is enough at start
		{3, 1, false, "fssfsss", "BBBBBBG", "x.....x"},
		{1, 3, false, "sfffs", "GGGBG", "x..xx"},
		{1, 3, false, "sffsfff", "GGGGGGB", "x.....x"},
		{2, 2, true, "ss", "BG", ".x"},
		{1, 1, true, "f", "B", "."}, // already failed: no change
		{2, 2, false, "ffsfss", "BBBBBG", "x....x"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("rise %d fall %d init_fail %v %s", tt.rise, tt.fall, tt.initFail, tt.runs), func(t *testing.T) {
			s := newScriptState(tt.rise, tt.fall, tt.initFail)
			if !tt.initFail && !s.init {
				t.Fatal("new script not in init")
			}
			if tt.initFail && (s.init || s.good()) {
				t.Fatal("init_fail script not failed from the start")
			}
			var got, changes strings.Builder
			for _, r := range tt.runs {
				if s.record(r == 's') {
					changes.WriteByte('x')
				} else {
					changes.WriteByte('.')
				}
				if s.good() {
					got.WriteByte('G')
				} else {
					got.WriteByte('B')
				}
			}
			if got.String() != tt.want || changes.String() != tt.changes {
				t.Fatalf("states %s changes %s, want %s %s", got.String(), changes.String(), tt.want, tt.changes)
			}
		})
	}
}

// TestScriptStateCarry checks that a redefined script keeps its state
// under new rise and fall counts.
func TestScriptStateCarry(t *testing.T) {
	for _, tt := range []struct {
		runs      string
		good      bool
		failAfter int // failures the new state needs to turn bad; 0: already bad
	}{
		{"s", true, 3},
		{"f", false, 0},
		{"", false, 0},
	} {
		old := newScriptState(1, 1, false)
		for _, r := range tt.runs {
			old.record(r == 's')
		}
		s := newScriptState(2, 3, false)
		s.carry(&old)
		if s.good() != tt.good || s.init != old.init {
			t.Fatalf("after %q: good %v init %v, want %v %v", tt.runs, s.good(), s.init, tt.good, old.init)
		}
		for k := 1; k <= tt.failAfter; k++ {
			if changed := s.record(false); changed != (k == tt.failAfter) {
				t.Fatalf("after %q: failure %d changed %v", tt.runs, k, changed)
			}
		}
	}
}

func TestScriptEffect(t *testing.T) {
	tests := []struct {
		name      string
		state     string // init, good, bad
		weight    int
		reverse   bool
		wantFault bool
		wantOff   int
	}{
		{"weight 0 init holds in FAULT", "init", 0, false, true, 0},
		{"weight 0 good", "good", 0, false, false, 0},
		{"weight 0 bad", "bad", 0, false, true, 0},
		{"weight 0 reverse good", "good", 0, true, true, 0},
		{"weight 0 reverse bad", "bad", 0, true, false, 0},
		{"positive init", "init", 10, false, false, 0},
		{"positive good", "good", 10, false, false, 10},
		{"positive bad", "bad", 10, false, false, 0},
		{"negative good", "good", -20, false, false, 0},
		{"negative bad", "bad", -20, false, false, -20},
		{"negative init", "init", -20, false, false, 0},
		{"positive reverse good", "good", 10, true, false, -10},
		{"positive reverse bad", "bad", 10, true, false, 0},
		{"negative reverse good", "good", -20, true, false, 0},
		{"negative reverse bad", "bad", -20, true, false, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScriptState(1, 1, false)
			switch tt.state {
			case "good":
				s.record(true)
			case "bad":
				s.record(false)
			}
			fault, off := s.effect(tt.weight, tt.reverse)
			if fault != tt.wantFault || off != tt.wantOff {
				t.Fatalf("effect = %v, %d; want %v, %d", fault, off, tt.wantFault, tt.wantOff)
			}
		})
	}
}

func TestFileEffect(t *testing.T) {
	tests := []struct {
		value, weight int
		reverse       bool
		wantFault     bool
		wantOff       int
	}{
		{0, 0, false, false, 0},
		{1, 0, false, true, 0},
		{-3, 0, false, true, 0},
		{0, 0, true, true, 0},
		{5, 0, true, false, 0},
		{5, 1, false, false, 5},
		{-5, 1, false, false, -5},
		{5, -2, false, false, -10},
		{5, 2, true, false, -10},
		{200, 2, false, false, 253},
		{-253, 1, false, false, -253},
		{-254, 1, false, true, 0},
		{-100, 3, false, true, 0},
		{100, 3, true, true, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d x %d reverse %v", tt.value, tt.weight, tt.reverse), func(t *testing.T) {
			fault, off := fileEffect(tt.value, tt.weight, tt.reverse)
			if fault != tt.wantFault || off != tt.wantOff {
				t.Fatalf("fileEffect = %v, %d; want %v, %d", fault, off, tt.wantFault, tt.wantOff)
			}
		})
	}
}

func TestReadTrackFile(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		content string
		want    int
	}{
		{"42\n", 42},
		{"  -7 apples", -7},
		{"+3", 3},
		{"0x1f", 31},
		{"010", 8},
		{"0", 0},
		{"", 0},
		{"junk", 0},
		{"100000", 254},
		{"-100000", -254},
		{"0x", 0},
	} {
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := readTrackFile(path); got != tt.want {
			t.Errorf("readTrackFile(%q) = %d, want %d", tt.content, got, tt.want)
		}
	}
	if got := readTrackFile(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("missing file read as %d, want 0", got)
	}
}

// TestReadTrackFileHostile puts a FIFO with no writer and a 1 TiB sparse
// file at a track file's path: each is read at once, without blocking and
// without reading the whole file, as keepalived reads them.
func TestReadTrackFileHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("12")
	if err := f.Truncate(1 << 40); err != nil {
		t.Fatalf("making a 1 TiB sparse file: %v", err)
	}
	f.Close()
	for path, want := range map[string]int{fifo: 0, sparse: 12} {
		done := make(chan int, 1)
		go func() { done <- readTrackFile(path) }()
		select {
		case got := <-done:
			if got != want {
				t.Errorf("readTrackFile(%s) = %d, want %d", filepath.Base(path), got, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("readTrackFile(%s) blocked", filepath.Base(path))
		}
	}
}

// TestScriptTrackerRecord checks keepalived's log lines for outcomes.
func TestScriptTrackerRecord(t *testing.T) {
	tr := newScriptTracker(&TrackScript{Name: "chk", Args: []string{"true"}, Rise: 1, Fall: 1})
	log, hook := testLogger()
	steps := []struct {
		status int
		err    error
		want   []string
	}{
		{0, nil, []string{"Script `chk` now returning 0", "VRRP_Script(chk) succeeded"}},
		{0, nil, nil},
		{3, nil, []string{"Script `chk` now returning 3", "VRRP_Script(chk) failed (exited with status 3)"}},
		{0, nil, []string{"Script `chk` now returning 0", "VRRP_Script(chk) succeeded"}},
		{-1, context.DeadlineExceeded, []string{"VRRP_Script(chk) timed_out"}},
	}
	for k, st := range steps {
		hook.Reset()
		tr.record(st.status, st.err, log)
		if got := messages(hook); fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Fatalf("step %d: logged %q, want %q", k, got, st.want)
		}
	}
}

func TestExecRunner(t *testing.T) {
	var r ExecRunner
	ctx := context.Background()
	if st, err := r.RunScript(ctx, &TrackScript{Name: "ok", Args: []string{"/bin/sh", "-c", "exit 0"}}); st != 0 || err != nil {
		t.Fatalf("exit 0: %d, %v", st, err)
	}
	if st, err := r.RunScript(ctx, &TrackScript{Name: "three", Args: []string{"/bin/sh", "-c", "exit 3"}}); st != 3 || err != nil {
		t.Fatalf("exit 3: %d, %v", st, err)
	}
	if _, err := r.RunScript(ctx, &TrackScript{Name: "missing", Args: []string{"/nonexistent/script"}}); err == nil {
		t.Fatal("missing script ran")
	}

	// A hung script and the child it started are both killed at the
	// deadline; the child is found through its pid file.
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	hung := &TrackScript{Name: "hung", Args: []string{"/bin/sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"}}
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.RunScript(ctx, hung)
	if err != context.DeadlineExceeded {
		t.Fatalf("hung script: %v, want deadline exceeded", err)
	}
	if took := time.Since(start); took > 300*time.Millisecond+killGrace {
		t.Fatalf("hung script returned after %v", took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	if pid == 0 {
		t.Fatalf("bad pid file %q", b)
	}
	// Killed, it may linger a moment as a zombie until init reaps it.
	for end := time.Now().Add(2 * time.Second); syscall.Kill(pid, 0) != syscall.ESRCH; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the hung script's child %d survived", pid)
		}
	}
}

// TestFileTracker writes, replaces and deletes a track file and expects
// a report for each, through inotify.
func TestFileTracker(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prio")
	if err := os.WriteFile(path, []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := newFileTracker(&TrackFile{Name: "f", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	values := make(chan int, 16)
	log, _ := testLogger()
	var wg sync.WaitGroup
	if err := tr.start(&wg, &guard{log: log}, func(v int) { values <- v }); err != nil {
		t.Fatal(err)
	}
	defer func() {
		tr.close()
		wg.Wait()
	}()
	if tr.value != 7 {
		t.Fatalf("initial value %d, want the file's 7", tr.value)
	}
	next := func(what string, want int) {
		t.Helper()
		select {
		case v := <-values:
			if v != want {
				t.Fatalf("%s: reported %d, want %d", what, v, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: no report", what)
		}
	}
	if err := os.WriteFile(path, []byte("-20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	next("write", -20)
	tmp := filepath.Join(dir, "tmp")
	if err := os.WriteFile(tmp, []byte("5"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The write of tmp itself must not be reported.
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	next("rename over", 5)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	next("delete", 0)
	if _, err := newFileTracker(&TrackFile{Name: "g", Path: filepath.Join(dir, "no", "such")}); err == nil {
		t.Fatal("track file in a missing directory accepted")
	}
}
