package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPlaceOf checks keepalived's naming rules for a place: -s over
// net_namespace, the pid directory that net_namespace, instance and
// use_pid_dir bring, the instance's pid file names, -p, -r and -c over
// every default, and the syslog ident's suffixes.
func TestPlaceOf(t *testing.T) {
	for _, c := range []struct {
		name, top, ns, pidOpt string
		parent, vrrp, chk     string
		ident, override       string
	}{
		{"plain", "", "", "", "/run/keepalived.pid", "/run/vrrp.pid", "/run/checkers.pid", "Keepalived", ""},
		{"use_pid_dir", "use_pid_dir\n", "", "", "/run/keepalived/keepalived.pid", "/run/keepalived/vrrp.pid", "/run/keepalived/checkers.pid", "Keepalived", ""},
		{"net_namespace", "net_namespace blue\n", "", "", "/run/keepalived/keepalived.pid", "/run/keepalived/vrrp.pid", "/run/keepalived/checkers.pid", "Keepalived_blue", ""},
		{"instance", "instance i1\n", "", "", "/run/keepalived/keepalived_i1.pid", "/run/keepalived/vrrp_i1.pid", "/run/keepalived/checkers_i1.pid", "Keepalived_i1", ""},
		{"-s over net_namespace", "net_namespace blue\ninstance i1\n", "red", "", "/run/keepalived/keepalived_i1.pid", "/run/keepalived/vrrp_i1.pid", "/run/keepalived/checkers_i1.pid", "Keepalived_red_i1", "blue"},
		{"-s same as net_namespace", "net_namespace red\n", "red", "", "/run/keepalived/keepalived.pid", "/run/keepalived/vrrp.pid", "/run/keepalived/checkers.pid", "Keepalived_red", "red"},
		{"-s alone", "", "red", "", "/run/keepalived/keepalived.pid", "/run/keepalived/vrrp.pid", "/run/keepalived/checkers.pid", "Keepalived_red", ""},
		{"-p over instance", "instance i1\n", "", "/tmp/x.pid", "/tmp/x.pid", "/run/keepalived/vrrp_i1.pid", "/run/keepalived/checkers_i1.pid", "Keepalived_i1", ""},
	} {
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		if err := os.WriteFile(path, []byte(c.top), 0o644); err != nil {
			t.Fatal(err)
		}
		s := &settings{configFile: path, namespace: c.ns, pidFile: c.pidOpt}
		pl := placeOf(s)
		parent, vrrp, chk := pl.pidFiles(s)
		if parent != c.parent || vrrp != c.vrrp || chk != c.chk {
			t.Errorf("%s: pid files %s %s %s, want %s %s %s", c.name, parent, vrrp, chk, c.parent, c.vrrp, c.chk)
		}
		if got := pl.ident("Keepalived"); got != c.ident {
			t.Errorf("%s: ident %s, want %s", c.name, got, c.ident)
		}
		if pl.configNamespace != c.override {
			t.Errorf("%s: overridden net_namespace %q, want %q", c.name, pl.configNamespace, c.override)
		}
	}
}
