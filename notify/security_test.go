package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"
)

const nobody = 65534

// tree builds a script at dir/sub/script with the given modes and
// owners, and returns its path.
type tree struct {
	subMode    os.FileMode
	subUID     int
	scriptMode os.FileMode
	scriptUID  int
	scriptGID  int
}

func (tr tree) build(t *testing.T) string {
	t.Helper()
	sub := filepath.Join(t.TempDir(), "sub")
	script := filepath.Join(sub, "script")
	must(t, os.Mkdir(sub, 0o755))
	must(t, os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Chown(script, tr.scriptUID, tr.scriptGID))
	must(t, os.Chmod(script, tr.scriptMode))
	must(t, os.Chown(sub, tr.subUID, 0))
	must(t, os.Chmod(sub, tr.subMode))
	return script
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecurityCheck(t *testing.T) {
	requireRoot(t)
	safe := tree{subMode: 0o755, scriptMode: 0o755}
	tests := []struct {
		name     string
		tree     tree
		cred     Credential
		enabled  bool
		ok       bool
		insecure bool
		log      string // a message keepalived logs, with the script path as %s
	}{
		{name: "root owned", tree: safe, enabled: true, ok: true},
		{name: "group writable, group not root", tree: tree{subMode: 0o755, scriptMode: 0o775, scriptGID: nobody},
			enabled: true, insecure: true, log: "Unsafe permissions found for script '%s' - disabling."},
		{name: "group writable, group root", tree: tree{subMode: 0o755, scriptMode: 0o775}, enabled: true, ok: true},
		{name: "world writable", tree: tree{subMode: 0o755, scriptMode: 0o757},
			enabled: true, insecure: true, log: "Unsafe permissions found for script '%s' - disabling."},
		{name: "world writable, security off", tree: tree{subMode: 0o755, scriptMode: 0o757},
			ok: true, insecure: true, log: "Unsafe permissions found for script '%s'."},
		{name: "owned by nobody", tree: tree{subMode: 0o755, scriptMode: 0o755, scriptUID: nobody},
			enabled: true, insecure: true, log: "Unsafe permissions found for script '%s' - disabling."},
		{name: "directory owned by nobody", tree: tree{subMode: 0o755, subUID: nobody, scriptMode: 0o755},
			enabled: true, insecure: true, log: "Unsafe permissions found for script '%s' - disabling."},
		{name: "directory world writable", tree: tree{subMode: 0o777, scriptMode: 0o755},
			enabled: true, insecure: true, log: "Unsafe permissions found for script '%s' - disabling."},
		{name: "directory world writable and sticky", tree: tree{subMode: 0o777 | os.ModeSticky, scriptMode: 0o755},
			enabled: true, ok: true},
		{name: "not executable", tree: tree{subMode: 0o755, scriptMode: 0o644},
			enabled: true, log: "WARNING - script '%s' is not executable for uid:gid 0:0 - disabling."},
		{name: "not executable by its user", tree: tree{subMode: 0o755, scriptMode: 0o754}, cred: Credential{UID: nobody, GID: nobody},
			enabled: true, log: "WARNING - script '%s' is not executable for uid:gid 65534:65534 - disabling."},
		// A script that does not run as root may live anywhere its
		// user can reach.
		{name: "run as nobody, owned by nobody", tree: tree{subMode: 0o755, subUID: nobody, scriptMode: 0o755, scriptUID: nobody},
			cred: Credential{UID: nobody, GID: nobody}, enabled: true, ok: true},
		{name: "setuid root, run as nobody", tree: tree{subMode: 0o777, scriptMode: 0o755 | os.ModeSetuid},
			cred: Credential{UID: nobody, GID: nobody}, enabled: true, insecure: true, log: "Unsafe permissions found for script '%s' - disabling."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.tree.build(t)
			log, hook := test.NewNullLogger()
			sec := &Security{Enabled: tt.enabled, Log: log}
			s := &Script{Args: []string{path, "arg"}, Cred: tt.cred}
			if got := sec.Check(s); got != tt.ok {
				t.Errorf("Check = %v, want %v; log: %q", got, tt.ok, messages(hook))
			}
			if sec.insecure != tt.insecure {
				t.Errorf("insecure = %v, want %v", sec.insecure, tt.insecure)
			}
			if tt.log != "" {
				want := strings.ReplaceAll(tt.log, "%s", path)
				if !contains(messages(hook), want) {
					t.Errorf("log %q, want %q", messages(hook), want)
				}
			} else if len(hook.AllEntries()) != 0 {
				t.Errorf("unexpected log %q", messages(hook))
			}
		})
	}
}

