package notify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// writeScript writes a shell script into dir and returns its path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	must(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
	return path
}

func newTestRunner(t *testing.T, cfg RunnerConfig) (*Runner, *test.Hook) {
	t.Helper()
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	r := NewRunner(log, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Close(ctx)
	})
	return r, hook
}

func closeRunner(t *testing.T, r *Runner, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return r.Close(ctx)
}

func TestRunnerArgv(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	rec := writeScript(t, dir, "rec", `for a in "$0" "$@"; do printf '[%s]' "$a"; done >`+out+"\n")
	r, _ := newTestRunner(t, RunnerConfig{})
	s := &Script{Args: []string{rec, "a b", ""}, Cred: ourCred()}
	r.Run(Job{Source: "x", Script: s, Args: []string{"INSTANCE", "VI_1", "MASTER", "100"}})
	must(t, closeRunner(t, r, 10*time.Second))
	got, _ := os.ReadFile(out)
	if want := "[" + rec + "][a b][][INSTANCE][VI_1][MASTER][100]"; string(got) != want {
		t.Errorf("script saw %s, want %s", got, want)
	}
}

func TestRunnerTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The script's child ignores SIGTERM, so only a SIGKILL to the whole
	// group ends it.
	slow := writeScript(t, dir, "slow", `sh -c 'trap "" TERM; echo $$ >`+pidFile+`.tmp; mv `+pidFile+`.tmp `+pidFile+`; exec sleep 1000' &
sleep 1000
`)
	r, hook := newTestRunner(t, RunnerConfig{Timeout: 300 * time.Millisecond})
	start := time.Now()
	r.Run(Job{Source: "x", Script: &Script{Args: []string{slow}, Cred: ourCred()}})
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Run blocked for %v", d)
	}
	must(t, closeRunner(t, r, 10*time.Second))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a script with a 300ms timeout ran for %v", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the script's child never started: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// SIGKILL is delivered when the process next runs: on a busy machine
	// it may take a moment to die.
	for deadline := time.Now().Add(2 * time.Second); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the script's child %d survived the timeout", pid)
	}
	if want := fmt.Sprintf("Script %s timed out after 300ms - killed", slow); !contains(messages(hook), want) {
		t.Errorf("log %q, want %q", messages(hook), want)
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper does
// not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func TestRunnerCapsOutput(t *testing.T) {
	dir := t.TempDir()
	loud := writeScript(t, dir, "loud", "head -c 8000000 /dev/zero | tr '\\0' a\necho err >&2\nexit 3\n")
	r, hook := newTestRunner(t, RunnerConfig{OutputLimit: 1000})
	start := time.Now()
	r.Run(Job{Source: "x", Script: &Script{Args: []string{loud}, Cred: ourCred()}})
	must(t, closeRunner(t, r, 20*time.Second))
	t.Logf("8 MB of output took %v", time.Since(start))
	e := hook.LastEntry()
	if e == nil || e.Message != fmt.Sprintf("Script %s exited with status 3", loud) {
		t.Fatalf("last log %v, want the exit status", e)
	}
	out, _ := e.Data["output"].(string)
	if want := strings.Repeat("a", 1000) + "...(truncated)"; out != want {
		t.Errorf("logged output of %d bytes (%.20q...), want 1000 bytes and a mark", len(out), out)
	}
}

func TestRunnerKeepsOrderUnderBurst(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// Each run takes a moment, so that a burst overtakes the runs.
	rec := writeScript(t, dir, "rec", `sleep 0.01; echo "$1" >>`+out+"\n")
	other := writeScript(t, dir, "other", "sleep 0.2\n")
	r, _ := newTestRunner(t, RunnerConfig{})
	s := &Script{Args: []string{rec}, Cred: ourCred()}
	start := time.Now()
	const n = 40
	for i := 0; i < n; i++ {
		r.Run(Job{Source: "VI_1", Script: s, Args: []string{strconv.Itoa(i)}})
		// Other sources do not wait for VI_1's queue.
		r.Run(Job{Source: fmt.Sprintf("rs %d", i), Script: &Script{Args: []string{other}, Cred: ourCred()}})
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("queueing %d runs took %v", 2*n, d)
	}
	must(t, closeRunner(t, r, 30*time.Second))
	b, _ := os.ReadFile(out)
	lines := strings.Fields(string(b))
	if len(lines) != n {
		t.Fatalf("%d runs, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i) {
			t.Fatalf("runs in order %q", lines)
		}
	}
}

func TestRunnerDropsWhenQueueFull(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	rec := writeScript(t, dir, "rec", `sleep 0.3; echo "$1" >>`+out+"\n")
	r, hook := newTestRunner(t, RunnerConfig{QueueLength: 2})
	s := &Script{Args: []string{rec}, Cred: ourCred()}
	start := time.Now()
	for i := 0; i < 10; i++ {
		r.Run(Job{Source: "VI_1", Script: s, Args: []string{strconv.Itoa(i)}})
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("Run blocked on a full queue for %v", d)
	}
	must(t, closeRunner(t, r, 30*time.Second))
	b, _ := os.ReadFile(out)
	runs := strings.Fields(string(b))
	// One may be running and two waiting when the rest arrive.
	if len(runs) < 2 || len(runs) > 3 || runs[0] != "0" {
		t.Errorf("ran %q, want the first two or three", runs)
	}
	dropped := 0
	for _, m := range messages(hook) {
		if m == "Notify queue for VI_1 is full - dropping script '"+rec+"'" {
			dropped++
		}
	}
	if dropped+len(runs) != 10 {
		t.Errorf("%d runs and %d drops logged, want 10 in all", len(runs), dropped)
	}
	if got := r.Dropped(); got != uint64(dropped) {
		t.Errorf("Dropped() = %d, want the %d drops logged", got, dropped)
	}
	r.Run(Job{Source: "VI_1", Script: s})
	if got := r.Dropped(); got != uint64(dropped)+1 {
		t.Errorf("Dropped() = %d after a run asked for after Close, want %d", got, dropped+1)
	}
}

