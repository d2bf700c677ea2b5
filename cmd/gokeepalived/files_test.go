package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procUmask reads a process's umask from /proc.
func procUmask(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			m, err := strconv.ParseInt(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(m)
		}
	}
	t.Fatal("no Umask line in /proc status")
	return 0
}

// plantFiles puts at log a symlink to a file of another user's, and at
// pid a world-writable file of theirs, as an unprivileged user could in a
// shared directory. It returns the symlink's target.
func plantFiles(t *testing.T, log, pid string) string {
	t.Helper()
	target := filepath.Join(filepath.Dir(log), "theirs")
	if err := os.WriteFile(target, []byte("theirs"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, log); err != nil {
		t.Fatal(err)
	}
	// A pid no process has, so that the daemon does not take it for a
	// running one.
	if err := os.WriteFile(pid, []byte("4194305\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{target, pid} {
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
	}
	return target
}

// checkOwnFile fails t unless name is a regular file of the daemon's,
// with mode.
func checkOwnFile(t *testing.T, name string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
		t.Errorf("%s is %v, want a regular file %v", name, fi.Mode(), mode)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
		t.Errorf("%s is owned by uid %d", name, uid)
	}
}

// TestDaemonFilesAndUmask: the daemon runs under keepalived's umask, or
// the umask keyword's, or -u's (which makes the keyword ignored, in
// keepalived's words); its log file and pid file replace what another
// user planted at their names, and the log file's mode follows the umask.
func TestDaemonFilesAndUmask(t *testing.T) {
	withUmask := strings.Replace(validLVS, "global_defs {", "global_defs {\n    umask IWGRP|IROTH | IWOTH|IXOTH", 1)
	for _, tc := range []struct {
		name  string
		conf  string
		args  []string
		umask int
		log   string
	}{
		{"default", validLVS, nil, 0o177, ""},
		{"keyword", withUmask, nil, 0o027, ""},
		{"command line", withUmask, []string{"-u", "0077"}, 0o077, "umask command line option specified, ignoring config option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			logFile, pidFile := filepath.Join(dir, "keepalived.log"), filepath.Join(dir, "keepalived.pid")
			target := plantFiles(t, logFile, pidFile)
			conf := writeConf(t, "k.conf", tc.conf)
			p := startDaemon(t, conf, nil, append([]string{"-p", pidFile, "-g", logFile}, tc.args...)...)
			p.waitLog("Configuration file "+conf, 1)
			if tc.log != "" {
				p.waitLog(tc.log, 1)
			}
			// The umask is applied with the configuration, which is
			// read after the line above.
			deadline := time.Now().Add(10 * time.Second)
			for procUmask(t, p.cmd.Process.Pid) != tc.umask && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := procUmask(t, p.cmd.Process.Pid); got != tc.umask {
				t.Errorf("umask %#o, want %#o", got, tc.umask)
			}
			checkOwnFile(t, logFile, 0o666&^os.FileMode(tc.umask))
			checkOwnFile(t, pidFile, 0o644)
			if b, _ := os.ReadFile(target); string(b) != "theirs" {
				t.Errorf("the log symlink's target now holds %q", b)
			}
			if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "Configuration file "+conf) {
				t.Errorf("log file holds %q", b)
			}
			if code := p.stop(); code != 0 {
				t.Errorf("exit status %d", code)
			}
		})
	}
}