func TestSecurityResolvesPaths(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	must(t, os.Chmod(dir, 0o755))
	real := filepath.Join(dir, "real.sh")
	must(t, os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755))
	link := filepath.Join(dir, "link.sh")
	must(t, os.Symlink("real.sh", link))
	hard := filepath.Join(dir, "hard.sh")
	must(t, os.Link(real, hard))
	linkToHard := filepath.Join(dir, "sub", "hard.sh")
	must(t, os.Mkdir(filepath.Dir(linkToHard), 0o755))
	must(t, os.Symlink(real, linkToHard))
	linkElsewhere := filepath.Join(dir, "sub", "other.sh")
	must(t, os.Symlink(real, linkElsewhere))

	tests := []struct {
		arg0, want, log string
	}{
		{arg0: "real.sh", want: real, log: "WARNING - script `real.sh` resolved by path search to `" + real + "`. Please specify full path."},
		// A symbolic link is followed to its directory, but the name
		// stays when that directory holds the same file under it (as
		// the link itself does here) ...
		{arg0: link, want: link},
		{arg0: filepath.Join(dir, "sub", "..", "real.sh"), want: real},
		// ... or as a hard link does; otherwise the file's own name
		// is used.
		{arg0: linkToHard, want: hard},
		{arg0: linkElsewhere, want: real},
	}
	for _, tt := range tests {
		log, hook := test.NewNullLogger()
		sec := &Security{Enabled: true, Log: log, Path: "/nonexistent:" + dir}
		s := &Script{Args: []string{tt.arg0}}
		if !sec.Check(s) {
			t.Errorf("Check(%s) refused: %q", tt.arg0, messages(hook))
			continue
		}
		if s.Args[0] != tt.want {
			t.Errorf("Check(%s) resolved to %s, want %s", tt.arg0, s.Args[0], tt.want)
		}
		if tt.log != "" && !contains(messages(hook), tt.log) {
			t.Errorf("Check(%s) logged %q, want %q", tt.arg0, messages(hook), tt.log)
		}
	}

	for _, tt := range []struct{ arg0, log string }{
		{"missing.sh", "Cannot find script missing.sh in path - disabling"},
		{filepath.Join(dir, "missing.sh"), "Script " + filepath.Join(dir, "missing.sh") + " cannot be accessed - No such file or directory"},
	} {
		log, hook := test.NewNullLogger()
		sec := &Security{Enabled: true, Log: log, Path: dir}
		if sec.Check(&Script{Args: []string{tt.arg0}}) {
			t.Errorf("Check(%s) allowed a missing script", tt.arg0)
		}
		if !contains(messages(hook), tt.log) {
			t.Errorf("Check(%s) logged %q, want %q", tt.arg0, messages(hook), tt.log)
		}
	}

	must(t, os.Chmod(real, 0o644))
	log, hook := test.NewNullLogger()
	sec := &Security{Log: log, Path: dir}
	if sec.Check(&Script{Args: []string{"real.sh"}}) {
		t.Error("Check allowed a script on the path that is not executable")
	}
	if want := "Permissions failure for script real.sh in path - disabling"; !contains(messages(hook), want) {
		t.Errorf("logged %q, want %q", messages(hook), want)
	}
}

func TestSecurityViolation(t *testing.T) {
	requireRoot(t)
	safe := tree{subMode: 0o755, scriptMode: 0o755}.build(t)
	unsafe := tree{subMode: 0o755, scriptMode: 0o757}.build(t)

	quiet, _ := test.NewNullLogger()
	sec := &Security{Log: quiet}
	if got := sec.Violation("scripts"); got != "" {
		t.Errorf("no scripts checked: Violation = %q", got)
	}
	sec.Check(&Script{Args: []string{safe}})
	if got, want := sec.Violation("scripts"), "SECURITY VIOLATION - scripts are being executed but script_security not enabled."; got != want {
		t.Errorf("Violation = %q, want %q", got, want)
	}
	sec.Check(&Script{Args: []string{unsafe}})
	if got, want := sec.Violation("check scripts"), "SECURITY VIOLATION - check scripts are being executed but script_security not enabled. There are insecure scripts."; got != want {
		t.Errorf("Violation = %q, want %q", got, want)
	}
	enabled := &Security{Enabled: true, Log: quiet}
	enabled.Check(&Script{Args: []string{unsafe}})
	if got := enabled.Violation("scripts"); got != "" {
		t.Errorf("with script security: Violation = %q", got)
	}
}

func TestDefaultUser(t *testing.T) {
	if _, err := LookupCredential(DefaultScriptUser, ""); err == nil {
		t.Skipf("this machine has a %s user", DefaultScriptUser)
	}
	c, err := DefaultUser("", "", false)
	if err != nil || int(c.UID) != os.Geteuid() || int(c.GID) != os.Getegid() {
		t.Errorf("without %s or security: %v, %v; want our own user", DefaultScriptUser, c, err)
	}
	if _, err := DefaultUser("", "", true); err == nil ||
		!strings.HasPrefix(err.Error(), "Unable to set default user keepalived_script for script") {
		t.Errorf("with security and no %s: error %v", DefaultScriptUser, err)
	}
	c, err = DefaultUser("nobody", "", true)
	if err != nil || c.UID != nobody {
		t.Errorf("script_user nobody: %v, %v", c, err)
	}
	c, err = DefaultUser("nobody", "root", true)
	if err != nil || c.UID != nobody || c.GID != 0 {
		t.Errorf("script_user nobody root: %v, %v", c, err)
	}
	if _, err := DefaultUser("no-such-user-xyzzy", "", false); err == nil ||
		err.Error() != "Script user 'no-such-user-xyzzy' does not exist" {
		t.Errorf("unknown script_user: %v", err)
	}
}

func messages(h *test.Hook) []string {
	var m []string
	for _, e := range h.AllEntries() {
		m = append(m, e.Message)
	}
	return m
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
