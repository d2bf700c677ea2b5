package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/control"
)

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want settings
		err  string
	}{
		{name: "defaults", args: nil, want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile}},
		{name: "systemd unit", args: []string{"--dont-fork", "--log-console", "--log-detail", "-f", "/etc/k.conf"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: "/etc/k.conf", dontFork: true, logConsole: true, logDetail: true}},
		{name: "clustered", args: []string{"-nlDG", "-f/x.conf"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: "/x.conf", dontFork: true, logConsole: true, logDetail: true, noSyslog: true}},
		{name: "cluster ending in arg", args: []string{"-nf", "/y.conf"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: "/y.conf", dontFork: true}},
		{name: "long with =", args: []string{"--use-file=/z.conf", "--config-id=lb1"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: "/z.conf", configID: "lb1"}},
		{name: "abbreviated long", args: []string{"--use=/a.conf", "--dont-f"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: "/a.conf", dontFork: true}},
		{name: "optional arg attached", args: []string{"-t/tmp/log"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile, configTest: true, configTestLog: "/tmp/log"}},
		{name: "optional arg not taken when separate", args: []string{"-t", "-f", "/b.conf"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: "/b.conf", configTest: true}},
		{name: "config-test long", args: []string{"--config-test=/tmp/l2"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile, configTest: true, configTestLog: "/tmp/l2"}},
		{name: "pid files", args: []string{"-p", "/run/k.pid", "-r", "/run/v.pid", "-c", "/run/c.pid"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile, pidFile: "/run/k.pid", vrrpPidFile: "/run/v.pid", checkerPidFile: "/run/c.pid"}},
		{name: "release flags", args: []string{"-X", "-V", "-I", "-P", "-C"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile, releaseVIPs: true, keepVRRP: true, keepIPVS: true, vrrpOnly: true, checkOnly: true}},
		{name: "no bfd", args: []string{"-B"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile, noBFD: true}},
		{name: "snmp", args: []string{"-x", "-A", "tcp:localhost:705"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile, snmp: true, snmpSocket: "tcp:localhost:705"}},
		{name: "accepted without effect", args: []string{"--all", "-R", "-m"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, configFile: defaultConfigFile}},
		{name: "umask", args: []string{"-u", "022"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o22, umaskCmdline: true, configFile: defaultConfigFile}},
		{name: "umask hex", args: []string{"--umask=0x3f"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o77, umaskCmdline: true, configFile: defaultConfigFile}},
		{name: "umask refused", args: []string{"-u", "01000"},
			want: settings{controlSocket: control.DefaultSocket, umask: 0o177, badUmask: "01000", configFile: defaultConfigFile}},
		{name: "unknown short", args: []string{"-Z"}, err: "invalid option -- 'Z'"},
		{name: "unknown long", args: []string{"--bogus"}, err: "unrecognized option '--bogus'"},
		{name: "ambiguous long", args: []string{"--dont"}, err: "ambiguous"},
		{name: "missing arg", args: []string{"-f"}, err: "requires an argument"},
		{name: "arg to flag", args: []string{"--vrrp=1"}, err: "doesn't allow an argument"},
		{name: "stray word", args: []string{"foo"}, err: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSettings(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestSignum(t *testing.T) {
	// The numbers keepalived 2.2 prints on Linux x86_64.
	for name, want := range map[string]string{"STOP": "15", "RELOAD": "1", "DATA": "10", "STATS": "12", "STATS_CLEAR": "63", "JSON": "36"} {
		var out, errb bytes.Buffer
		if rc := run([]string{"gokeepalived", "--signum=" + name}, &out, &errb); rc != 0 || strings.TrimSpace(out.String()) != want {
			t.Errorf("--signum=%s: rc %d, out %q, want %s", name, rc, out.String(), want)
		}
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"gokeepalived", "--signum=BOGUS"}, &out, &errb); rc != exitProgramError || errb.String() != "Unknown sigfunc BOGUS\n" {
		t.Errorf("--signum=BOGUS: rc %d, stderr %q", rc, errb.String())
	}
}
