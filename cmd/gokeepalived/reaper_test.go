package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// statOf returns a process's state and parent, or 0, 0 once it is gone.
func statOf(pid int) (byte, int) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 2 {
		return 0, 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return f[0][0], ppid
}

// TestDaemonReapsOrphans: what a notify script leaves running becomes the
// daemon's child, as keepalived is its scripts' subreaper, and is reaped
// when it exits instead of staying a zombie.
func TestDaemonReapsOrphans(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.78.0.1/24")
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "orphan")
	script := filepath.Join(dir, "master.sh")
	body := "#!/bin/sh\n(sleep 3; exit 0) &\necho $! >" + pidFile + ".tmp\nmv " + pidFile + ".tmp " + pidFile + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startReloadDaemon(t, m, dir, reloadVRRPConf("", "    notify_master "+script))
	var pid int
	waitFor(t, "the notify_master script's orphan", 15*time.Second, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	// The script exits after writing the file; its child then becomes
	// the daemon's.
	waitFor(t, "the orphan adopted by the daemon", 2*time.Second, func() bool {
		_, ppid := statOf(pid)
		return ppid == d.Pid()
	})
	waitFor(t, "the orphan reaped", 15*time.Second, func() bool {
		state, _ := statOf(pid)
		return state == 0
	})
}
