package lvs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/notify"
)

// unsafeScript makes a script under a fresh directory of root's and then
// makes it unsafe as kind says: "file writable" (world-writable script),
// "dir writable" (a world-writable directory on its path), "file owned"
// (owned by another user), or "safe". It returns the script's path.
func unsafeScript(t *testing.T, kind string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("script security needs root-owned files")
	}
	dir := filepath.Join(t.TempDir(), "scripts")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	switch kind {
	case "file writable":
		err = os.Chmod(path, 0o757)
	case "dir writable":
		err = os.Chmod(dir, 0o777)
	case "file owned":
		err = os.Chown(path, 65534, 65534)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

var unsafeKinds = []string{"file writable", "dir writable", "file owned"}

// TestScriptSecurityNotifyScripts: with enable_script_security, a
// notify_up, notify_down, quorum_up or quorum_down script that a non-root
// user could change is refused with keepalived's message; a safe one is
// kept.
func TestScriptSecurityNotifyScripts(t *testing.T) {
	for _, kind := range append([]string{"safe"}, unsafeKinds...) {
		t.Run(kind, func(t *testing.T) {
			path := unsafeScript(t, kind)
			conf := "global_defs {\n\tenable_script_security\n}\n" + strings.ReplaceAll(twoServers("", ""), "/bin/true", path)
			h := newHarness(t, conf, Options{})
			vs := h.l.vss[0]
			scripts := map[string]*notify.Script{
				"quorum_up": vs.quorum.Up, "quorum_down": vs.quorum.Down,
				"notify_up": vs.rs[0].id.Up, "notify_down": vs.rs[0].id.Down,
			}
			for kw, s := range scripts {
				if (s != nil) != (kind == "safe") {
					t.Errorf("%s: script kept %v", kw, s != nil)
				}
			}
			want := fmt.Sprintf("Unsafe permissions found for script '%s' - disabling.", path)
			n := 0
			for _, e := range h.hook.AllEntries() {
				if e.Message == want {
					n++
				}
			}
			if kind != "safe" && n != len(scripts) {
				t.Errorf("logged %q %d times, want %d", want, n, len(scripts))
			}
			if kind == "safe" && n != 0 {
				t.Errorf("a safe script logged %q", want)
			}
		})
	}
}

// TestScriptSecurityMiscCheck: a MISC_CHECK script a non-root user could
// change is left out with keepalived's messages; a safe one is built.
func TestScriptSecurityMiscCheck(t *testing.T) {
	for _, kind := range append([]string{"safe"}, unsafeKinds...) {
		t.Run(kind, func(t *testing.T) {
			path := unsafeScript(t, kind)
			cfg := parse(t, fmt.Sprintf(`global_defs {
	enable_script_security
}
virtual_server 192.0.2.1 80 {
	protocol TCP
	real_server 10.0.0.2 80 {
		MISC_CHECK {
			misc_path "%s arg"
		}
	}
}`, path))
			vs := &cfg.VirtualServers[0]
			root := notify.Credential{}
			srv, err := CheckServer("rs", vs, &vs.RealServers[0], checkEnv(cfg, &root, nil))
			if kind == "safe" {
				if err != nil || len(srv.Checks) != 1 {
					t.Fatalf("safe script: %d checks, %v", len(srv.Checks), err)
				}
				return
			}
			if len(srv.Checks) != 0 {
				t.Errorf("unsafe script built into %d checks", len(srv.Checks))
			}
			for _, want := range []string{
				fmt.Sprintf("Unsafe permissions found for script '%s' - disabling.", path),
				fmt.Sprintf("Disabling misc script '%s' 'arg' due to insecure", path),
			} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to say %q", err, want)
				}
			}
		})
	}

	// Without enable_script_security the unsafe script runs.
	path := unsafeScript(t, "file writable")
	cfg := parse(t, fmt.Sprintf("virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n  MISC_CHECK {\n   misc_path %s\n  }\n }\n}\n", path))
	vs := &cfg.VirtualServers[0]
	if srv, err := CheckServer("rs", vs, &vs.RealServers[0], checkEnv(cfg, &notify.Credential{}, nil)); err != nil || len(srv.Checks) != 1 {
		t.Errorf("without enable_script_security: %d checks, %v", len(srv.Checks), err)
	}
}
