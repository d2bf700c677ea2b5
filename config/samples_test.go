package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSamples parses every sample configuration keepalived ships. The
// samples keepalived -t itself refuses must give the errors keepalived
// gives, at its lines; every other sample must give no diagnostic at all.
// Script and interface checks depend on the machine and are left out.
func TestSamples(t *testing.T) {
	refused := map[string][]string{
		"keepalived.conf.SSL_GET":          {"13: (VI_1) Initial state master is incompatible with AH authentication - clearing"},
		"keepalived.conf.conditional_conf": {"13: No script set for vrrp_script check_VI_0 - removing", "25: (VI_0) track script check_VI_0 not found, ignoring..."},
		"keepalived.conf.fwmark":           {"Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored"},
		"keepalived.conf.track_interface":  {"31: Warning - cannot track route 192.168.112.0/24 with no interface specified, not tracking"},
		"keepalived.conf.vrrp.routes": {
			`30: "or" for routes is deprecated. Please use "nexthop"`,
			`32: "gw" for routes is deprecated. Please use "via"`,
			"32: Warning - cannot track route 0.0.0.0/0 with no interface specified, not tracking",
		},
		"keepalived.conf.vrrp.static_ipaddress": {"25: Warning - cannot track route 192.168.112.0/24 with no interface specified, not tracking"},
		"keepalived.conf.vrrp.rules": {
			"10: Rule has no preference specified - setting to 16384. This is probably not what you want.",
			"11: Invalid rule to address 192.168.100./24",
		},
		"keepalived.conf.vrrp.lvs_syncd": {
			"4: Unknown keyword 'VI_2'",
			"11: (VI_1) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
			"Sync group VG1 has no virtual router(s). removing",
		},
	}
	files, err := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived's samples are not installed (CI=true)")
		}
		t.Skip("keepalived's samples are not installed")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			cfg, ds, err := Load(f, Options{ConfigID: "main"})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Instances)+len(cfg.VirtualServers)+len(cfg.StaticAddresses) == 0 {
				t.Errorf("nothing parsed")
			}
			want, isRefused := refused[name]
			if !isRefused {
				for _, d := range ds {
					if d.Severity != Unimplemented && !(d.Severity == Warning && strings.Contains(d.Msg, "gokeepalived does not implement")) {
						t.Errorf("%s", d)
					}
				}
				return
			}
			if !ds.HasErrors() {
				t.Errorf("no errors, keepalived -t refuses this sample")
			}
			for _, w := range want {
				found := false
				for _, d := range ds.Errors() {
					found = found || strings.HasSuffix(d.Pos.String()+": "+d.Msg, w)
				}
				if !found {
					t.Errorf("no error %q among:\n%v", w, ds)
				}
			}
		})
	}
}
