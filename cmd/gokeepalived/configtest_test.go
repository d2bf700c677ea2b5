package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The configurations below name no interface, so the verdicts do not
// depend on the machine the test runs on.
const (
	validLVS = `global_defs {
    router_id T1
}
virtual_server 10.1.1.1 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.1.2.1 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
`
	badLBKind = `virtual_server 10.1.1.1 80 {
    lb_algo rr
    lb_kind FULLNAT
    protocol TCP
    real_server 10.1.2.1 80 {
        TCP_CHECK {
        }
    }
}
`
)

func writeConf(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigTest(t *testing.T) {
	good := writeConf(t, "good.conf", validLVS)
	bad := writeConf(t, "bad.conf", badLBKind)
	tests := []struct {
		name     string
		args     []string
		rc       int
		stderr   []string // lines that must appear, in order
		noStderr bool
	}{
		{name: "valid", args: []string{"-t", "-f", good}, rc: exitOK, noStderr: true},
		{name: "valid long form", args: []string{"--config-test", "--use-file=" + good}, rc: exitOK, noStderr: true},
		{name: "invalid names file and line", args: []string{"-t", "-f", bad}, rc: exitConfigTest,
			stderr: []string{bad + ":3: PARSER : unknown [FULLNAT] routing method for virtual server."}},
		{name: "missing file", args: []string{"-t", "-f", filepath.Join(t.TempDir(), "none.conf")}, rc: exitConfig,
			stderr: []string{"none.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			rc := run(append([]string{"gokeepalived"}, tt.args...), &out, &errb)
			if rc != tt.rc {
				t.Errorf("rc = %d, want %d; stderr:\n%s", rc, tt.rc, errb.String())
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			if tt.noStderr && errb.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", errb.String())
			}
			rest := errb.String()
			for _, want := range tt.stderr {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("stderr lacks %q:\n%s", want, errb.String())
				}
				rest = rest[i+len(want):]
			}
		})
	}
}

func TestConfigTestLogFile(t *testing.T) {
	bad := writeConf(t, "bad.conf", badLBKind)
	log := filepath.Join(t.TempDir(), "check.log")
	var out, errb bytes.Buffer
	if rc := run([]string{"gokeepalived", "-t" + log, "-f", bad}, &out, &errb); rc != exitConfigTest {
		t.Fatalf("rc = %d, want %d", rc, exitConfigTest)
	}
	if errb.Len() != 0 {
		t.Errorf("stderr = %q, want the messages in the log file only", errb.String())
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), bad+":3: ") {
		t.Errorf("log file = %q, want a message at %s:3", b, bad)
	}
}

func TestDumpConf(t *testing.T) {
	good := writeConf(t, "good.conf", validLVS)
	var out, errb bytes.Buffer
	if rc := run([]string{"gokeepalived", "-d", "-f", good}, &out, &errb); rc != exitOK {
		t.Fatalf("-d: rc %d, stderr %s", rc, errb.String())
	}
	// The dump shows defaults the file left out.
	for _, want := range []string{"virtual_server 10.1.1.1 80", "lvs_sched wrr", "weight 3", "delay_loop 60", "connect_timeout 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-d output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if rc := run([]string{"gokeepalived", "--dump-conf", "--json", "-f", good}, &out, &errb); rc != exitOK {
		t.Fatalf("-d --json: rc %d, stderr %s", rc, errb.String())
	}
	var v struct {
		VirtualServers []struct {
			RealServers []struct {
				Weight int `json:"weight"`
			} `json:"real_servers"`
		} `json:"virtual_servers"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("-d --json is not JSON: %v", err)
	}
	if len(v.VirtualServers) != 1 || len(v.VirtualServers[0].RealServers) != 1 || v.VirtualServers[0].RealServers[0].Weight != 3 {
		t.Errorf("-d --json = %s", out.String())
	}
}
