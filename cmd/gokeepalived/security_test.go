package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// markerScript writes a script that creates marker when it runs, with
// mode; it returns the script's path.
func markerScript(t *testing.T, dir, name, marker string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDaemonScriptSecurity runs the daemon with enable_script_security:
// without a keepalived_script user and without scripts it starts, as
// keepalived does; a notify_fifo_script or notify script a non-root user
// could change is refused with keepalived's message while a safe one
// (notify_fifo_script, lvs_notify_fifo_script) runs; and without enable_script_security keepalived's SECURITY
// VIOLATION line is logged at start-up and on reload.
func TestDaemonScriptSecurity(t *testing.T) {
	nettest.RequireRoot(t)
	if _, err := user.Lookup("keepalived_script"); err == nil {
		t.Skip("the keepalived_script user exists here")
	}
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.78.0.1/24")
	dir := t.TempDir()
	// t.TempDir's directories are root's and 0700 or 0755: safe.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	d := startReloadDaemon(t, m, dir, reloadVRRPConf("    enable_script_security", ""))
	waitFor(t, "MASTER with enable_script_security and no script user", 10*time.Second, func() bool {
		return strings.Contains(d.Output(), "(VI_1) Entering MASTER STATE")
	})

	safeRan, unsafeRan := filepath.Join(dir, "safe.ran"), filepath.Join(dir, "unsafe.ran")
	safe := markerScript(t, dir, "safe.sh", safeRan, 0o755)
	unsafe := markerScript(t, dir, "unsafe.sh", unsafeRan, 0o757)
	lvsRan := filepath.Join(dir, "lvs.ran")
	lvs := markerScript(t, dir, "lvs.sh", lvsRan, 0o755)
	global := fmt.Sprintf(`    enable_script_security
    script_user root
    notify_fifo %s
    notify_fifo_script %s
    vrrp_notify_fifo %s
    vrrp_notify_fifo_script %s
    lvs_notify_fifo %s
    lvs_notify_fifo_script %s`, filepath.Join(dir, "fifo1"), safe, filepath.Join(dir, "fifo2"), unsafe, filepath.Join(dir, "fifo3"), lvs)
	reloadWith(t, d, dir, reloadVRRPConf(global, "    notify_master "+unsafe))
	refused := fmt.Sprintf("Unsafe permissions found for script '%s' - disabling.", unsafe)
	waitFor(t, "the unsafe scripts refused", 10*time.Second, func() bool {
		return strings.Count(d.Output(), refused) >= 2
	})
	waitFor(t, "the safe FIFO script run", 10*time.Second, func() bool {
		_, err := os.Stat(safeRan)
		return err == nil
	})
	waitFor(t, "the lvs_notify_fifo_script run", 10*time.Second, func() bool {
		_, err := os.Stat(lvsRan)
		return err == nil
	})
	if _, err := os.Stat(unsafeRan); err == nil {
		t.Error("an unsafe script ran")
	}
	if strings.Contains(d.Output(), "SECURITY VIOLATION") {
		t.Error("SECURITY VIOLATION logged with enable_script_security")
	}

	// Without enable_script_security the scripts run, and keepalived
	// says so once per process, naming the insecure ones.
	reloadWith(t, d, dir, reloadVRRPConf("    script_user root", "    notify "+unsafe))
	waitFor(t, "keepalived's SECURITY VIOLATION line", 10*time.Second, func() bool {
		return strings.Contains(d.Output(), "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.")
	})
	if !strings.Contains(d.Output(), fmt.Sprintf("Unsafe permissions found for script '%s'.", unsafe)) {
		t.Error("the unsafe script was not reported without enable_script_security")
	}
}