// TestRunnerShellFormQuotes: in the shell form ("</path" tests a file),
// an argument holding a single quote reaches the shell as one word and
// runs nothing.
func TestRunnerShellFormQuotes(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	r, hook := newTestRunner(t, RunnerConfig{})
	s := &Script{Args: []string{"</dev/null"}, Cred: ourCred()}
	r.Run(Job{Source: "x", Script: s, Args: []string{"it's", "x'; touch " + pwned + "; '"}})
	must(t, closeRunner(t, r, 10*time.Second))
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("an argument with a quote ran a command through the shell")
	}
	if got, want := shellCommand([]string{"</dev/null", "it's"}), `</dev/null 'it'\''s'`; got != want {
		t.Errorf("shellCommand = %s, want %s", got, want)
	}
	// The shell takes the first argument, whole, for a command to run.
	if !slices.Contains(messages(hook), "Script /bin/sh exited with status 127") {
		t.Errorf("the shell did not look for the command \"it's\": %q", messages(hook))
	}
}

// TestRunnerNoDefaultTimeout: as keepalived's notify_exec, a notify
// script is never killed for running long unless its job or the Runner
// sets a timeout.
func TestRunnerNoDefaultTimeout(t *testing.T) {
	r := NewRunner(logrus.New(), RunnerConfig{})
	if r.cfg.Timeout != 0 {
		t.Errorf("default timeout %v, want none", r.cfg.Timeout)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	slow := writeScript(t, dir, "slow", "sleep 1.5; echo done >"+out+"\n")
	r.Run(Job{Source: "x", Script: &Script{Args: []string{slow}, Cred: ourCred()}})
	must(t, closeRunner(t, r, 20*time.Second))
	if b, _ := os.ReadFile(out); string(b) != "done\n" {
		t.Errorf("the script was cut off: it wrote %q", b)
	}
}

func TestRunnerCloseKillsWhenContextEnds(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	slow := writeScript(t, dir, "slow", "echo $$ >"+pidFile+".tmp; mv "+pidFile+".tmp "+pidFile+"\nexec sleep 1000\n")
	never := filepath.Join(dir, "never")
	r, _ := newTestRunner(t, RunnerConfig{Timeout: time.Hour})
	r.Run(Job{Source: "x", Script: &Script{Args: []string{slow}, Cred: ourCred()}})
	r.Run(Job{Source: "x", Script: &Script{Args: []string{"/bin/touch", never}, Cred: ourCred()}})
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := closeRunner(t, r, 200*time.Millisecond); err == nil {
		t.Error("Close returned no error after its context ended")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	b, _ := os.ReadFile(pidFile)
	if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid == 0 || alive(pid) {
		t.Errorf("script %q still running after Close", b)
	}
	if _, err := os.Stat(never); err == nil {
		t.Error("a queued script ran after Close gave up waiting")
	}
	r.Run(Job{Source: "x", Script: &Script{Args: []string{"/bin/touch", never}, Cred: ourCred()}})
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat(never); err == nil {
		t.Error("a script ran after Close")
	}
}

func TestRunnerFIFOScript(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	reader := writeScript(t, dir, "reader", `trap 'echo "TERM $1 $2" >`+out+`; exit 0' TERM
echo started >`+out+`
while :; do sleep 0.05; done
`)
	r, _ := newTestRunner(t, RunnerConfig{Timeout: 50 * time.Millisecond})
	must(t, r.StartFIFOScript(&Script{Args: []string{reader, "arg"}, Cred: ourCred()}, "/run/x.fifo"))
	time.Sleep(300 * time.Millisecond)
	if b, _ := os.ReadFile(out); string(b) != "started\n" {
		t.Fatalf("FIFO script output %q: it should outlive the runner's timeout", b)
	}
	must(t, closeRunner(t, r, 5*time.Second))
	if b, _ := os.ReadFile(out); string(b) != "TERM arg /run/x.fifo\n" {
		t.Errorf("at Close the FIFO script wrote %q, want SIGTERM with the FIFO as last argument", b)
	}
}

func TestRunnerCredential(t *testing.T) {
	requireRoot(t)
	// Not in t.TempDir(), whose parent only root may enter.
	dir, err := os.MkdirTemp("", "notify-cred")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o777))
	out := filepath.Join(dir, "out")
	id := writeScript(t, dir, "id", `echo "$(id -u) $(id -g) $(id -G)" >`+out+"\n")
	r, _ := newTestRunner(t, RunnerConfig{})
	r.Run(Job{Source: "x", Script: &Script{Args: []string{id}, Cred: Credential{UID: nobody, GID: nobody}}})
	must(t, closeRunner(t, r, 10*time.Second))
	if b, _ := os.ReadFile(out); string(b) != "65534 65534 65534\n" {
		t.Errorf("script ran as %q, want nobody:nogroup with no other groups", b)
	}
}
