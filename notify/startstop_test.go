package notify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// TestStartStopKillsAScriptThatIgnoresSIGTERM: a script that traps
// SIGTERM gets SIGKILL one grace period after the timeout, with the
// children it started, and Run returns then.
func TestStartStopKillsAScriptThatIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.sh")
	pidFile := filepath.Join(dir, "child")
	body := "#!/bin/sh\ntrap '' TERM\nsleep 30 &\necho $! > " + pidFile + "\nwait\nwait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	ss := StartStop{Kind: "startup", Script: &Script{Args: []string{script}, Cred: self()}, Timeout: 200 * time.Millisecond, Grace: 200 * time.Millisecond}
	began := time.Now()
	ss.Run(context.Background(), log)
	took := time.Since(began)
	if took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("Run returned after %v, want the timeout and one grace period", took)
	}
	var msgs []string
	for _, e := range hook.AllEntries() {
		msgs = append(msgs, e.Message)
	}
	if got := strings.Join(msgs, "\n"); got != "startup script timed out" {
		t.Errorf("log:\n%s\nwant only the timeout", got)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	if _, err := os.Stat("/proc/" + pid); err == nil {
		st, _ := os.ReadFile("/proc/" + pid + "/stat")
		if !strings.Contains(string(st), ") Z ") {
			t.Errorf("the script's child %s outlived it", pid)
		}
	}
}

// TestStartStopReportsExitStatus logs keepalived's doubled wording.
func TestStartStopReportsExitStatus(t *testing.T) {
	log, hook := test.NewNullLogger()
	ss := StartStop{Kind: "shutdown", Script: &Script{Args: []string{"/bin/sh", "-c", "exit 4"}, Cred: self()}, Timeout: 5 * time.Second}
	ss.Run(context.Background(), log)
	if e := hook.LastEntry(); e == nil || e.Message != "shutdown script script failed, status 4" {
		t.Errorf("log: %v", hook.AllEntries())
	}
}

func self() Credential {
	return Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
}
