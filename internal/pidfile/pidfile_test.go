package pidfile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// deadPid is above the kernel's PID_MAX_LIMIT, so no process has it.
const deadPid = 4194305

func TestScanPid(t *testing.T) {
	tests := []struct {
		in   string
		pid  int
		okay bool
	}{
		{"1234\n", 1234, true},
		{"1234", 1234, true},
		{"  1234  \n", 1234, true},
		{"\n1234\n", 1234, true},
		{"+12", 12, true},
		{"-5\n", -5, true},
		{"0\n", 0, true},
		{"12abc", 12, true},
		{"12 34", 12, true},
		{"", 0, false},
		{"\n", 0, false},
		{"abc\n", 0, false},
		{"-", 0, false},
		{"99999999999", 0, false},
	}
	for _, tt := range tests {
		pid, ok := scanPid([]byte(tt.in))
		if pid != tt.pid || ok != tt.okay {
			t.Errorf("scanPid(%q) = %d, %v; want %d, %v", tt.in, pid, ok, tt.pid, tt.okay)
		}
	}
}

// startSleeper returns the pid of a live process that is not this one.
func startSleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func TestRunning(t *testing.T) {
	sleeper := startSleeper(t)
	tests := []struct {
		name    string
		content *string // nil: no file
		running bool
		kept    bool // the file is still there afterwards
		logged  string
	}{
		{name: "no file", content: nil},
		{name: "this process", content: ptr(strconv.Itoa(os.Getpid()) + "\n"), running: true, kept: true},
		{name: "another live process", content: ptr(strconv.Itoa(sleeper) + "\n"), running: true, kept: true},
		{name: "no newline", content: ptr(strconv.Itoa(sleeper)), running: true, kept: true},
		{name: "stale", content: ptr(strconv.Itoa(deadPid) + "\n"), logged: "Remove a zombie pid file %s"},
		{name: "garbage", content: ptr("abc\n"), running: true, logged: "Error reading pid file %s"},
		{name: "empty", content: ptr(""), running: true, logged: "Error reading pid file %s"},
		{name: "zero", content: ptr("0\n"), running: true, kept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keepalived.pid")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			log, hook := test.NewNullLogger()
			if got := Running(log, path); got != tt.running {
				t.Errorf("Running = %v, want %v", got, tt.running)
			}
			_, err := os.Stat(path)
			if kept := err == nil; kept != tt.kept {
				t.Errorf("file kept = %v, want %v", kept, tt.kept)
			}
			var want []string
			if tt.logged != "" {
				want = []string{strings.ReplaceAll(tt.logged, "%s", path)}
			}
			if got := messages(hook); !slices.Equal(got, want) {
				t.Errorf("logged %q, want %q", got, want)
			}
		})
	}
}

func TestRunningAnyFile(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "keepalived.pid")
	vrrp := filepath.Join(dir, "vrrp.pid")
	checkers := filepath.Join(dir, "checkers.pid")
	if err := os.WriteFile(main, []byte(strconv.Itoa(deadPid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vrrp, []byte(strconv.Itoa(startSleeper(t))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log, hook := test.NewNullLogger()
	if !Running(log, main, vrrp, checkers) {
		t.Error("Running = false with a live VRRP pid file")
	}
	if got, want := messages(hook), []string{"Remove a zombie pid file " + main}; !slices.Equal(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.pid")
	if err := os.WriteFile(path, []byte(strconv.Itoa(deadPid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != path {
		t.Errorf("Path = %q, want %q", f.Path(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(os.Getpid()) + "\n"; string(b) != want {
		t.Errorf("pid file holds %q, want %q", b, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("pid file mode %v, want 0644", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the pid file", len(entries))
	}
}

func TestCreateUnwritable(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		filepath.Join(t.TempDir(), "missing", "keepalived.pid"),
		filepath.Join(notDir, "keepalived.pid"),
		// Not writable even for root.
		"/proc/keepalived.pid",
	} {
		f, err := Create(path)
		if err == nil {
			f.Remove()
			t.Errorf("Create(%s) succeeded", path)
			continue
		}
		if want := "writing pid file " + path + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Create(%s): %v, want an error beginning %q", path, err, want)
		}
	}
}

func TestRemove(t *testing.T) {
	replace := func(content string) func(string) error {
		return func(path string) error { return os.WriteFile(path, []byte(content), 0o644) }
	}
	tests := []struct {
		name   string
		meddle func(path string) error // what others did to the file meanwhile
		kept   bool
	}{
		{name: "ours", meddle: func(string) error { return nil }},
		{name: "already gone", meddle: os.Remove},
		{name: "taken over", meddle: replace("1\n"), kept: true},
		{name: "garbage", meddle: replace("abc"), kept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vrrp.pid")
			f, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.meddle(path); err != nil {
				t.Fatal(err)
			}
			if err := f.Remove(); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			_, err = os.Stat(path)
			if kept := !errors.Is(err, os.ErrNotExist); kept != tt.kept {
				t.Errorf("file kept = %v, want %v", kept, tt.kept)
			}
		})
	}
}

func messages(hook *test.Hook) []string {
	var msgs []string
	for _, e := range hook.AllEntries() {
		if e.Level != logrus.InfoLevel {
			msgs = append(msgs, e.Level.String()+": "+e.Message)
			continue
		}
		msgs = append(msgs, e.Message)
	}
	return msgs
}

func ptr(s string) *string { return &s }

// TestCreateOverPlant: a symlink or another user's world-writable file at
// the name is replaced by the daemon's own file, as keepalived's
// pidfile_write opens with O_NOFOLLOW; the symlink's target is untouched.
func TestCreateOverPlant(t *testing.T) {
	for _, kind := range []string{"symlink", "foreign"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keepalived.pid")
			target := filepath.Join(dir, "target")
			if err := os.WriteFile(target, []byte("theirs"), 0o666); err != nil {
				t.Fatal(err)
			}
			if kind == "symlink" {
				if err := os.Symlink(target, path); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.Rename(target, path); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, 0o666); err != nil {
					t.Fatal(err)
				}
				if os.Geteuid() == 0 {
					if err := os.Chown(path, 65534, 65534); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := Create(path); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
				t.Errorf("pid file is %v, want a regular file 0644", fi.Mode())
			}
			if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
				t.Errorf("pid file owned by %d", uid)
			}
			if kind == "symlink" {
				if b, _ := os.ReadFile(target); string(b) != "theirs" {
					t.Errorf("symlink target now holds %q", b)
				}
			}
		})
	}
}
